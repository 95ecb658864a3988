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
from rnnshape.model import progress
from rnnshape.model.limits import MAX_UNMASKED_LENGTHS
from rnnshape.model.network import CONV_RECURRENT
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


# KERAS_BACKEND as the environment set it, when it named another backend than TensorFlow: this
# process runs Keras on TensorFlow whatever it says (another backend is --backend's child process).
ignored_backend: str | None = None


def load_keras() -> Any:
    """Import Keras 3 on the TensorFlow backend, once per process, quietly."""
    global _keras
    global ignored_backend
    if _keras is not None:
        return _keras
    asked = os.environ.get("KERAS_BACKEND", "").strip()
    if asked and asked.lower() != "tensorflow":
        ignored_backend = asked  # the command line says so after the run (cli.app)
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


# ---- the one place where a layer is called on numbers --------------------------------------
# The run's mode: "eager" calls each layer as Keras does (one Python step per timestep);
# "compiled" calls it through tf.function (a graph: Keras' own while loop, not jit_compile),
# which gives the same numbers far faster on long sequences. api/ chooses (model/layer.py
# LayerSpec.run_mode) and sets it with ``mode``; every layer call of every command goes
# through call_layer.
_mode = "eager"
_compiled: dict[int, tuple[Any, Any]] = {}  # id(layer) -> (layer, its tf.function), for this mode's block


@contextlib.contextmanager
def mode(name: str) -> Iterator[None]:
    """Run the block's layer calls ``name`` ("eager" or "compiled")."""
    global _mode
    if name not in ("eager", "compiled"):
        raise ValueError(f"unknown run mode {name!r}")
    saved = _mode
    _mode = name
    try:
        yield
    finally:
        _mode = saved
        _compiled.clear()


def current_mode() -> str:
    return _mode


def _tensor(tf: Any, value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return tf.convert_to_tensor(value)
    if isinstance(value, (list, tuple)):
        return [_tensor(tf, v) for v in value]
    return value


def call_layer(layer: Any, x: Any, **kwargs: Any) -> Any:
    """``layer(x, **kwargs)`` eagerly, or through tf.function in compiled mode (traced once per
    layer and input signature; a stateful layer's state variables are assigned inside the
    graph, as eagerly). Results are tensors either way."""
    progress.layer_pass(f"{_mode} {getattr(layer, 'name', 'layer')} on {tuple(int(d) for d in getattr(x, 'shape', ()))}")
    if _mode != "compiled":
        return layer(x, **kwargs)
    import tensorflow as tf

    entry = _compiled.get(id(layer))
    if entry is None or entry[0] is not layer:
        entry = (layer, tf.function(layer.__call__, autograph=False))  # Keras builds its loop with tf ops itself
        _compiled[id(layer)] = entry
    return entry[1](_tensor(tf, x), **{k: _tensor(tf, v) for k, v in kwargs.items()})


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
    flags.update(cell_arguments(spec, **{k: overrides[k] for k in ("dropout", "recurrent_dropout", "unroll")
                                         if k in overrides}))
    bidirectional = overrides.get("bidirectional", spec.bidirectional)
    merge_mode = overrides.get("merge_mode", spec.merge_mode)
    if spec.reset_after is not None:
        flags["reset_after"] = spec.reset_after
    flags.update({k: overrides[k] for k in CELL_OPTIONS if overrides.get(k) is not None})
    if spec.cells is not None:  # keras.layers.RNN([cells...]): the cells take the initializers
        return _build_cells_layer(keras, spec, flags)
    cls = getattr(keras.layers, spec.keras_class)
    # Weights the user left to rnnshape are overwritten right after building: start them at zeros
    # rather than at Keras' defaults (its orthogonal recurrent initializer costs a QR decomposition:
    # minutes for thousands of units).
    placeholders = {keyword: "zeros" for keyword in INIT_KEYS.values()}
    if spec.conv:  # ConvLSTM: filters, kernel_size, strides, padding; channels_last only
        flags.update(kernel_size=spec.kernel_size, strides=spec.strides, padding=spec.padding,
                     data_format="channels_last")
    layer = cls(spec.units, name=KERAS_LAYER_NAME[spec.layer], **flags,
                **{**placeholders, **initializers(spec)})
    if bidirectional:
        layer = keras.layers.Bidirectional(
            layer, merge_mode=None if merge_mode == "none" else merge_mode, name="bidirectional"
        )
    layer.build(spec.input_shape)
    return layer


def _build_cells_layer(keras: Any, spec: LayerSpec, flags: dict[str, Any]) -> Any:
    """keras.layers.RNN with a list of cells (Keras wraps them in StackedRNNCells), named in order."""
    from rnnshape.model.layer import CELL_CLASS

    chosen = {**{keyword: "zeros" for keyword in INIT_KEYS.values()}, **initializers(spec)}
    cells = [getattr(keras.layers, CELL_CLASS[kind])(units, name=name, **chosen)
             for (kind, units), name in zip(spec.cells, spec.cell_names())]
    arguments = {k: v for k, v in flags.items() if k in ("return_sequences", "return_state", "stateful",
                                                         "go_backwards", "unroll")}
    # RNN(cells) would wrap them in a StackedRNNCells numbered per process: named here, as Keras' first one
    layer = keras.layers.RNN(keras.layers.StackedRNNCells(cells, name="stacked_rnn_cells"), name="rnn", **arguments)
    layer.build(spec.input_shape)
    return layer


def flatten(value: Any) -> list[Any]:
    """Keras 3.15 returns RNN([cells]) states nested, one list per cell ([h, c] or [h]): flat, in order."""
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in flatten(item)]
    return [value]


