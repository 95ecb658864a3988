"""Old model files in Keras 3: the model rebuilt from the translated legacy config
(rules/legacy.py) with the file's own weights, converted as tf_keras' own loader converts them
(cuDNN layouts, Keras 1's per-gate arrays) and, for Keras 2's hard_sigmoid, scaled so that Keras
3 computes Keras 2's numbers; the rebuilt model run against tf_keras' own load of the file when
tf_keras is installed. Returns arrays and models; never judges."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnshape.errors import UsageError
from rnnshape.rules.legacy import HARD_SIGMOID_SCALE, LegacyError
from rnnshape.runner.model import _short
from rnnshape.runner.session import keras_message, load_keras, quiet_native_stderr

# Which blocks of the last axis feed each activation (Keras' gate order: LSTM i f c o, GRU z r h).
GATE_BLOCKS = {
    ("LSTM", "recurrent_activation"): (4, (0, 1, 3)),
    ("ConvLSTM", "recurrent_activation"): (4, (0, 1, 3)),
    ("GRU", "recurrent_activation"): (3, (0, 1)),
    ("GRU", "activation"): (3, (2,)),
    ("SimpleRNN", "activation"): (1, (0,)),
    ("Dense", "activation"): (1, (0,)),
}

FILE_READING_LAYERS = ("TFSMLayer",)


@dataclass
class Rebuilt:
    model: Any
    scaled: list[str]  # the layers whose weights were scaled to restore Keras 2's hard_sigmoid
    converted: list[str]  # the layers whose weights were converted (cuDNN, Keras 1)


def rebuild(config: dict[str, Any], legacy: Any, major: int, restore: bool = True) -> Rebuilt:
    """The Keras 3 model of a translated legacy config, with the file's weights (``legacy``: a
    model_files.LegacyFile). ``restore=False`` keeps Keras 3's hard_sigmoid (to measure the change)."""
    keras = load_keras()
    from keras.legacy.saving import deserialize_keras_object

    objects = dict(vars(keras.layers))
    objects.update(
        {
            "InputLayer": keras.layers.InputLayer,
            "Functional": keras.Model,
            "Model": keras.Model,
            "Sequential": keras.Sequential,
        }
    )
    # Keras' layer classes only: never a function, never TFSMLayer (it would load a SavedModel from a
    # path written in the file)
    objects = {
        k: v
        for k, v in objects.items()
        if isinstance(v, type) and issubclass(v, keras.layers.Layer) and k not in FILE_READING_LAYERS
    }
    with quiet_native_stderr():
        try:
            model = deserialize_keras_object(config, module_objects=objects, printable_module_name="layer")
        except Exception as exc:
            raise UsageError(
                f"Keras 3 cannot build this old model even after translating its config "
                f"({type(exc).__name__}: {_short(keras_message(exc))})"
            ) from exc
    rebuilt = Rebuilt(model, [], [])
    by_name = {layer.name: layer for layer in model.layers}
    for name in legacy.layer_names:
        arrays = [np.array(a) for a in legacy.weights.get(name, [])]
        if not arrays:
            continue
        layer = by_name.get(name)
        if layer is None:
            raise UsageError(f"the file holds weights for a layer {name!r} that its model_config does not have")
        try:
            arrays = _convert(keras, layer, arrays, major, restore, rebuilt)
            targets = list(layer.trainable_weights) + list(layer.non_trainable_weights)
            if len(targets) != len(arrays):
                raise LegacyError(
                    f"layer {name!r}: the file holds {len(arrays)} weight arrays, Keras 3's layer has {len(targets)}"
                )
            for variable, value in zip(targets, arrays):
                if tuple(variable.shape) != tuple(value.shape):
                    raise LegacyError(
                        f"layer {name!r}: the weight {variable.path} has shape {tuple(variable.shape)} "
                        f"in Keras 3, {tuple(value.shape)} in the file"
                    )
                variable.assign(value.astype(variable.dtype))
        except LegacyError as exc:
            raise UsageError(f"cannot rebuild the old model: {exc}") from None
    return rebuilt


def _kind(layer: Any) -> str:
    name = type(layer).__name__
    return "ConvLSTM" if name.startswith("ConvLSTM") else name


def _convert(
    keras: Any, layer: Any, arrays: list[np.ndarray], major: int, restore: bool, rebuilt: Rebuilt
) -> list[np.ndarray]:
    """One layer's arrays from the file's layout to Keras 3's (tf_keras' preprocess_weights_for_loading
    and _convert_rnn_weights, tf_keras/src/saving/legacy/hdf5_format.py, ported)."""
    name = type(layer).__name__
    if name == "Bidirectional":
        half = len(arrays) // 2
        return _convert(keras, layer.forward_layer, arrays[:half], major, restore, rebuilt) + _convert(
            keras, layer.backward_layer, arrays[half:], major, restore, rebuilt
        )
    if name == "TimeDistributed":
        return _convert(keras, layer.layer, arrays, major, restore, rebuilt)
    if isinstance(layer, keras.Model):
        trainable = arrays[: len(layer.trainable_weights)]
        frozen = arrays[len(layer.trainable_weights) :]
        new_trainable: list[np.ndarray] = []
        new_frozen: list[np.ndarray] = []
        for sub in layer.layers:
            n_t, n_f = len(sub.trainable_weights), len(sub.non_trainable_weights)
            if sub.weights:
                done = _convert(keras, sub, trainable[:n_t] + frozen[:n_f], major, restore, rebuilt)
                new_trainable += done[:n_t]
                new_frozen += done[n_t:]
                trainable, frozen = trainable[n_t:], frozen[n_f:]
        return new_trainable + new_frozen
    kind = _kind(layer)
    if major == 1 and kind in ("LSTM", "ConvLSTM") and len(arrays) == 12:  # Keras 1: i, c, f, o one by one
        arrays = [np.concatenate([arrays[k], arrays[6 + k], arrays[3 + k], arrays[9 + k]], axis=-1) for k in range(3)]
        rebuilt.converted.append(layer.name)
    if major == 1 and kind == "GRU" and len(arrays) == 9:  # Keras 1: z, r, h one by one
        arrays = [np.concatenate([arrays[k], arrays[3 + k], arrays[6 + k]], axis=-1) for k in range(3)]
        rebuilt.converted.append(layer.name)
    if kind in ("LSTM", "GRU") and len(arrays) == 3:
        arrays = _from_cudnn(kind, arrays, layer, rebuilt)
    if restore:
        cell = getattr(layer, "cell", layer)
        for key in ("recurrent_activation", "activation"):
            blocks = GATE_BLOCKS.get((kind, key))
            if blocks and getattr(cell, key, None) is keras.activations.hard_sigmoid:
                arrays = [_scale(a, *blocks) for a in arrays]
                rebuilt.scaled.append(f"{layer.name}.{key}")
    return arrays


