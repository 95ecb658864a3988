"""Old model files (saved by Keras 1, Keras 2 or tf.keras / tf-keras in HDF5): which Keras
saved them, and their model_config translated into the config Keras 3 builds, with every
change named. Pure rules: no Keras, no numpy, no files. The weights are converted by
runner/legacy.py, by the same rules (the names below are shared)."""

from __future__ import annotations

import copy
from typing import Any

# Keras 2's hard_sigmoid is clip(0.2 x + 0.5, 0, 1) (tf_keras/src/backend.py); Keras 3's is
# relu6(x + 3) / 6 = clip(x / 6 + 0.5, 0, 1) (keras/src/backend/*/nn.py). Where the argument is a
# linear pre-activation x W + h U + b, Keras 2's value is Keras 3's on 1.2 times it:
# clip(1.2 z / 6 + 0.5) = clip(0.2 z + 0.5). The rebuilt model multiplies those weights by 1.2.
HARD_SIGMOID_SCALE = 1.2
RECURRENT = ("LSTM", "GRU", "SimpleRNN", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")
CUDNN = {"CuDNNLSTM": "LSTM", "CuDNNGRU": "GRU"}
# Keras 1 argument names of the recurrent layers and Dense, and their Keras 2/3 names.
KERAS1_NAMES = {
    "output_dim": "units",
    "init": "kernel_initializer",
    "inner_init": "recurrent_initializer",
    "inner_activation": "recurrent_activation",
    "W_regularizer": "kernel_regularizer",
    "U_regularizer": "recurrent_regularizer",
    "b_regularizer": "bias_regularizer",
    "W_constraint": "kernel_constraint",
    "U_constraint": "recurrent_constraint",
    "b_constraint": "bias_constraint",
    "dropout_W": "dropout",
    "dropout_U": "recurrent_dropout",
    "bias": "use_bias",
}
KERAS1_DROPPED = ("consume_less", "input_length", "input_dim", "forget_bias_init")
# Keys Keras 2 wrote that Keras 3's layers refuse, with the value that means "as in Keras 3".
DROPPED_KEYS = {"time_major": False}
MODEL_CLASSES = ("Sequential", "Functional", "Model")


class LegacyError(ValueError):
    """A setting of the old file that Keras 3 cannot represent (the message names it)."""


def keras_major(version: str | None) -> int:
    """The major version of the Keras that saved the file; no keras_version attribute is Keras 1
    (Keras 2's own loader reads it so: tf_keras/src/saving/legacy/hdf5_format.py)."""
    if not version:
        return 1
    head = str(version).strip().split(".")[0]
    return int(head) if head.isdigit() else 1


def saved_by(version: str | None, backend: str | None) -> str:
    """'Keras 2.21.0 (backend tensorflow)' from the file's attributes."""
    if not version:
        text = "Keras 1 (the file has no keras_version attribute)"
    else:
        text = f"Keras {version}"
    return text + (f" (backend {backend})" if backend else " (no backend attribute)")


def needs_rebuild(version: str | None) -> bool:
    """Keras 3 loads its own .h5 files; anything older is rebuilt by rnnshape (Keras 3's loader
    refuses most of them, and where it loads one it reads hard_sigmoid with Keras 3's meaning)."""
    return keras_major(version) < 3


def translate(config: dict[str, Any], version: str | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The legacy model_config as Keras 3's legacy deserializer takes it, and the changes made
    (each {"layer", "setting", "change", "kind"}: kind "renamed", "dropped", "default", "class",
    "meaning"). A setting Keras 3 cannot represent raises LegacyError."""
    changes: list[dict[str, Any]] = []
    new = copy.deepcopy(config)
    _translate_object(new, keras_major(version), changes)
    return new, changes


def _translate_object(obj: dict[str, Any], major: int, changes: list[dict[str, Any]]) -> None:
    class_name = obj.get("class_name")
    config = obj.get("config")
    if class_name in MODEL_CLASSES:
        if class_name == "Sequential" and isinstance(config, list):  # Keras 2.0-2.1: the layers alone
            obj["config"] = config = {"name": "sequential", "layers": config}
            changes.append(
                _change(
                    "sequential",
                    "config",
                    "a Keras 2.0-2.1 Sequential config (a list of layers) written as Keras 3's {name, layers}",
                    "renamed",
                )
            )
        layers = config.get("layers", []) if isinstance(config, dict) else []
        for layer in layers:
            if isinstance(layer, dict):
                _translate_layer(layer, major, changes)
        if class_name == "Sequential" and layers:
            _sequential_input(config, layers, changes)
        return
    _translate_layer(obj, major, changes)


def _sequential_input(config: dict[str, Any], layers: list[Any], changes: list[dict[str, Any]]) -> None:
    """Keras 2 Sequential configs record the input shape on the first layer (batch_input_shape);
    Keras 3 wants an InputLayer (batch_shape) first. Later layers' copies are dropped."""
    first = layers[0]
    shape = None
    for layer in layers:
        inner = layer.get("config") if isinstance(layer, dict) else None
        if isinstance(inner, dict) and "batch_input_shape" in inner:
            found = inner.pop("batch_input_shape")
            if shape is None and layer is first and layer.get("class_name") != "InputLayer":
                shape = found
                dtype = inner.get("dtype", "float32")
                layers.insert(
                    0,
                    {
                        "class_name": "InputLayer",
                        "config": {
                            "batch_shape": found,
                            "dtype": dtype if isinstance(dtype, str) else "float32",
                            "name": f"{inner.get('name', 'layer')}_input",
                        },
                    },
                )
                changes.append(
                    _change(
                        inner.get("name", "?"),
                        "batch_input_shape",
                        f"batch_input_shape={found} written as an InputLayer of batch_shape {found}",
                        "renamed",
                    )
                )


def _translate_layer(layer: dict[str, Any], major: int, changes: list[dict[str, Any]]) -> None:
    """One saved layer translated in place for Keras 3 (a nested model as a whole; the layers a
    Bidirectional, TimeDistributed or RNN wraps in turn), each change appended to ``changes``."""
    class_name = layer.get("class_name")
    config = layer.get("config")
    if not isinstance(config, dict):
        return
    name = str(config.get("name", class_name))
    if class_name in MODEL_CLASSES:
        _translate_object(layer, major, changes)
        return
    if class_name == "InputLayer" and "batch_input_shape" in config:
        config["batch_shape"] = config.pop("batch_input_shape")
    if class_name in CUDNN:
        class_name = _cudnn_layer(layer, name, changes)
    if major == 1:
        _keras1_layer(class_name, config, name, changes)
    _drop_keys(config, name, changes)
    _keras2_meanings(class_name, config, name, changes)
    for key in ("layer", "backward_layer"):  # Bidirectional, TimeDistributed
        inner = config.get(key)
        if isinstance(inner, dict):
            _translate_layer(inner, major, changes)
    if class_name == "RNN" and isinstance(config.get("cell"), dict):
        _translate_layer(config["cell"], major, changes)


def _cudnn_layer(layer: dict[str, Any], name: str, changes: list[dict[str, Any]]) -> str:
    """CuDNNLSTM/CuDNNGRU rebuilt as the LSTM/GRU that computes the same (cuDNN's fixed settings
    written out); returns the new class name."""
    class_name, config = layer["class_name"], layer["config"]
    target = CUDNN[class_name]
    layer["class_name"] = target
    config.update({"activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True})
    if target == "GRU":
        config["reset_after"] = True
    changes.append(
        _change(
            name,
            "class",
            f"{class_name} rebuilt as {target}(activation='tanh', "
            f"recurrent_activation='sigmoid'{', reset_after=True' if target == 'GRU' else ''}) "
            "with its weights converted from the cuDNN layout as tf_keras converts them",
            "class",
        )
    )
    return target


def _keras1_layer(class_name: Any, config: dict[str, Any], name: str, changes: list[dict[str, Any]]) -> None:
    """Keras 1: input_dtype read as dtype; for the recurrent layers and Dense, the input shape
    from input_dim (and input_length), the arguments renamed (KERAS1_NAMES) and dropped
    (KERAS1_DROPPED)."""
    if "input_dtype" in config:  # Keras 1: the dtype of the input it was built on
        value = config.pop("input_dtype")
        config.setdefault("dtype", value)
        changes.append(_change(name, "input_dtype", f"Keras 1's input_dtype={value!r} read as dtype", "renamed"))
    if not (class_name in RECURRENT or class_name == "Dense"):
        return
    if "batch_input_shape" not in config and config.get("input_dim") is not None:
        config["batch_input_shape"] = (
            [None, config.get("input_length"), config["input_dim"]]
            if class_name in RECURRENT
            else [None, config["input_dim"]]
        )
    for old, new in KERAS1_NAMES.items():
        if old in config:
            value = config.pop(old)
            if old == "bias":
                value = bool(value)
            config[new] = value
            changes.append(_change(name, old, f"Keras 1's {old} read as {new}", "renamed"))
    for old in KERAS1_DROPPED:
        if old in config:
            value = config.pop(old)
            if old == "forget_bias_init":
                config["unit_forget_bias"] = value == "one"
            changes.append(
                _change(name, old, f"Keras 1's {old}={value!r} dropped (Keras 3 has no such argument)", "dropped")
            )


def _drop_keys(config: dict[str, Any], name: str, changes: list[dict[str, Any]]) -> None:
    """The keys Keras 3 refuses (DROPPED_KEYS) dropped where they hold the neutral value; any
    other value cannot be rebuilt (LegacyError)."""
    for key, neutral in DROPPED_KEYS.items():
        if key in config:
            value = config.pop(key)
            if value != neutral:
                raise LegacyError(
                    f"layer {name!r} has {key}={value}: Keras 3 has no {key} (inputs are always "
                    "(batch, timesteps, features)); it cannot be rebuilt"
                )
            changes.append(
                _change(
                    name,
                    key,
                    f"{key}={value} dropped (Keras 3 has no {key}; its layers are batch-major, as this one was)",
                    "dropped",
                )
            )


def _keras2_meanings(class_name: Any, config: dict[str, Any], name: str, changes: list[dict[str, Any]]) -> None:
    """Settings whose Keras 2 meaning Keras 3 reads otherwise: a GRU's missing reset_after (Keras
    2's default False kept), implementation 0 (read as 1), hard_sigmoid (named, see
    hard_sigmoid_change)."""
    if class_name == "GRU" and "reset_after" not in config:
        config["reset_after"] = False
        changes.append(
            _change(
                name,
                "reset_after",
                "reset_after is not in the file: Keras 2's default False kept "
                "(Keras 3's default is True, with another bias shape and other numbers)",
                "default",
            )
        )
    if class_name in RECURRENT and config.get("implementation") == 0:  # Keras 2.0's CPU mode: same numbers
        config["implementation"] = 1
        changes.append(
            _change(
                name,
                "implementation",
                "implementation=0 read as 1 (Keras 3 has modes 1 and 2, which group the same products differently)",
                "renamed",
            )
        )
    for key in ("recurrent_activation", "activation"):
        if config.get(key) == "hard_sigmoid":
            changes.append(hard_sigmoid_change(name, class_name, key))


def foldable(class_name: str, key: str) -> bool:
    """Whether Keras 2's hard_sigmoid in ``key`` of a ``class_name`` layer is restored exactly by
    scaling weights: the gates of LSTM/GRU/ConvLSTM (recurrent_activation), a SimpleRNN's or a
    Dense layer's activation, a GRU's candidate activation; an LSTM's cell activation (applied
    to c too) is not. runner/legacy.py's GATE_BLOCKS are the same list."""
    if key == "recurrent_activation":
        return class_name in ("LSTM", "GRU", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")
    return class_name in ("SimpleRNN", "Dense", "GRU")


def hard_sigmoid_change(name: str, class_name: str, key: str) -> dict[str, Any]:
    restored = foldable(class_name, key)
    how = (
        "restored: the weights feeding it are multiplied by 1.2 in the rebuilt model (Keras 3's "
        "hard_sigmoid of 1.2 z is Keras 2's of z)"
        if restored
        else "not restored: this argument is not a linear function of the weights, Keras 3's meaning is kept"
    )
    change = _change(
        name,
        key,
        f"{key}='hard_sigmoid' meant clip(0.2x+0.5, 0, 1) in Keras 2; Keras 3's is "
        f"relu6(x+3)/6 = clip(x/6+0.5, 0, 1); {how}",
        "meaning",
    )
    change["restored"] = restored
    return change


def _change(layer: str, setting: str, change: str, kind: str) -> dict[str, Any]:
    return {"layer": layer, "setting": setting, "change": change, "kind": kind}
