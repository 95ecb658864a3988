"""`rnnshape generate`: a stateful layer reads a known part, then generates one step per call,
each output fed back as the next input (the loop of "Understanding Keras LSTMs").

Pure: which layers and options the loop takes, the Python of the loop a user would write, the
size of a run for the guard, and the rules of Keras the command states (RULES); the claims
measured on a run are in measure.generate.
"""

from __future__ import annotations

import dataclasses

from rnnshape.errors import UsageError
from rnnshape.rules.catalogue import KERAS_CLASS, canonical_layer
from rnnshape.rules.cost import (
    BYTES_PER_SHOWN_VALUE,
    SECONDS_PER_RUN,
    SECONDS_PER_SHOWN_VALUE,
    SECONDS_PER_WEIGHT,
    pass_seconds,
)
from rnnshape.rules.layer import LayerSpec

DEFAULT_STEPS = 5
MAX_STEPS = 100_000  # the time guard is the real limit
GENERATE_LAYERS = ("lstm", "gru", "simplernn")
# One model call in eager Keras costs about this beyond its steps (converting the input, the
# Functional model's graph walk, the state assignments); the loop makes one call per generated
# step. Measured on the 2-core machine under a load of 10: 70 ms a one-step call, 18 ms a step of
# a long call, so about four steps' worth (SECONDS_PER_STEP) unloaded; generate --timesteps 50
# --steps 200 took 136 s there (estimate 8.5 s, about 11 s unloaded by the same ratio).
SECONDS_PER_CALL = 0.006

RULES = [
    "stateful=True keeps each call's final state as the next call's initial state, so a model called on one "
    "step at a time continues the sequence it has read: generation feeds each new output back as the next input.",
    "Feeding the output back as the next input needs the output to have the input's shape: units == features "
    "without a head, or a Dense(features) head after the recurrent layer (then units may differ).",
    "Declare the input with keras.Input(batch_shape=(batch, None, features)): None timesteps lets the same model "
    "read the known part in one call and then one step per call; the batch is fixed by the state variables.",
    "Call reset_states() (Keras 3: layer.reset_state() on each stateful layer) before a new sequence and after "
    "it: the state variables otherwise hold whatever the last call left.",
    "The same loop without stateful=True: a layer with return_state=True called on one step with "
    "initial_state=[h, c] (LSTM) or [h] (GRU, SimpleRNN) from the previous call.",
]
CALL_RULE = (
    "model(x) computes what model.predict(x) computes, batch by batch; the tool calls the model "
    "directly, once per step, as the loop calls predict."
)


def check_layer(layer: str) -> None:
    """Refuse a layer the loop does not run (before its options are validated)."""
    name = canonical_layer(layer)
    if name not in GENERATE_LAYERS:
        raise UsageError(
            f"Invalid value for --layer: generate runs lstm, gru and simplernn layers, not "
            f"{KERAS_CLASS[name]}; see its outputs and states with rnnshape inspect"
        )


def check_options(spec: LayerSpec) -> None:
    """Refuse, with the option named, what the generation loop cannot run."""
    check_layer(spec.layer)
    refused = [
        (
            spec.bidirectional,
            "--bidirectional",
            "a generated step exists only after the backward direction has "
            "read the future: generation runs forward layers",
        ),
        (
            spec.go_backwards,
            "--go-backwards",
            "each call reads one step, so go_backwards changes nothing within a "
            "call and reverses the known part: generation reads forwards",
        ),
        (
            spec.lengths is not None,
            "--lengths",
            "generation feeds whole sequences without a mask; see padding under a mask with rnnshape inspect --lengths",
        ),
        (
            spec.return_state,
            "--return-state",
            "the loop feeds back the output sequence and reads the states from "
            "the layer's variables; drop --return-state",
        ),
        (
            spec.initial_state is not None,
            "--initial-state",
            "the loop starts from reset_states() (zeros), as the answer's loop does; drop --initial-state",
        ),
        (
            spec.unroll,
            "--unroll",
            "Keras unrolls only a known number of timesteps, and the model declares None "
            "timesteps (keras.Input(batch_shape=(batch, None, features)))",
        ),
        (
            spec.training and bool(spec.dropout or spec.recurrent_dropout),
            "--training",
            "with dropout every call draws new dropout masks, so no loop can equal another; generate measures "
            "inference (drop --training)",
        ),
    ]
    for refuse, option, why in refused:
        if refuse:
            raise UsageError(f"Invalid value for {option}: {why}")


