"""The pure rules of porting a Keras recurrent layer to torch.nn and back (rnnshape port).

Everything here is a rule of Keras or of torch.nn, read from their sources (keras/src/layers/rnn/,
torch/nn/modules/rnn.py) and measured by every port run: which torch.nn module takes the layer,
which tensor maps to which (transpose, gate blocks reordered, bias split), and how each returned
tensor of one side is read from the other. No numpy here: the arrays are handled in
rnnshape.measure.port and the printed conversion code (``conversion_code``) indexes whatever
arrays it is given.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from rnnshape.errors import UsageError
from rnnshape.rules.catalogue import KERAS_CELL_NAME, KERAS_LAYER_NAME
from rnnshape.rules.kinds import KINDS
from rnnshape.rules.layer import LayerSpec

PORTABLE = ("lstm", "gru", "simplernn")
DIRECTIONS_TO = ("torch",)  # --to
DIRECTIONS_FROM = ("torch",)  # --from
TORCH_CLASS = {name: KINDS[name].torch_class for name in ("lstm", "gru", "simplernn")}
KERAS_GATES = {"lstm": ("i", "f", "c", "o"), "gru": ("z", "r", "h"), "simplernn": ("h",)}
TORCH_GATES = {"lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n"), "simplernn": ("h",)}
# torch's gate block j holds Keras' gate block TORCH_BLOCK_FROM_KERAS[layer][j] (both orders are
# their own inverse: LSTM keeps its order, GRU swaps its first two blocks).
TORCH_BLOCK_FROM_KERAS = {"lstm": (0, 1, 2, 3), "gru": (1, 0, 2), "simplernn": (0,)}
MAX_NUM_LAYERS = 16
TORCH_EXTRA = 'pip install "rnnshape[torch]"'
TORCH_NONLINEARITIES = ("tanh", "relu")  # nn.RNN's nonlinearity
# The torch state_dict keys of one layer and direction, in torch's own order.
TORCH_PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def refuse_unportable(spec: LayerSpec, num_layers: int, option: str = "--layer") -> None:
    """UsageError (exit 2) naming the option and the reason, for what torch.nn cannot compute."""
    if isinstance(num_layers, bool) or not isinstance(num_layers, int) or not 1 <= num_layers <= MAX_NUM_LAYERS:
        raise UsageError(f"Invalid value for --num-layers: {num_layers!r} is not in the range 1..{MAX_NUM_LAYERS}")
    if spec.layer not in PORTABLE:
        raise UsageError(
            f"Invalid value for {option}: port maps LSTM, GRU and SimpleRNN to torch.nn (nn.LSTM, "
            f"nn.GRU, nn.RNN); {spec.keras_class} has no torch.nn counterpart"
        )
    if spec.layer == "gru" and spec.reset_after is False:
        raise UsageError(
            "Invalid value for --no-reset-after: torch.nn.GRU applies the reset gate after the recurrent "
            "matmul, n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), as Keras' reset_after=True does; "
            "reset_after=False (r * h before the matmul) has no torch.nn counterpart: use --reset-after"
        )
    if spec.layer == "simplernn":
        if spec.activation not in TORCH_NONLINEARITIES:
            raise UsageError(
                f"Invalid value for --activation: torch.nn.RNN's nonlinearity is tanh or relu, not {spec.activation}"
            )
    else:
        if spec.activation != "tanh":
            raise UsageError(
                f"Invalid value for --activation: torch.nn.{TORCH_CLASS[spec.layer]} computes its "
                f"candidate and h with tanh only, not {spec.activation}"
            )
        if spec.recurrent_activation != "sigmoid":
            raise UsageError(
                f"Invalid value for --recurrent-activation: torch.nn.{TORCH_CLASS[spec.layer]} computes "
                f"its gates with sigmoid only, not {spec.recurrent_activation}"
            )
    refusals = [
        (
            spec.go_backwards and spec.bidirectional,
            "--go-backwards",
            "a Bidirectional layer already reads both ways; torch.nn's bidirectional=True has no go_backwards",
        ),
        (
            spec.stateful,
            "--stateful",
            "a torch.nn module keeps no state between calls (pass h_n back as hx); port the layer without --stateful",
        ),
        (
            spec.lengths is not None,
            "--lengths",
            "torch.nn reads padded batches through "
            "nn.utils.rnn.pack_padded_sequence, not a mask; port without --lengths",
        ),
        (spec.initial_state is not None, "--initial-state", "port runs both sides from zero states"),
        (
            spec.training and bool(spec.dropout or spec.recurrent_dropout),
            "--training",
            "Keras' dropout masks the gates' inputs, torch.nn's dropout= the outputs between stacked layers: they "
            "are different computations; port at inference (drop --training)",
        ),
        (spec.unroll, "--unroll", "torch.nn has no unroll; port without --unroll (it changes no number)"),
    ]
    for refused, name, reason in refusals:
        if refused:
            raise UsageError(f"Invalid value for {name}: {reason}")


# ---- the torch.nn module and its tensors ---------------------------------------------------
@dataclass(frozen=True)
class Port:
    """A Keras layer (or a stack of ``num_layers`` layers of the same kind) and its torch.nn twin.

    ``spec`` is the Keras layer as inspect builds it: the first layer reads ``spec.features``,
    every layer has ``spec.units``; the flags (return_sequences, return_state, merge_mode) are the
    last layer's: the layers before it return sequences (and Bidirectional ones concatenate), as
    torch.nn's stacked layers pass their whole output on."""

    spec: LayerSpec
    num_layers: int = 1
    keras_names: tuple[str, ...] = field(default=())  # the Keras layer names (default: Keras' own)

    @property
    def layer(self) -> str:
        return self.spec.layer

    @property
    def directions(self) -> int:
        return 2 if self.spec.bidirectional else 1

    @property
    def torch_class(self) -> str:
        return TORCH_CLASS[self.layer]

    def layer_names(self) -> list[str]:
        """The Keras layers' names: lstm, lstm_1, ... (bidirectional, bidirectional_1, ...)."""
        if self.keras_names:
            return list(self.keras_names)
        base = "bidirectional" if self.spec.bidirectional else KERAS_LAYER_NAME[self.layer]
        return [base if k == 0 else f"{base}_{k}" for k in range(self.num_layers)]

    def layer_inputs(self) -> list[int]:
        """What layer k reads: the features, then the previous layer's output (both directions)."""
        return [self.spec.features] + [self.spec.units * self.directions] * (self.num_layers - 1)

    def torch_call(self) -> str:
        s = self.spec
        args = [f"input_size={s.features}", f"hidden_size={s.units}"]
        if self.num_layers > 1:
            args.append(f"num_layers={self.num_layers}")
        if self.layer == "simplernn" and s.activation != "tanh":
            args.append(f'nonlinearity="{s.activation}"')
        if not s.use_bias:
            args.append("bias=False")
        args.append("batch_first=True")
        if s.bidirectional:
            args.append("bidirectional=True")
        return f"torch.nn.{self.torch_class}({', '.join(args)})"

    def torch_input(self) -> str:
        """What the torch.nn module reads: x, or x.flip(1) for a go_backwards layer (torch.nn has no
        go_backwards; Keras' go_backwards layer reads x_T first and returns its steps in that order)."""
        return "x.flip(1)" if self.spec.go_backwards else "x"

    def torch_constructor(self) -> dict[str, Any]:
        """The keyword arguments of the torch.nn module (for the runner)."""
        s = self.spec
        kwargs: dict[str, Any] = {
            "input_size": s.features,
            "hidden_size": s.units,
            "num_layers": self.num_layers,
            "bias": s.use_bias,
            "batch_first": True,
            "bidirectional": s.bidirectional,
        }
        if self.layer == "simplernn":
            kwargs["nonlinearity"] = s.activation
        return kwargs

    def keras_layer_calls(self) -> list[str]:
        """The Keras layers, first to last, as a user would write them."""
        s = self.spec
        calls = []
        for k in range(self.num_layers):
            last = k == self.num_layers - 1
            text = s.keras_call()
            if not last:
                inner = dataclasses.replace(
                    s, return_sequences=True, return_state=False, merge_mode="concat" if s.bidirectional else None
                )
                text = inner.keras_call()
            calls.append(text)
        return calls

    def torch_outputs(self) -> list[dict[str, Any]]:
        """output, h_n (and c_n): torch.nn's returned tensors with batch_first=True."""
        s, d, n = self.spec, self.directions, self.num_layers
        out = [
            {
                "name": "output",
                "shape": [s.batch, s.timesteps, d * s.units],
                "axes": ["batch", "timesteps", f"{d}*hidden" if d > 1 else "hidden"],
                "meaning": "the last layer's h at every step"
                + (", forward then backward on the last axis" if d > 1 else ""),
            }
        ]
        states = [("h_n", "final h")] + ([("c_n", "final c")] if self.layer == "lstm" else [])
        where = (
            (f"layer k, direction d at [k*{d} + d]" if d > 1 else "layer k at [k]")
            if n > 1
            else ("forward at [0], backward at [1]" if d > 1 else "at [0]")
        )
        for name, what in states:
            out.append(
                {
                    "name": name,
                    "shape": [n * d, s.batch, s.units],
                    "axes": ["layers*directions", "batch", "hidden"],
                    "meaning": f"{what} of every layer and direction, {where}; not batch-first",
                }
            )
        return out

    # ---- weights ------------------------------------------------------------------------
    def keras_weight_paths(self) -> list[tuple[str, tuple[int, ...]]]:
        """Every Keras weight, in get_weights() order, with its path and shape."""
        s = self.spec
        g = len(KERAS_GATES[self.layer])
        u = s.units
        cell = KERAS_CELL_NAME[self.layer]
        base = KERAS_LAYER_NAME[self.layer]
        paths = []
        for k, (name, f) in enumerate(zip(self.layer_names(), self.layer_inputs())):
            if s.bidirectional:
                inner = base if k == 0 else f"{base}_{k}"
                prefixes = [f"{name}/{d}_{inner}/{cell}" for d in ("forward", "backward")]
            else:
                prefixes = [f"{name}/{cell}"]
            for p in prefixes:
                paths.append((f"{p}/kernel", (f, g * u)))
                paths.append((f"{p}/recurrent_kernel", (u, g * u)))
                if s.use_bias:
                    paths.append((f"{p}/bias", (2, g * u) if self.layer == "gru" else (g * u,)))
        return paths

    def torch_names(self) -> list[tuple[str, tuple[int, ...]]]:
        """torch.nn's state_dict keys and shapes, in its order."""
        s = self.spec
        g, u = len(TORCH_GATES[self.layer]), s.units
        names = []
        for k, f in enumerate(self.layer_inputs()):
            for d in range(self.directions):
                suffix = f"_l{k}" + ("_reverse" if d else "")
                names.append((f"weight_ih{suffix}", (g * u, f)))
                names.append((f"weight_hh{suffix}", (g * u, u)))
                if s.use_bias:
                    names.append((f"bias_ih{suffix}", (g * u,)))
                    names.append((f"bias_hh{suffix}", (g * u,)))
        return names

    def block_index(self) -> list[int]:
        """The Keras columns (or bias entries) each torch row takes, in torch's order (the gate
        blocks reordered; the same list maps torch rows back to Keras columns)."""
        u = self.spec.units
        return [keras_block * u + i for keras_block in TORCH_BLOCK_FROM_KERAS[self.layer] for i in range(u)]

    def gate_words(self, to_torch: bool = True) -> str:
        """How the gate blocks move: GRU (z, r, h) <-> (r, z, n); LSTM (i, f, c, o) = (i, f, g, o)."""
        keras, torch = ", ".join(KERAS_GATES[self.layer]), ", ".join(TORCH_GATES[self.layer])
        if self.layer == "gru":
            return f"gates ({keras}) -> ({torch})" if to_torch else f"gates ({torch}) -> ({keras})"
        if self.layer == "lstm":
            return f"gate order kept ({keras} = {torch})"
        return ""

    def weight_rules(self) -> list[dict[str, Any]]:
        """One rule per torch tensor: its Keras source, the operation, and both shapes."""
        keras = self.keras_weight_paths()
        per_direction = 3 if self.spec.use_bias else 2
        rules = []
        gates = self.gate_words()
        for position, (name, shape) in enumerate(self.torch_names()):
            group = position // (4 if self.spec.use_bias else 2)  # layer k, direction d
            kind = name.split("_l")[0]
            source = {"weight_ih": 0, "weight_hh": 1, "bias_ih": 2, "bias_hh": 2}[kind]
            keras_index = group * per_direction + source
            path, keras_shape = keras[keras_index]
            rule: dict[str, Any] = {
                "torch": name,
                "torch_shape": list(shape),
                "keras": path,
                "keras_shape": list(keras_shape),
                "keras_index": keras_index,
                "transpose": kind.startswith("weight"),
                "row": None,
                "zeros": False,
            }
            if kind.startswith("weight"):
                how = "transposed" + (f", {gates}" if gates else "")
            elif self.layer == "gru":
                rule["row"] = 0 if kind == "bias_ih" else 1
                how = f"row {rule['row']}, {gates}"
            elif kind == "bias_ih":
                how = "Keras' one bias" + (f", {gates}" if gates else "")
            else:
                rule["zeros"] = True
                how = "zeros (torch adds bias_ih + bias_hh)"
            rule["how"] = how
            rules.append(rule)
        return rules

    def keras_rules(self) -> list[dict[str, Any]]:
        """The reverse direction: one rule per Keras weight, from the torch tensors."""
        torch: dict[int, list[str]] = {}
        for rule in self.weight_rules():
            torch.setdefault(rule["keras_index"], []).append(rule["torch"])
        gates = self.gate_words(to_torch=False)
        rules = []
        for index, (path, shape) in enumerate(self.keras_weight_paths()):
            sources = torch[index]
            kind = path.rsplit("/", 1)[-1]
            if kind != "bias":
                how = "transposed" + (f", {gates}" if gates else "")
            elif self.layer == "gru":
                how = f"rows [{sources[0]}, {sources[1]}], {gates}"
            else:
                how = f"{sources[0]} + {sources[1]}" + (f", {gates}" if gates else "")
            rules.append(
                {
                    "keras": path,
                    "keras_shape": list(shape),
                    "torch": sources,
                    "how": how,
                    "transpose": kind != "bias",
                    "stack_rows": kind == "bias" and self.layer == "gru",
                }
            )
        return rules

    # ---- the returned tensors, read across ---------------------------------------------
    def output_rules(self) -> list[dict[str, Any]]:
        """Each tensor the Keras layer returns, read from torch's output, h_n and c_n: the
        expression (text) and its parts (for the measurement). The last layer's states are
        h_n[-1] (one direction), h_n[-2] and h_n[-1] (forward, backward)."""
        s, u = self.spec, self.spec.units
        bi = s.bidirectional
        seq = s.return_sequences

        def final(direction: str) -> dict[str, Any]:
            index = -2 if bi and direction == "forward" else -1
            return {"tensor": "h_n", "index": index}

        def out(direction: str | None) -> dict[str, Any]:
            if seq:
                return {"tensor": "output", "half": direction}
            return final(direction or "forward")

        rules = []
        for tensor in s.outputs():
            name = tensor.name
            if name.endswith("state_h") or name.endswith("state_c"):
                direction = "backward" if name.startswith("backward") else "forward"
                part = final(direction)
                if name.endswith("_c"):
                    part = {**part, "tensor": "c_n"}
                parts, combine = [part], None
            elif name in ("forward_output", "backward_output"):
                parts, combine = [out(name.split("_")[0])], None
            elif not bi:
                parts, combine = [{"tensor": "output", "last_step": not seq}], None
            elif s.merge_mode == "concat" and seq:
                parts, combine = [{"tensor": "output"}], None
            else:
                parts, combine = [out("forward"), out("backward")], s.merge_mode
            rules.append(
                {
                    "keras": name,
                    "keras_shape": list(tensor.shape),
                    "parts": parts,
                    "combine": combine,
                    "torch": expression(parts, combine, u),
                    "expect": "equal",
                }
            )
        if bi and not seq and s.merge_mode == "concat" and s.timesteps > 1:
            # the classic mistake: output[:, -1] holds the backward direction after ONE step
            parts = [{"tensor": "output", "last_step": True}]
            rules.append(
                {
                    "keras": "output",
                    "keras_shape": list(s.outputs()[0].shape),
                    "parts": parts,
                    "combine": None,
                    "torch": expression(parts, None, u),
                    "expect": "differ",
                    "why": "its backward half has read x_T only",
                }
            )
        return rules


