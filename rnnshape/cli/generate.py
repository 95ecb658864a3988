"""rnnshape generate: a stateful layer warmed up on a known part, then one step per call, fed back."""

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
from rnnshape.rules.generate import DEFAULT_STEPS, MAX_STEPS


@click.command(context_settings=CONTEXT_SETTINGS)
@layer_options()
@click.option(
    "--steps",
    type=click.IntRange(1, MAX_STEPS),
    default=DEFAULT_STEPS,
    show_default=True,
    metavar="N",
    help="steps generated one call at a time, each call fed the previous call's output",
)
@click.option(
    "--head",
    is_flag=True,
    help="add keras.layers.Dense(features) after the layer: --units may then differ from --features",
)
@click.option(
    "--values",
    is_flag=True,
    help="also give every value: the known part, every generated step and its input, the states "
    "(elided in the terminal, full in JSON)",
)
@backend_option("the loop and every measurement")
@json_option()
@export_options(
    diagram_help="draw the calls: the known part read in one call, then each generated step fed back "
    "as the next input, the state carried"
)
def generate(json_mode: bool, svg: str | None, html: str | None, **options: Any) -> int:
    """Warm a stateful layer up on a known part, then generate one step per call, each output fed back.

    The loop of the answer "Understanding Keras LSTMs": keras.layers.LSTM(units=features,
    stateful=True, return_sequences=True) on
    keras.Input(batch_shape=(batch, None, features)) (GRU, SimpleRNN too; --head adds a
    Dense(features), then --units may differ), reset_state(), the known part (--timesteps K steps
    of the deterministic input, or --input FILE of shape (batch, K, features)) read in one call,
    then --steps N calls on one step each, fed the previous call's last output, and reset_state().
    Weights and known part are those of inspect with the same options and seed.

    Measured: the loop equals the same weights run as a loop of a non-stateful layer with
    return_state=True and initial_state, and a non-stateful model fed the whole known part plus
    every generated step; a reset between warm-up and forecast changes the forecast, and so does
    forgetting the first reset (by how much, per step). The layer is always built with
    stateful=True and return_sequences=True (--stateful and --return-sequences change nothing).

    \b
    Examples:
      rnnshape generate --steps 5
      rnnshape generate --layer gru --features 3 --timesteps 6 --steps 4 --values
      rnnshape generate --layer lstm --units 8 --head --steps 10 --json
      rnnshape generate --input examples/known.npy --steps 20 --diagram
      rnnshape generate --layer simplernn --steps 3 --backend jax
    """
    from rnnshape.api.generate import generate as run

    # the loop's layer is always stateful and returns sequences: those flags are accepted and change nothing
    return execute(
        "generate",
        json_mode,
        lambda: run(**without_view_options(options, "stateful", "return_sequences")),
        svg=svg,
        html=html,
    )
