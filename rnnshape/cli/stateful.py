"""rnnshape stateful: one sequence fed as consecutive batches."""

from __future__ import annotations

from typing import Any

import click

from rnnshape.cli.app import execute
from rnnshape.cli.options import (
    CONTEXT_SETTINGS,
    backend_option,
    export_options,
    json_option,
    layer_options,
    without_view_options,
)


@click.command(context_settings=CONTEXT_SETTINGS)
@layer_options()
@click.option(
    "--split",
    default=None,
    metavar="N1,N2,...",
    help="chunk lengths along time, adding up to --timesteps [default: two halves, the first rounded down]",
)
@click.option(
    "--fit",
    "fit",
    type=int,
    default=None,
    metavar="EPOCHS",
    help="train: the series (--timesteps, default 200, --batch series, default 2) cut into consecutive "
    "chunks (--split, equal; default up to 20 steps), a Dense head, EPOCHS model.fit epochs with "
    "shuffle=False and a reset at each epoch's start; the states read in a callback at every batch",
)
@click.option(
    "--shuffle", is_flag=True, help="--fit only: model.fit(shuffle=True), to show rows continuing the wrong sample"
)
@click.option(
    "--reset/--no-reset",
    "reset",
    default=True,
    help="--fit only: reset_state() at each epoch's start [default: --reset]",
)
@click.option(
    "--windows",
    "windows",
    type=int,
    default=None,
    metavar="LOOK_BACK",
    help="feed the overlapping windows of create_dataset (look_back, stride 1) of the series "
    "(--timesteps, default 12) to the stateful layer in order; then non-overlapping chunks",
)
@click.option(
    "--save-load",
    "save_load",
    is_flag=True,
    help="save a stateful model after the first chunks (.keras), load it: are the states kept? and "
    "predict with another batch size",
)
@backend_option("the chunks and every measurement (--fit: tensorflow only)")
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

    The loops the tutorials teach, one at a time: --fit EPOCHS trains the layer with a Dense head
    by model.fit on a series cut into consecutive chunks and reads its states at every batch
    (--shuffle, --no-reset show what goes wrong); --windows LOOK_BACK feeds the overlapping
    windows of create_dataset to it in order; --save-load saves and loads a stateful model.

    \b
    Examples:
      rnnshape stateful --layer lstm --units 3 --timesteps 6 --batch 2 --split 2,4
      rnnshape stateful --layer gru --timesteps 5 --split 1,1,3 --return-sequences --json
      rnnshape stateful --layer simplernn --timesteps 6 --split 2,4 --go-backwards
      rnnshape stateful --layer lstm --units 3 --timesteps 6 --batch 2 --split 2,4 --diagram
      rnnshape stateful --layer gru --timesteps 6 --split 2,4 --backend torch
      rnnshape stateful --fit 3
      rnnshape stateful --fit 2 --shuffle --json
      rnnshape stateful --windows 3 --timesteps 8
      rnnshape stateful --save-load --batch 2 --timesteps 6
    """
    from rnnshape.api.stateful import stateful as run

    # the layer is always stateful: --stateful/--no-stateful is accepted and changes nothing
    return execute("stateful", json_mode, lambda: run(**without_view_options(options, "stateful")), svg=svg, html=html)