def _flat_shapes(value: Any) -> list[tuple]:
    """compute_output_shape's nesting flattened down to the shape tuples."""
    if isinstance(value, (list, tuple)) and value and all(isinstance(d, int) or d is None for d in value):
        return [tuple(value)]
    return [shape for item in value for shape in _flat_shapes(item)]


def cell_arguments(spec: LayerSpec, **overrides: Any) -> dict[str, Any]:
    """The constructor arguments of activations and bias, and of dropout and unroll where they
    differ from Keras' defaults (``overrides`` replace dropout, recurrent_dropout or unroll)."""
    values = {"dropout": spec.dropout, "recurrent_dropout": spec.recurrent_dropout, "unroll": spec.unroll, **overrides}
    arguments: dict[str, Any] = {"activation": spec.activation, "use_bias": spec.use_bias}
    if spec.recurrent_activation is not None:
        arguments["recurrent_activation"] = spec.recurrent_activation
    if spec.unit_forget_bias is not None:
        arguments["unit_forget_bias"] = spec.unit_forget_bias
    if values["dropout"] or values["recurrent_dropout"]:
        # Seeded: every layer built for this spec draws the same dropout masks on its first call.
        arguments.update(dropout=values["dropout"], recurrent_dropout=values["recurrent_dropout"], seed=spec.seed)
    if values["unroll"]:
        arguments["unroll"] = True
    return arguments


def initial_states(spec: LayerSpec) -> list[np.ndarray] | None:
    """The arrays given as initial_state, in Keras' order, or None (Keras starts from zeros)."""
    if spec.initial_state is None:
        return None
    shapes = [shape for _, shape in spec.initial_state_shapes()]
    if spec.initial_state == "zeros":
        return [np.zeros(shape, np.float32) for shape in shapes]
    if spec.initial_state == "random":
        # its own stream ([seed, 2]): the input draws [seed, 1], the weights [seed, 0]
        rng = np.random.default_rng([spec.seed, 2])
        return [np.round(rng.uniform(-1.0, 1.0, size=shape), 2).astype(np.float32) for shape in shapes]
    from rnnshape.files import load_state_file

    array = load_state_file(spec.initial_state).array
    array = array.reshape((len(shapes),) + shapes[0])
    return [array[i] for i in range(len(shapes))]


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


def draws_weights(spec: LayerSpec) -> bool:
    """Whether Keras draws some of this layer's weights (a seeded initializer the user named):
    each backend draws other numbers from the same seed."""
    return any(isinstance(getattr(spec, key), str) and getattr(spec, key) not in SEEDLESS_INITIALIZERS
               for key in INIT_KEYS)


def drawn_weights(specs: list[LayerSpec]) -> list[list[np.ndarray]]:
    """Each spec's weights as this process (TensorFlow) draws them, for run_many(weights=) on
    every backend: a named initializer draws other numbers on jax and torch from the same seed."""
    load_keras()
    with quiet_native_stderr():
        return [prepare(spec).weights for spec in specs]


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


def run_many(specs: list[LayerSpec], weights: list[list[np.ndarray]] | None = None) -> list[RunResult]:
    """Every configuration in this process, with one TensorFlow import. ``weights`` (one list
    per spec, as drawn_weights gives): set on each layer instead of drawing them here, so that
    several backends run the same numbers."""
    load_keras()
    results = []
    with quiet_native_stderr():
        for index, spec in enumerate(specs):
            progress.configuration(index, len(specs), spec.keras_call())
            try:
                results.append(_run_prepared(spec, prepare(spec, weights=None if weights is None else weights[index])))
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
    states: list[np.ndarray] | None = None  # initial_state, when given

    def call_arguments(self, spec: LayerSpec, rows: Any = None) -> dict[str, Any]:
        """mask, initial_state and training as the spec calls the layer (``rows``: those samples)."""
        kwargs: dict[str, Any] = {}
        if self.mask is not None:
            kwargs["mask"] = self.mask if rows is None else self.mask[rows]
        if self.states is not None:
            kwargs["initial_state"] = [s if rows is None else s[rows] for s in self.states]
        if spec.training:
            kwargs["training"] = True
        return kwargs


def prepare(spec: LayerSpec, weights: list[np.ndarray] | None = None, **overrides: Any) -> Prepared:
    """The layer and input every command uses for ``spec``: the same options and seed give
    the same weights and the same input in inspect, compare, trace and stateful.
    ``overrides`` change constructor flags (see build_layer) but never the numbers; ``weights``
    replace the layer's (drawn once for several backends)."""
    layer = build_layer(spec, **overrides)
    set_deterministic_weights(layer, spec)
    if weights is not None:
        layer.set_weights(weights)
    return Prepared(layer, layer.get_weights(), deterministic_input(spec), input_mask(spec), initial_states(spec))


def _run_prepared(spec: LayerSpec, prepared: Prepared) -> RunResult:
    """Run a prepared layer and its probes (twins built from ``spec``, its cell options included,
    so that they compute what the layer computes)."""
    layer, x = prepared.layer, prepared.x
    raw = flatten(call_layer(layer, x, **prepared.call_arguments(spec)))
    names = spec.output_names()
    if len(raw) != len(names):
        raise BackendError(f"Keras returned {len(raw)} tensors where rnnshape expects {len(names)} "
                           f"({', '.join(names)}) for {spec.keras_call()}")
    outputs = {name: np.asarray(t) for name, t in zip(names, raw)}
    symbolic = _flat_shapes(layer.compute_output_shape(spec.input_shape))
    symbolic_shapes = {name: tuple(int(d) for d in s) for name, s in zip(names, symbolic)}
    probe = _probe(spec, prepared, raw)
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
            raw = flatten(layer(x))
            symbolic = _flat_shapes(layer.compute_output_shape(spec.input_shape))
            answers.append({
                "shapes": [tuple(int(d) for d in t.shape) for t in raw],
                "dtypes": [str(np.asarray(t).dtype) for t in raw],
                "symbolic": [tuple(int(d) for d in s) for s in symbolic],
                "count_params": int(layer.count_params()),
                "weights": [(w.path, tuple(int(d) for d in w.shape)) for w in layer.weights],
            })
    return answers




