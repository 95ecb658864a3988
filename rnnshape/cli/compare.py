"""rnnshape compare: many configurations side by side."""

from __future__ import annotations

from typing import Any

import click
from click.core import ParameterSource

from rnnshape.cli.app import execute
from rnnshape.cli.options import (
    CONTEXT_SETTINGS,
    export_options,
    json_option,
    layer_options,
    static_option,
    without_view_options,
)
from rnnshape.errors import RnnshapeError
from rnnshape.rules.catalogue import BACKENDS
from rnnshape.rules.grid import GRID_FLAGS, canonical_flag


class VaryFlag(click.ParamType):
    name = "FLAG"

    def convert(self, value, param, ctx):
        try:
            return canonical_flag(value)
        except RnnshapeError as exc:
            self.fail(exc.problem if hasattr(exc, "problem") else exc.message, param, ctx)


@click.command(context_settings=CONTEXT_SETTINGS)
@layer_options(multiple_layers=True, conv=True)
@click.option(
    "--vary",
    multiple=True,
    type=VaryFlag(),
    help="add a flag to the grid (repeatable): return-sequences, return-state, stateful, "
    "go-backwards, bidirectional, reset-after (GRU rows only), use-bias, unit-forget-bias (LSTM rows only), "
    "unroll, training",
)
@json_option("print one JSON document; data.rows holds one inspect object per row")
@click.option("--values", is_flag=True, help="also print every row's tensors (full in JSON)")
@static_option()
@click.option(
    "--backend",
    multiple=True,
    type=click.Choice(BACKENDS, case_sensitive=False),
    help="run every row on this Keras backend (repeatable; jax and torch in a child process): with two "
    "or more, each output's max |difference| from the first backend is measured; above 1e-5 exit 1",
)
@export_options(diagram_help="draw the layer unrolled, one picture per distinct output structure, after the tables")
def compare(json_mode: bool, svg: str | None, html: str | None, layer: tuple[str, ...], **options: Any) -> int:
    """Many configurations side by side, one row each, all run in one process.

    The grid is return_sequences x return_state (4 rows per layer); each --vary FLAG adds a
    flag, each --layer adds a layer. A flag set explicitly (e.g. --return-state) is held fixed
    in every row instead of varied; the other layer options apply to every row. Each row shows
    the Keras call, every output with its shape and the parameters, and what differs from the
    layer's first row; a second table isolates what each flag (and each layer) changes.
    --diagram draws the layer unrolled, one picture per distinct output structure (rows that
    differ only in the layer's name, like GRU and SimpleRNN, share one); --svg/--html save
    what was printed.

    \b
    Examples:
      rnnshape compare --layer lstm
      rnnshape compare --layer lstm --layer gru --layer simplernn --vary stateful
      rnnshape compare --layer lstm --vary bidirectional --json
      rnnshape compare --layer lstm --layer gru --return-state --return-sequences
      rnnshape compare --layer lstm --diagram --svg compare.svg
    """
    from rnnshape.api.compare import compare as run

    context = click.get_current_context()
    fixed = [
        flag
        for flag in GRID_FLAGS
        if context.get_parameter_source(flag) in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
    ]
    return execute(
        "compare", json_mode, lambda: run(layer, fixed=fixed, **without_view_options(options)), svg=svg, html=html
    )
