"""A user's model (rnnshape model FILE, rnnshape.explain, why --model): loaded safely, walked layer
by layer, run with every recurrent layer's outputs captured.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnnshape.rules.layer import LayerSpec
from rnnshape.rules.network import CONV_RECURRENT
from rnnshape.runner.build import _as_list, build_layer
from rnnshape.runner.layer import Prepared, RunResult, _run_prepared
from rnnshape.runner.numbers import deterministic_input
from rnnshape.runner.session import keras_failures, keras_message, load_keras, quiet_native_stderr


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
        layers.append(
            {
                "class": type(layer).__name__,
                "name": layer.name,
                "units": config.get("units", inner.get("units")),
                "return_sequences": bool(config.get("return_sequences", inner.get("return_sequences", False))),
            }
        )

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
            raise UsageError(
                f"{path}: Keras cannot load this model ({type(exc).__name__}: {_short(keras_message(exc))})"
            ) from exc


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


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


_CONFIG_KEYS = (
    "units",
    "filters",
    "return_sequences",
    "return_state",
    "stateful",
    "go_backwards",
    "unroll",
    "merge_mode",
    "mask_zero",
    "mask_value",
    "activation",
    "recurrent_activation",
    "reset_after",
    "use_bias",
    "input_dim",
    "output_dim",
)

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
        raise UsageError(
            f"the model {model.name!r} has no input shape (it was saved or given before it was built): "
            "build it with an Input, e.g. keras.Input(shape=(timesteps, features))"
        )
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
        row = LayerRow(
            path=prefix + layer.name,
            name=layer.name,
            class_name=type(layer).__name__,
            depth=depth,
            container=isinstance(layer, keras.Model),
            input_shapes=[],
            output_shapes=[],
            params=int(layer.count_params()),
            config=config,
            inner_class=inner_class,
            calls=len(nodes),
        )
        if node is not None:
            args = [t for t in keras.tree.flatten(node.arguments.args) if hasattr(t, "shape")]
            row.input_shapes = [_dims(t.shape) for t in args]
            row.output_shapes = [_dims(t.shape) for t in node.output_tensors]
            kwargs = node.arguments.kwargs
            row.mask_in = any(hasattr(t, "shape") for t in keras.tree.flatten(kwargs.get("mask")))
            row.initial_state = kwargs.get("initial_state") is not None
            row.mask_out = any(getattr(t, "_keras_mask", None) is not None for t in node.output_tensors)
            row.consumers = [
                [name for name in consumers.get(id(t), []) if name != layer.name] for t in node.output_tensors
            ]
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
    mode: str = "compiled"  # "eager" for a live model of another Keras backend (rnnshape.explain)


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
    layer in ``paths``, and each one's probe copy on what that layer received. One graph
    (tf.function, as model.predict runs) holds the model and the probes: the recorders keep each
    layer's input, mask and outputs as Keras passes them inside it, and each probe runs on them
    there. A stateful layer's states are put back as they were before the run."""
    keras = load_keras()
    layers = {path: find_layer(model, path) for path in paths}
    records: dict[str, list[tuple[tuple, dict, Any]]] = {path: [] for path in paths}
    before: dict[str, list[np.ndarray]] = {}
    graph = keras.backend.backend() == "tensorflow"  # a live model of another backend runs eagerly
    with (
        quiet_native_stderr(),
        keras_failures(
            f"the model {model.name!r} on the data", lambda exc: f"{type(exc).__name__}: {_short(keras_message(exc))}"
        ),
    ):
        probes = {}
        for path, layer in layers.items():
            original = layer.call
            if getattr(layer, "stateful", False):
                before[path] = [np.asarray(v.numpy()) for v in _state_variables(layer)]
            probes[path] = _built_probe(keras, layer)

            def recorder(*args: Any, _original: Any = original, _store: list = records[path], **kwargs: Any) -> Any:
                out = _original(*args, **kwargs)
                _store.append((args, kwargs, out))
                return out

            object.__setattr__(layer, "call", recorder)
        try:
            predictions, received = _forward(model, xs, records, probes, before, graph)
        finally:
            for path, layer in layers.items():
                with contextlib.suppress(AttributeError):
                    object.__delattr__(layer, "call")
                if path in before:  # a stateful layer: its states as they were before this run
                    for variable, value in zip(_state_variables(layer), before[path]):
                        variable.assign(value)
        captures = [
            Capture(path, x, mask, None if initial is None else list(initial), out, probe)
            for path, (x, mask, initial, out, probe) in received.items()
        ]
    return ModelRun(predictions, captures, "compiled" if graph else "eager")


def _built_probe(keras: Any, layer: Any) -> Any:
    """The layer's probe copy (_probe_copy), built for the input the layer takes in its model and
    given its weights."""
    probe = _probe_copy(keras, layer)
    node = layer._inbound_nodes[0] if layer._inbound_nodes else None
    args = [t for t in keras.tree.flatten(node.arguments.args) if hasattr(t, "shape")] if node else []
    shape = tuple(args[0].shape) if args else layer.input_shape
    probe.build(shape)
    probe.set_weights(layer.get_weights())
    return probe


