"""What port reads of a user's material, before anything runs: a torch state_dict's keys and
shapes (the kind, layers, directions, bias and sizes it holds) and a saved Keras model's layer
config (what torch.nn can compute of it). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rnnshape.errors import UsageError
from rnnshape.rules.kinds import PLAIN_BY_KERAS_CLASS
from rnnshape.rules.port import TORCH_CLASS, TORCH_GATES, TORCH_NONLINEARITIES, Port


# ---- a torch state_dict read back -------------------------------------------------------
def describe_state_dict(shapes: dict[str, tuple[int, ...]]) -> dict[str, Any]:
    """What a torch.nn.LSTM/GRU/RNN state_dict holds, from its keys and shapes: layers,
    directions, bias, gate rows, input and hidden sizes (UsageError when it is not one)."""
    import re

    pattern = re.compile(r"^(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(\d+)(_reverse)?$")
    unknown = [key for key in shapes if not pattern.match(key)]
    if unknown or not shapes:
        raise UsageError(
            "Invalid value for --from: the file is not the state_dict of a torch.nn.LSTM, GRU or RNN "
            f"(keys such as weight_ih_l0, bias_hh_l0_reverse); it holds {_keys_text(list(shapes))}"
        )
    if any(key.startswith("weight_hr") for key in shapes):
        raise UsageError(
            "Invalid value for --from: the LSTM has proj_size > 0 (weight_hr_l*): Keras' LSTM has no projection"
        )
    layers = 1 + max(int(pattern.match(key).group(2)) for key in shapes)
    first = shapes.get("weight_ih_l0")
    hh = shapes.get("weight_hh_l0")
    if first is None or hh is None or len(first) != 2 or len(hh) != 2:
        raise UsageError("Invalid value for --from: the state_dict has no 2-D weight_ih_l0 and weight_hh_l0")
    return {
        "num_layers": layers,
        "bidirectional": any(key.endswith("_reverse") for key in shapes),
        "bias": any(key.startswith("bias") for key in shapes),
        "gate_rows": int(first[0]),
        "input_size": int(first[1]),
        "hidden_size": int(hh[1]),
    }


GATE_KINDS = {4: "lstm", 3: "gru", 1: "simplernn"}  # gate blocks in weight_ih_l0 -> the torch.nn module


def kind_of_state_dict(found: dict[str, Any], path: str) -> str:
    """LSTM, GRU or RNN from the gate rows of weight_ih_l0 (4, 3 or 1 blocks of hidden_size)."""
    hidden = found["hidden_size"]
    kind = GATE_KINDS.get(found["gate_rows"] // hidden) if hidden and found["gate_rows"] % hidden == 0 else None
    if kind is None:
        raise UsageError(
            f"Invalid value for --from: {path}: weight_ih_l0 has {found['gate_rows']} rows for "
            f"hidden_size {hidden}, neither 4 (LSTM), 3 (GRU) nor 1 (RNN) blocks of hidden_size"
        )
    return kind


def state_dict_options(found: dict[str, Any], name: str) -> dict[str, tuple[Any, Any, str]]:
    """What a state_dict fixes: {key: (its value, the option's name for a given value, the words)}."""
    n = found["num_layers"]
    return {
        "num_layers": (
            n,
            lambda given: "--num-layers",
            f"{n} layer{'s' if n > 1 else ''} (weight_ih_l0" + (f" .. weight_ih_l{n - 1})" if n > 1 else ")"),
        ),
        "bidirectional": (
            found["bidirectional"],
            lambda given: "--bidirectional" if given else "--no-bidirectional",
            "both directions (the *_reverse tensors)"
            if found["bidirectional"]
            else "one direction (no *_reverse tensor)",
        ),
        "use_bias": (
            found["bias"],
            lambda given: "--use-bias" if given else "--no-use-bias",
            "biases (bias_ih_l0, bias_hh_l0)" if found["bias"] else "no bias tensor (bias=False)",
        ),
        "units": (
            found["hidden_size"],
            lambda given: "--units",
            f"hidden_size {found['hidden_size']} (weight_hh_l0 is {found['gate_rows']}x{found['hidden_size']})",
        ),
        "features": (
            found["input_size"],
            lambda given: "--features",
            f"input_size {found['input_size']} (weight_ih_l0 is {found['gate_rows']}x{found['input_size']})",
        ),
    }


def _keys_text(keys: list[str], limit: int = 6) -> str:
    if not keys:
        return "no tensors"
    shown = ", ".join(keys[:limit]) + (f" and {len(keys) - limit} more" if len(keys) > limit else "")
    return shown


def check_state_dict(port: Port, shapes: dict[str, tuple[int, ...]]) -> None:
    """The file's keys and shapes against what nn.LSTM/GRU/RNN with these options holds."""
    found = describe_state_dict(shapes)
    gates = len(TORCH_GATES[port.layer])
    if found["gate_rows"] != gates * found["hidden_size"]:
        kinds = {4: "lstm", 3: "gru", 1: "simplernn"}
        ratio = found["gate_rows"] // max(found["hidden_size"], 1)
        guess = kinds.get(ratio)
        hint = f" (its weight_ih_l0 has {ratio} gate blocks: --layer {guess})" if guess else ""
        raise UsageError(f"Invalid value for --layer: the file is not a torch.nn.{port.torch_class} state_dict{hint}")
    expected = dict(port.torch_names())
    actual = {key: tuple(value) for key, value in shapes.items()}
    if expected != actual:
        what = (
            f"{found['num_layers']} layer(s), {'bidirectional' if found['bidirectional'] else 'one direction'}, "
            f"{'with' if found['bias'] else 'without'} bias, input_size {found['input_size']}, hidden_size "
            f"{found['hidden_size']}"
        )
        options = []
        if found["num_layers"] != port.num_layers:
            options.append(f"--num-layers {found['num_layers']}")
        if found["bidirectional"] != port.spec.bidirectional:
            options.append("--bidirectional" if found["bidirectional"] else "--no-bidirectional")
        if found["bias"] != port.spec.use_bias:
            options.append("--use-bias" if found["bias"] else "--no-use-bias")
        fix = f": give {' '.join(options)}" if options else ""
        raise UsageError(f"Invalid value for --from: the state_dict holds {what}{fix}")


# ---- a layer of a user's saved model, read from its config -----------------------------------
# Everything here reads the config Keras saved (config.json of a .keras file, the model_config of
# a legacy .h5 file, or a live layer serialized the same way): whether torch.nn can compute the
# layer is decided before TensorFlow is imported, and the refusal names the layer's own setting.
PORT_CLASSES = PLAIN_BY_KERAS_CLASS  # the layers torch.nn has a module for


CELL_CLASSES = {"LSTMCell": "LSTM", "GRUCell": "GRU", "SimpleRNNCell": "SimpleRNN"}


CONV_CLASSES = ("ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")


CONTAINER_CLASSES = ("Sequential", "Functional", "Model")


# the dtype policies whose compute dtype is not float32/float64 (the port compares float32 to 1e-5)
LOW_PRECISION = ("float16", "bfloat16", "mixed_float16", "mixed_bfloat16")


@dataclass(frozen=True)
class SavedLayer:
    """A recurrent layer of a saved model as torch.nn sees it: its kind, the wrapped layer's
    config (a Bidirectional's inner layer), the Bidirectional merge mode, and the Keras call that
    builds it with its real settings."""

    path: str
    kind: str
    config: dict[str, Any]
    bidirectional: bool
    merge_mode: str | None  # "concat", "sum", "mul", "ave", "none" (Keras' None); None when not bidirectional
    keras_call: str

    def spec_options(self) -> dict[str, Any]:
        """The layer's settings as make_spec takes them (every one that changes a number)."""
        c = self.config
        options: dict[str, Any] = {
            "layer": self.kind,
            "units": int(c["units"]),
            "return_sequences": bool(c.get("return_sequences")),
            "return_state": bool(c.get("return_state")),
            "go_backwards": bool(c.get("go_backwards")),
            "bidirectional": self.bidirectional,
            "merge_mode": self.merge_mode,
            "activation": _activation(c.get("activation", "tanh")),
            "use_bias": c.get("use_bias") is not False,
        }
        if self.bidirectional:
            options["go_backwards"] = False
        if self.kind != "simplernn":
            options["recurrent_activation"] = _activation(c.get("recurrent_activation", "sigmoid"))
        if self.kind == "gru":
            options["reset_after"] = c.get("reset_after") is not False
        return options


def _layer_list(config: Any) -> list[Any]:
    """The layers of a saved model config (Keras 3 and Keras 2 dicts; Keras 1's bare list)."""
    if isinstance(config, list):
        return config
    if isinstance(config, dict):
        layers = config.get("layers")
        if isinstance(layers, list):
            return layers
    return []


def _name(obj: dict[str, Any]) -> str | None:
    inner = obj.get("config")
    if isinstance(inner, dict) and isinstance(inner.get("name"), str):
        return inner["name"]
    return obj.get("name") if isinstance(obj.get("name"), str) else None


def saved_layers(config: Any, prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
    """(path, serialized layer) of every layer of a saved model config, nested models' layers
    under their model's name ("encoder/lstm"), as rnnshape model names them."""
    found: list[tuple[str, dict[str, Any]]] = []
    root = config.get("config") if isinstance(config, dict) and "class_name" in config else config
    for obj in _layer_list(root):
        if not isinstance(obj, dict) or not isinstance(obj.get("class_name"), str):
            continue
        name = _name(obj)
        if name is None or obj["class_name"] == "InputLayer":
            continue
        found.append((prefix + name, obj))
        if _layer_list(obj.get("config")):
            found.extend(saved_layers(obj, prefix + name + "/"))
    return found


def find_saved_layer(config: Any, name: str) -> tuple[str, dict[str, Any]] | None:
    """The layer ``name`` (a path or a name used once) of a saved config, or None."""
    layers = saved_layers(config)
    matches = [item for item in layers if item[0] == name] or [
        item for item in layers if item[0].rsplit("/", 1)[-1] == name
    ]
    return matches[0] if len(matches) == 1 else None


def recurrent_paths(config: Any) -> list[str]:
    """The paths of the recurrent layers of a saved config (for messages)."""
    recurrent = (*PORT_CLASSES, *CONV_CLASSES, "RNN", "Bidirectional")
    return [path for path, obj in saved_layers(config) if obj["class_name"] in recurrent]


def _activation(value: Any) -> Any:
    """A saved activation as its name: "tanh", or a serialized function's name; None is linear."""
    if value is None:
        return "linear"
    if isinstance(value, dict):
        inner = value.get("config")
        if isinstance(inner, str):
            return inner
        if isinstance(inner, dict) and isinstance(inner.get("name"), str):
            return inner["name"]
        return value.get("class_name", "a custom function")
    return value


def _dtype_name(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        inner = value.get("config")
        if isinstance(inner, dict) and isinstance(inner.get("name"), str):
            return inner["name"]
    return None


def _setting(key: str, value: Any) -> str:
    return f"{key}={value!r}"


def _cell_problem(kind: str, config: dict[str, Any]) -> str | None:
    """Why torch.nn cannot compute this LSTM/GRU/SimpleRNN config (its own setting named), or None."""
    torch_class = f"torch.nn.{TORCH_CLASS[kind]}"
    if config.get("stateful"):
        return (
            f"has stateful=True: {torch_class} keeps no state between calls (you pass h_n back as hx), so a "
            "stateful layer's numbers depend on the batches before; save the layer with stateful=False (the "
            "same weights) and port that"
        )
    activation = _activation(config.get("activation", "tanh"))
    if kind == "simplernn":
        if activation not in TORCH_NONLINEARITIES:
            return f"has {_setting('activation', activation)}: {torch_class}'s nonlinearity is tanh or relu only"
    else:
        if activation != "tanh":
            what = "its candidate and h = o * tanh(c)" if kind == "lstm" else "its candidate n"
            return f"has {_setting('activation', activation)}: {torch_class} has only tanh (for {what})"
        recurrent = _activation(config.get("recurrent_activation", "sigmoid"))
        if recurrent != "sigmoid":
            return (
                f"has {_setting('recurrent_activation', recurrent)}: {torch_class} computes its gates with sigmoid only"
            )
    if kind == "gru" and config.get("reset_after", True) is False:
        return (
            "has reset_after=False: torch.nn.GRU applies the reset gate after the recurrent matmul, "
            "n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), as Keras' reset_after=True does; reset_after=False "
            "(r * h before the matmul, one bias) has no torch.nn counterpart"
        )
    dtype = _dtype_name(config.get("dtype"))
    if dtype in LOW_PRECISION:
        return (
            f"computes in {dtype.replace('mixed_', '')} (dtype policy {dtype!r}): the port compares both "
            "frameworks in float32 to 1e-5; port a float32 copy of the layer (the same weights)"
        )
    return None


def _flag_args(config: dict[str, Any]) -> list[str]:
    return [
        f"{key}=True"
        for key in ("return_sequences", "return_state", "go_backwards", "stateful", "unroll")
        if config.get(key)
    ]


def _cell_args(config: dict[str, Any], kind: str) -> list[str]:
    """The cell's settings that differ from Keras' defaults."""
    args = []
    activation = _activation(config.get("activation", "tanh"))
    if activation != "tanh":
        args.append(f'activation="{activation}"')
    if kind != "simplernn":
        recurrent = _activation(config.get("recurrent_activation", "sigmoid"))
        if recurrent != "sigmoid":
            args.append(f'recurrent_activation="{recurrent}"')
    if config.get("use_bias", True) is False:
        args.append("use_bias=False")
    if kind == "lstm" and config.get("unit_forget_bias", True) is False:
        args.append("unit_forget_bias=False")
    if kind == "gru" and config.get("reset_after", True) is False:
        args.append("reset_after=False")
    for key in ("dropout", "recurrent_dropout"):
        if config.get(key):
            args.append(f"{key}={config[key]!r}")
    return args


def _call_text(class_name: str, config: dict[str, Any], kind: str, cell_class: str | None = None) -> str:
    """keras.layers.LSTM(64, return_sequences=True, ...) (or keras.layers.RNN(keras.layers.LSTMCell(64), ...)):
    the settings that differ from Keras' defaults."""
    units = str(config.get("units"))
    if cell_class is not None:
        cell = f"keras.layers.{cell_class}({', '.join([units, *_cell_args(config, kind)])})"
        return f"keras.layers.RNN({', '.join([cell, *_flag_args(config)])})"
    return f"keras.layers.{class_name}({', '.join([units, *_flag_args(config), *_cell_args(config, kind)])})"


def _unwrap_cell(class_name: Any, config: dict[str, Any], where: str) -> tuple[Any, dict[str, Any], str | None]:
    """keras.layers.RNN around one LSTMCell/GRUCell/SimpleRNNCell computes what keras.layers.LSTM/GRU/
    SimpleRNN does: (that class, the cell's config with the layer's flags, the cell class); other
    classes are returned as they are."""
    if class_name != "RNN":
        return class_name, config, None
    cell = config.get("cell") if isinstance(config.get("cell"), dict) else {}
    cell_class = cell.get("class_name", "a custom cell")
    if cell_class not in CELL_CLASSES:
        raise UsageError(
            f"{where} is keras.layers.RNN around {cell_class}: port maps the LSTM, GRU and SimpleRNN "
            "layers, and keras.layers.RNN around one LSTMCell, GRUCell or SimpleRNNCell, to torch.nn"
        )
    cell_config = cell.get("config") if isinstance(cell.get("config"), dict) else {}
    flags = {
        key: config[key]
        for key in ("return_sequences", "return_state", "go_backwards", "stateful", "unroll", "dtype")
        if key in config
    }
    return CELL_CLASSES[cell_class], {**cell_config, **flags}, cell_class


def saved_layer(path: str, obj: dict[str, Any], recurrent: list[str]) -> SavedLayer:
    """The saved layer ``obj`` at ``path`` as torch.nn would take it, or a UsageError (exit 2) that
    names the layer's own setting torch.nn cannot compute."""
    name = path.rsplit("/", 1)[-1]
    where = f"Invalid value for --layer: layer {path!r}"
    class_name = obj.get("class_name")
    config = _sub_dict(obj, "config")
    bidirectional = class_name == "Bidirectional"
    inner_class, inner, merge_mode = _wrapped_layer(class_name, config)
    if inner_class in CONV_CLASSES:
        raise UsageError(
            f"{where} is a {'Bidirectional ' if bidirectional else ''}{inner_class}: its gates are "
            "convolutions over a feature map; torch.nn has no convolutional LSTM (nn.LSTM, nn.GRU and "
            "nn.RNN multiply vectors)"
        )
    inner_class, inner, cell_class = _unwrap_cell(inner_class, inner, where)
    inner = _keras1_names(inner)
    kind = _port_kind(where, inner_class, bidirectional, recurrent)
    problem = _cell_problem(kind, inner)
    if problem is None and bidirectional:
        problem = _cell_problem(kind, {"dtype": config.get("dtype")})
    if problem is not None:
        raise UsageError(f"{where} {problem}")
    if "units" not in inner:
        raise UsageError(f"{where} has no units in its saved config: not a Keras {inner_class} config")
    if bidirectional:
        _check_backward(where, kind, inner_class, inner, config)
    call = _call_text(inner_class, inner, kind, cell_class)
    if bidirectional:
        extra = {"concat": "", "none": ", merge_mode=None"}.get(merge_mode, f', merge_mode="{merge_mode}"')
        call = f'keras.layers.Bidirectional({call}{extra}, name="{name}")'
    else:
        call = call[:-1] + f', name="{name}")'
    return SavedLayer(path, kind, dict(inner), bidirectional, merge_mode if bidirectional else None, call)


def _sub_dict(obj: dict[str, Any], key: str) -> dict[str, Any]:
    """obj[key] when it is a dict, else an empty dict (a saved config missing or malformed there)."""
    return obj.get(key) if isinstance(obj.get(key), dict) else {}


def _wrapped_layer(class_name: Any, config: dict[str, Any]) -> tuple[Any, dict[str, Any], str | None]:
    """(class, config, merge_mode) of the layer a Bidirectional wraps (merge_mode "none" for None);
    any other layer is returned as it is, with merge_mode None."""
    if class_name != "Bidirectional":
        return class_name, config, None
    wrapped = _sub_dict(config, "layer")
    merge_mode = config.get("merge_mode", "concat")
    return wrapped.get("class_name"), _sub_dict(wrapped, "config"), "none" if merge_mode is None else merge_mode


def _keras1_names(inner: dict[str, Any]) -> dict[str, Any]:
    """A legacy file's Keras 1 names (output_dim, inner_activation) read as units and
    recurrent_activation, unless those are there too; a new dict when changed."""
    if "units" not in inner and "output_dim" in inner:
        inner = {**inner, "units": inner["output_dim"]}
    if "recurrent_activation" not in inner and "inner_activation" in inner:
        inner = {**inner, "recurrent_activation": inner["inner_activation"]}
    return inner


def _port_kind(where: str, inner_class: Any, bidirectional: bool, recurrent: list[str]) -> str:
    """lstm, gru or simplernn for a class torch.nn has; a UsageError for any other (or none)."""
    if bidirectional and not isinstance(inner_class, str):
        raise UsageError(f"{where} is a Bidirectional wrapper whose saved config holds no layer")
    if inner_class not in PORT_CLASSES:
        listed = ", ".join(recurrent) or "none"
        raise UsageError(
            f"{where} is a {inner_class}, not a recurrent layer torch.nn has: port maps LSTM, GRU and "
            f"SimpleRNN layers (and their Bidirectional wrappers) to nn.LSTM, nn.GRU and nn.RNN (this "
            f"model's recurrent layers: {listed})"
        )
    return PORT_CLASSES[inner_class]


# The settings a Bidirectional's backward_layer must share with its forward layer for torch.nn.
BACKWARD_KEYS = (
    "units",
    "activation",
    "recurrent_activation",
    "use_bias",
    "reset_after",
    "return_sequences",
    "return_state",
)


def _check_backward(where: str, kind: str, inner_class: Any, inner: dict[str, Any], config: dict[str, Any]) -> None:
    """A Bidirectional's forward layer must read forward, and its backward_layer (when saved)
    must have the forward one's class and settings, and none torch.nn cannot compute."""
    if inner.get("go_backwards"):
        raise UsageError(
            f"{where} wraps a {inner_class} with go_backwards=True: its forward direction reads "
            "backwards; torch.nn's bidirectional=True reads forward, then backward"
        )
    backward = config.get("backward_layer")
    if not isinstance(backward, dict):
        return
    b_class, b_config, _ = _unwrap_cell(
        backward.get("class_name"), _sub_dict(backward, "config"), f"{where} has a backward_layer that"
    )
    differences = [] if b_class == inner_class else [f"class {b_class} (forward: {inner_class})"]
    differences += _backward_differences(inner, b_config)
    if differences:
        raise UsageError(
            f"{where} has a backward_layer with {differences[0]}: torch.nn's "
            "bidirectional=True runs the same settings both ways"
        )
    b_problem = _cell_problem(kind, b_config)
    if b_problem is not None:
        raise UsageError(f"{where} has a backward_layer that {b_problem}")


def _backward_differences(inner: dict[str, Any], b_config: dict[str, Any]) -> list[str]:
    """The BACKWARD_KEYS settings in which the backward layer differs from the forward one
    ("key=backward (forward: forward)"), activations compared by name."""
    differences = []
    for key in BACKWARD_KEYS:
        if key in inner or key in b_config:
            f_value, b_value = inner.get(key), b_config.get(key)
            if key.endswith("activation"):
                f_value, b_value = _activation(f_value), _activation(b_value)
            if f_value != b_value:
                differences.append(f"{key}={b_value!r} (forward: {f_value!r})")
    return differences
