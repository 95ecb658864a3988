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
from rnnshape.rules.kinds import KINDS, PLAIN
from rnnshape.rules.layer import LayerSpec

PORTABLE = ("lstm", "gru", "simplernn")


DIRECTIONS_TO = ("torch",)  # --to


DIRECTIONS_FROM = ("torch",)  # --from


TORCH_CLASS = {name: KINDS[name].torch_class for name in PLAIN}


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
