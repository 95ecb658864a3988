"""The Keras side of rnnshape port: the layer (or a stack of layers of one kind) built as inspect
builds it, with rnnshape's seeded weights or given ones, run on the deterministic input; or a
layer of the user's model run as it is. Keras comes through runner.session (load_keras); plain
arrays out, no judgement."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnshape.errors import RnnshapeError
from rnnshape.rules.catalogue import INIT_KEYS, KERAS_LAYER_NAME
from rnnshape.rules.layer import LayerSpec
from rnnshape.runner.build import _WEIGHT_INIT_KEY, cell_arguments, flatten, initializers
from rnnshape.runner.numbers import deterministic_input
from rnnshape.runner.session import call_layer, keras_failures, load_keras, quiet_native_stderr


@dataclass
class KerasPortRun:
    input: np.ndarray
    outputs: dict[str, np.ndarray]  # in Keras order, named as spec.output_names()
    weights: list[tuple[str, np.ndarray]]  # (path, array) of every layer, get_weights() order
    keras_version: str


def _layer_spec(spec: LayerSpec, k: int, num_layers: int, units_in: int) -> LayerSpec:
    """Layer k of the stack: it reads ``units_in``; all but the last return sequences (and
    concatenate both directions), as torch.nn's stacked layers pass their whole output on."""
    if k == num_layers - 1:
        return dataclasses.replace(spec, features=units_in)
    return dataclasses.replace(
        spec,
        features=units_in,
        return_sequences=True,
        return_state=False,
        merge_mode="concat" if spec.bidirectional else None,
    )


def _build(keras: Any, spec: LayerSpec, k: int) -> Any:
    suffix = "" if k == 0 else f"_{k}"
    flags = {"return_sequences": spec.return_sequences, "return_state": spec.return_state, **cell_arguments(spec)}
    if spec.reset_after is not None:
        flags["reset_after"] = spec.reset_after
    placeholders = {keyword: "zeros" for keyword in INIT_KEYS.values()}
    cls = getattr(keras.layers, spec.keras_class)
    layer = cls(
        spec.units, name=KERAS_LAYER_NAME[spec.layer] + suffix, **flags, **{**placeholders, **initializers(spec)}
    )
    if spec.bidirectional:
        layer = keras.layers.Bidirectional(
            layer, merge_mode=None if spec.merge_mode == "none" else spec.merge_mode, name="bidirectional" + suffix
        )
    layer.build(spec.input_shape)
    return layer


def _seeded(layer: Any, spec: LayerSpec, k: int) -> None:
    """rnnshape's weights (layer 0 exactly inspect's: uniform [-0.5, 0.5) from seed [seed, 0]),
    where the user chose no initializer."""
    rng = np.random.default_rng([spec.seed, 0] if k == 0 else [spec.seed, 0, k])
    for variable in layer.weights:
        value = rng.uniform(-0.5, 0.5, size=tuple(variable.shape)).astype(np.float32)
        key = _WEIGHT_INIT_KEY.get(variable.path.rsplit("/", 1)[-1])
        if key is None or getattr(spec, key) is None:
            variable.assign(value)


def run_stack(spec: LayerSpec, num_layers: int, weights: list[np.ndarray] | None = None) -> KerasPortRun:
    """``num_layers`` Keras layers of spec's kind, called one after the other on spec's input;
    ``weights``: every layer's set_weights() arrays concatenated (else rnnshape's seeded ones)."""
    keras = load_keras()
    with quiet_native_stderr(), keras_failures(spec.keras_call(), _first_line_or_nothing, (RnnshapeError,)):
        x = deterministic_input(spec)
        value: Any = x
        layers = []
        inputs = spec.features
        offset = 0
        for k in range(num_layers):
            layer_spec = _layer_spec(spec, k, num_layers, inputs)
            layer = _build(keras, layer_spec, k)
            if weights is None:
                _seeded(layer, layer_spec, k)
            else:
                count = len(layer.weights)
                layer.set_weights(weights[offset : offset + count])
                offset += count
            value = call_layer(layer, value)
            layers.append(layer)
            inputs = spec.units * (2 if spec.bidirectional else 1)
        return KerasPortRun(
            x,
            dict(zip(spec.output_names(), [np.asarray(t) for t in flatten(value)])),
            [(v.path, np.asarray(v.numpy())) for layer in layers for v in layer.weights],
            keras.__version__,
        )


def _first_line_or_nothing(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"


def run_layer(layer: Any, spec: LayerSpec) -> KerasPortRun:
    """A layer of the user's model, called as it is (its own flags and weights) on spec's input."""
    keras = load_keras()
    with quiet_native_stderr(), keras_failures(f"the layer {layer.name!r}", _first_line_or_nothing, (RnnshapeError,)):
        x = deterministic_input(spec)
        raw = flatten(call_layer(layer, x))
        return KerasPortRun(
            x,
            dict(zip(spec.output_names(), [np.asarray(t) for t in raw])),
            [(v.path, np.asarray(v.numpy())) for v in layer.weights],
            keras.__version__,
        )


def weights_file(spec: LayerSpec, num_layers: int, weights: list[np.ndarray], path: str) -> None:
    """Save ``weights`` as Keras' .weights.h5 of the model keras.Sequential([Input, the layers])
    (load it with model.load_weights after building the same layers); Keras writes ``path``."""
    keras = load_keras()
    with quiet_native_stderr():
        layers = []
        inputs = spec.features
        for k in range(num_layers):
            layers.append(_build(keras, _layer_spec(spec, k, num_layers, inputs), k))
            inputs = spec.units * (2 if spec.bidirectional else 1)
        model = keras.Sequential([keras.Input(shape=(None, spec.features)), *layers])
        model.set_weights(weights)
        model.save_weights(path)


def layer_config(layer: Any) -> dict[str, Any]:
    """A live layer serialized as a saved model stores it ({class_name, config, ...}, plain JSON)."""
    import json

    keras = load_keras()
    return json.loads(json.dumps(keras.saving.serialize_keras_object(layer), default=str))