def check_units(spec: LayerSpec, *, units_given: bool, head: bool) -> None:
    """Without a head the output is fed back as the input: units must equal features."""
    if not head and spec.units != spec.features:
        where = "--units" if units_given else "--features"
        raise UsageError(
            f"Invalid value for {where}: feeding the output back as the next input needs units == "
            f"features without a head (units {spec.units}, features {spec.features}); give --units "
            f"{spec.features}, or add --head (a Dense(features) head maps the units back to features)"
        )


def check_steps(steps: int) -> int:
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise UsageError(f"Invalid value for --steps: {steps!r} is not in the range 1..{MAX_STEPS}")
    return steps


def keras_input(spec: LayerSpec) -> str:
    return f"keras.Input(batch_shape=({spec.batch}, None, {spec.features}))"


def head_call(spec: LayerSpec) -> str:
    return f"keras.layers.Dense({spec.features})"


def loop_code(spec: LayerSpec, steps: int, head: bool) -> list[str]:
    """The Python of the loop the command runs, as a user would write it."""
    out = "keras.layers.Dense({f})(h)".format(f=spec.features) if head else "h"
    lines = [
        f"inputs = {keras_input(spec)}",
        f"h = keras.layers.{spec.keras_call().removeprefix('keras.layers.')}(inputs)",
        f"model = keras.Model(inputs, {out})",
        "layer = model.layers[1]",
        "layer.reset_state()                      # before: the state starts from zeros",
        f"y = model(known)                         # warm-up: known is {known_shape(spec)}",
        "step = y[:, -1:]                         # its last output is the first input fed back",
        "generated = []",
        f"for i in range({steps}):",
        "    step = model(step)                   # one step per call, the state carried",
        "    generated.append(step)",
        "layer.reset_state()                      # after: the next sequence starts from zeros",
    ]
    return lines


def known_shape(spec: LayerSpec) -> str:
    return f"({spec.batch}, {spec.timesteps}, {spec.features})"


def generating_spec(spec: LayerSpec) -> LayerSpec:
    """The layer of the loop: stateful, the whole output sequence returned."""
    return dataclasses.replace(spec, stateful=True, return_sequences=True, return_state=False)


def total_steps(spec: LayerSpec, steps: int) -> tuple[int, int]:
    """(timesteps read, model calls) of a whole run: the loop four times (the loop, run again,
    without its first reset, with a reset between), the initial_state loop, and one call of the
    non-stateful model over the known part plus every generated step."""
    loop = spec.timesteps + steps
    return 6 * loop, 5 * (steps + 1) + 1


def estimated_seconds(spec: LayerSpec, steps: int, values: int = 0) -> float:
    """A rough estimate of a run: every step read eagerly (one call per generated step)."""
    read, calls = total_steps(spec, steps)
    builds = 3  # the stateful model, the initial_state layer, the non-stateful model (heads included)
    return (
        SECONDS_PER_RUN
        + pass_seconds(spec.layer, spec.units, spec.features, spec.batch, read)
        + calls * SECONDS_PER_CALL
        + builds * spec.param_total() * SECONDS_PER_WEIGHT
        + values * SECONDS_PER_SHOWN_VALUE
    )


def value_count(spec: LayerSpec, steps: int) -> int:
    """The numbers a run holds and may show: the known part, the warm-up output, and the
    generated steps of every loop."""
    known = spec.batch * spec.timesteps * spec.features
    generated = spec.batch * steps * spec.features
    return 3 * known + 8 * generated


def value_bytes(spec: LayerSpec, steps: int) -> int:
    return value_count(spec, steps) * BYTES_PER_SHOWN_VALUE
