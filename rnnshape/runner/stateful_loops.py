"""The stateful loops of the tutorials run on real Keras: model.fit epochs with the states read in a
callback (`stateful --fit`), overlapping windows fed to a stateful layer (`--windows`), and a
stateful model saved and loaded (`--save-load`). Plain arrays out; the judging is in
measure.stateful_loops."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnnshape.rules import progress
from rnnshape.rules.layer import LayerSpec
from rnnshape.rules.stateful_loops import FitPlan
from rnnshape.runner.build import _as_list, build_layer
from rnnshape.runner.layer import prepare
from rnnshape.runner.numbers import deterministic_weights
from rnnshape.runner.session import call_layer, keras_failures, keras_message, load_keras, quiet_native_stderr
from rnnshape.runner.stateful import _read_states


def _guarded(spec: LayerSpec, work: Any, *args: Any) -> Any:
    keras = load_keras()
    progress.configuration(0, 1, spec.keras_call())
    with quiet_native_stderr(), keras_failures(spec.keras_call()):
        return work(keras, spec, *args)


def short_message(exc: BaseException) -> str:
    """Keras' message; a TensorFlow graph error cut to its own line (Incompatible shapes ...)."""
    text = keras_message(exc)
    if "Graph execution error" in text:
        raw = [line.strip() for line in str(exc).splitlines() if line.strip()]
        for line in raw:
            if "Incompatible shapes" in line or "must be" in line:
                return line
        return raw[-1] if raw else text
    return text


# ---- fit ------------------------------------------------------------------------------------
@dataclass
class FitBatch:
    epoch: int  # from 0
    batch: int  # from 0 within the epoch
    entering: list[np.ndarray]  # the state variables in on_train_batch_begin
    leaving: list[np.ndarray]  # ... in on_train_batch_end
    loss: float
    candidates: np.ndarray | None = (
        None  # (rows, samples): max |leaving[row] - forward pass of sample from entering[row]|
    )


@dataclass
class PartialFit:
    """fit on one sample fewer than the arrangement: the last batch is short."""

    samples: int
    batch_size: int
    error: tuple[str, str] | None  # (exception type, Keras' message)
    batches_seen: int
    last: FitBatch | None  # the last batch, its candidates over the samples given
    predict_rows: int | None  # rows model.predict returned for those samples
    predict_error: tuple[str, str] | None


@dataclass
class FitRun:
    x: np.ndarray  # the series (series, timesteps, features)
    X: np.ndarray  # the samples given to fit (samples, chunk, features)
    y: np.ndarray
    batches: list[FitBatch]
    losses: list[float]  # fit's epoch loss, per epoch
    partial: PartialFit | None
    api: dict[str, bool] = field(default_factory=dict)


def arrange(x: np.ndarray, plan: FitPlan) -> tuple[np.ndarray, np.ndarray]:
    """X[k*B + i] = chunk k of series i; y = the mean of the chunk's steps."""
    X = np.stack([x[i, k * plan.chunk : (k + 1) * plan.chunk] for k in range(plan.chunks) for i in range(plan.series)])
    return X.astype(np.float32), X.mean(axis=1).astype(np.float32)


def run_fit(spec: LayerSpec, plan: FitPlan) -> FitRun:
    return _guarded(spec, _run_fit, plan)


def _fit_model(keras: Any, spec: LayerSpec, plan: FitPlan) -> tuple[Any, Any, np.ndarray]:
    prepared = prepare(spec, return_sequences=False, return_state=False)
    layer = prepared.layer
    inputs = keras.Input(batch_shape=(plan.series, plan.chunk, spec.features))
    head = keras.layers.Dense(spec.features, name="dense")
    model = keras.Model(inputs, head(layer(inputs)))
    layer.set_weights(prepared.weights)
    head.set_weights(deterministic_weights(spec.seed + 1, [(spec.units, spec.features), (spec.features,)]))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="mse")
    layer.reset_state()
    return model, layer, prepared.x


