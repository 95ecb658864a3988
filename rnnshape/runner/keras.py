"""The one module that imports Keras and TensorFlow, always inside its functions.

It builds a real layer with deterministic weights, runs a deterministic input through it and
returns plain numpy results. TensorFlow's log lines (Python and C++, including those printed
during import that ignore TF_CPP_MIN_LOG_LEVEL) are kept off the user's terminal by pointing
file descriptor 2 at a private log file while TensorFlow works.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import re
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from rnnshape.errors import BackendError
from rnnshape.model.limits import MAX_UNMASKED_LENGTHS
from rnnshape.model.layer import INIT_KEYS, INITIALIZERS, INPUT_KINDS, KERAS_LAYER_NAME, SEEDLESS_INITIALIZERS, LayerSpec

_keras: Any = None
_native_log: Any = None  # binary temp file; fd 2 points here while TensorFlow works
_native_log_text: Any = None


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Send fd 2, sys.stderr and Python warnings to a private log while the block runs."""
    global _native_log, _native_log_text
    if _native_log is None:
        _native_log = tempfile.TemporaryFile(mode="w+b")
        _native_log_text = io.TextIOWrapper(_native_log, encoding="utf-8", errors="replace", write_through=True)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    saved_fd = os.dup(2)
    saved_stderr = sys.stderr
    os.dup2(_native_log.fileno(), 2)
    sys.stderr = _native_log_text
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        with contextlib.suppress(Exception):
            _native_log_text.flush()
        os.dup2(saved_fd, 2)
        os.close(saved_fd)
        sys.stderr = saved_stderr


def native_log() -> str:
    """What TensorFlow printed so far (for --debug)."""
    if _native_log is None:
        return ""
    _native_log.seek(0)
    text = _native_log.read().decode("utf-8", "replace")
    _native_log.seek(0, os.SEEK_END)
    return text


def load_keras() -> Any:
    """Import Keras 3 on the TensorFlow backend, once per process, quietly."""
    global _keras
    if _keras is not None:
        return _keras
    os.environ["KERAS_BACKEND"] = "tensorflow"
    quiet_tensorflow_logging(keep_user_settings=os.environ.get("RNNSHAPE_DEBUG", "") not in ("", "0"))
    with quiet_native_stderr():
        try:
            import keras
            import tensorflow as tf
        except Exception as exc:  # ImportError, or a broken install raising anything
            raise BackendError(
                f"TensorFlow/Keras could not be imported ({type(exc).__name__}: {_first_line(exc)}); "
                "install it with: pip install tensorflow  (or run with --static for shapes without it)"
            ) from exc
        if not keras.__version__.startswith("3."):
            raise BackendError(f"rnnshape needs Keras 3, found keras {keras.__version__}; pip install -U keras")
        tf.get_logger().setLevel("ERROR")
        with contextlib.suppress(Exception):
            import absl.logging

            absl.logging.set_verbosity(absl.logging.ERROR)
    _keras = keras
    return keras


# TensorFlow's C++ log reads these when it is imported. Its lines are written to fd 2 at any
# time (a tensor freed after a run logs __LOG_MEMORY__ under TF_CPP_MAX_VLOG_LEVEL=3), not only
# while quiet_native_stderr holds it, so the user's own settings are overridden before the import.
QUIET_TF_ENVIRONMENT = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_CPP_MAX_VLOG_LEVEL": "0", "TF_CPP_VMODULE": "",
                        "GRPC_VERBOSITY": "ERROR"}


def quiet_tensorflow_logging(keep_user_settings: bool = False) -> None:
    """Set TensorFlow's log environment before it is imported: quiet whatever the user's
    environment says, or (``keep_user_settings``, under --debug) only where the user set nothing."""
    for key, value in QUIET_TF_ENVIRONMENT.items():
        if keep_user_settings:
            if value:
                os.environ.setdefault(key, value)
        elif value:
            os.environ[key] = value
        else:
            os.environ.pop(key, None)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