def part_text(part: dict[str, Any], units: int) -> str:
    tensor = part["tensor"]
    if "index" in part:
        return f"{tensor}[{part['index']}]"
    if part.get("last_step"):
        return f"{tensor}[:, -1]"
    half = part.get("half")
    if half == "forward":
        return f"{tensor}[..., :{units}]"
    if half == "backward":
        return f"{tensor}[..., {units}:]"
    return tensor


def expression(parts: list[dict[str, Any]], combine: str | None, units: int) -> str:
    texts = [part_text(p, units) for p in parts]
    if combine is None or combine == "none":
        return texts[0]
    a, b = texts
    return {
        "concat": f"torch.cat([{a}, {b}], dim=-1)",
        "sum": f"{a} + {b}",
        "mul": f"{a} * {b}",
        "ave": f"({a} + {b}) / 2",
    }[combine]


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


# ---- the conversion as a short Python function (--code) ----------------------------------
_TO_TORCH = '''\
def keras_to_torch(weights, layer="{layer}", units={units}, bidirectional={bidirectional}, use_bias={use_bias}):
    """Keras weights -> torch.nn.{torch_class} state_dict. ``weights``: the arrays of every Keras layer's
    get_weights(), first layer to last, concatenated (numpy arrays; returns numpy arrays: wrap
    each in torch.from_numpy before load_state_dict)."""
    order = {{"lstm": (0, 1, 2, 3), "gru": (1, 0, 2), "simplernn": (0,)}}[layer]  # torch block <- Keras
    rows = [block * units + i for block in order for i in range(units)]
    per_direction = 3 if use_bias else 2
    directions = 2 if bidirectional else 1
    state = {{}}
    for group in range(len(weights) // per_direction):
        kernel, recurrent = weights[group * per_direction], weights[group * per_direction + 1]
        suffix = f"_l{{group // directions}}" + ("_reverse" if group % directions else "")
        state["weight_ih" + suffix] = kernel[:, rows].T.copy()
        state["weight_hh" + suffix] = recurrent[:, rows].T.copy()
        if use_bias:
            bias = weights[group * per_direction + 2]
            if layer == "gru":  # reset_after=True: row 0 input bias, row 1 recurrent bias
                state["bias_ih" + suffix] = bias[0][rows].copy()
                state["bias_hh" + suffix] = bias[1][rows].copy()
            else:  # one Keras bias; torch adds bias_ih + bias_hh
                state["bias_ih" + suffix] = bias[rows].copy()
                state["bias_hh" + suffix] = bias[rows] * 0
    return state
'''