def _state_names(spec: LayerSpec) -> list[str]:
    """The state names of spec with return_state=True (the probe twins always return states)."""
    return dataclasses.replace(spec, return_state=True).state_names()


def _unmasked_runs(spec: LayerSpec, twin: Any, prepared: Prepared) -> list[UnmaskedRun]:
    """The probe twin (return_sequences and return_state) without a mask on each padded
    sample's valid steps only, x[rows, :length], one call per distinct length."""
    runs = []
    lengths = np.asarray(spec.lengths)
    for length in sorted({int(n) for n in lengths if n < spec.timesteps})[:MAX_UNMASKED_LENGTHS]:
        rows = np.flatnonzero(lengths == length)
        kwargs = prepared.call_arguments(spec, rows)
        kwargs.pop("mask", None)
        outputs = [np.asarray(t) for t in _as_list(call_layer(twin, prepared.x[rows, :length], **kwargs))]
        names = (["forward_output", "backward_output"] if spec.bidirectional else ["output"]) + _state_names(spec)
        runs.append(UnmaskedRun(rows, length, dict(zip(names, outputs))))
    return runs


def _twin(spec: LayerSpec, prepared: Prepared, **overrides: Any) -> Any:
    """A layer with the inspected layer's weights, built with other flags."""
    twin = build_layer(spec, **overrides)
    twin.set_weights(prepared.weights)
    return twin


def _probe(spec: LayerSpec, prepared: Prepared, raw: list[Any] | None = None) -> Probe:
    """Run layers that share the weights, to measure what the returned tensors are (``raw``:
    the call's own tensors, used as the probe's when the twin would be the same call)."""
    probe = Probe()
    layer, x = prepared.layer, prepared.x
    kwargs = prepared.call_arguments(spec)
    if spec.cells is not None:
        return _probe_cells(spec, prepared, probe, raw)
    if spec.stateful:
        targets = [layer.forward_layer, layer.backward_layer] if spec.bidirectional else [layer]
        probe.state_variables = [np.asarray(v.numpy()) for t in targets for v in t.states]
    _cell_option_probes(spec, prepared, probe)
    if fresh_dropout_masks(spec):
        return probe  # measure.inspect keeps to the facts of this one call
    if spec.bidirectional:
        twin = _twin(spec, prepared, return_sequences=True, return_state=True, stateful=False, merge_mode="none")
        fwd, bwd, *states = _as_list(call_layer(twin, x, **kwargs))
        probe.forward_seq, probe.backward_seq = np.asarray(fwd), np.asarray(bwd)
        probe.states = {name: np.asarray(s) for name, s in zip(_state_names(spec), states)}
        if prepared.mask is not None:
            probe.unmasked = _unmasked_runs(spec, twin, prepared)
        return probe
    if raw is not None and spec.probe_is_the_call():
        twin, (seq, *states) = layer, raw
    else:
        twin = _twin(spec, prepared, return_sequences=True, return_state=True, stateful=False)
        seq, *states = _as_list(call_layer(twin, x, **kwargs))
    probe.seq, probe.h = np.asarray(seq), np.asarray(states[0])
    if spec.has_cell_state:
        probe.c = np.asarray(states[1])
    probe.states = {name: np.asarray(s) for name, s in zip(_state_names(spec), states)}
    if prepared.mask is not None:
        probe.unmasked = _unmasked_runs(spec, twin, prepared)
    if spec.go_backwards and prepared.mask is None:
        forward = _twin(spec, prepared, return_sequences=True, return_state=False, stateful=False, go_backwards=False)
        probe.reversed_input_seq = np.asarray(call_layer(forward, x[:, ::-1], **kwargs))
    return probe


def _probe_cells(spec: LayerSpec, prepared: Prepared, probe: Probe, raw: list[Any] | None = None) -> Probe:
    """--layer rnn: the same cells returning every step and every state, and the same weights as a
    chain of ordinary layers (LSTM, GRU, SimpleRNN, each returning its sequence to the next)."""
    keras = load_keras()
    x = prepared.x
    if raw is not None and spec.probe_is_the_call():
        seq, *states = raw
    else:
        twin = _twin(spec, prepared, return_sequences=True, return_state=True, stateful=False)
        seq, *states = flatten(call_layer(twin, x))
    probe.seq = np.asarray(seq)
    probe.states = {name: np.asarray(s) for name, s in zip(_state_names(spec), states)}
    if spec.unroll:
        rolled = _twin(spec, prepared, unroll=False)
        probe.rolled = [np.asarray(t) for t in flatten(call_layer(rolled, x))]
    weights = list(prepared.weights)
    tensor, finals = x, []
    for index, (kind, units) in enumerate(spec.cells):
        cls = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "simplernn": keras.layers.SimpleRNN}[kind]
        single = cls(units, return_sequences=True, return_state=True, go_backwards=spec.go_backwards and index == 0)
        single.build(tensor.shape)
        count = len(single.weights)
        single.set_weights(weights[:count])
        weights = weights[count:]
        out, *own = flatten(call_layer(single, tensor))
        finals.extend(np.asarray(s) for s in own)
        # go_backwards: the first layer returns its sequence in reading order and the next ones read it
        # as given, as the stacked cells do at each step
        tensor = np.asarray(out)
    probe.chain_seq = tensor
    probe.chain_states = finals
    return probe