# ---- deterministic numbers ---------------------------------------------------------------
def deterministic_weights(seed: int, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """The tool's own weights: uniform in [-0.5, 0.5), drawn in Keras' weight order."""
    rng = np.random.default_rng([seed, 0])
    return [rng.uniform(-0.5, 0.5, size=shape).astype(np.float32) for shape in shapes]


def deterministic_input(spec: LayerSpec) -> np.ndarray:
    """Input [batch, timesteps, features] from --input (by default seeded uniform numbers in
    [-1, 1], rounded to 2 decimals); with --lengths the steps past each length are zero padding."""
    from rnnshape.files import load_input_file

    if spec.input in INPUT_KINDS:
        x = generated_input(spec.input, spec.seed, spec.input_shape)
    else:
        x = load_input_file(spec.input).array
    mask = input_mask(spec)
    if mask is not None:
        x = np.where(mask[:, :, None], x, np.float32(0.0)).astype(np.float32)
    return x


def input_mask(spec: LayerSpec) -> np.ndarray | None:
    if spec.lengths is None:
        return None
    steps = np.arange(spec.timesteps)[None, :]
    return steps < np.asarray(spec.lengths)[:, None]


# ---- building ----------------------------------------------------------------------------
CELL_OPTIONS = ("reset_after", "activation", "recurrent_activation")  # constructor options of the cell


def build_layer(spec: LayerSpec, **overrides: Any) -> Any:
    """The Keras layer for ``spec`` (``overrides`` replace constructor flags), built for the
    input shape. Weights are Keras' defaults until set. ``overrides`` may also give cell
    options (``reset_after`` for GRU, ``activation``, ``recurrent_activation``)."""
    keras = load_keras()
    flags = {
        "return_sequences": spec.return_sequences,
        "return_state": spec.return_state,
        "stateful": spec.stateful,
        "go_backwards": spec.go_backwards,
    }
    flags.update({k: v for k, v in overrides.items() if k in flags})
    bidirectional = overrides.get("bidirectional", spec.bidirectional)
    merge_mode = overrides.get("merge_mode", spec.merge_mode)
    cell_options = {k: overrides[k] for k in CELL_OPTIONS if overrides.get(k) is not None}
    cls = getattr(keras.layers, spec.keras_class)
    # Weights the user left to rnnshape are overwritten right after building: start them at zeros
    # rather than at Keras' defaults (its orthogonal recurrent initializer costs a QR decomposition:
    # minutes for thousands of units).
    placeholders = {keyword: "zeros" for keyword in INIT_KEYS.values()}
    layer = cls(spec.units, name=KERAS_LAYER_NAME[spec.layer], **flags, **cell_options,
                **{**placeholders, **initializers(spec)})
    if bidirectional:
        layer = keras.layers.Bidirectional(
            layer, merge_mode=None if merge_mode == "none" else merge_mode, name="bidirectional"
        )
    layer.build(spec.input_shape)
    return layer


def initializers(spec: LayerSpec) -> dict[str, Any]:
    """Constructor arguments for the initializers the user chose (--kernel-init ...)."""
    keras = load_keras()
    chosen = {}
    for key, keyword in INIT_KEYS.items():
        value = getattr(spec, key)
        if value is None:
            continue
        if isinstance(value, float):
            chosen[keyword] = keras.initializers.Constant(value)
        elif value in SEEDLESS_INITIALIZERS:
            chosen[keyword] = value
        else:
            cls = getattr(keras.initializers, INITIALIZERS[value])
            chosen[keyword] = cls(seed=spec.seed)
    return chosen


# Which initializer option governs a weight, by the last part of its path.
_WEIGHT_INIT_KEY = {"kernel": "kernel_init", "recurrent_kernel": "recurrent_init", "bias": "bias_init"}


def set_deterministic_weights(layer: Any, spec: LayerSpec) -> None:
    """rnnshape's own seeded weights, for every weight whose initializer the user left unset
    (the others keep what the chosen Keras initializer drew)."""
    shapes = [tuple(w.shape) for w in layer.weights]
    own = deterministic_weights(spec.seed, shapes)
    for variable, value in zip(layer.weights, own):
        key = _WEIGHT_INIT_KEY.get(variable.path.rsplit("/", 1)[-1])
        if key is None or getattr(spec, key) is None:
            variable.assign(value)


# ---- results -----------------------------------------------------------------------------
@dataclass
class RunResult:
    """Plain results of one run: nothing here holds a TensorFlow object."""

    spec: LayerSpec
    input: np.ndarray
    outputs: dict[str, np.ndarray]  # in Keras order
    symbolic_shapes: dict[str, tuple[int, ...]]  # layer.compute_output_shape
    weights: list[tuple[str, tuple[int, ...]]]  # (path, shape) in Keras order
    count_params: int
    probe: Probe  # what layers sharing its weights return: the material of the measured facts


def run(spec: LayerSpec) -> RunResult:
    """Build and run one configuration (with its probes)."""
    return run_many([spec])[0]


def run_many(specs: list[LayerSpec]) -> list[RunResult]:
    """Every configuration in this process, with one TensorFlow import."""
    load_keras()
    results = []
    with quiet_native_stderr():
        for spec in specs:
            try:
                results.append(_run_one(spec))
            except BackendError:
                raise
            except Exception as exc:
                raise BackendError(f"Keras failed running {spec.keras_call()}: {type(exc).__name__}: "
                                   f"{_first_line(exc)}{_failure_hint(spec, exc)}") from exc
    return results


def _failure_hint(spec: LayerSpec, exc: BaseException) -> str:
    """A known Keras failure, explained after Keras' own message."""
    if spec.bidirectional and spec.stateful and spec.return_state and isinstance(exc, TypeError):
        return (" (Keras' Bidirectional.compute_mask fails when stateful=True and return_state=True: "
                "drop --return-state)")
    return ""


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


@dataclass
class Prepared:
    """A built layer with the run's weights set, and the run's input and mask."""

    layer: Any
    weights: list[np.ndarray]
    x: np.ndarray
    mask: np.ndarray | None


def prepare(spec: LayerSpec, **overrides: Any) -> Prepared:
    """The layer and input every command uses for ``spec``: the same options and seed give
    the same weights and the same input in inspect, compare, trace and stateful.
    ``overrides`` change constructor flags (see build_layer) but never the numbers."""
    layer = build_layer(spec, **overrides)
    set_deterministic_weights(layer, spec)
    return Prepared(layer, layer.get_weights(), deterministic_input(spec), input_mask(spec))


def _run_one(spec: LayerSpec) -> RunResult:
    prepared = prepare(spec)
    layer, weights, x, mask = prepared.layer, prepared.weights, prepared.x, prepared.mask
    raw = _as_list(layer(x, mask=mask) if mask is not None else layer(x))
    names = spec.output_names()
    if len(raw) != len(names):
        raise BackendError(f"Keras returned {len(raw)} tensors where rnnshape expects {len(names)} "
                           f"({', '.join(names)}) for {spec.keras_call()}")
    outputs = {name: np.asarray(t) for name, t in zip(names, raw)}
    symbolic = _as_list(layer.compute_output_shape(spec.input_shape))
    symbolic_shapes = {name: tuple(int(d) for d in s) for name, s in zip(names, _symbolic_list(symbolic, len(names)))}
    probe = _probe(spec, layer, weights, x, mask)
    return RunResult(
        spec=spec,
        input=x,
        outputs=outputs,
        symbolic_shapes=symbolic_shapes,
        weights=[(w.path, tuple(int(d) for d in w.shape)) for w in layer.weights],
        count_params=int(layer.count_params()),
        probe=probe,
    )


def keras_shapes(specs: list[LayerSpec]) -> list[dict[str, Any]]:
    """Only what Keras says about each configuration: eager output shapes and dtypes (in order),
    symbolic compute_output_shape, count_params. For checking the pure model at scale."""
    load_keras()
    answers = []
    with quiet_native_stderr():
        for spec in specs:
            layer = build_layer(spec)
            x = np.zeros(spec.input_shape, np.float32)
            raw = _as_list(layer(x))
            symbolic = _symbolic_list(_as_list(layer.compute_output_shape(spec.input_shape)), len(raw))
            answers.append({
                "shapes": [tuple(int(d) for d in t.shape) for t in raw],
                "dtypes": [str(np.asarray(t).dtype) for t in raw],
                "symbolic": [tuple(int(d) for d in s) for s in symbolic],
                "count_params": int(layer.count_params()),
                "weights": [(w.path, tuple(int(d) for d in w.shape)) for w in layer.weights],
            })
    return answers


def _symbolic_list(shapes: Any, count: int) -> list[tuple]:
    """compute_output_shape gives one shape tuple for a single output, else a sequence of them."""
    if count == 1 and shapes and not isinstance(shapes[0], (list, tuple)):
        return [tuple(shapes)]
    return [tuple(s) for s in shapes]




def _state_names(spec: LayerSpec) -> list[str]:
    """The state names of spec with return_state=True (the probe twins always return states)."""
    return dataclasses.replace(spec, return_state=True).state_names()


def _unmasked_runs(spec: LayerSpec, twin: Any, x: np.ndarray) -> list[UnmaskedRun]:
    """The probe twin (return_sequences and return_state) without a mask on each padded
    sample's valid steps only, x[rows, :length], one call per distinct length."""
    runs = []
    lengths = np.asarray(spec.lengths)
    for length in sorted({int(n) for n in lengths if n < spec.timesteps})[:MAX_UNMASKED_LENGTHS]:
        rows = np.flatnonzero(lengths == length)
        outputs = [np.asarray(t) for t in _as_list(twin(x[rows, :length]))]
        names = (["forward_output", "backward_output"] if spec.bidirectional else ["output"]) + _state_names(spec)
        runs.append(UnmaskedRun(rows, length, dict(zip(names, outputs))))
    return runs


def _probe(spec: LayerSpec, layer: Any, weights: list[np.ndarray], x: np.ndarray, mask: np.ndarray | None) -> Probe:
    """Run layers that share the weights, to measure what the returned tensors are."""
    probe = Probe()
    if spec.stateful:
        targets = [layer.forward_layer, layer.backward_layer] if spec.bidirectional else [layer]
        probe.state_variables = [np.asarray(v.numpy()) for t in targets for v in t.states]
    kwargs = {"mask": mask} if mask is not None else {}
    if spec.bidirectional:
        twin = build_layer(spec, return_sequences=True, return_state=True, stateful=False, merge_mode="none")
        twin.set_weights(weights)
        fwd, bwd, *states = _as_list(twin(x, **kwargs))
        probe.forward_seq, probe.backward_seq = np.asarray(fwd), np.asarray(bwd)
        probe.states = {name: np.asarray(s) for name, s in zip(_state_names(spec), states)}
        if mask is not None:
            probe.unmasked = _unmasked_runs(spec, twin, x)
        return probe
    twin = build_layer(spec, return_sequences=True, return_state=True, stateful=False)
    twin.set_weights(weights)
    seq, *states = _as_list(twin(x, **kwargs))
    probe.seq, probe.h = np.asarray(seq), np.asarray(states[0])
    if spec.has_cell_state:
        probe.c = np.asarray(states[1])
    probe.states = {name: np.asarray(s) for name, s in zip(_state_names(spec), states)}
    if mask is not None:
        probe.unmasked = _unmasked_runs(spec, twin, x)
    if spec.go_backwards and mask is None:
        forward = build_layer(spec, return_sequences=True, return_state=False, stateful=False, go_backwards=False)
        forward.set_weights(weights)
        probe.reversed_input_seq = np.asarray(forward(x[:, ::-1]))
    return probe


# ---- trace: the weights of each direction and Keras' own numbers to check against ------------
@dataclass
class DirectionRun:
    """One recurrent direction of a traced layer: its cell weights and options as Keras holds
    them, and what Keras computes with them (from a twin layer with the same weights that
    returns every step: ``seq`` is h at each step in reading order, ``h``/``c`` the final states)."""

    keras_name: str  # the (sub)layer's name, e.g. "lstm", "forward_lstm", "backward_lstm"
    go_backwards: bool
    kernel: np.ndarray
    recurrent_kernel: np.ndarray
    bias: np.ndarray | None
    activation: str | None
    recurrent_activation: str | None  # None for SimpleRNN, which has none
    reset_after: bool | None  # GRU only
    seq: np.ndarray
    h: np.ndarray
    c: np.ndarray | None


@dataclass
class TraceRun:
    spec: LayerSpec
    input: np.ndarray
    mask: np.ndarray | None
    outputs: dict[str, np.ndarray]  # the real layer's returned tensors, in Keras order
    directions: list[DirectionRun]
    keras_options: dict[str, Any]  # cell options given to the constructor (e.g. reset_after)


def trace_many(specs: list[LayerSpec], options: list[dict[str, Any]] | None = None) -> list[TraceRun]:
    """For each spec (with its cell ``options``, e.g. {"reset_after": False}), the real layer's
    outputs and, per direction, its weights and every step as Keras computes it."""
    options = options if options is not None else [{} for _ in specs]
    load_keras()
    results = []
    with quiet_native_stderr():
        for spec, opts in zip(specs, options):
            try:
                results.append(_trace_one(spec, dict(opts)))
            except BackendError:
                raise
            except Exception as exc:
                raise BackendError(f"Keras failed running {spec.keras_call()}: {type(exc).__name__}: "
                                   f"{_first_line(exc)}") from exc
    return results


def _trace_one(spec: LayerSpec, options: dict[str, Any]) -> TraceRun:
    prepared = prepare(spec, **options)
    layer, x, mask = prepared.layer, prepared.x, prepared.mask
    kwargs = {"mask": mask} if mask is not None else {}
    raw = _as_list(layer(x, **kwargs))
    names = spec.output_names()
    if len(raw) != len(names):
        raise BackendError(f"Keras returned {len(raw)} tensors where rnnshape expects {len(names)} "
                           f"({', '.join(names)}) for {spec.keras_call()}")
    outputs = {name: np.asarray(t) for name, t in zip(names, raw)}
    sublayers = [layer.forward_layer, layer.backward_layer] if spec.bidirectional else [layer]
    directions = []
    for sub in sublayers:
        cell = sub.cell
        config = cell.get_config()
        twin = build_layer(spec, bidirectional=False, go_backwards=bool(sub.go_backwards), return_sequences=True,
                           return_state=True, stateful=False, **options)
        twin.set_weights(sub.get_weights())
        seq, *states = _as_list(twin(x, **kwargs))
        directions.append(DirectionRun(
            keras_name=sub.name,
            go_backwards=bool(sub.go_backwards),
            kernel=np.asarray(cell.kernel.numpy()),
            recurrent_kernel=np.asarray(cell.recurrent_kernel.numpy()),
            bias=np.asarray(cell.bias.numpy()) if cell.bias is not None else None,
            activation=_activation_name(config.get("activation")),
            recurrent_activation=_activation_name(config.get("recurrent_activation")),
            reset_after=config.get("reset_after"),
            seq=np.asarray(seq),
            h=np.asarray(states[0]),
            c=np.asarray(states[1]) if spec.has_cell_state else None,
        ))
    return TraceRun(spec, x, mask, outputs, directions, options)


def _activation_name(serialized: Any) -> str | None:
    """get_config() gives a built-in activation as its name; anything else is reported as is."""
    if serialized is None or isinstance(serialized, str):
        return serialized
    if isinstance(serialized, dict):
        return str(serialized.get("config", serialized.get("class_name")))
    return str(serialized)
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


def deterministic_stack_input(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    """The stack's input: uniform in [-1, 1] rounded to 2 decimals, drawn like inspect's."""
    rng = np.random.default_rng([seed, 1])
    return np.round(rng.uniform(-1.0, 1.0, size=shape), 2).astype(np.float32)


def stack_layer(keras: Any, token: Any) -> Any:
    """The Keras layer for a stack_spec.Token, named by its position."""
    layers = keras.layers
    # Every weight is overwritten by _run_stack: zeros instead of Keras' (costly) default initializers.
    if token.recurrent:
        cls = getattr(layers, {"lstm": "LSTM", "gru": "GRU", "simplernn": "SimpleRNN"}[token.kind])
        layer = cls(token.n, return_sequences=token.seq, go_backwards=token.back, name=token.keras_name,
                    kernel_initializer="zeros", recurrent_initializer="zeros")
        return layers.Bidirectional(layer, name=f"bidirectional_{token.index}") if token.bi else layer
    if token.kind == "dense":
        return layers.Dense(token.n, name=token.keras_name, kernel_initializer="zeros")
    if token.kind == "td":
        return layers.TimeDistributed(layers.Dense(token.n, name=f"dense_{token.index}", kernel_initializer="zeros"),
                                      name=token.keras_name)
    return layers.RepeatVector(token.n, name=token.keras_name)


def run_stacks(jobs: list[tuple[Any, Any]], seed: int = 0) -> list[StackRun]:
    """Build and run each (plan, repaired plan or None) with one TensorFlow import."""
    load_keras()
    results = []
    with quiet_native_stderr():
        for plan, repaired in jobs:
            try:
                result = _run_stack(plan, seed)
                if repaired is not None and result.failed_index is not None:
                    fixed = _run_stack(repaired, seed)
                    if fixed.failed_index is None and fixed.layers:
                        result.fixed_output_shape = fixed.layers[-1].output_shape
            except BackendError:
                raise
            except Exception as exc:
                raise BackendError(f"Keras failed running the stack {plan.command()}: {type(exc).__name__}: "
                                   f"{_first_line(exc)}") from exc
            results.append(result)
    return results


def _run_stack(plan: Any, seed: int) -> StackRun:
    keras = load_keras()
    inputs = keras.Input(shape=plan.input_shape[1:], batch_size=plan.batch, name="input")
    tensor, outputs, built = inputs, [], []
    failed_index, message = None, None
    for token in plan.tokens:
        layer = stack_layer(keras, token)
        try:
            tensor = layer(tensor)
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
    values = [np.asarray(v) for v in _as_list(model(x))]
    layers = [StackLayerRun(tuple(int(d) for d in t.shape), tuple(v.shape), int(layer.count_params()))
              for t, v, layer in zip(outputs, values, built)]
    twins = []
    for position, (token, layer) in enumerate(zip(plan.tokens, built)):
        if token.kind == "dense" and values[position].ndim == 3:
            seen = x if position == 0 else values[position - 1]
            twin = keras.layers.TimeDistributed(keras.layers.Dense(token.n))
            twin.build(seen.shape)
            twin.set_weights(layer.get_weights())
            twins.append((token.index, values[position], np.asarray(twin(seen))))
    return StackRun(layers, int(sum(layer.params for layer in layers)), failed_index, message, input=x,
                    dense_twins=twins)


# ---- windows of a series (rnnshape window) ----------------------------------------------
def _window_dataset(keras: Any, series: np.ndarray, look_back: int, horizon: int, stride: int,
                    batch_size: int | None) -> Any:
    """Keras' utility, called as window.WindowSpec.keras_call shows."""
    return keras.utils.timeseries_dataset_from_array(
        series[:-horizon], targets=series[look_back + horizon - 1:], sequence_length=look_back,
        sequence_stride=stride, shuffle=False, batch_size=batch_size)


def keras_windows(series: np.ndarray, look_back: int, horizon: int, stride: int,
                  batch_size: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """X and y from keras.utils.timeseries_dataset_from_array, called as window.WindowSpec.keras_call
    shows: data series[:-horizon], targets series[look_back + horizon - 1:]."""
    keras = load_keras()
    with quiet_native_stderr():
        try:
            dataset = _window_dataset(keras, series, look_back, horizon, stride, batch_size)
            # Filled batch by batch: X is held once, not as batches and their concatenation.
            count = max(0, (len(series) - horizon - look_back) // stride + 1)
            xs = np.empty((count, look_back, series.shape[1]), series.dtype)
            ys = np.empty((count, series.shape[1]), series.dtype)
            filled = 0
            for x, y in dataset:
                x, y = np.asarray(x), np.asarray(y)
                if filled + len(x) > count:  # more windows than the formula: keep them all, to be compared
                    xs = np.concatenate([xs[:filled], x])
                    ys = np.concatenate([ys[:filled], y])
                    count = filled = len(xs)
                    continue
                xs[filled:filled + len(x)], ys[filled:filled + len(y)] = x, y
                filled += len(x)
        except Exception as exc:
            raise BackendError(f"keras.utils.timeseries_dataset_from_array failed: {type(exc).__name__}: "
                               f"{_first_line(exc)}") from exc
    return xs[:filled], ys[:filled]


def keras_window_count(series: np.ndarray, look_back: int, horizon: int, stride: int) -> int:
    """How many windows Keras' utility makes of the whole series, read from the dataset's
    cardinality (unbatched) without iterating it."""
    keras = load_keras()
    with quiet_native_stderr():
        try:
            dataset = _window_dataset(keras, series, look_back, horizon, stride, None)
            count = int(dataset.cardinality().numpy())
        except Exception as exc:
            raise BackendError(f"keras.utils.timeseries_dataset_from_array failed: {type(exc).__name__}: "
                               f"{_first_line(exc)}") from exc
    if count < 0:  # tf.data's UNKNOWN (-2) or INFINITE (-1): count by iterating
        with quiet_native_stderr():
            count = sum(1 for _ in dataset)
    return count


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


def keras_message(exc: BaseException) -> str:
    """Keras' own message without its colour codes and the 'Arguments received' listing."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    keep = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("Exception encountered when calling", "•")):
            continue
        if stripped.startswith("Arguments received by"):
            continue
        keep.append(stripped)
    return " ".join(keep) or type(exc).__name__


def _state_targets(spec: LayerSpec, layer: Any) -> list[Any]:
    return [layer.forward_layer, layer.backward_layer] if spec.bidirectional else [layer]


def _read_states(targets: list[Any]) -> list[np.ndarray]:
    return [np.array(v.numpy()) for t in targets for v in t.states]


def _call(layer: Any, targets: list[Any], x: np.ndarray) -> ChunkCall:
    initial = _read_states(targets)
    outputs = [np.asarray(t) for t in _as_list(layer(x))]
    return ChunkCall(initial, _read_states(targets), outputs)


def run_stateful(spec: LayerSpec, bounds: list[tuple[int, int]], read_orders: list[np.ndarray] | None = None,
                 shuffle_rows: np.ndarray | None = None) -> StatefulRun:
    """Feed the chunks ``bounds`` ([start, stop) along time) of the run's input as consecutive
    batches to one stateful layer, then reset it, and run the references that share its weights.

    ``read_orders`` (one index array per direction) asks for forward layers over x[:, order]:
    the input in the order each direction of the stateful layer actually reads it.
    ``shuffle_rows`` (needs two chunks) feeds chunk 2 with its samples in that order after a reset.
    """
    if not spec.stateful:
        raise ValueError("run_stateful needs a spec with stateful=True")
    keras = load_keras()
    with quiet_native_stderr():
        try:
            return _run_stateful(keras, spec, bounds, read_orders, shuffle_rows)
        except BackendError:
            raise
        except Exception as exc:
            raise BackendError(f"Keras failed running {spec.keras_call()}: {type(exc).__name__}: "
                               f"{_first_line(exc)}{_failure_hint(spec, exc)}") from exc


def _run_stateful(keras: Any, spec: LayerSpec, bounds: list[tuple[int, int]],
                  read_orders: list[np.ndarray] | None, shuffle_rows: np.ndarray | None) -> StatefulRun:
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
    fresh_last = [np.asarray(t) for t in _as_list(fresh(x[:, last_start:last_stop]))]
    whole = build_layer(spec, stateful=False, return_sequences=True, return_state=True,
                        merge_mode="none" if spec.bidirectional else spec.merge_mode)
    whole.set_weights(weights)
    one_pass = [np.asarray(t) for t in _as_list(whole(x))]

    as_read = None
    if read_orders is not None:
        direction_weights = ([target.get_weights() for target in targets] if spec.bidirectional else [weights])
        as_read = []
        for order, own in zip(read_orders, direction_weights):
            reader = build_layer(spec, bidirectional=False, go_backwards=False, stateful=False,
                                 return_sequences=True, return_state=True)
            reader.set_weights(own)
            as_read.append([np.asarray(t) for t in _as_list(reader(x[:, np.asarray(order)]))])

    shuffled = None
    if shuffle_rows is not None and len(bounds) >= 2:
        layer.reset_state()
        layer(x[:, bounds[0][0]:bounds[0][1]])
        shuffled = _call(layer, targets, x[np.asarray(shuffle_rows), bounds[1][0]:bounds[1][1]])

    # The batch size is fixed: try one sample more and keep Keras' own message.
    batch_error = None
    other = spec.batch + 1
    first_start, first_stop = bounds[0]
    wrong = np.concatenate([x[:, first_start:first_stop], x[:1, first_start:first_stop]], axis=0)
    try:
        layer(wrong)
    except Exception as exc:  # Keras raises ValueError; whatever it raises is what we show
        batch_error = (other, type(exc).__name__, keras_message(exc))
    layer.reset_state()

    api = {
        "layer.reset_state": hasattr(layer, "reset_state"),
        "layer.reset_states": hasattr(layer, "reset_states"),
        "keras.Model.reset_state": hasattr(keras.Model, "reset_state"),
        "keras.Model.reset_states": hasattr(keras.Model, "reset_states"),
    }
    return StatefulRun(x, chunks, after_reset, rerun, fresh_last, one_pass, as_read, shuffled, batch_error, api)


@dataclass
class UnmaskedRun:
    """The probe layer without a mask on some samples' valid steps only, x[rows, :length]."""

    rows: np.ndarray
    length: int
    outputs: dict[str, np.ndarray]  # output (or forward_output, backward_output) and every state



@dataclass
class Probe:
    """Arrays from layers that share the inspected layer's weights.

    seq: h at every step in the order the layer reads the input (plain layers), h/c: final
    states. For Bidirectional, the forward/backward versions (backward flipped to time order).
    """

    seq: np.ndarray | None = None
    h: np.ndarray | None = None
    c: np.ndarray | None = None
    reversed_input_seq: np.ndarray | None = None  # go_backwards=False layer on x[:, ::-1]
    forward_seq: np.ndarray | None = None
    backward_seq: np.ndarray | None = None
    state_variables: list[np.ndarray] = field(default_factory=list)  # stateful: layer.states after the call
    states: dict[str, np.ndarray] = field(default_factory=dict)  # final states of the probe, by name
    unmasked: list[UnmaskedRun] = field(default_factory=list)  # with --lengths: runs on the valid steps only


def generated_input(kind: str, seed: int, shape: tuple[int, int, int]) -> np.ndarray:
    if kind == "arange":  # as Keras' own tests build their inputs
        return np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    if kind == "ones":
        return np.ones(shape, np.float32)
    if kind == "zeros":
        return np.zeros(shape, np.float32)
    # random: uniform in [-1, 1] rounded to 2 decimals so the numbers read easily
    rng = np.random.default_rng([seed, 1])
    return np.round(rng.uniform(-1.0, 1.0, size=shape), 2).astype(np.float32)


@dataclass
class KerasWindows:
    """What Keras' utility gave: its window count on the whole series, and the windows of the
    segments it was run on, each as (first sample index, X, y)."""

    count: int
    segments: list[tuple[int, np.ndarray, np.ndarray]]



def run_windows(spec: Any, series: np.ndarray) -> KerasWindows:
    """Keras' utility on the series (see ``segments``); a segment starting at a window's first
    step, made with the same call, holds exactly the windows from there on."""
    from rnnshape.model.window import segments

    parts = []
    cut = segments(spec)
    for first, count, step in cut:
        # One segment: the whole series, as the user would call it (cut to its last window, a
        # series of 5 steps with look-back 3 and stride 3 became data shorter than the stride,
        # which Keras refuses).
        end = len(series) if len(cut) == 1 else step + (count - 1) * spec.stride + spec.look_back + spec.horizon
        kx, ky = keras_windows(series[step:end], spec.look_back, spec.horizon, spec.stride)
        parts.append((first, kx, ky))
    if len(parts) == 1:
        total = len(parts[0][1])
    else:
        total = keras_window_count(series, spec.look_back, spec.horizon, spec.stride)
    return KerasWindows(total, parts)