def _recorder(keras: Any, layer: Any, epoch: list[int], out: list[FitBatch], weights: list[Any]) -> Any:
    class Recorder(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            self._entering = _read_states([layer])
            weights.append([np.array(w) for w in layer.get_weights()])

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            loss = float((logs or {}).get("loss", float("nan")))
            out.append(FitBatch(epoch[0], batch, self._entering, _read_states([layer]), loss))

    return Recorder()


def _candidates(
    reference: Any, weights: list[np.ndarray], entering: list[np.ndarray], X: np.ndarray, leaving: list[np.ndarray]
) -> np.ndarray:
    """max |leaving[row] - the final state of sample j read from entering[row]| for every row and sample."""
    rows, samples = entering[0].shape[0], X.shape[0]
    reference.set_weights(weights)
    initial = [np.repeat(s, samples, axis=0) for s in entering]
    result = _as_list(call_layer(reference, np.tile(X, (rows, 1, 1)), initial_state=initial))
    finals = [np.asarray(t).reshape(rows, samples, -1) for t in result[1:]]
    diffs = [np.abs(f - np.asarray(s)[:, None, :]).max(axis=2) for f, s in zip(finals, leaving)]
    return np.max(np.stack(diffs), axis=0)


def _run_fit(keras: Any, spec: LayerSpec, plan: FitPlan) -> FitRun:
    model, layer, x = _fit_model(keras, spec, plan)
    X, y = arrange(x, plan)
    keras.utils.set_random_seed(spec.seed)  # fit's shuffle draws from Keras' seeded generators
    batches: list[FitBatch] = []
    weights: list[Any] = []
    epoch = [0]
    recorder = _recorder(keras, layer, epoch, batches, weights)
    losses = []
    for e in range(plan.epochs):
        epoch[0] = e
        if plan.reset:
            layer.reset_state()
        history = model.fit(
            X, y, epochs=1, batch_size=plan.series, shuffle=plan.shuffle, verbose=0, callbacks=[recorder]
        )
        losses.append(float(history.history["loss"][-1]))
    reference = build_layer(spec, stateful=False, return_sequences=False, return_state=True)
    for record, w in zip(batches, weights):
        record.candidates = _candidates(reference, w, record.entering, X, record.leaving)
    partial = _partial_fit(model, layer, plan, X, y, reference)
    api = {
        "keras.Model.reset_states": hasattr(keras.Model, "reset_states"),
        "keras.Model.reset_state": hasattr(keras.Model, "reset_state"),
        "layer.reset_state": hasattr(layer, "reset_state"),
    }
    return FitRun(x, X, y, batches, losses, partial, api)


def _partial_fit(
    model: Any, layer: Any, plan: FitPlan, X: np.ndarray, y: np.ndarray, reference: Any
) -> PartialFit | None:
    """The trained model, its state reset, fitted one more epoch on all samples but the last:
    the last batch is one sample short of batch_size (needs two rows)."""
    if plan.series < 2:
        return None
    keras = load_keras()
    layer.reset_state()
    count = X.shape[0] - 1
    seen: list[FitBatch] = []
    weights: list[Any] = []
    recorder = _recorder(keras, layer, [0], seen, weights)
    error = None
    try:
        model.fit(
            X[:count], y[:count], epochs=1, batch_size=plan.series, shuffle=False, verbose=0, callbacks=[recorder]
        )
    except Exception as exc:  # what Keras raises is what is shown
        error = (type(exc).__name__, short_message(exc))
    last = None
    if error is None and seen and len(seen) == len(weights):
        last = seen[-1]
        start = (len(seen) - 1) * plan.series
        last.candidates = _candidates(reference, weights[-1], last.entering, X[start:count], last.leaving)
    layer.reset_state()
    predict_rows, predict_error = None, None
    try:
        predict_rows = int(np.asarray(model.predict(X[:count], batch_size=plan.series, verbose=0)).shape[0])
    except Exception as exc:
        predict_error = (type(exc).__name__, short_message(exc))
    return PartialFit(count, plan.series, error, len(seen), last, predict_rows, predict_error)


# ---- overlapping windows ----------------------------------------------------------------------
@dataclass
class WindowsRun:
    x: np.ndarray  # the series (series, timesteps, features)
    windows: list[tuple[list[np.ndarray], list[np.ndarray], np.ndarray]]  # per window: entering, leaving, output
    one_pass: list[np.ndarray]  # non-stateful over x: [h at every step, *final states]
    as_read: list[np.ndarray]  # non-stateful over the windows concatenated: [h at every step, *final states]
    chunks: list[tuple[list[np.ndarray], list[np.ndarray], np.ndarray]]  # non-overlapping chunks, fed statefully


def run_windows_loop(spec: LayerSpec, look_back: int) -> WindowsRun:
    return _guarded(spec, _run_windows_loop, look_back)


def _stateful_feed(layer: Any, pieces: list[np.ndarray]) -> list[tuple[list[np.ndarray], list[np.ndarray], np.ndarray]]:
    calls = []
    for piece in pieces:
        entering = _read_states([layer])
        output = np.asarray(_as_list(call_layer(layer, piece))[0])
        calls.append((entering, _read_states([layer]), output))
    return calls


def _run_windows_loop(keras: Any, spec: LayerSpec, look_back: int) -> WindowsRun:
    prepared = prepare(spec, return_sequences=False, return_state=False)
    layer, x = prepared.layer, prepared.x
    steps = x.shape[1]
    windows = _stateful_feed(layer, [x[:, k : k + look_back] for k in range(steps - look_back + 1)])
    whole = build_layer(spec, stateful=False, return_sequences=True, return_state=True)
    whole.set_weights(prepared.weights)
    one_pass = [np.asarray(t) for t in _as_list(call_layer(whole, x))]
    order = [t for k in range(steps - look_back + 1) for t in range(k, k + look_back)]
    as_read = [np.asarray(t) for t in _as_list(call_layer(whole, x[:, order]))]
    layer.reset_state()
    chunks = _stateful_feed(layer, [x[:, s : s + look_back] for s in range(0, steps, look_back)])
    layer.reset_state()
    return WindowsRun(x, windows, one_pass, as_read, chunks)


# ---- save and load ----------------------------------------------------------------------------
@dataclass
class SaveLoadRun:
    x: np.ndarray
    batch_shape: tuple[int | None, ...]
    before_save: list[np.ndarray]  # the state variables when model.save ran
    after_load: list[np.ndarray]  # the loaded layer's state variables
    saved_paths: list[str]  # the variables model.save writes (model.variables)
    state_paths: list[str]  # the layer's state variables
    weights_diff: float  # max |loaded weights - saved weights|
    continued: np.ndarray  # the original model on the last chunk (continuing)
    loaded_continued: np.ndarray  # the loaded model on the last chunk
    fresh: np.ndarray  # the original model after reset_state() on the last chunk
    predict_batch: int
    predict_error: tuple[str, str] | None
    predict_rows: int | None
    saved_bytes: int


def run_save_load(spec: LayerSpec, bounds: list[tuple[int, int]], batch_shape: tuple[int | None, ...]) -> SaveLoadRun:
    return _guarded(spec, _run_save_load, bounds, batch_shape)


def _run_save_load(
    keras: Any, spec: LayerSpec, bounds: list[tuple[int, int]], batch_shape: tuple[int | None, ...]
) -> SaveLoadRun:
    prepared = prepare(spec, return_state=False)
    layer, x = prepared.layer, prepared.x
    inputs = keras.Input(batch_shape=batch_shape)
    model = keras.Model(inputs, layer(inputs))
    layer.set_weights(prepared.weights)
    layer.reset_state()
    for start, stop in bounds[:-1]:
        call_layer(model, x[:, start:stop])
    before = _read_states([layer])
    last = x[:, bounds[-1][0] : bounds[-1][1]]
    with tempfile.TemporaryDirectory(prefix="rnnshape-") as folder:
        path = os.path.join(folder, "stateful.keras")
        model.save(path)
        size = os.path.getsize(path)
        loaded = keras.saving.load_model(path)
    loaded_layer = loaded.get_layer(layer.name)
    after = _read_states([loaded_layer])
    weights_diff = max(
        (
            float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
            for a, b in zip(loaded_layer.get_weights(), layer.get_weights())
        ),
        default=0.0,
    )
    saved_paths = [v.path for v in model.variables]
    state_paths = [v.path for v in layer.states]
    continued = np.asarray(_as_list(call_layer(model, last))[0])
    loaded_continued = np.asarray(_as_list(call_layer(loaded, last))[0])
    layer.reset_state()
    fresh = np.asarray(_as_list(call_layer(model, last))[0])
    other = spec.batch + 1
    wrong = np.concatenate([x[:, bounds[0][0] : bounds[0][1]], x[:1, bounds[0][0] : bounds[0][1]]], axis=0)
    predict_error, predict_rows = None, None
    try:
        predict_rows = int(np.asarray(loaded.predict(wrong, batch_size=other, verbose=0)).shape[0])
    except Exception as exc:  # Keras' own refusal is what is shown
        predict_error = (type(exc).__name__, short_message(exc))
    return SaveLoadRun(
        x,
        tuple(batch_shape),
        before,
        after,
        saved_paths,
        state_paths,
        weights_diff,
        continued,
        loaded_continued,
        fresh,
        other,
        predict_error,
        predict_rows,
        size,
    )