def fresh_dropout_masks(spec: LayerSpec) -> bool:
    """With dropout in training, every call draws new masks (seeded per process, not per layer:
    measured with Keras 3.15), so a twin layer's numbers are not comparable."""
    return bool(spec.training and (spec.dropout or spec.recurrent_dropout))


def _cell_option_probes(spec: LayerSpec, prepared: Prepared, probe: Probe) -> None:
    """Twins that answer for dropout, unroll and initial_state: the same weights and input, the
    option taken away (stateful twins are not: their first call is what is compared)."""
    kwargs = prepared.call_arguments(spec)
    base = {"stateful": False}
    if spec.dropout or spec.recurrent_dropout:
        twin = _twin(spec, prepared, dropout=0.0, recurrent_dropout=0.0, **base)
        probe.without_dropout = [np.asarray(t) for t in _as_list(call_layer(twin, prepared.x, **kwargs))]
    if fresh_dropout_masks(spec):
        return  # every other twin would draw other dropout masks: nothing to compare with
    if spec.unroll:
        twin = _twin(spec, prepared, unroll=False, **base)
        probe.rolled = [np.asarray(t) for t in _as_list(call_layer(twin, prepared.x, **kwargs))]
    if prepared.states is not None:
        probe.initial_states = prepared.states
        zero_start = {k: v for k, v in kwargs.items() if k != "initial_state"}
        twin = _twin(spec, prepared, **base)
        probe.zero_start = [np.asarray(t) for t in _as_list(call_layer(twin, prepared.x, **zero_start))]
        if not spec.bidirectional and not spec.conv:
            first = _twin(spec, prepared, return_sequences=True, return_state=False, **base)
            probe.first_step = np.asarray(call_layer(first, prepared.x, **kwargs))[:, 0]
            probe.cell_weights = list(prepared.weights)
            t0 = -1 if spec.go_backwards else 0
            probe.first_input = prepared.x[:, t0]
            probe.first_valid = prepared.mask[:, t0] if prepared.mask is not None else None
    if spec.has_cell_state and spec.use_bias and spec.bias_init is not None and not spec.bidirectional:
        probe.initial_bias = np.asarray(prepared.layer.cell.bias.numpy())


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
        for index, (spec, opts) in enumerate(zip(specs, options)):
            progress.configuration(index, len(specs), spec.keras_call())
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
    raw = _as_list(call_layer(layer, x, **kwargs))
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
        seq, *states = _as_list(call_layer(twin, x, **kwargs))
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
    # (token index of an :init decoder, its output in the model, a twin with the same weights on
    # the same input starting from zeros)
    init_twins: list[tuple[int, np.ndarray, np.ndarray]] = field(default_factory=list)


