"""rnnshape stateful: one sequence fed as consecutive batches."""

from __future__ import annotations

from typing import Any

import click

from rnnshape.cli.app import execute
from rnnshape.cli.options import CONTEXT_SETTINGS, backend_option, export_options, json_option, layer_options, without_view_options


@click.command(context_settings=CONTEXT_SETTINGS)
@layer_options()
@click.option("--split", default=None, metavar="N1,N2,...",
              help="chunk lengths along time, adding up to --timesteps [default: two halves, the first rounded down]")
@backend_option("the chunks and every measurement")
@json_option()
@export_options(diagram_help="draw the chunks as consecutive batches, the state crossing from each into the next")
def stateful(json_mode: bool, svg: str | None, html: str | None, **options: Any) -> int:
    """Cut one sequence into consecutive batches and feed them to a stateful layer.

    The input and weights are those of inspect with the same options and seed. Shows each
    chunk's initial state, final state and output; measures that chunk k+1 starts from chunk k's
    final state (sample i continues sample i), that the chunks equal one non-stateful pass, and
    that after layer.reset_state() the states are zeros and the layer starts over. Shows Keras'
    own error for a batch of another size. The layer is always built with stateful=True.
    --diagram draws the chunks as consecutive batches with the state crossing from each batch
    into the next, and the reset.

    \b
    Examples:
      rnnshape stateful --layer lstm --units 3 --timesteps 6 --batch 2 --split 2,4
      rnnshape stateful --layer gru --timesteps 5 --split 1,1,3 --return-sequences --json
      rnnshape stateful --layer simplernn --timesteps 6 --split 2,4 --go-backwards
      rnnshape stateful --layer lstm --units 3 --timesteps 6 --batch 2 --split 2,4 --diagram
      rnnshape stateful --layer gru --timesteps 6 --split 2,4 --backend torch
    """
    from rnnshape.api.stateful import stateful as run

    # the layer is always stateful: --stateful/--no-stateful is accepted and changes nothing
    return execute("stateful", json_mode, lambda: run(**without_view_options(options, "stateful")), svg=svg,
                   html=html)
