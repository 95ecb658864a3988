"""Stacks of layers (rnnshape stack, rnnshape patterns) built and run in Keras."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnnshape.rules import progress
from rnnshape.rules.kinds import KINDS
from rnnshape.runner.build import _as_list
from rnnshape.runner.numbers import deterministic_stack_input, deterministic_weights
from rnnshape.runner.session import call_layer, keras_failures, load_keras, quiet_native_stderr


# ---- stacks of layers (rnnshape stack, rnnshape patterns) -----------------------------------
@dataclass
class StackLayerRun:
    """One token's layer as Keras built and ran it."""

    symbolic_shape: tuple[int, ...]  # the functional model's output shape
    output_shape: tuple[int, ...]  # measured on the eager run
    params: int  # layer.count_params()


@dataclass
class StackRun:
    """Plain results of building a stack as a keras.Model and running it once."""

    layers: list[StackLayerRun]  # the layers Keras built, in token order
    count_params: int
    failed_index: int | None  # the token Keras refused, or None
    keras_message: str | None  # Keras' own message for that token
    fixed_output_shape: tuple[int, ...] | None = None  # the repaired stack, built and run
    input: np.ndarray | None = None  # the input the stack was run on
    # (token index, the Dense's output on a sequence, a TimeDistributed(Dense) twin's output
    # with the same weights on the same input)
    dense_twins: list[tuple[int, np.ndarray, np.ndarray]] = field(default_factory=list)
    # (token index of an :init decoder, its output in the model, a twin with the same weights on
    # the same input starting from zeros)
    init_twins: list[tuple[int, np.ndarray, np.ndarray]] = field(default_factory=list)


def stack_layer(keras: Any, token: Any, return_state: bool = False) -> Any:
    """The Keras layer for a stack_spec.Token, named by its position (``return_state`` when a
    later :init token starts from its states)."""
    layers = keras.layers
    # Every weight is overwritten by _run_stack: zeros instead of Keras' (costly) default initializers.
    if token.recurrent:
        cls = getattr(layers, KINDS[token.kind].keras_class)
        options = {
            key: value
            for key, value in (
                ("reset_after", token.reset_after),
                ("activation", token.activation),
                ("recurrent_activation", token.recurrent_activation),
            )
            if value is not None
        }
        if token.nobias:
            options["use_bias"] = False
        if token.unroll:
            options["unroll"] = True
        layer = cls(
            token.n,
            return_sequences=token.seq,
            go_backwards=token.back,
            name=token.keras_name,
            kernel_initializer="zeros",
            recurrent_initializer="zeros",
            return_state=return_state,
            **options,
        )
        return layers.Bidirectional(layer, name=f"bidirectional_{token.index}") if token.bi else layer
    if token.kind == "dense":
        return layers.Dense(token.n, name=token.keras_name, kernel_initializer="zeros")
    if token.kind == "td":
        return layers.TimeDistributed(
            layers.Dense(token.n, name=f"dense_{token.index}", kernel_initializer="zeros"), name=token.keras_name
        )
    return layers.RepeatVector(token.n, name=token.keras_name)


def run_stacks(jobs: list[tuple[Any, Any]], seed: int = 0) -> list[StackRun]:
    """Build and run each (plan, repaired plan or None) with one TensorFlow import."""
    load_keras()
    results = []
    with quiet_native_stderr():
        for index, (plan, repaired) in enumerate(jobs):
            progress.configuration(index, len(jobs), plan.command())
            with keras_failures(f"the stack {plan.command()}"):
                result = _run_stack(plan, seed)
                if repaired is not None and result.failed_index is not None:
                    fixed = _run_stack(repaired, seed)
                    if fixed.failed_index is None and fixed.layers:
                        result.fixed_output_shape = fixed.layers[-1].output_shape
            results.append(result)
    return results


def _run_stack(plan: Any, seed: int) -> StackRun:
    keras = load_keras()
    from rnnshape.rules.stack import state_provider

    inputs = keras.Input(shape=plan.input_shape[1:], batch_size=plan.batch, name="input")
    tensor, outputs, built = inputs, [], []
    failed_index, message = None, None
    tokens = list(plan.tokens)
    providers = {state_provider(tokens, t).index for t in tokens if t.init and state_provider(tokens, t)}
    states: dict[int, list[Any]] = {}
    for token in plan.tokens:
        layer = stack_layer(keras, token, return_state=token.index in providers)
        try:
            if token.init:
                tensor = layer(tensor, initial_state=states[state_provider(tokens, token).index])
            else:
                tensor = layer(tensor)
            if token.index in providers:
                tensor, *states[token.index] = tensor
        except Exception as exc:  # Keras refuses this input: that is the answer, not a crash
            failed_index, message = token.index, " ".join(str(exc).split())
            break
        outputs.append(tensor)
        built.append(layer)
    if not outputs:
        return StackRun([], 0, failed_index, message)
    model = keras.Model(inputs, outputs, name="stack")
    model.set_weights(deterministic_weights(seed, [tuple(w.shape) for w in model.weights]))
    x = deterministic_stack_input(seed, plan.input_shape)
    values = [np.asarray(v) for v in _as_list(call_layer(model, x))]
    init_twins = []
    for position, (token, layer) in enumerate(zip(plan.tokens, built)):
        if token.init:
            twin = stack_layer(keras, dataclasses.replace(token, init=False))
            seen = x if position == 0 else values[position - 1]
            twin.build(seen.shape)
            twin.set_weights(layer.get_weights())
            init_twins.append((token.index, values[position], np.asarray(call_layer(twin, seen))))
    layers = [
        StackLayerRun(tuple(int(d) for d in t.shape), tuple(v.shape), int(layer.count_params()))
        for t, v, layer in zip(outputs, values, built)
    ]
    twins = []
    for position, (token, layer) in enumerate(zip(plan.tokens, built)):
        if token.kind == "dense" and values[position].ndim == 3:
            seen = x if position == 0 else values[position - 1]
            twin = keras.layers.TimeDistributed(keras.layers.Dense(token.n))
            twin.build(seen.shape)
            twin.set_weights(layer.get_weights())
            twins.append((token.index, values[position], np.asarray(call_layer(twin, seen))))
    return StackRun(
        layers,
        int(sum(layer.params for layer in layers)),
        failed_index,
        message,
        input=x,
        dense_twins=twins,
        init_twins=init_twins,
    )
