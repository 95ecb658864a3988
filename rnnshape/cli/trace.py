"""rnnshape trace: every gate and state of every timestep."""

from __future__ import annotations

from typing import Any

import click

from rnnshape.cli.app import execute
from rnnshape.cli.options import CONTEXT_SETTINGS, backend_option, json_option, layer_options, without_view_options


@click.command(context_settings=CONTEXT_SETTINGS)
@layer_options()
@click.option("--sample", type=int, default=0, show_default=True, help="which sample of the batch to show (from 0)")
@click.option(
    "--steps",
    default=None,
    metavar="T1-T2,T3",
    help="timesteps t to show, counted from 1 as in x_t, e.g. 1-3,10 "
    "[default: all up to 12, else the first and last 5 read]",
)
@backend_option("the run that is recomputed and checked")
@json_option()
def trace(json_mode: bool, **options: Any) -> int:
    """Every gate and state of every timestep, recomputed from the layer's own weights.

    Builds the same layer, weights and input as inspect (same options and seed), reads its
    weights, recomputes the cell in numpy (LSTM i, f, g, o and c; GRU z, r, h~; SimpleRNN) in the
    order the layer reads the input, and checks every step and every returned tensor against
    Keras: the measured max |difference| is printed, and above 1e-4 the command exits 3.
    One table per direction (go_backwards reads x_T first; Bidirectional shows both), marking
    which returned tensor each h and c ends up in. --lengths is supported: a masked step keeps
    the previous state, as in Keras.

    \b
    Examples:
      rnnshape trace --layer lstm --units 3 --timesteps 4 --features 2
      rnnshape trace --layer gru --units 2 --timesteps 5 --batch 2 --sample 1 --json
      rnnshape trace --layer gru --no-reset-after --go-backwards --return-sequences
      rnnshape trace --layer lstm --bidirectional --return-state --steps 1,2
      rnnshape trace --layer simplernn --timesteps 50 --steps 1-3,50
      rnnshape trace --layer gru --units 2 --backend jax
    """
    from rnnshape.api.trace import trace as run

    return execute("trace", json_mode, lambda: run(**without_view_options(options)))
