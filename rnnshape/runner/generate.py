"""`rnnshape generate` in Keras: a stateful model reads a known part, then is called one step at
a time on its own last output; and the references that share its weights (the initial_state
loop of a non-stateful layer, a non-stateful model fed the whole sequence). Returns plain
arrays; the claims are judged in measure.generate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnshape.rules import progress
from rnnshape.rules.layer import LayerSpec
from rnnshape.runner.build import _as_list, build_layer
from rnnshape.runner.layer import prepare
from rnnshape.runner.session import call_layer, keras_failures, load_keras, quiet_native_stderr
from rnnshape.runner.stateful import _read_states


@dataclass
class LoopRun:
    """One run of the generation loop on the stateful model."""

    initial: list[np.ndarray]  # the state variables before the known part
    warm_output: np.ndarray  # the model's output on the known part (batch, K, features)
    warm_final: list[np.ndarray]  # the state variables after the known part
    inputs: np.ndarray  # (batch, N, features): what each generation call was fed
    generated: np.ndarray  # (batch, N, features): what each generation call returned
    final: list[np.ndarray]  # the state variables after the last call


@dataclass
class GenerateRun:
    """Plain results of `rnnshape generate`: nothing here holds a Keras object."""

    x: np.ndarray  # the known part (batch, K, features)
    head: list[np.ndarray] | None  # the Dense head's kernel and bias, or None
    loop: LoopRun  # reset_state(), the loop, reset_state()
    after_reset: list[np.ndarray]  # the state variables after the final reset
    again: LoopRun  # the loop run again after that reset (not reset at its end)
    no_first_reset: LoopRun  # then the loop without its first reset: it starts from what `again` left
    reset_between: LoopRun  # reset, warm-up, reset again, then the steps
    manual_warm: np.ndarray  # the initial_state loop: its output on the known part
    manual: np.ndarray  # ... and its generated steps
    manual_final: list[np.ndarray]  # ... and the states it returned last
    whole_warm: np.ndarray  # a non-stateful model on the known part plus every generated step: its known steps
    whole: np.ndarray  # ... and its outputs at the generated steps


def run_generate(spec: LayerSpec, steps: int, head: bool) -> GenerateRun:
    """The loop and its references for ``spec`` (stateful, return_sequences): ``steps``
    generated steps; ``head`` adds a Dense(features) after the layer."""
    if not (spec.stateful and spec.return_sequences):
        raise ValueError("run_generate needs a spec with stateful=True and return_sequences=True")
    keras = load_keras()
    progress.configuration(0, 1, spec.keras_call())
    with quiet_native_stderr(), keras_failures(spec.keras_call()):
        return _run_generate(keras, spec, steps, head)


def head_weights(spec: LayerSpec) -> list[np.ndarray]:
    """The head's seeded weights: kernel (units, features) and bias (features,), uniform in [-0.5, 0.5)."""
    rng = np.random.default_rng([spec.seed, 3])
    return [
        rng.uniform(-0.5, 0.5, size=shape).astype(np.float32)
        for shape in ((spec.units, spec.features), (spec.features,))
    ]


def _head(keras: Any, spec: LayerSpec, weights: list[np.ndarray]) -> Any:
    dense = keras.layers.Dense(spec.features, name="dense")
    dense.build((spec.batch, None, spec.units))
    dense.set_weights(weights)
    return dense


def _numpy(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=np.float32)


def _loop(
    model: Any, layer: Any, x: np.ndarray, steps: int, *, reset_first: bool = True, reset_between: bool = False
) -> LoopRun:
    if reset_first:
        layer.reset_state()
    initial = _read_states([layer])
    warm = _numpy(call_layer(model, x))
    warm_final = _read_states([layer])
    if reset_between:
        layer.reset_state()
    step = warm[:, -1:]
    inputs, generated = [], []
    for _ in range(steps):
        inputs.append(step)
        step = _numpy(call_layer(model, step))
        generated.append(step)
    return LoopRun(
        initial,
        warm,
        warm_final,
        np.concatenate(inputs, axis=1),
        np.concatenate(generated, axis=1),
        _read_states([layer]),
    )


def _run_generate(keras: Any, spec: LayerSpec, steps: int, head: bool) -> GenerateRun:
    prepared = prepare(spec)
    layer, weights, x = prepared.layer, prepared.weights, prepared.x
    dense_weights = head_weights(spec) if head else None

    # The answer's model: keras.Input(batch_shape=(batch, None, features)), the stateful layer, [a head].
    inputs = keras.Input(batch_shape=(spec.batch, None, spec.features))
    outputs = layer(inputs)
    if head:
        outputs = _head(keras, spec, dense_weights)(outputs)
    model = keras.Model(inputs, outputs)

    loop = _loop(model, layer, x, steps)
    layer.reset_state()
    after_reset = _read_states([layer])
    again = _loop(model, layer, x, steps)  # no reset at its end: the state of a forgotten reset
    no_first_reset = _loop(model, layer, x, steps, reset_first=False)
    reset_between = _loop(model, layer, x, steps, reset_between=True)
    layer.reset_state()

    # The same loop without stateful: return_state=True and initial_state from the previous call.
    cell = build_layer(spec, stateful=False, return_sequences=True, return_state=True)
    cell.set_weights(weights)
    dense = _head(keras, spec, dense_weights) if head else None

    def mapped(seq: Any) -> Any:
        return seq if dense is None else call_layer(dense, seq)

    seq, *states = _as_list(call_layer(cell, x))
    manual_warm = _numpy(mapped(seq))
    step = manual_warm[:, -1:]
    manual = []
    for _ in range(steps):
        seq, *states = _as_list(call_layer(cell, step, initial_state=states))
        step = _numpy(mapped(seq))
        manual.append(step)
    manual_final = [_numpy(s) for s in states]

    # No state kept: a non-stateful model fed the whole known part plus every generated step, in one call.
    plain = build_layer(spec, stateful=False, return_sequences=True)
    plain.set_weights(weights)
    plain_dense = _head(keras, spec, dense_weights) if head else None
    plain_inputs = keras.Input(batch_shape=(spec.batch, None, spec.features))
    plain_out = plain(plain_inputs)
    if plain_dense is not None:
        plain_out = plain_dense(plain_out)
    plain_model = keras.Model(plain_inputs, plain_out)
    whole = _numpy(call_layer(plain_model, np.concatenate([x, loop.inputs], axis=1)))
    known = x.shape[1]

    return GenerateRun(
        x,
        dense_weights,
        loop,
        after_reset,
        again,
        no_first_reset,
        reset_between,
        manual_warm,
        np.concatenate(manual, axis=1),
        manual_final,
        whole[:, :known],
        whole[:, known:],
    )
