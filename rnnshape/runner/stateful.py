"""stateful: one sequence cut into consecutive batches, fed to a stateful layer and to the model
built with keras.Input(batch_shape=...), the states read after every call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnshape.rules import progress
from rnnshape.rules.layer import LayerSpec
from rnnshape.runner.build import _as_list, build_layer
from rnnshape.runner.layer import _failure_words, prepare
from rnnshape.runner.session import call_layer, keras_failures, keras_message, load_keras, quiet_native_stderr


# ---- stateful: one sequence cut into consecutive batches ----------------------------------
@dataclass
class ChunkCall:
    """One call of the stateful layer: its state variables before and after, and what it returned."""

    initial: list[np.ndarray]  # the state variables before the call (forward, then backward)
    final: list[np.ndarray]  # the state variables after the call
    outputs: list[np.ndarray]  # what the call returned, in Keras order


@dataclass
class StatefulRun:
    """Plain results of `rnnshape stateful`: nothing here holds a TensorFlow object."""

    x: np.ndarray
    chunks: list[ChunkCall]
    after_reset: list[np.ndarray]  # the state variables right after layer.reset_state()
    rerun: ChunkCall  # the last chunk fed again after reset_state()
    fresh_last: list[np.ndarray]  # a non-stateful layer (return_state=True) on the last chunk alone
    one_pass: list[np.ndarray]  # non-stateful, return_sequences and return_state (merge_mode none) on all of x
    as_read: list[list[np.ndarray]] | None  # per direction: [seq, *states] of a forward layer on x read in order
    shuffled: ChunkCall | None  # after reset: chunk 1, then chunk 2 with its rows in another order
    batch_error: tuple[int, str, str] | None  # (batch tried, exception type, Keras' message); None if no error
    api: dict[str, bool]
    model: StatefulModelRun | None = None  # the recommended keras.Model fed every chunk


@dataclass
class StatefulModelRun:
    """A keras.Model built from keras.Input(batch_shape=...) and the stateful layer (same
    weights), fed every chunk in turn."""

    batch_shape: tuple[int | None, ...]
    outputs: list[list[np.ndarray]]  # per chunk accepted, what the model returned (Keras order)
    final: list[np.ndarray]  # the layer's state variables after the last chunk accepted
    refused: tuple[int, str, str] | None  # (chunk index from 1, exception type, Keras' message)


def _state_targets(spec: LayerSpec, layer: Any) -> list[Any]:
    return [layer.forward_layer, layer.backward_layer] if spec.bidirectional else [layer]


def _read_states(targets: list[Any]) -> list[np.ndarray]:
    return [np.array(v.numpy()) for t in targets for v in t.states]


def _call(layer: Any, targets: list[Any], x: np.ndarray) -> ChunkCall:
    initial = _read_states(targets)
    outputs = [np.asarray(t) for t in _as_list(call_layer(layer, x))]
    return ChunkCall(initial, _read_states(targets), outputs)


def run_stateful(
    spec: LayerSpec,
    bounds: list[tuple[int, int]],
    read_orders: list[np.ndarray] | None = None,
    shuffle_rows: np.ndarray | None = None,
    model_batch_shape: tuple[int | None, ...] | None = None,
) -> StatefulRun:
    """Feed the chunks ``bounds`` ([start, stop) along time) of the run's input as consecutive
    batches to one stateful layer, then reset it, and run the references that share its weights.

    ``read_orders`` (one index array per direction) asks for forward layers over x[:, order]:
    the input in the order each direction of the stateful layer actually reads it.
    ``shuffle_rows`` (needs two chunks) feeds chunk 2 with its samples in that order after a reset.
    ``model_batch_shape`` builds keras.Model(keras.Input(batch_shape=...), layer) with the same
    weights and feeds it every chunk (a chunk the model refuses is recorded with Keras' message).
    """
    if not spec.stateful:
        raise ValueError("run_stateful needs a spec with stateful=True")
    keras = load_keras()
    progress.configuration(0, 1, spec.keras_call())
    with quiet_native_stderr(), keras_failures(spec.keras_call(), lambda exc: _failure_words(spec, exc)):
        return _run_stateful(keras, spec, bounds, read_orders, shuffle_rows, model_batch_shape)


def _run_stateful(
    keras: Any,
    spec: LayerSpec,
    bounds: list[tuple[int, int]],
    read_orders: list[np.ndarray] | None,
    shuffle_rows: np.ndarray | None,
    model_batch_shape: tuple[int | None, ...] | None = None,
) -> StatefulRun:
    prepared = prepare(spec)
    layer, weights, x = prepared.layer, prepared.weights, prepared.x
    targets = _state_targets(spec, layer)
    chunks = [_call(layer, targets, x[:, start:stop]) for start, stop in bounds]
    layer.reset_state()
    after_reset = _read_states(targets)
    last_start, last_stop = bounds[-1]
    rerun = _call(layer, targets, x[:, last_start:last_stop])

    fresh = build_layer(spec, stateful=False, return_state=True)
    fresh.set_weights(weights)
    fresh_last = [np.asarray(t) for t in _as_list(call_layer(fresh, x[:, last_start:last_stop]))]
    whole = build_layer(
        spec,
        stateful=False,
        return_sequences=True,
        return_state=True,
        merge_mode="none" if spec.bidirectional else spec.merge_mode,
    )
    whole.set_weights(weights)
    one_pass = [np.asarray(t) for t in _as_list(call_layer(whole, x))]

    as_read = None
    if read_orders is not None:
        direction_weights = [target.get_weights() for target in targets] if spec.bidirectional else [weights]
        as_read = []
        for order, own in zip(read_orders, direction_weights):
            reader = build_layer(
                spec, bidirectional=False, go_backwards=False, stateful=False, return_sequences=True, return_state=True
            )
            reader.set_weights(own)
            as_read.append([np.asarray(t) for t in _as_list(call_layer(reader, x[:, np.asarray(order)]))])

    shuffled = None
    if shuffle_rows is not None and len(bounds) >= 2:
        layer.reset_state()
        call_layer(layer, x[:, bounds[0][0] : bounds[0][1]])
        shuffled = _call(layer, targets, x[np.asarray(shuffle_rows), bounds[1][0] : bounds[1][1]])

    # The batch size is fixed: try one sample more and keep Keras' own message.
    batch_error = None
    other = spec.batch + 1
    first_start, first_stop = bounds[0]
    wrong = np.concatenate([x[:, first_start:first_stop], x[:1, first_start:first_stop]], axis=0)
    try:
        layer(wrong)  # eager on purpose: Keras' own refusal, as a user's call raises it (no result to compile)
    except Exception as exc:  # Keras raises ValueError; whatever it raises is what we show
        batch_error = (other, type(exc).__name__, keras_message(exc))
    layer.reset_state()

    api = {
        "layer.reset_state": hasattr(layer, "reset_state"),
        "layer.reset_states": hasattr(layer, "reset_states"),
        "keras.Model.reset_state": hasattr(keras.Model, "reset_state"),
        "keras.Model.reset_states": hasattr(keras.Model, "reset_states"),
    }
    model = None if model_batch_shape is None else _run_model(keras, spec, bounds, x, weights, model_batch_shape)
    return StatefulRun(x, chunks, after_reset, rerun, fresh_last, one_pass, as_read, shuffled, batch_error, api, model)


def _run_model(
    keras: Any,
    spec: LayerSpec,
    bounds: list[tuple[int, int]],
    x: np.ndarray,
    weights: list[np.ndarray],
    batch_shape: tuple[int | None, ...],
) -> StatefulModelRun:
    """The model a user would write: keras.Input(batch_shape=...) into the stateful layer, the
    run's weights, every chunk fed in order to the model (not to the layer)."""
    layer = build_layer(spec)
    inputs = keras.Input(batch_shape=batch_shape)
    model = keras.Model(inputs, layer(inputs))
    layer.set_weights(weights)
    layer.reset_state()
    targets = _state_targets(spec, layer)
    outputs, refused = [], None
    for index, (start, stop) in enumerate(bounds, start=1):
        try:
            outputs.append([np.asarray(t) for t in _as_list(call_layer(model, x[:, start:stop]))])
        except Exception as exc:  # Keras raises ValueError; whatever it raises is what we show
            refused = (index, type(exc).__name__, keras_message(exc))
            break
    final = _read_states(targets)
    layer.reset_state()
    return StatefulModelRun(tuple(batch_shape), outputs, final, refused)
