"""rnnshape window: a series cut into [samples, timesteps, features] windows."""

from __future__ import annotations

from typing import Any

import click

from rnnshape.cli.app import execute
from rnnshape.cli.options import CONTEXT_SETTINGS, json_option, max_memory_option, static_option
from rnnshape.rules.window import LIMITS


@click.command(context_settings=CONTEXT_SETTINGS)
@click.option("--length", type=int, default=100, show_default=True, help="steps in the series")
@click.option("--look-back", type=int, default=3, show_default=True, help="steps per window (the model's timesteps)")
@click.option("--features", type=int, default=1, show_default=True, help="values per step")
@click.option(
    "--horizon",
    type=int,
    default=1,
    show_default=True,
    help="the target is the value this many steps after a window's last step",
)
@click.option("--stride", type=int, default=1, show_default=True, help="steps between the starts of two windows")
@click.option(
    "--show",
    type=int,
    default=5,
    show_default=True,
    help="windows to list, {}..{} (then the last one)".format(*LIMITS["show"]),
)
@static_option("plain numpy slicing only, without TensorFlow")
@max_memory_option("series whose windows are")
@json_option()
def window(json_mode: bool, **options: Any) -> int:
    """How a series becomes X [samples, look_back, features] and y [samples, features].

    The series has --length steps of --features values (series[t, f] = t + f * length, so the
    windows read as step indices). Each window of --look-back steps is paired with the value
    --horizon steps after its last step. The windows come from Keras' own
    keras.utils.timeseries_dataset_from_array (the equivalent call is shown) and are checked
    against plain slicing; the widely copied create_dataset loop is run to show the window it
    drops.

    \b
    Examples:
      rnnshape window --length 100 --look-back 3
      rnnshape window --length 10 --look-back 3 --features 2 --horizon 2 --json
      rnnshape window --length 20 --look-back 4 --stride 3
    """
    from rnnshape.api.window import window as run

    return execute("window", json_mode, lambda: run(**options))
