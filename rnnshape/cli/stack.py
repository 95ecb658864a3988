"""rnnshape stack: shapes flowing through a stack of layers."""

from __future__ import annotations

from typing import Any

import click

from rnnshape.cli.app import execute
from rnnshape.cli.options import (
    CONTEXT_SETTINGS,
    export_options,
    json_option,
    limit_options,
    static_option,
    without_view_options,
)


@click.command(context_settings=CONTEXT_SETTINGS)
@click.argument("tokens", nargs=-1, metavar="SPEC...")
@click.option("--timesteps", type=int, default=None, help="timesteps T of the input  [default: 3]")
@click.option("--features", type=int, default=2, show_default=True, help="features per timestep")
@click.option("--batch", type=int, default=1, show_default=True, help="samples in the batch (keras.Input batch_size)")
@click.option("--seed", type=int, default=0, show_default=True, help="seed of the deterministic weights and input")
@static_option("shapes, parameters and the diagnosis from the pure model, without TensorFlow")
@limit_options("stacks")
@json_option()
@export_options(diagram_help="draw the stack top to bottom, the shape on every edge, the refused edge marked")
def stack(tokens: tuple[str, ...], json_mode: bool, svg: str | None, html: str | None, **options: Any) -> int:
    """Build a stack of layers as a real keras.Model and show the shapes flowing through it.

    One token per layer, in order:

    \b
      lstm|gru|simplernn:UNITS[:FLAG]...
                   a recurrent layer; flags in any order: seq = return_sequences=True,
                   bi = Bidirectional (concat), back = go_backwards=True (not with bi),
                   nobias = use_bias=False, unroll = unroll=True, act-NAME = activation,
                   ract-NAME = recurrent_activation, noreset = reset_after=False (gru),
                   init = initial_state from the previous recurrent token's final states
      dense:N      keras.layers.Dense(N)
      td:N         keras.layers.TimeDistributed(keras.layers.Dense(N))
      repeat:N     keras.layers.RepeatVector(N)

    The input is [batch, timesteps, features], except when the first token is repeat:N: then
    it is [batch, features] (one vector per sample, repeated N times) and --timesteps does not
    apply. Each layer shows its Keras call, input and output shapes (axes labelled) and
    parameters. A stack Keras refuses exits 1 with Keras' own message, which token fails, why,
    and the fix; a bad token exits 2. --diagram draws the stack top to bottom with the shape
    on every edge (a sequence as a double line) and the edge Keras refuses marked.

    \b
    Examples:
      rnnshape stack --timesteps 5 --features 2 lstm:32:seq lstm:16 dense:1
      rnnshape stack --timesteps 5 --features 2 lstm:8:seq lstm:4:seq td:1
      rnnshape stack --features 2 repeat:4 lstm:3:seq
      rnnshape stack --timesteps 5 --features 2 lstm:8 lstm:4  # the classic mistake, exit 1
      rnnshape stack --timesteps 5 --features 2 gru:8:bi:seq dense:1 --static --json
      rnnshape stack --timesteps 5 --features 2 lstm:8 lstm:4 dense:1 --diagram
    """
    from rnnshape.api.stack import stack as run

    return execute("stack", json_mode, lambda: run(tokens, **without_view_options(options)), svg=svg, html=html)
