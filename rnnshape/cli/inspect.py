"""rnnshape inspect: one layer built, run and explained."""

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
    static_option,
    without_view_options,
)


@click.command(context_settings=CONTEXT_SETTINGS)
@layer_options(conv=True)
@json_option()
@click.option("--values", is_flag=True, help="also print the tensors (elided in the terminal, full in JSON)")
@static_option()
@click.option(
    "--expect",
    multiple=True,
    metavar="NAME=D1,D2,...",
    help="assert an output's shape, e.g. output=1,6 (repeatable); exit 1 when it differs",
)
@backend_option()
@export_options
def inspect(json_mode: bool, svg: str | None, html: str | None, **options: Any) -> int:
    """Build one recurrent layer, run a deterministic input through it, and explain every output.

    Shows the Keras call, each returned tensor with its name, shape (axes labelled), dtype and
    meaning, the parameters with their formula, the h-versus-c table and facts measured in
    this run. --diagram draws the layer unrolled over time (--ascii without box characters);
    --svg/--html save what was printed.

    \b
    Examples:
      rnnshape inspect --layer lstm --units 6 --return-state
      rnnshape inspect --layer gru --timesteps 5 --batch 2 --return-sequences --return-state --json
      rnnshape inspect --layer lstm --units 3 --bidirectional --return-sequences --return-state
      rnnshape inspect --layer lstm --units 6 --expect output=1,6
      rnnshape inspect --layer lstm --units 6 --return-sequences --return-state --diagram
      rnnshape inspect --layer gru --bidirectional --diagram --svg gru.svg
    """
    from rnnshape.api.inspect import inspect as run

    return execute("inspect", json_mode, lambda: run(**without_view_options(options)), svg=svg, html=html)