_TO_KERAS = '''\
def torch_to_keras(state, layer="{layer}", units={units}, num_layers={num_layers}, bidirectional={bidirectional},
                   use_bias={use_bias}):
    """torch.nn.{torch_class} state_dict (numpy arrays: tensor.numpy()) -> the Keras weights, every
    layer's set_weights() list, first layer to last, concatenated."""
    order = {{"lstm": (0, 1, 2, 3), "gru": (1, 0, 2), "simplernn": (0,)}}[layer]  # its own inverse
    rows = [block * units + i for block in order for i in range(units)]
    weights = []
    for k in range(num_layers):
        for suffix in [f"_l{{k}}"] + ([f"_l{{k}}_reverse"] if bidirectional else []):
            weights.append(state["weight_ih" + suffix][rows].T.copy())
            weights.append(state["weight_hh" + suffix][rows].T.copy())
            if use_bias:
                b_ih, b_hh = state["bias_ih" + suffix][rows], state["bias_hh" + suffix][rows]
                if layer == "gru":  # (2, 3 * units): row 0 input bias, row 1 recurrent bias
                    bias = b_ih[None].repeat(2, axis=0)
                    bias[1] = b_hh
                    weights.append(bias)
                else:
                    weights.append(b_ih + b_hh)
    return weights
'''