def _state_variables(layer: Any) -> list[Any]:
    """A stateful recurrent layer's state variables (both directions of a Bidirectional)."""
    target = [layer.forward_layer, layer.backward_layer] if hasattr(layer, "forward_layer") else [layer]
    return [v for t in target for v in t.states]


def _forward(
    model: Any,
    xs: list[np.ndarray],
    records: dict[str, list[tuple[tuple, dict, Any]]],
    probes: dict[str, Any],
    before: dict[str, list[np.ndarray]],
    graph: bool,
) -> tuple[list[np.ndarray], dict[str, tuple[Any, ...]]]:
    """The model's predictions on ``xs`` and, per recorded layer, its first call's (input, mask,
    initial_state, outputs) and its probe's outputs on them, as numpy, from one run (a tf.function
    traced once when ``graph``). A stateful layer's probe starts from the states ``before``."""

    def run(inputs: Any) -> tuple[Any, dict[str, Any]]:
        for store in records.values():
            store.clear()
        predictions = model(inputs, training=False)
        received = {}
        for path, store in records.items():
            if not store:
                continue
            args, kwargs, out = store[0]
            x = args[0] if args else kwargs.get("sequences", kwargs.get("inputs"))
            mask = kwargs.get("mask")
            mask = None if mask is None else _as_list(mask)[0]
            initial = kwargs.get("initial_state")
            arguments: dict[str, Any] = {} if mask is None else {"mask": mask}
            start = initial if initial is not None else before.get(path)
            if start is not None:
                arguments["initial_state"] = list(start)
            received[path] = {
                "x": x,
                "mask": mask,
                "initial": initial,
                "out": _as_list(out),
                "probe": _as_list(probes[path](x, **arguments)),
            }
        return predictions, received

    inputs = xs if len(xs) > 1 else xs[0]
    if graph:
        import tensorflow as tf

        run = tf.function(run, autograph=False)
        inputs = [tf.convert_to_tensor(x) for x in xs] if len(xs) > 1 else tf.convert_to_tensor(xs[0])
    predictions, received = run(inputs)
    return _numpy(_as_list(predictions)), {
        path: (
            np.asarray(r["x"]),
            _numpy(r["mask"]),
            _numpy(r["initial"]) if r["initial"] is not None else before.get(path),
            _numpy(r["out"]),
            _numpy(r["probe"]),
        )
        for path, r in received.items()
    }


def run_model_layer(spec: LayerSpec, layer: Any, x: np.ndarray | None, mask: np.ndarray | None) -> RunResult:
    """The inspect run of one layer of a user's model: a standalone copy built as inspect builds
    it (``spec``), with the model's own weights and cell options; ``x`` is the input the layer
    received from the user's data, or None for inspect's deterministic input."""
    load_keras()
    with quiet_native_stderr(), keras_failures(f"{spec.keras_call()} with the model's weights"):
        built = build_layer(spec)  # the spec carries the layer's cell options (activation, reset_after, ...)
        weights = layer.get_weights()
        built.set_weights(weights)
        data = deterministic_input(spec) if x is None else np.asarray(x, np.float32)
        return _run_prepared(spec, Prepared(built, weights, data, mask))


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


def loss_probe(
    identifier: Any, y: np.ndarray, prediction: np.ndarray, reshaped: tuple[int, ...] | None
) -> dict[str, Any]:
    """Keras' own loss (resolved as fit resolves it: keras' compile_utils.get_loss, so that
    "crossentropy" picks binary/sparse/categorical from y and the prediction) computed on y as
    given and, when ``reshaped`` is a shape, on y reshaped to it. The per-element loss shape
    (before the reduction) shows what Keras paired; a refusal is Keras' message."""
    from keras.src.trainers.compile_utils import get_loss

    keras = load_keras()
    out: dict[str, Any] = {
        "name": None,
        "given": None,
        "elements": None,
        "paired": None,
        "reshaped": None,
        "error": None,
    }
    if (
        isinstance(identifier, dict)
        and identifier.get("class_name") == "function"
        and isinstance(identifier.get("config"), str)
    ):
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
        raise UsageError(
            f"rnnshape.explain takes a keras.Model or a recurrent keras layer, not a {type(obj).__name__} "
            "(for a saved file use rnnshape.model(path))"
        )
    if not isinstance(obj, (keras.layers.RNN, keras.layers.Bidirectional)):
        raise UsageError(
            f"rnnshape.explain takes a keras.Model or a recurrent layer (LSTM, GRU, SimpleRNN, "
            f"Bidirectional, ConvLSTM, RNN), not a {type(obj).__name__}"
        )
    shape = None
    nodes = getattr(obj, "_inbound_nodes", [])
    if nodes:
        args = [t for t in keras.tree.flatten(nodes[0].arguments.args) if hasattr(t, "shape")]
        shape = tuple(args[0].shape) if args else None
    if shape is None and xs:
        shape = (None, *xs[0].shape[1:])
    if shape is None:
        raise UsageError(
            f"the layer {obj.name!r} has no input shape yet (never called): give x, an array of shape "
            "(batch, timesteps, features)"
        )
    with quiet_native_stderr():
        inputs = keras.Input(batch_shape=shape, name="x")
        wrapped = keras.Model(inputs, obj(inputs), name=f"{obj.name}_alone")
    return wrapped, "layer"