def deterministic_stack_input(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    """The stack's input: uniform in [-1, 1] rounded to 2 decimals, drawn like inspect's."""
    rng = np.random.default_rng([seed, 1])
    return np.round(rng.uniform(-1.0, 1.0, size=shape), 2).astype(np.float32)


def stack_layer(keras: Any, token: Any, return_state: bool = False) -> Any:
    """The Keras layer for a stack_spec.Token, named by its position (``return_state`` when a
    later :init token starts from its states)."""
    layers = keras.layers
    # Every weight is overwritten by _run_stack: zeros instead of Keras' (costly) default initializers.
    if token.recurrent:
        cls = getattr(layers, {"lstm": "LSTM", "gru": "GRU", "simplernn": "SimpleRNN"}[token.kind])
        options = {key: value for key, value in (("reset_after", token.reset_after), ("activation", token.activation),
                                                 ("recurrent_activation", token.recurrent_activation))
                   if value is not None}
        if token.nobias:
            options["use_bias"] = False
        if token.unroll:
            options["unroll"] = True
        layer = cls(token.n, return_sequences=token.seq, go_backwards=token.back, name=token.keras_name,
                    kernel_initializer="zeros", recurrent_initializer="zeros", return_state=return_state, **options)
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
        for index, (plan, repaired) in enumerate(jobs):
            progress.configuration(index, len(jobs), plan.command())
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
    from rnnshape.model.stack import state_provider

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
    layers = [StackLayerRun(tuple(int(d) for d in t.shape), tuple(v.shape), int(layer.count_params()))
              for t, v, layer in zip(outputs, values, built)]
    twins = []
    for position, (token, layer) in enumerate(zip(plan.tokens, built)):
        if token.kind == "dense" and values[position].ndim == 3:
            seen = x if position == 0 else values[position - 1]
            twin = keras.layers.TimeDistributed(keras.layers.Dense(token.n))
            twin.build(seen.shape)
            twin.set_weights(layer.get_weights())
            twins.append((token.index, values[position], np.asarray(call_layer(twin, seen))))
    return StackRun(layers, int(sum(layer.params for layer in layers)), failed_index, message, input=x,
                    dense_twins=twins, init_twins=init_twins)


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
    model: StatefulModelRun | None = None  # the recommended keras.Model fed every chunk


@dataclass
class StatefulModelRun:
    """A keras.Model built from keras.Input(batch_shape=...) and the stateful layer (same
    weights), fed every chunk in turn."""

    batch_shape: tuple[int | None, ...]
    outputs: list[list[np.ndarray]]  # per chunk accepted, what the model returned (Keras order)
    final: list[np.ndarray]  # the layer's state variables after the last chunk accepted
    refused: tuple[int, str, str] | None  # (chunk index from 1, exception type, Keras' message)


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
    outputs = [np.asarray(t) for t in _as_list(call_layer(layer, x))]
    return ChunkCall(initial, _read_states(targets), outputs)


def run_stateful(spec: LayerSpec, bounds: list[tuple[int, int]], read_orders: list[np.ndarray] | None = None,
                 shuffle_rows: np.ndarray | None = None,
                 model_batch_shape: tuple[int | None, ...] | None = None) -> StatefulRun:
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
    with quiet_native_stderr():
        try:
            return _run_stateful(keras, spec, bounds, read_orders, shuffle_rows, model_batch_shape)
        except BackendError:
            raise
        except Exception as exc:
            raise BackendError(f"Keras failed running {spec.keras_call()}: {type(exc).__name__}: "
                               f"{_first_line(exc)}{_failure_hint(spec, exc)}") from exc


def _run_stateful(keras: Any, spec: LayerSpec, bounds: list[tuple[int, int]],
                  read_orders: list[np.ndarray] | None, shuffle_rows: np.ndarray | None,
                  model_batch_shape: tuple[int | None, ...] | None = None) -> StatefulRun:
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
    whole = build_layer(spec, stateful=False, return_sequences=True, return_state=True,
                        merge_mode="none" if spec.bidirectional else spec.merge_mode)
    whole.set_weights(weights)
    one_pass = [np.asarray(t) for t in _as_list(call_layer(whole, x))]

    as_read = None
    if read_orders is not None:
        direction_weights = ([target.get_weights() for target in targets] if spec.bidirectional else [weights])
        as_read = []
        for order, own in zip(read_orders, direction_weights):
            reader = build_layer(spec, bidirectional=False, go_backwards=False, stateful=False,
                                 return_sequences=True, return_state=True)
            reader.set_weights(own)
            as_read.append([np.asarray(t) for t in _as_list(call_layer(reader, x[:, np.asarray(order)]))])

    shuffled = None
    if shuffle_rows is not None and len(bounds) >= 2:
        layer.reset_state()
        call_layer(layer, x[:, bounds[0][0]:bounds[0][1]])
        shuffled = _call(layer, targets, x[np.asarray(shuffle_rows), bounds[1][0]:bounds[1][1]])

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
    return StatefulRun(x, chunks, after_reset, rerun, fresh_last, one_pass, as_read, shuffled, batch_error, api,
                       model)


def _run_model(keras: Any, spec: LayerSpec, bounds: list[tuple[int, int]], x: np.ndarray,
               weights: list[np.ndarray], batch_shape: tuple[int | None, ...]) -> StatefulModelRun:
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
    without_dropout: list[np.ndarray] | None = None  # the same call, dropout and recurrent_dropout 0
    rolled: list[np.ndarray] | None = None  # with unroll: the same call, unroll=False
    initial_states: list[np.ndarray] | None = None  # the initial_state given
    zero_start: list[np.ndarray] | None = None  # the same call without initial_state
    first_step: np.ndarray | None = None  # h after the first step read, from the given initial_state
    cell_weights: list[np.ndarray] | None = None  # kernel, recurrent_kernel[, bias] as Keras holds them
    first_input: np.ndarray | None = None  # the first step read: x[:, 0], or x[:, -1] with go_backwards
    first_valid: np.ndarray | None = None  # with a mask: is that step valid, per sample
    initial_bias: np.ndarray | None = None  # LSTM bias as --bias-init's Keras initializer drew it
    chain_seq: np.ndarray | None = None  # --layer rnn: the last of the cells as separate layers, every step
    chain_states: list[np.ndarray] | None = None  # --layer rnn: those layers' final states, in Keras' order


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


# ---- a saved model, for `rnnshape why --model` --------------------------------------------------
@dataclass
class LoadedModel:
    """What `why --model` needs of a saved model: its shapes and its layers, in order."""

    name: str
    input_shape: tuple
    output_shape: tuple
    layers: list[dict[str, Any]]  # {class, name, units, return_sequences} per layer


def model_summary(model: Any) -> LoadedModel:
    """A loaded model's name, input and output shapes, and its layers' units and return_sequences."""
    layers = []
    for layer in model.layers:
        config = layer.get_config()
        inner = config.get("layer", {}).get("config", {}) if isinstance(config.get("layer"), dict) else {}
        layers.append({"class": type(layer).__name__, "name": layer.name,
                       "units": config.get("units", inner.get("units")),
                       "return_sequences": bool(config.get("return_sequences", inner.get("return_sequences", False)))})

    def shape(value: Any) -> tuple:
        value = value[0] if isinstance(value, list) else value
        return tuple(None if d is None else int(d) for d in value.shape)

    return LoadedModel(model.name, shape(model.inputs), shape(model.outputs), layers)


# ---- a user's model (rnnshape model FILE, rnnshape.explain) -------------------------------
def load_model_file(path: str) -> Any:
    """The model in a .keras (or legacy .h5) file, loaded by Keras in safe mode, uncompiled.
    Safe mode is never turned off: Keras refuses to deserialize a Lambda's code. A file Keras
    cannot load is a UsageError (exit 2) of one line."""
    from rnnshape.errors import UsageError

    keras = load_keras()
    with quiet_native_stderr():
        try:
            return keras.saving.load_model(path, safe_mode=True, compile=False)
        except Exception as exc:
            raise UsageError(f"{path}: Keras cannot load this model ({type(exc).__name__}: "
                             f"{_short(keras_message(exc))})") from exc


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def registered_classes() -> frozenset[str]:
    """The custom classes registered with Keras in this process (keras.saving.get_custom_objects)."""
    keras = load_keras()
    return frozenset(keras.saving.get_custom_objects())


@dataclass
class LayerRow:
    """One layer of a walked model, as plain data (no TensorFlow object)."""

    path: str  # "encoder/lstm" for a layer of a nested model
    name: str
    class_name: str
    depth: int  # 0 at the top, 1 inside a nested model, ...
    container: bool  # a nested model: its layers follow with depth + 1
    input_shapes: list[tuple]  # the positional inputs (None for an unknown dimension)
    output_shapes: list[tuple]
    params: int  # count_params()
    config: dict[str, Any]  # the recurrent flags, units, merge_mode, mask_zero, ... (plain values)
    inner_class: str | None = None  # the wrapped layer of Bidirectional / TimeDistributed
    outputs_used: list[bool] = field(default_factory=list)  # each output consumed in its model, or a model output
    consumers: list[list[str]] = field(default_factory=list)  # per output: the layers that take it
    mask_in: bool = False  # Keras passes a mask to this layer's call
    mask_out: bool = False  # the output carries a mask on to the next layers
    initial_state: bool = False  # called with initial_state=
    calls: int = 1  # how many times the layer is called in its model (shared layers)
    n_states: int = 0  # the cell's state count (recurrent layers)


@dataclass
class ModelWalk:
    name: str
    class_name: str
    inputs: list[tuple[str, tuple, str]]  # (name, shape, dtype)
    output_shapes: list[tuple]
    params: int
    layers: list[LayerRow]


_CONFIG_KEYS = ("units", "filters", "return_sequences", "return_state", "stateful", "go_backwards", "unroll",
                "merge_mode", "mask_zero", "mask_value", "activation", "recurrent_activation", "reset_after",
                "use_bias", "input_dim", "output_dim")
# a ConvLSTM's geometry, kept for model --layer (the inspect view of that layer)
_CONV_CONFIG_KEYS = ("kernel_size", "strides", "padding", "dilation_rate", "data_format")


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float, bool)) for v in value):
        return list(value)  # a kernel size, strides: (3, 3) -> [3, 3]
    return str(value)