def _from_cudnn(kind: str, arrays: list[np.ndarray], layer: Any, rebuilt: Rebuilt) -> list[np.ndarray]:
    gates = 4 if kind == "LSTM" else 3
    units = arrays[1].shape[0]
    if arrays[2].shape != (2 * units * gates,):
        return arrays
    if kind == "GRU" and not getattr(layer.cell, "reset_after", True):
        raise LegacyError(f"layer {layer.name!r}: a CuDNNGRU's weights cannot become a GRU(reset_after=False)")

    def per_gate(kernel: np.ndarray, func: Any) -> np.ndarray:
        return np.hstack([func(k) for k in np.hsplit(kernel, gates)])

    kernel = per_gate(arrays[0], lambda k: k.T.reshape(k.shape, order="F"))
    recurrent = per_gate(arrays[1], lambda k: k.T)
    bias = np.sum(np.split(arrays[2], 2), axis=0) if kind == "LSTM" else arrays[2].reshape(2, -1)
    rebuilt.converted.append(layer.name)
    return [kernel, recurrent, bias]


def _scale(array: np.ndarray, blocks: int, which: tuple[int, ...]) -> np.ndarray:
    out = np.array(array, dtype=np.float64)
    width = out.shape[-1] // blocks
    for block in which:
        out[..., block * width : (block + 1) * width] *= HARD_SIGMOID_SCALE
    return out.astype(array.dtype)


# ---- running the rebuilt model, tf_keras' own load, saving ---------------------------------------
def probe_inputs(model: Any) -> list[np.ndarray]:
    """A deterministic input for each model input: batch 2 (or the fixed batch), 8 timesteps where
    the length is free, normal values (integers 0 and 1 for an integer input)."""
    rng = np.random.RandomState(0)
    xs = []
    for tensor in model.inputs:
        shape = list(tensor.shape)
        shape = [(2 if i == 0 else 8) if d is None else int(d) for i, d in enumerate(shape)]
        dtype = np.dtype(getattr(tensor.dtype, "name", None) or str(tensor.dtype))
        xs.append(
            rng.randint(0, 2, size=shape).astype(dtype)
            if dtype.kind in "iu"
            else rng.standard_normal(shape).astype(dtype)
        )
    return xs


def predict(model: Any, xs: list[np.ndarray]) -> list[np.ndarray]:
    """The model's outputs on xs (called once, not trained), stateful layers reset afterwards."""
    with quiet_native_stderr():
        out = model(xs if len(xs) > 1 else xs[0], training=False)
        outputs = [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]
        for layer in model._flatten_layers(include_self=False):
            if getattr(layer, "stateful", False) and hasattr(layer, "reset_state"):
                layer.reset_state()
    return outputs


def tf_keras_predictions(path: str, xs: list[np.ndarray]) -> tuple[str, list[np.ndarray] | None, str | None] | None:
    """tf_keras' own load of the file run on xs: (version, outputs, None), or (version, None, why)
    when tf_keras cannot load or run it here (a CuDNN layer without a GPU); None when tf_keras is
    not installed. Called only after the file's config was checked (no Lambda, no custom class)."""
    load_keras()
    with quiet_native_stderr():
        try:
            import tf_keras
        except ImportError:
            return None
        try:
            model = tf_keras.models.load_model(path, compile=False)
            out = model(xs if len(xs) > 1 else xs[0], training=False)
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            if "CudnnRNN" in str(exc):
                first = "its CuDNN layers run only on a GPU"
            return tf_keras.__version__, None, f"{type(exc).__name__}: {_short(first, 160)}"
        return tf_keras.__version__, [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])], None


def tf_keras_version() -> str | None:
    """The installed tf_keras version, read from its metadata (nothing imported)."""
    from importlib import metadata

    try:
        return metadata.version("tf-keras")
    except metadata.PackageNotFoundError:
        return None


def keras_file_bytes(model: Any) -> bytes:
    """The model as a Keras 3 .keras file (model.save), returned as bytes for an atomic write."""
    with tempfile.TemporaryDirectory() as folder:
        target = os.path.join(folder, "model.keras")
        with quiet_native_stderr():
            model.save(target)
        with open(target, "rb") as handle:
            return handle.read()