def conversion_code(port: Port, direction: str) -> str:
    """The conversion as a short function of plain indexing (no import): ``to`` Keras -> torch,
    ``from`` torch -> Keras, its defaults those of this port."""
    s = port.spec
    template = _TO_TORCH if direction == "to" else _TO_KERAS
    return template.format(
        layer=s.layer,
        units=s.units,
        bidirectional=s.bidirectional,
        use_bias=s.use_bias,
        num_layers=port.num_layers,
        torch_class=port.torch_class,
    )


# ---- a layer of a user's saved model, read from its config -----------------------------------
# Everything here reads the config Keras saved (config.json of a .keras file, the model_config of
# a legacy .h5 file, or a live layer serialized the same way): whether torch.nn can compute the
# layer is decided before TensorFlow is imported, and the refusal names the layer's own setting.
PORT_CLASSES = {KINDS[name].keras_class: name for name in ("lstm", "gru", "simplernn")}
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
    config = obj.get("config") if isinstance(obj.get("config"), dict) else {}
    bidirectional = class_name == "Bidirectional"
    merge_mode = None
    inner_class, inner = class_name, config
    if bidirectional:
        wrapped = config.get("layer") if isinstance(config.get("layer"), dict) else {}
        inner_class = wrapped.get("class_name")
        inner = wrapped.get("config") if isinstance(wrapped.get("config"), dict) else {}
        merge_mode = config.get("merge_mode", "concat")
        merge_mode = "none" if merge_mode is None else merge_mode
    if inner_class in CONV_CLASSES:
        raise UsageError(
            f"{where} is a {'Bidirectional ' if bidirectional else ''}{inner_class}: its gates are "
            "convolutions over a feature map; torch.nn has no convolutional LSTM (nn.LSTM, nn.GRU and "
            "nn.RNN multiply vectors)"
        )
    inner_class, inner, cell_class = _unwrap_cell(inner_class, inner, where)
    if "units" not in inner and "output_dim" in inner:  # Keras 1 names (a legacy file)
        inner = {**inner, "units": inner["output_dim"]}
    if "recurrent_activation" not in inner and "inner_activation" in inner:
        inner = {**inner, "recurrent_activation": inner["inner_activation"]}
    if bidirectional and not isinstance(inner_class, str):
        raise UsageError(f"{where} is a Bidirectional wrapper whose saved config holds no layer")
    if inner_class not in PORT_CLASSES:
        listed = ", ".join(recurrent) or "none"
        raise UsageError(
            f"{where} is a {inner_class}, not a recurrent layer torch.nn has: port maps LSTM, GRU and "
            f"SimpleRNN layers (and their Bidirectional wrappers) to nn.LSTM, nn.GRU and nn.RNN (this "
            f"model's recurrent layers: {listed})"
        )
    kind = PORT_CLASSES[inner_class]
    problem = _cell_problem(kind, inner)
    if problem is None and bidirectional:
        problem = _cell_problem(kind, {"dtype": config.get("dtype")})
    if problem is not None:
        raise UsageError(f"{where} {problem}")
    if "units" not in inner:
        raise UsageError(f"{where} has no units in its saved config: not a Keras {inner_class} config")
    if bidirectional:
        if inner.get("go_backwards"):
            raise UsageError(
                f"{where} wraps a {inner_class} with go_backwards=True: its forward direction reads "
                "backwards; torch.nn's bidirectional=True reads forward, then backward"
            )
        backward = config.get("backward_layer")
        if isinstance(backward, dict):
            b_class = backward.get("class_name")
            b_config = backward.get("config") if isinstance(backward.get("config"), dict) else {}
            b_class, b_config, _ = _unwrap_cell(b_class, b_config, f"{where} has a backward_layer that")
            differences = [] if b_class == inner_class else [f"class {b_class} (forward: {inner_class})"]
            keys = (
                "units",
                "activation",
                "recurrent_activation",
                "use_bias",
                "reset_after",
                "return_sequences",
                "return_state",
            )
            for key in keys:
                if key in inner or key in b_config:
                    f_value, b_value = inner.get(key), b_config.get(key)
                    if key.endswith("activation"):
                        f_value, b_value = _activation(f_value), _activation(b_value)
                    if f_value != b_value:
                        differences.append(f"{key}={b_value!r} (forward: {f_value!r})")
            if differences:
                raise UsageError(
                    f"{where} has a backward_layer with {differences[0]}: torch.nn's "
                    "bidirectional=True runs the same settings both ways"
                )
            b_problem = _cell_problem(kind, b_config)
            if b_problem is not None:
                raise UsageError(f"{where} has a backward_layer that {b_problem}")
    call = _call_text(inner_class, inner, kind, cell_class)
    if bidirectional:
        extra = {"concat": "", "none": ", merge_mode=None"}.get(merge_mode, f', merge_mode="{merge_mode}"')
        call = f'keras.layers.Bidirectional({call}{extra}, name="{name}")'
    else:
        call = call[:-1] + f', name="{name}")'
    return SavedLayer(path, kind, dict(inner), bidirectional, merge_mode if bidirectional else None, call)