def _dims(shape: Any) -> tuple:
    return tuple(None if d is None else int(d) for d in shape)


def _layer_config(layer: Any) -> tuple[dict[str, Any], str | None]:
    config = layer.get_config()
    inner_class = None
    inner = getattr(layer, "forward_layer", None) or getattr(layer, "layer", None)
    conv = type(layer).__name__ in CONV_RECURRENT or (inner is not None and type(inner).__name__ in CONV_RECURRENT)
    keys = _CONFIG_KEYS + (_CONV_CONFIG_KEYS if conv else ())
    picked = {key: _plain(config[key]) for key in keys if key in config}
    if inner is not None and hasattr(inner, "get_config"):
        inner_class = type(inner).__name__
        inner_config = inner.get_config()
        for key in keys:
            if key in inner_config and key not in picked:
                picked[key] = _plain(inner_config[key])
    return picked, inner_class


def _graph(model: Any) -> Any:
    """The functional graph of a model (a Sequential keeps one inside)."""
    return getattr(model, "_functional", None) or model


def walk_model(model: Any) -> ModelWalk:
    """Every layer of ``model`` in order, nested models flattened with their path: shapes from
    Keras' own symbolic tensors, count_params(), flags, masks and which outputs are used."""
    keras = load_keras()
    from rnnshape.errors import UsageError

    if not getattr(model, "built", False) or not getattr(model, "inputs", None):
        raise UsageError(f"the model {model.name!r} has no input shape (it was saved or given before it was built): "
                         "build it with an Input, e.g. keras.Input(shape=(timesteps, features))")
    rows: list[LayerRow] = []
    with quiet_native_stderr():
        _walk(keras, model, "", 0, rows)
        inputs = [(t.name, _dims(t.shape), str(t.dtype)) for t in model.inputs]
        outputs = [_dims(t.shape) for t in model.outputs]
        params = int(model.count_params())
    return ModelWalk(model.name, type(model).__name__, inputs, outputs, params, rows)


def _walk(keras: Any, model: Any, prefix: str, depth: int, rows: list[LayerRow]) -> None:
    graph = _graph(model)
    consumers: dict[int, list[str]] = {}
    for op in getattr(graph, "operations", model.layers):
        for node in _nodes_in(graph, op):
            for tensor in node.input_tensors:
                consumers.setdefault(id(tensor), []).append(op.name)
    for tensor in getattr(graph, "outputs", None) or []:
        consumers.setdefault(id(tensor), []).append("(model output)")
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        nodes = _nodes_in(graph, layer)
        node = nodes[0] if nodes else None
        config, inner_class = _layer_config(layer)
        row = LayerRow(path=prefix + layer.name, name=layer.name, class_name=type(layer).__name__, depth=depth,
                       container=isinstance(layer, keras.Model), input_shapes=[], output_shapes=[],
                       params=int(layer.count_params()), config=config, inner_class=inner_class, calls=len(nodes))
        if node is not None:
            args = [t for t in keras.tree.flatten(node.arguments.args) if hasattr(t, "shape")]
            row.input_shapes = [_dims(t.shape) for t in args]
            row.output_shapes = [_dims(t.shape) for t in node.output_tensors]
            kwargs = node.arguments.kwargs
            row.mask_in = any(hasattr(t, "shape") for t in keras.tree.flatten(kwargs.get("mask")))
            row.initial_state = kwargs.get("initial_state") is not None
            row.mask_out = any(getattr(t, "_keras_mask", None) is not None for t in node.output_tensors)
            row.consumers = [[name for name in consumers.get(id(t), []) if name != layer.name]
                             for t in node.output_tensors]
            row.outputs_used = [bool(c) for c in row.consumers]
        cell = getattr(getattr(layer, "forward_layer", layer), "cell", None)
        if cell is not None:
            size = cell.state_size
            row.n_states = len(size) if isinstance(size, (list, tuple)) else 1
        rows.append(row)
        if row.container:
            _walk(keras, layer, row.path + "/", depth + 1, rows)


