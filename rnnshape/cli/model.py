"""rnnshape model: a user's model file explained."""

from __future__ import annotations

from typing import Any

import click

from rnnshape.cli.app import execute
from rnnshape.cli.options import CONTEXT_SETTINGS, export_options, json_option, limit_options, without_view_options
from rnnshape.model_files import DEFAULT_MAX_FILE_BYTES


@click.command(context_settings=CONTEXT_SETTINGS)
@click.argument("model_file", metavar="FILE")
@click.option(
    "--x",
    "x",
    multiple=True,
    metavar="FILE.npy|FILE.csv",
    help="data run through the model (repeat once per model input, in order): every recurrent layer's "
    "outputs and final states captured and measured",
)
@click.option(
    "--y",
    "y",
    default=None,
    metavar="FILE.npy|FILE.csv",
    help="targets judged with the model's own loss (recorded in the file, else assumed and named; needs --x): "
    "a broadcast, a refusal or a wrong label encoding is exit 1",
)
@click.option(
    "--layer",
    "layer",
    default=None,
    metavar="NAME",
    help="a recurrent layer's name or path (encoder/lstm): the full inspect view with the model's weights",
)
@click.option(
    "--save",
    "save",
    default=None,
    metavar="FILE.keras",
    help="write the model as a Keras 3 .keras file (an old .h5 converted; never over FILE)",
)
@click.option(
    "--max-file-size",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_FILE_BYTES,
    show_default=True,
    metavar="BYTES",
    help="refuse a model file larger than this",
)
@limit_options("--x runs")
@json_option()
@export_options(diagram_help="draw the model top to bottom as `stack` draws a stack, the shape on every edge")
def model(
    model_file: str, json_mode: bool, svg: str | None, html: str | None, x: tuple[str, ...], **options: Any
) -> int:
    """Explain your own model: a .keras file (or a legacy .h5), loaded by Keras in safe mode.

    Every layer in order with its shapes and parameters (nested models flattened with their
    path), each recurrent layer's flags in words and returned tensors named as inspect names
    them, and diagnoses (rules of Keras, or measured) with their fix. --x runs your data and
    measures each recurrent layer's outputs and final states; --y judges your targets with the
    model's own loss (exit 1 when it would broadcast them silently, refuse them, or read labels
    in the wrong encoding). A file with a
    Lambda layer or an unregistered custom class is refused (exit 2) before anything runs.
    A full model saved in HDF5 by Keras 1/2 or tf.keras is rebuilt in Keras 3 with its own
    weights (each changed meaning measured); --save writes it as a .keras file.

    \b
    Examples:
      rnnshape model examples/forecast.keras
      rnnshape model examples/forecast.keras --x examples/forecast_x.npy --y examples/forecast_y.npy
      rnnshape model model.keras --layer encoder --x x.npy
      rnnshape model model.keras --diagram --svg model.svg
      rnnshape model old_model.h5 --save new_model.keras
    """
    from rnnshape.api.model import model as run

    return execute(
        "model",
        json_mode,
        lambda: run(model_file, x=list(x) or None, **without_view_options(options)),
        svg=svg,
        html=html,
    )