def _nodes_in(graph: Any, op: Any) -> list[Any]:
    """The calls (nodes) of ``op`` that belong to this graph (a layer may be called elsewhere too)."""
    keys = getattr(graph, "_nodes", None)
    if not keys:
        return list(op._inbound_nodes)
    return [node for index, node in enumerate(op._inbound_nodes) if f"{id(op)}_ib-{index}" in keys]


def find_layer(model: Any, path: str) -> Any:
    """The layer at ``path`` ("encoder/lstm"), or None."""
    keras = load_keras()
    scope = model
    parts = path.split("/")
    for position, part in enumerate(parts):
        found = next((layer for layer in scope.layers if layer.name == part), None)
        if found is None:
            return None
        if position == len(parts) - 1:
            return found
        if not isinstance(found, keras.Model):
            return None
        scope = found
    return None


@dataclass
class Capture:
    """One recurrent layer's call in the model run on the user's data, and its probe copy (the
    same weights, return_sequences=True and return_state=True) on the same input."""

    path: str
    input: np.ndarray
    mask: np.ndarray | None
    initial_state: list[np.ndarray] | None
    outputs: list[np.ndarray]  # what the layer returned inside the model, in Keras order
    probe: list[np.ndarray]  # [seq, *states], or [forward_seq, backward_seq, *states] for Bidirectional


@dataclass
class ModelRun:
    predictions: list[np.ndarray]
    captures: list[Capture]


def _numpy(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [_numpy(v) for v in value]
    return np.asarray(value)


def _probe_copy(keras: Any, layer: Any) -> Any:
    """A copy of a recurrent layer that returns every step and its final states, not stateful."""
    config = layer.get_config()
    overrides = {"return_sequences": True, "return_state": True, "stateful": False}
    if isinstance(layer, keras.layers.Bidirectional):
        config = dict(config)
        config["merge_mode"] = None
        for key in ("layer", "backward_layer"):
            if isinstance(config.get(key), dict):
                config[key] = {**config[key], "config": {**config[key]["config"], **overrides}}
        return keras.layers.Bidirectional.from_config(config)
    return type(layer).from_config({**config, **overrides, "name": f"{layer.name}_probe"})


def run_model(model: Any, xs: list[np.ndarray], paths: list[str]) -> ModelRun:
    """Run the model on ``xs`` (one array per input), recording the call of every recurrent
    layer in ``paths``; then run each one's probe copy on what it received."""
    keras = load_keras()
    layers = {path: find_layer(model, path) for path in paths}
    records: dict[str, list[tuple[tuple, dict, Any]]] = {path: [] for path in paths}
    before: dict[str, list[np.ndarray]] = {}
    with quiet_native_stderr():
        try:
            for path, layer in layers.items():
                original = layer.call
                if getattr(layer, "stateful", False):
                    target = [layer.forward_layer, layer.backward_layer] if hasattr(layer, "forward_layer") else [layer]
                    before[path] = [np.asarray(v.numpy()) for t in target for v in t.states]

                def recorder(*args: Any, _original: Any = original, _store: list = records[path], **kwargs: Any) -> Any:
                    out = _original(*args, **kwargs)
                    _store.append((args, kwargs, out))
                    return out

                object.__setattr__(layer, "call", recorder)
            try:
                # eager on purpose: the recorders read each layer's input as Keras passes it (data.run says so)
                predictions = _numpy(_as_list(model(xs if len(xs) > 1 else xs[0], training=False)))
            finally:
                for path, layer in layers.items():
                    with contextlib.suppress(AttributeError):
                        object.__delattr__(layer, "call")
                    if path in before:  # a stateful layer: its states as they were before this run
                        target = ([layer.forward_layer, layer.backward_layer] if hasattr(layer, "forward_layer")
                                  else [layer])
                        for variable, value in zip([v for t in target for v in t.states], before[path]):
                            variable.assign(value)
            captures = []
            for path, layer in layers.items():
                if not records[path]:
                    continue
                args, kwargs, out = records[path][0]
                x = np.asarray(args[0] if args else kwargs.get("sequences", kwargs.get("inputs")))
                mask = kwargs.get("mask")
                mask = None if mask is None else np.asarray(_as_list(mask)[0])
                initial = _numpy(kwargs.get("initial_state"))
                if initial is None and path in before:
                    initial = before[path]
                probe = _probe_copy(keras, layer)
                call_kwargs: dict[str, Any] = {}
                if mask is not None:
                    call_kwargs["mask"] = mask
                if initial is not None:
                    call_kwargs["initial_state"] = [np.asarray(s) for s in initial]
                probe.build(x.shape)  # builds the copy (no call: its only run is the one below)
                probe.set_weights(layer.get_weights())
                captured = _numpy(_as_list(call_layer(probe, x, **call_kwargs)))
                captures.append(Capture(path, x, mask, None if initial is None else list(initial),
                                        _numpy(_as_list(out)), captured))
        except BackendError:
            raise
        except Exception as exc:
            raise BackendError(f"Keras failed running the model {model.name!r} on the data: {type(exc).__name__}: "
                               f"{_short(keras_message(exc))}") from exc
    return ModelRun(predictions, captures)


def run_model_layer(spec: LayerSpec, layer: Any, x: np.ndarray | None, mask: np.ndarray | None) -> RunResult:
    """The inspect run of one layer of a user's model: a standalone copy built as inspect builds
    it (``spec``), with the model's own weights and cell options; ``x`` is the input the layer
    received from the user's data, or None for inspect's deterministic input."""
    load_keras()
    with quiet_native_stderr():
        try:
            built = build_layer(spec)  # the spec carries the layer's cell options (activation, reset_after, ...)
            weights = layer.get_weights()
            built.set_weights(weights)
            data = deterministic_input(spec) if x is None else np.asarray(x, np.float32)
            return _run_prepared(spec, Prepared(built, weights, data, mask))
        except BackendError:
            raise
        except Exception as exc:
            raise BackendError(f"Keras failed running {spec.keras_call()} with the model's weights: "
                               f"{type(exc).__name__}: {_first_line(exc)}") from exc


def compiled_loss(model: Any) -> Any:
    """The loss a live model was compiled with (its first output's), or None when it was not
    compiled (a string, a keras.losses.Loss or a function, as the user passed it)."""
    loss = getattr(model, "loss", None)
    if isinstance(loss, dict):
        names = list(getattr(model, "output_names", None) or [])
        loss = loss.get(names[0]) if names and names[0] in loss else next(iter(loss.values()), None)
    elif isinstance(loss, (list, tuple)):
        loss = loss[0] if loss else None
    return loss


def loss_probe(identifier: Any, y: np.ndarray, prediction: np.ndarray,
               reshaped: tuple[int, ...] | None) -> dict[str, Any]:
    """Keras' own loss (resolved as fit resolves it: keras' compile_utils.get_loss, so that
    "crossentropy" picks binary/sparse/categorical from y and the prediction) computed on y as
    given and, when ``reshaped`` is a shape, on y reshaped to it. The per-element loss shape
    (before the reduction) shows what Keras paired; a refusal is Keras' message."""
    from keras.src.trainers.compile_utils import get_loss

    keras = load_keras()
    out: dict[str, Any] = {"name": None, "given": None, "elements": None, "paired": None, "reshaped": None,
                           "error": None}
    if isinstance(identifier, dict) and identifier.get("class_name") == "function" \
            and isinstance(identifier.get("config"), str):
        identifier = identifier["config"]  # a loss function saved by name in a compile config
    with quiet_native_stderr():
        y32 = np.asarray(y, np.float32)
        pred = keras.ops.convert_to_tensor(np.asarray(prediction, np.float32))
        try:
            loss = get_loss(identifier, keras.ops.convert_to_tensor(y32), pred)
        except Exception as exc:
            out["error"] = f"Keras cannot build the loss {identifier!r}: {_short(keras_message(exc), 200)}"
            return out
        fn = getattr(loss, "fn", None)
        out["name"] = getattr(fn, "__name__", None) or getattr(loss, "name", None) or str(identifier)
        try:
            out["given"] = float(np.asarray(loss(y32, pred)))
            out["elements"] = [int(d) for d in np.asarray(loss.call(keras.ops.convert_to_tensor(y32), pred)).shape]
            if type(loss).__name__ == "LossFunctionWrapper" and "sparse" not in out["name"]:
                from keras.src.losses.loss import squeeze_or_expand_to_same_rank

                a, b = squeeze_or_expand_to_same_rank(keras.ops.convert_to_tensor(y32), pred)
                out["paired"] = [int(d) for d in np.broadcast_shapes(tuple(a.shape), tuple(b.shape))]
        except Exception as exc:
            out["error"] = _short(keras_message(exc), 200)
            return out
        if reshaped is not None:
            out["reshaped"] = float(np.asarray(loss(y32.reshape(reshaped), pred)))
    return out


def as_model(obj: Any, xs: list[np.ndarray]) -> tuple[Any, str]:
    """(a keras.Model, what it is) for rnnshape.explain: the model itself, or a recurrent layer
    wrapped in a one-layer model (its input shape from the layer's first call, else from x)."""
    from rnnshape.errors import UsageError

    keras = load_keras()
    if isinstance(obj, keras.Model):
        return obj, "model"
    if not isinstance(obj, keras.layers.Layer):
        raise UsageError(f"rnnshape.explain takes a keras.Model or a recurrent keras layer, not a {type(obj).__name__} "
                         "(for a saved file use rnnshape.model(path))")
    if not isinstance(obj, (keras.layers.RNN, keras.layers.Bidirectional)):
        raise UsageError(f"rnnshape.explain takes a keras.Model or a recurrent layer (LSTM, GRU, SimpleRNN, "
                         f"Bidirectional, ConvLSTM, RNN), not a {type(obj).__name__}")
    shape = None
    nodes = getattr(obj, "_inbound_nodes", [])
    if nodes:
        args = [t for t in keras.tree.flatten(nodes[0].arguments.args) if hasattr(t, "shape")]
        shape = tuple(args[0].shape) if args else None
    if shape is None and xs:
        shape = (None, *xs[0].shape[1:])
    if shape is None:
        raise UsageError(f"the layer {obj.name!r} has no input shape yet (never called): give x, an array of shape "
                         "(batch, timesteps, features)")
    with quiet_native_stderr():
        inputs = keras.Input(batch_shape=shape, name="x")
        wrapped = keras.Model(inputs, obj(inputs), name=f"{obj.name}_alone")
    return wrapped, "layer"
