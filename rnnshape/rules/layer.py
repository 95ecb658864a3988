"""The pure model of a Keras recurrent layer: validated options, output names, shapes,
meanings and parameter counts. No TensorFlow, no rich: everything here is a rule of Keras,
checked against real Keras by the tests.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from rnnshape.errors import SpecError, UsageError, option_name
from rnnshape.rules.kinds import KINDS
from rnnshape.rules.options import ACTIVATIONS, CELLS, CONV, LAYER_OPTIONS, LSTM_FAMILY, MERGE_MODES, PADDINGS
from rnnshape.rules.options import DEFAULTS as OPTION_DEFAULTS
from rnnshape.rules.options import RECURRENT as LAYERS
from rnnshape.rules.words import shape_text

# The layer kinds (rules/options.py): LSTM, GRU, SimpleRNN; ConvLSTM1D/2D/3D, an LSTM whose gates are
# convolutions over a feature map (channels_last only); keras.layers.RNN([cells...]), a list of cells
# (Keras wraps it in StackedRNNCells), --cells lstm:4,gru:3.
CONV_LAYERS = CONV
CELLS_LAYER = CELLS
ALL_LAYERS = LAYERS + CONV_LAYERS + (CELLS_LAYER,)
CELL_CLASS = {name: kind.cell_class for name, kind in KINDS.items() if kind.cell_class}
# Accepted spellings of --layer, compared after lower-casing.
LAYER_ALIASES = {
    "lstm": "lstm",
    "gru": "gru",
    "simplernn": "simplernn",
    "simple_rnn": "simplernn",
    **{name: name for name in CONV_LAYERS},
    **{f"conv_lstm{rank}d": f"convlstm{rank}d" for rank in (1, 2, 3)},
    "rnn": "rnn",
}
# The catalogue of layer kinds (rules/kinds.py), as the maps the rest of this module reads.
KERAS_CLASS = {name: kind.keras_class for name, kind in KINDS.items()}
# The names Keras gives these layers and their cells by default; the runner uses them
# explicitly so that weight paths are the same run after run.
KERAS_LAYER_NAME = {name: kind.layer_name for name, kind in KINDS.items()}
KERAS_CELL_NAME = {name: kind.cell_name for name, kind in KINDS.items()}
# Number of fused gate blocks in the kernels: LSTM i,f,c,o; GRU z,r,h; SimpleRNN one.
GATES = {name: len(kind.gates) for name, kind in KINDS.items()}
# ConvLSTM: the spatial axes of the map of each step, in Keras' channels_last order.
SPATIAL_AXES = {name: kind.spatial_axes for name, kind in KINDS.items() if kind.spatial_axes}
# The options only ConvLSTM layers take (docs/cli.md).
CONV_KEYS = tuple(option.name for option in LAYER_OPTIONS if option.group == "conv")
CONV_DEFAULTS: dict[str, Any] = {
    "filters": 4,
    "kernel_size": 3,
    "strides": 1,
    "padding": "valid",
    "depth": 5,
    "rows": 5,
    "cols": 5,
    "channels": 1,
}

DEFAULTS: dict[str, Any] = dict(OPTION_DEFAULTS)  # every layer option, declared in rules/options.py
# Keras initializers a user may name (--kernel-init glorot_uniform); a number means Constant.
INITIALIZERS = {
    "zeros": "Zeros",
    "ones": "Ones",
    "glorot_uniform": "GlorotUniform",
    "glorot_normal": "GlorotNormal",
    "he_uniform": "HeUniform",
    "he_normal": "HeNormal",
    "lecun_uniform": "LecunUniform",
    "lecun_normal": "LecunNormal",
    "orthogonal": "Orthogonal",
    "random_normal": "RandomNormal",
    "random_uniform": "RandomUniform",
    "truncated_normal": "TruncatedNormal",
    "identity": "Identity",
    "variance_scaling": "VarianceScaling",
}
SEEDLESS_INITIALIZERS = ("zeros", "ones", "identity")
MATRIX_INITIALIZERS = ("identity", "orthogonal")  # Keras refuses them for 1-D weights (GRU's bias is 2-D)
INIT_KEYS = {
    "kernel_init": "kernel_initializer",
    "recurrent_init": "recurrent_initializer",
    "bias_init": "bias_initializer",
}
SIZE_KEYS = ("batch", "timesteps", "features")
DEFAULT_ACTIVATION = {name: kind.activation for name, kind in KINDS.items()}
DEFAULT_RECURRENT_ACTIVATION = {
    name: kind.recurrent_activation for name, kind in KINDS.items() if kind.recurrent_activation
}  # SimpleRNN has none
BOUNDED_GATE_ACTIVATIONS = ("sigmoid", "hard_sigmoid")  # gates in [0, 1]: the facts that need it hold
INITIAL_STATE_KINDS = ("zeros", "random")  # --initial-state values other than a .npy file
# the true/false options that are never unset (reset_after and unit_forget_bias are resolved per layer)
FLAG_KEYS = tuple(option.name for option in LAYER_OPTIONS if option.kind == "flag" and option.default is not None)
INPUT_KINDS = ("random", "arange", "ones", "zeros")  # --input values other than a file
INT_LIMITS = {  # key -> (minimum, maximum); the maximum only stops absurd values early,
    "units": (1, 1_000_000),  # the memory estimate is the real guard.
    "timesteps": (1, 10_000_000),
    "features": (1, 1_000_000),
    "batch": (1, 10_000_000),
    "seed": (0, 2**32 - 1),
}
DTYPE = "float32"
BYTES_PER_FLOAT = 4
DEFAULT_MAX_MEMORY_MB = 4096
# A rough cost of Keras' work, only to refuse in advance runs that would take minutes: eager
# Keras reads a sequence one step at a time at ~1.4 ms per step and direction whatever the
# sizes (measured on a 2-core CPU, Keras 3.15 on TensorFlow 2.21), plus the arithmetic, plus
# drawing and setting the weights. The arithmetic rate was measured on the scale example
# (LSTM 1024 units, 1000 steps, batch 32: about 5e10 multiply-adds per second on 2 cores, AVX-512);
# 4e10 keeps the estimate a little above the real run.
SECONDS_PER_STEP = 0.0015
FLOPS_PER_SECOND = 4e10
SECONDS_PER_WEIGHT = 2.5e-8  # drawing and setting a weight (was 4e-8 before builds skipped the initializers)
# Compiled (tf.function around the layer call, Keras' own while loop in a graph): 20-45 us per
# step and direction by layer, 2e-8 s per batch x units value of each step, plus tracing the call
# once per layer and direction (~0.1 s); and per configuration, building the layers and measuring
# the facts (~0.15 s). Calibrated with tests/benchmarks/estimates.py (estimate/measured within 2x
# for timesteps 3-200,000, units 1-1,024, batch 1-256) on the machine of docs/performance.md.
COMPILED_SECONDS_PER_STEP = {"lstm": 2.2e-5, "gru": 2.8e-5, "simplernn": 1.2e-5}
COMPILED_SECONDS_PER_VALUE = 2e-8
TRACE_SECONDS = 0.08
SECONDS_PER_RUN = 0.2  # once per command: the first layer built and called in the process
SECONDS_PER_CONFIGURATION = 0.03
# Memory: what any run holds beyond the import (TensorFlow's buffers, the traced graphs), and
# what a compiled loop keeps per step and direction (two passes).
BYTES_PER_RUN = 16 * 2**20
COMPILED_BYTES_PER_STEP = 384
COMPILED_BYTES_PER_TRACE = 4 * 2**20  # the traced graphs of one configuration (two passes)
RUN_MODES = ("eager", "compiled")
DEFAULT_MAX_SECONDS = 60
# Numbers shown (--values, stateful's states) become Python floats in lists and JSON text.
SECONDS_PER_SHOWN_VALUE = 3e-6
BYTES_PER_SHOWN_VALUE = 96


def pass_seconds(
    layer: str, units: int, features: int, batch: int, timesteps: int, directions: int = 1, compiled: bool = False
) -> float:
    """The estimated seconds of one pass of a recurrent layer over a sequence: eager (one Python
    step per timestep), or ``compiled`` (tracing once, then a graph's steps). Compiled, the two
    directions of a Bidirectional layer are two independent loops of one graph, which TensorFlow
    runs concurrently (measured: GRU(128) on (64, 1000, 8), 0.14 s a call alone and 0.14 s
    Bidirectional): one direction's steps and arithmetic, both directions traced."""
    if compiled and directions > 1:
        return pass_seconds(layer, units, features, batch, timesteps, 1, True) + (directions - 1) * TRACE_SECONDS
    flops = directions * batch * timesteps * 2 * GATES[layer] * units * (units + features)
    return step_seconds(directions, timesteps, compiled, layer, batch * units) + flops / FLOPS_PER_SECOND


def step_seconds(directions: int, timesteps: int, compiled: bool, layer: str = "lstm", values: int = 1) -> float:
    """The cost of reading a sequence step by step, apart from the arithmetic (``values``: batch
    x units of one step)."""
    if compiled:
        per_step = COMPILED_SECONDS_PER_STEP.get(layer, COMPILED_SECONDS_PER_STEP["lstm"])
        return directions * (TRACE_SECONDS + timesteps * (per_step + values * COMPILED_SECONDS_PER_VALUE))
    return directions * timesteps * SECONDS_PER_STEP


def choose_mode(eager: float, compiled: float, eager_only: str | None = None) -> tuple[str, str]:
    """("eager" or "compiled", why) for a run estimated at ``eager`` and ``compiled`` seconds;
    ``eager_only`` names a reason that keeps the run eager whatever the estimate."""
    if eager_only:
        return "eager", eager_only
    if compiled < eager:
        return "compiled", f"estimated {_seconds_text(compiled)} compiled against {_seconds_text(eager)} eager"
    return "eager", f"estimated {_seconds_text(eager)} eager against {_seconds_text(compiled)} compiled (tracing)"


def group_mode(items: list[tuple[Any, int]]) -> tuple[str, str, float]:
    """(mode, why, estimated seconds) of one run of several configurations ((spec, passes) each):
    compiled when the sum of the estimates says it pays; eager when one of them must be."""
    eager = sum(spec.estimated_seconds(passes, "eager") for spec, passes in items)
    compiled = sum(spec.estimated_seconds(passes, "compiled") for spec, passes in items)
    reasons = [reason for reason in (spec.eager_only() for spec, _ in items) if reason]
    mode, why = choose_mode(eager, compiled, reasons[0] if reasons else None)
    return mode, why, SECONDS_PER_RUN + (compiled if mode == "compiled" else eager)


def group_bytes(specs: list[Any]) -> int:
    """The memory of one run of several configurations (whose results are all kept)."""
    return BYTES_PER_RUN + sum(spec.estimated_bytes() - BYTES_PER_RUN for spec in specs)


def _seconds_text(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:,.0f} s"


def canonical_layer(name: Any) -> str:
    """'LSTM', 'SimpleRNN', 'simple_rnn' -> 'lstm', 'simplernn', 'simplernn'."""
    if isinstance(name, str):
        canonical = LAYER_ALIASES.get(name.strip().lower())
        if canonical:
            return canonical
    raise SpecError(
        "layer",
        f"{name!r} is not one of {', '.join(ALL_LAYERS)} (case-insensitive; simple_rnn, conv_lstm2d ... accepted)",
    )


BACKENDS = ("tensorflow", "jax", "torch")  # Keras 3's backends rnnshape runs on (--backend)


def canonical_backend(name: Any) -> str | None:
    """--backend: None (TensorFlow, in this process), or tensorflow, jax, torch."""
    if name is None:
        return None
    if isinstance(name, str) and name.strip().lower() in BACKENDS:
        return name.strip().lower()
    raise UsageError(f"Invalid value for --backend: {name!r} is not one of {', '.join(BACKENDS)}")


def canonical_merge_mode(mode: Any) -> str:
    if isinstance(mode, str) and mode.strip().lower() in MERGE_MODES:
        return mode.strip().lower()
    raise SpecError("merge_mode", f"{mode!r} is not one of {', '.join(MERGE_MODES)}")


@dataclass(frozen=True)
class TensorSpec:
    """One tensor the layer returns: its name (docs/cli.md), shape, labelled axes and meaning."""

    name: str
    shape: tuple[int, ...]
    axes: tuple[str, ...]
    meaning: str
    dtype: str = DTYPE


@dataclass(frozen=True)
class WeightSpec:
    name: str
    shape: tuple[int, ...]
    role: str


@dataclass(frozen=True)
class LayerSpec:
    """A fully resolved, validated layer configuration."""

    layer: str = "lstm"
    units: int = 4
    timesteps: int = 3
    features: int = 2
    batch: int = 1
    return_sequences: bool = False
    return_state: bool = False
    stateful: bool = False
    go_backwards: bool = False
    bidirectional: bool = False
    merge_mode: str | None = None  # resolved: "concat" when bidirectional, None otherwise
    reset_after: bool | None = None  # GRU only, resolved: True (Keras' default) unless given; None otherwise
    activation: str = "tanh"
    recurrent_activation: str | None = None  # resolved "sigmoid" for LSTM and GRU; SimpleRNN has none
    use_bias: bool = True
    unit_forget_bias: bool | None = None  # LSTM only, resolved True (Keras' default)
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    training: bool = False  # the call's training argument: dropout acts only then
    unroll: bool = False
    initial_state: str | None = None  # zeros, random, or a .npy file: one array per state, Keras' order
    initial_state_sha256: str | None = None
    seed: int = 0
    lengths: tuple[int, ...] | None = None
    kernel_init: float | str | None = None  # None: rnnshape's own seeded weights
    recurrent_init: float | str | None = None
    bias_init: float | str | None = None
    input: str = "random"  # random, arange, ones, zeros, or a .npy/.csv path
    input_sha256: str | None = None
    # ConvLSTM only (None otherwise): there ``units`` holds the filters and ``features`` the channels.
    spatial: tuple[int, ...] | None = None  # the map of each step: (rows,), (rows, cols), (depth, rows, cols)
    kernel_size: tuple[int, ...] | None = None
    strides: tuple[int, ...] | None = None
    padding: str | None = None  # of the input convolution; the recurrent one is always "same"
    cells: tuple[tuple[str, int], ...] | None = None  # --layer rnn only: (kind, units) per cell, first to last

    # ---- identity -------------------------------------------------------------------
    @property
    def keras_class(self) -> str:
        return KERAS_CLASS[self.layer]

    @property
    def conv(self) -> bool:
        """ConvLSTM1D/2D/3D: inputs, outputs and states are feature maps."""
        return self.layer in CONV_LAYERS

    @property
    def has_cell_state(self) -> bool:
        return self.layer in LSTM_FAMILY

    @property
    def size_word(self) -> str:
        """What ``units`` counts: units, or a ConvLSTM's filters."""
        return "filters" if self.conv else "units"

    @property
    def input_shape(self) -> tuple[int, ...]:
        if self.conv:
            return (self.batch, self.timesteps, *self.spatial, self.features)
        return (self.batch, self.timesteps, self.features)

    @property
    def input_axes(self) -> tuple[str, ...]:
        if self.conv:
            return ("batch", "timesteps", *SPATIAL_AXES[self.layer], "channels")
        return ("batch", "timesteps", "features")

    @property
    def out_spatial(self) -> tuple[int, ...]:
        """ConvLSTM: the map of h and c, by Keras' convolution arithmetic on the input map
        (padding and strides of the input convolution; the recurrent one keeps the size)."""
        return tuple(
            conv_output_size(n, k, s, self.padding) for n, k, s in zip(self.spatial, self.kernel_size, self.strides)
        )

    @property
    def state_shape(self) -> tuple[int, ...]:
        """One state without the batch axis: (units,), or a ConvLSTM's (rows', cols', filters)."""
        return (*self.out_spatial, self.units) if self.conv else (self.units,)

    @property
    def state_axes(self) -> tuple[str, ...]:
        if self.conv:
            return tuple(f"{axis}'" for axis in SPATIAL_AXES[self.layer]) + ("filters",)
        return ("units",)

    @property
    def kernel_area(self) -> int:
        area = 1
        for k in self.kernel_size or ():
            area *= k
        return area

    def config(self) -> dict[str, Any]:
        """Every resolved option, keyed as in docs/cli.md and check files (a ConvLSTM's units
        and features are its filters and channels)."""
        out = dataclasses.asdict(self)
        out["lengths"] = list(self.lengths) if self.lengths is not None else None
        for key in ("spatial", "kernel_size", "strides", "padding"):
            out.pop(key)
        cells = out.pop("cells")
        if self.layer == CELLS_LAYER:
            out = {
                "layer": out.pop("layer"),
                "cells": ",".join(f"{kind}:{n}" for kind, n in cells),
                **{key: value for key, value in out.items() if key != "units"},
            }
        if self.conv:
            rest = {key: out.pop(key) for key in list(out) if list(out).index(key) > list(out).index("layer")}
            conv = {
                "filters": self.units,
                "kernel_size": list(self.kernel_size),
                "strides": list(self.strides),
                "padding": self.padding,
                **dict(zip(SPATIAL_AXES[self.layer], self.spatial)),
                "channels": self.features,
            }
            rest.pop("units")
            rest.pop("features")
            out.update(conv)
            out.update(rest)
        return out

    @property
    def constant_weights(self) -> bool:
        """Every weight from a constant: then every unit computes the same number."""
        return all(
            isinstance(getattr(self, key), float) or getattr(self, key) in ("zeros", "ones") for key in INIT_KEYS
        )

    def initializer_call(self, key: str) -> str | None:
        """The Python for one chosen initializer, as a user would paste it."""
        value = getattr(self, key)
        if value is None:
            return None
        if isinstance(value, float):
            return f"keras.initializers.Constant({value!r})"
        if value in SEEDLESS_INITIALIZERS:
            return f'"{value}"'
        return f"keras.initializers.{INITIALIZERS[value]}(seed={self.seed})"

    # ---- names and shapes -----------------------------------------------------------
    def state_names(self) -> list[str]:
        """Names of the returned states, in Keras order (empty without return_state)."""
        if not self.return_state:
            return []
        if self.cells is not None:  # Keras returns cell i's states as a list, [h, c] (LSTM) or [h]: flattened
            return [
                f"state_{i}_{s}"
                for i, (kind, _) in enumerate(self.cells)
                for s in (("h", "c") if kind == "lstm" else ("h",))
            ]
        own = ["state_h", "state_c"] if self.has_cell_state else ["state_h"]
        if not self.bidirectional:
            return own
        return [f"{direction}_{name}" for direction in ("forward", "backward") for name in own]

    def output_names(self) -> list[str]:
        return [t.name for t in self.outputs()]

    def outputs(self) -> list[TensorSpec]:
        """Every returned tensor, in the order Keras returns them."""
        b, t, u = self.batch, self.timesteps, self.units
        seq = self.return_sequences
        state, state_axes = self.state_shape, self.state_axes
        lead, lead_axes = ((b, t), ("batch", "timesteps")) if seq else ((b,), ("batch",))
        map_note = self._map_note()
        tensors: list[TensorSpec] = []
        if not self.bidirectional:
            tensors.append(
                TensorSpec("output", (*lead, *state), (*lead_axes, *state_axes), self._output_meaning() + map_note)
            )
        elif self.merge_mode == "none":
            for direction in ("forward", "backward"):
                tensors.append(
                    TensorSpec(
                        f"{direction}_output",
                        (*lead, *state),
                        (*lead_axes, *state_axes),
                        self._direction_output_meaning(direction) + map_note,
                    )
                )
        else:
            last = 2 * u if self.merge_mode == "concat" else u
            last_axis = f"2*{self.size_word}" if self.merge_mode == "concat" else self.size_word
            tensors.append(
                TensorSpec(
                    "output",
                    (*lead, *state[:-1], last),
                    (*lead_axes, *state_axes[:-1], last_axis),
                    self._merged_output_meaning() + self._map_note(last),
                )
            )
        for name in self.state_names():
            if self.cells is not None:
                tensors.append(
                    TensorSpec(
                        name,
                        (b, self.cells[int(name.split("_")[1])][1]),
                        ("batch", "units"),
                        self._cell_state_meaning(name),
                    )
                )
                continue
            tensors.append(TensorSpec(name, (b, *state), ("batch", *state_axes), self._state_meaning(name) + map_note))
        return tensors

    # States are numbered by the input step they have just read: h_t is h right after reading x_t
    # (t = 1..T). Reading forwards the final state is h_T; reading backwards (go_backwards, the
    # backward layer of Bidirectional) it is h_1, as x_1 is the last step read; under a mask, each
    # sample's h_{length_i} (forwards). The diagrams use the same numbering.
    def _valid_steps(self, limit: int = 8) -> str:
        """'steps 2, 4': each sample's last valid step (1-based), abridged for large batches."""
        lengths = [str(n) for n in self.lengths or ()]
        if len(lengths) > limit:
            lengths = lengths[:limit] + ["..."]
        return ("step " if len(lengths) == 1 else "steps ") + ", ".join(lengths)

    def _forward_final(self, kind: str) -> str:
        """'h_T (after reading x_1 .. x_T)' or, under a mask, h after each sample's last valid step."""
        if self.lengths is not None:
            return f"{kind} after each sample's last valid step ({self._valid_steps()}); the padding changes no state"
        return f"{kind}_T (after reading x_1 .. x_T)"

    def _backward_final(self, kind: str) -> str:
        padding = "; the padding, read first, changes no state" if self.lengths is not None else ""
        return f"{kind}_1 (after reading x_T back to x_1: its last read step is x_1{padding})"

    def _cell_state_meaning(self, name: str) -> str:
        """--layer rnn: state_I_h / state_I_c, cell I's final state."""
        index, base = int(name.split("_")[1]), name[-1]
        kind, units = self.cells[index]
        what = "hidden state h" if base == "h" else "cell state c (memory; never an output of a step)"
        where = (
            "the last cell: its h is the layer's output"
            if index == len(self.cells) - 1
            else f"its h is cell {index + 1}'s input at each step"
        )
        if base == "c":
            return f"cell {index} ({CELL_CLASS[kind]}({units})): final {what}"
        return f"cell {index} ({CELL_CLASS[kind]}({units})): final {what}; {where}"

    def _map_note(self, channels: int | None = None) -> str:
        """ConvLSTM: what one h (or c) is: ``channels`` values (the filters) at each output position."""
        if self.cells is not None:
            kind, units = self.cells[-1]
            return f"; the last cell's h (cell {len(self.cells) - 1}, {CELL_CLASS[kind]}({units}))"
        if not self.conv:
            return ""
        what = (
            f"{self.units} filters"
            if channels in (None, self.units)
            else f"{channels} values ({self.units} filters per direction)"
        )
        return (
            f"; a feature map per sample: {what} at each of the "
            f"{' x '.join(map(str, self.out_spatial))} output positions"
        )

    def conv_arithmetic(self) -> list[str]:
        """ConvLSTM: each output spatial size by Keras' convolution arithmetic, filled in."""
        if not self.conv:
            return []
        lines = []
        for axis, n, k, s, out in zip(
            SPATIAL_AXES[self.layer], self.spatial, self.kernel_size, self.strides, self.out_spatial
        ):
            if self.padding == "same":
                lines.append(f"{axis}' = ceil({axis} / strides) = ceil({n} / {s}) = {out} (padding same)")
            else:
                lines.append(
                    f"{axis}' = floor(({axis} - kernel) / strides) + 1 = floor(({n} - {k}) / {s}) + 1 = "
                    f"{out} (padding valid)"
                )
        lines.append(
            "the recurrent convolution over h_{t-1} always uses padding same and strides 1, so h and c "
            "keep this size at every step (rule of Keras: ConvLSTMCell.recurrent_conv)"
        )
        return lines

    def _output_meaning(self) -> str:
        if self.return_sequences:
            if self.go_backwards:
                return (
                    "hidden state h at every step, in reading order: x is read from x_T back "
                    "to x_1, so output[:, 0] is h_T (after reading x_T) and output[:, -1] is h_1, "
                    "the final h (after reading x_1)"
                )
            return "hidden state h at every timestep: output[:, t-1] = h_t for t = 1..T"
        if self.go_backwards:
            return f"final hidden state {self._backward_final('h')}; last step read only"
        if self.lengths is not None:
            return f"final hidden state {self._forward_final('h')} (return_sequences=False)"
        return "final hidden state h_T (last timestep only: return_sequences=False)"

    def _direction_output_meaning(self, direction: str) -> str:
        if direction == "forward":
            return (
                "forward layer's h at every timestep"
                if self.return_sequences
                else f"forward layer's final h: {self._forward_final('h')}"
            )
        return (
            "backward layer's h at every timestep, flipped back to time order "
            "(its final h, h_1, sits at the FIRST step)"
            if self.return_sequences
            else f"backward layer's final h: {self._backward_final('h')}"
        )

    def _merged_output_meaning(self) -> str:
        how = {
            "concat": f"concatenated on the last axis: [..., :{self.size_word}] forward, [..., {self.size_word}:] backward",
            "sum": "summed: forward + backward",
            "mul": "multiplied: forward * backward",
            "ave": "averaged: (forward + backward) / 2",
        }[self.merge_mode or "concat"]
        if self.return_sequences:
            return f"forward h and backward h (flipped back to time order) at every timestep, {how}"
        forward = (
            "forward h after each sample's last valid step (" + self._valid_steps() + ")"
            if self.lengths is not None
            else "forward final h_T"
        )
        return f"{forward} and backward final h_1 (after reading x_T back to x_1), {how}"

    def _state_meaning(self, name: str) -> str:
        direction = name.split("_state_")[0] if "_state_" in name else ""
        base = name[-1]  # "h" or "c"
        kind = {"h": "hidden state", "c": "cell state"}[base]
        keras_name = "; never an output of a step" if base == "c" else ""
        reads_backwards = self.go_backwards if direction != "backward" else True
        final = self._backward_final(base) if reads_backwards else self._forward_final(base)
        owner = f"{direction} layer's final" if direction else "final"
        text = f"{owner} {kind} {final}{keras_name}"
        if self.stateful:
            text += "; kept by the layer as the next batch's initial state"
        return text

    def keras_refusal_flags(self) -> tuple[str, ...]:
        """The flags that together make keras_refusal() true (empty when Keras can build it)."""
        if self.bidirectional and self.go_backwards:
            return ("bidirectional", "go_backwards")
        if self.bidirectional and self.stateful and self.return_state:
            return ("bidirectional", "stateful", "return_state")
        return ()

    def keras_refusal(self) -> str | None:
        """Why Keras (the installed version) cannot build or run this configuration, or None.
        The pure model refuses to answer for these (exit 2) instead of guessing."""
        if self.bidirectional and self.go_backwards:
            # keras/src/layers/rnn/bidirectional.py: the backward copy gets go_backwards=True too.
            return (
                "Keras refuses it: Bidirectional builds its backward copy with go_backwards=True, "
                "so both directions would read backwards (ValueError; rule of Keras)"
            )
        if self.bidirectional and self.stateful and self.return_state:
            # Bidirectional.compute_mask multiplies a generator (state_mask * 2): a TypeError.
            return (
                "Keras 3 fails on Bidirectional(stateful=True, return_state=True): "
                "Bidirectional.compute_mask raises TypeError"
            )
        return None

    # ---- h versus c (rules of Keras) ----------------------------------------------
    def h_vs_c(self) -> list[dict[str, str]]:
        """What h and c are, their equations, and where each is returned under these flags."""
        if self.cells is not None:
            return self._cells_h_vs_c()
        prefix = ["forward_", "backward_"] if self.bidirectional else [""]
        output_names = [t.name for t in self.outputs() if "state" not in t.name]
        where_output = " and ".join(output_names) + (
            " (every timestep)" if self.return_sequences else " (last step only)"
        )
        if self.return_state:
            h_states = ", ".join(f"{p}state_h" for p in prefix)
            h_where = f"{where_output}; {h_states} (final h)"
        else:
            h_where = f"{where_output}; no state_h (add --return-state)"
        a, b = self.activation, (" + b" if self.use_bias else "")
        h_equation = {
            "lstm": f"h_t = o_t * {a}(c_t)",
            "gru": "h_t = z_t * h_{t-1} + (1 - z_t) * h~_t",
            "simplernn": f"h_t = {a}(W x_t + U h_{{t-1}}{b})",
        }.get(self.layer, f"h_t = o_t * {a}(c_t)")
        what = "hidden state: what the layer outputs at each step and passes to the next"
        if self.conv:
            what = (
                f"hidden state: a feature map {shape_text(self.state_shape)} [{', '.join(self.state_axes)}], "
                "what the layer outputs at each step and passes to the next"
            )
        rows = [
            {
                "state": "h",
                "what": what
                + (
                    f" (Keras' {self.keras_class} docstring calls the returned h final_memory_state)"
                    if self.has_cell_state
                    else f" (Keras' {self.keras_class} docstring calls the returned h final_state)"
                ),
                "equation": h_equation,
                "returned_as": h_where,
            }
        ]
        if self.has_cell_state:
            c_where = (
                (", ".join(f"{p}state_c" for p in prefix) + " (final c)")
                if self.return_state
                else "not returned (add --return-state to get state_c)"
            )
            rows.append(
                {
                    "state": "c",
                    "what": (
                        f"cell state: the ConvLSTM's internal (long-term) memory, a feature map of h's shape "
                        f"{shape_text(self.state_shape)}; Keras calls it the carry state; never an output of a step"
                        if self.conv
                        else "cell state: the LSTM's internal (long-term) memory; Keras calls it the carry state "
                        "(docstring: final_carry_state), while its 'memory state' is h; never an output of a step"
                    ),
                    "equation": "c_t = f_t * c_{t-1} + i_t * g_t",
                    "returned_as": c_where,
                }
            )
            if self.conv:
                rows.append(self._conv_gates_row())
        else:
            rows.append(
                {
                    "state": "c",
                    "what": f"{self.keras_class} has no separate cell state: its only state is h",
                    "equation": "-",
                    "returned_as": "none (state_h is the whole state)",
                }
            )
        if self.layer == "gru":
            rows.append(self._gru_candidate_row())
        return rows

    def _cells_h_vs_c(self) -> list[dict[str, str]]:
        """--layer rnn: one row per state of each cell (rules of Keras: StackedRNNCells)."""
        rows = []
        last = len(self.cells) - 1
        for i, (kind, units) in enumerate(self.cells):
            source = "x_t" if i == 0 else f"h{i - 1}_t (cell {i - 1}'s new h, the same step)"
            states = [f"state_{i}_h"] + ([f"state_{i}_c"] if kind == "lstm" else [])
            returned = ", ".join(states) if self.return_state else "not returned (add --return-state)"
            h_where = returned
            if i == last:
                seq = "output (every timestep)" if self.return_sequences else "output (last step only)"
                h_where = f"{seq}; {returned}"
            equation = {
                "lstm": f"h{i}_t = o_t * tanh(c{i}_t)",
                "gru": f"h{i}_t = z_t * h{i}_{{t-1}} + (1 - z_t) * h~_t",
                "simplernn": f"h{i}_t = tanh(W {source.split(' ')[0]} + U h{i}_{{t-1}} + b)",
            }[kind]
            rows.append(
                {
                    "state": f"h{i}",
                    "what": f"cell {i}, {CELL_CLASS[kind]}({units}): hidden state; reads {source}",
                    "equation": equation,
                    "returned_as": h_where if i == last or not self.return_state else returned.split(", ")[0],
                }
            )
            if kind == "lstm":
                rows.append(
                    {
                        "state": f"c{i}",
                        "what": f"cell {i}'s cell state: its memory; never an output",
                        "equation": f"c{i}_t = f_t * c{i}_{{t-1}} + i_t * g_t",
                        "returned_as": f"state_{i}_c" if self.return_state else "not returned",
                    }
                )
        return rows

    def _conv_gates_row(self) -> dict[str, str]:
        """ConvLSTM's gates: convolutions where LSTM has matrix products (keras conv_lstm.py)."""
        r, b = self.recurrent_activation, (" + b_k" if self.use_bias else "")
        return {
            "state": "gates",
            "what": (
                f"i, f, o = {r}(...), g = {self.activation}(...): each a feature map, computed with "
                f"convolutions (*): W over the input map (kernel {_tuple_text(self.kernel_size)}, padding "
                f"{self.padding}, strides {_tuple_text(self.strides)}), U over h_{{t-1}} (same kernel, "
                "padding same, strides 1, so h keeps its size)"
            ),
            "equation": f"k_t = act(W_k * x_t + U_k * h_{{t-1}}{b}), k in i, f, g, o",
            "returned_as": "not returned (intermediates of each step)",
        }

    def _gru_candidate_row(self) -> dict[str, str]:
        """GRU's candidate h~ is where reset_after changes the equation and the parameter count."""
        one_row = dataclasses.replace(self, reset_after=False).param_total()
        two_rows = dataclasses.replace(self, reset_after=True).param_total()
        if not self.use_bias:
            mode = (
                "reset_after=True (Keras 3 default): reset applied AFTER U_h"
                if self.reset_after
                else "reset_after=False (TF1/Keras 2.2 default): reset applied BEFORE U_h"
            )
            return {
                "state": "h~",
                "what": f"GRU candidate, {mode}; use_bias=False: no bias rows, {two_rows} parameters in both modes",
                "equation": (
                    f"h~_t = {self.activation}(W_h x_t + r_t * (U_h h_{{t-1}}))"
                    if self.reset_after
                    else f"h~_t = {self.activation}(W_h x_t + U_h (r_t * h_{{t-1}}))"
                ),
                "returned_as": "not returned (an intermediate of each step)",
            }
        if self.reset_after:
            return {
                "state": "h~",
                "what": (
                    "GRU candidate, reset_after=True (Keras 3 default, the cuDNN/PyTorch form): reset "
                    "applied AFTER U_h, so the recurrent part has its own bias row b'_h; bias (2, 3*units): "
                    f"{two_rows} parameters here, {one_row} with reset_after=False (TF1/Keras 2.2 default)"
                ),
                "equation": f"h~_t = {self.activation}(W_h x_t + b_h + r_t * (U_h h_{{t-1}} + b'_h))",
                "returned_as": "not returned (an intermediate of each step)",
            }
        return {
            "state": "h~",
            "what": (
                "GRU candidate, reset_after=False (the original GRU; TF1/Keras 2.2 default): reset applied "
                "BEFORE U_h, one bias row; bias (3*units,): "
                f"{one_row} parameters here, {two_rows} with reset_after=True (Keras 3 default)"
            ),
            "equation": f"h~_t = {self.activation}(W_h x_t + U_h (r_t * h_{{t-1}}) + b_h)",
            "returned_as": "not returned (an intermediate of each step)",
        }

    # ---- parameters -----------------------------------------------------------------
    def weights(self) -> list[WeightSpec]:
        """The layer's weights with the paths Keras gives them."""
        u, f, g = self.units, self.features, GATES[self.layer]
        two_bias_rows = self.layer == "gru" and self.reset_after
        bias_shape = (2, g * u) if two_bias_rows else (g * u,)
        bias_role = "bias b"
        if self.layer == "gru":
            bias_role += (
                " (row 0 input bias, row 1 recurrent bias: reset_after=True)"
                if two_bias_rows
                else " (one row: reset_after=False)"
            )
        own = [
            ("kernel", (f, g * u), "input weights W (features -> gates)"),
            ("recurrent_kernel", (u, g * u), "recurrent weights U (h_{t-1} -> gates)"),
        ]
        if self.conv:
            k = tuple(self.kernel_size)
            own = [
                ("kernel", (*k, f, g * u), "input kernel W: a convolution over the input map (channels -> gates)"),
                (
                    "recurrent_kernel",
                    (*k, u, g * u),
                    "recurrent kernel U: a convolution over h_{t-1} (filters -> gates)",
                ),
            ]
        if self.use_bias:
            own.append(("bias", bias_shape, bias_role))
        if self.cells is not None:
            return self._cell_weights()
        name, cell = KERAS_LAYER_NAME[self.layer], KERAS_CELL_NAME[self.layer]
        prefixes = [f"{name}/{cell}"]
        if self.bidirectional:
            prefixes = [f"bidirectional/{d}_{name}/{cell}" for d in ("forward", "backward")]
        return [WeightSpec(f"{p}/{w}", shape, role) for p in prefixes for w, shape, role in own]

    def cell_inputs(self) -> list[int]:
        """--layer rnn: what each cell reads: the features, then the previous cell's units."""
        return [self.features] + [n for _, n in self.cells[:-1]]

    def cell_names(self) -> list[str]:
        """The names rnnshape gives the cells (Keras would number repeated kinds globally)."""
        return [f"cell_{i}_{KERAS_CELL_NAME[kind]}" for i, (kind, _) in enumerate(self.cells)]

    def _cell_weights(self) -> list[WeightSpec]:
        weights = []
        for (kind, u), f, name in zip(self.cells, self.cell_inputs(), self.cell_names()):
            g = GATES[kind]
            prefix = f"rnn/stacked_rnn_cells/{name}"
            weights.append(WeightSpec(f"{prefix}/kernel", (f, g * u), "input weights W (inputs -> gates)"))
            weights.append(WeightSpec(f"{prefix}/recurrent_kernel", (u, g * u), "recurrent weights U"))
            weights.append(
                WeightSpec(
                    f"{prefix}/bias",
                    (2, g * u) if kind == "gru" else (g * u,),
                    "bias b" + (" (reset_after=True: two rows)" if kind == "gru" else ""),
                )
            )
        return weights

    def _cell_params(self) -> list[tuple[str, str, int]]:
        """--layer rnn: per cell (symbolic, filled in, count)."""
        parts = []
        for (kind, u), f in zip(self.cells, self.cell_inputs()):
            g = GATES[kind]
            bias, bias_text = (2 * u, f"2 * {u}") if kind == "gru" else (u, str(u))
            filled = f"{u} * ({u} + {f}) + {bias_text}"
            filled = f"{g} * ({filled})" if g > 1 else filled
            parts.append((kind, filled, g * (u * (u + f) + bias)))
        return parts

    def cell_params(self) -> list[dict[str, Any]]:
        """--layer rnn: the parameters of each cell, filled in."""
        return [
            {
                "cell": i,
                "class": CELL_CLASS[kind],
                "units": self.cells[i][1],
                "formula": f"{filled} = {count}",
                "total": count,
            }
            for i, (kind, filled, count) in enumerate(self._cell_params())
        ]

    def _bias_terms(self) -> tuple[str, str, int]:
        """The bias part of one gate block's parameters: (symbolic, filled in, count)."""
        u = self.units
        if not self.use_bias:
            return "", "", 0
        if self.layer == "gru" and self.reset_after:
            return " + 2 * units", f" + 2 * {u}", 2 * u
        return " + units", f" + {u}", u

    def param_total(self) -> int:
        if self.cells is not None:
            return sum(count for _, _, count in self._cell_params())
        u, f = self.units, self.features
        bias = self._bias_terms()[2]
        one = GATES[self.layer] * (self.kernel_area * u * (u + f) + bias)
        return one * (2 if self.bidirectional else 1)

    def param_formula(self) -> str:
        """The formula with its numbers filled in, ending with the total."""
        if self.cells is not None:
            filled = " + ".join(f"[{text}]" for _, text, _ in self._cell_params())
            return f"sum over cells of gates * (units * (units + inputs) + bias) = {filled} = {self.param_total()}"
        u, f, g = self.units, self.features, GATES[self.layer]
        bias_symbolic, bias_filled, _ = self._bias_terms()
        symbolic = f"units * (units + features){bias_symbolic}"
        filled = f"{u} * ({u} + {f}){bias_filled}"
        if self.conv:
            bias_symbolic = bias_symbolic.replace("units", "filters")
            symbolic = f"kernel_area * (channels + filters) * filters{bias_symbolic}"
            filled = f"{self.kernel_area} * ({f} + {u}) * {u}{bias_filled}"
        if g > 1:
            symbolic, filled = f"{g} * ({symbolic})", f"{g} * ({filled})"
        if self.bidirectional:
            symbolic, filled = f"2 * {symbolic}", f"2 * {filled}"
        return f"{symbolic} = {filled} = {self.param_total()}"

    # ---- the Python a user would write ----------------------------------------------
    def keras_call(self) -> str:
        args = [str(self.units)]
        if self.cells is not None:  # the initializers are the cells' arguments
            inits = "".join(
                f", {keyword}={self.initializer_call(key)}"
                for key, keyword in INIT_KEYS.items()
                if self.initializer_call(key) is not None
            )
            args = ["[" + ", ".join(f"keras.layers.{CELL_CLASS[kind]}({n}{inits})" for kind, n in self.cells) + "]"]
        if self.conv:
            args.append(_tuple_text(self.kernel_size))
            if set(self.strides) != {1}:
                args.append(f"strides={_tuple_text(self.strides)}")
            if self.padding != "valid":
                args.append(f'padding="{self.padding}"')
        for key in ("return_sequences", "return_state", "stateful", "go_backwards"):
            if getattr(self, key):
                args.append(f"{key}=True")
        if self.reset_after is False:
            args.append("reset_after=False")
        if self.activation != DEFAULT_ACTIVATION[self.layer]:
            args.append(f'activation="{self.activation}"')
        if self.recurrent_activation not in (None, DEFAULT_RECURRENT_ACTIVATION.get(self.layer)):
            args.append(f'recurrent_activation="{self.recurrent_activation}"')
        if not self.use_bias:
            args.append("use_bias=False")
        if self.unit_forget_bias is False:
            args.append("unit_forget_bias=False")
        for key, keyword in INIT_KEYS.items():
            init = self.initializer_call(key)
            if init is not None and self.cells is None:
                args.append(f"{keyword}={init}")
        for key in ("dropout", "recurrent_dropout"):
            if getattr(self, key):
                args.append(f"{key}={getattr(self, key)!r}")
        if self.dropout or self.recurrent_dropout:
            args.append(f"seed={self.seed}")  # the dropout masks' seed: the same masks run after run
        if self.unroll:
            args.append("unroll=True")
        call = f"keras.layers.{self.keras_class}({', '.join(args)})"
        if self.bidirectional:
            extra = ""
            if self.merge_mode == "none":
                extra = ", merge_mode=None"
            elif self.merge_mode != "concat":
                extra = f', merge_mode="{self.merge_mode}"'
            call = f"keras.layers.Bidirectional({call}{extra})"
        return call

    def call_text(self) -> str:
        """How the layer is called: layer(x), plus the mask, initial_state and training given."""
        args = ["x"]
        if self.lengths is not None:
            args.append("mask=mask")
        if self.initial_state is not None:
            args.append(f"initial_state=[{', '.join(name for name, _ in self.initial_state_shapes())}]")
        if self.training:
            args.append("training=True")
        return f"layer({', '.join(args)})"

    def initial_state_shapes(self) -> list[tuple[str, tuple[int, int]]]:
        """The states initial_state takes, named and in Keras' order (forward then backward)."""
        own = ["h0", "c0"] if self.has_cell_state else ["h0"]
        if self.bidirectional:
            own = [f"{d}_{name}" for d in ("forward", "backward") for name in own]
        return [(name, (self.batch, *self.state_shape)) for name in own]

    def keras_input(self) -> str:
        """The Input a model would start from; stateful layers need the batch size fixed."""
        if self.stateful:
            return f"keras.Input(batch_shape={shape_text(self.input_shape)})"
        return f"keras.Input(shape={shape_text(self.input_shape[1:])})"

    # ---- size -----------------------------------------------------------------------
    def estimated_bytes(self) -> int:
        """A generous estimate of the memory a run needs: weights, input, every step's
        gate activations and outputs (twice for Bidirectional and for the probe runs)."""
        b, t, g = self.batch, self.timesteps, GATES[self.layer]
        directions = 2 if self.bidirectional else 1
        floats = self.param_total() * 6  # drawn in float64, a float32 copy, the layer's and its twin's variables
        floats += _product(self.input_shape) * 2  # input and its reversed copy
        if self.run_mode(2)[0] == "compiled":  # the graph keeps the sequences only: loop, twin, numpy copies
            # (stateful: the chunks, the rerun, the fresh layer, the one pass and the model keep theirs)
            copies = 3 if not self.stateful else 24 if self.return_sequences else 6
            floats += directions * b * t * _product(self.state_shape) * copies
            return (
                BYTES_PER_RUN
                + floats * BYTES_PER_FLOAT
                + directions * (t * COMPILED_BYTES_PER_STEP + COMPILED_BYTES_PER_TRACE)
            )
        floats += directions * b * t * _product(self.state_shape) * (g + 4) * 3  # gates, h, c, outputs; probes
        return BYTES_PER_RUN + floats * BYTES_PER_FLOAT  # BYTES_PER_RUN: once per command (see group_bytes)

    def value_count(self) -> int:
        """The numbers --values shows: the input and every returned tensor."""
        count = _product(self.input_shape)
        for tensor in self.outputs():
            count += _product(tensor.shape)
        return count

    def estimated_seconds(self, passes: int, mode: str | None = None) -> float:
        """A rough estimate of ``passes`` passes over the sequence, each building the layer and
        setting its weights, in ``mode`` ("eager", "compiled"; None: the one run_mode chooses)."""
        if mode is None:
            mode = self.run_mode(passes)[0]
        compiled = mode == "compiled"
        directions = 2 if self.bidirectional else 1
        one = pass_seconds(self.layer, self.units, self.features, self.batch, self.timesteps, directions, compiled)
        if self.conv:  # every output position does a dense cell's work, kernel_area times over
            flops = (
                directions
                * self.batch
                * self.timesteps
                * _product(self.out_spatial)
                * 2
                * GATES[self.layer]
                * self.kernel_area
                * self.units
                * (self.units + self.features)
            )
            one = (
                step_seconds(directions, self.timesteps, compiled, "lstm", self.batch * _product(self.state_shape))
                + flops / FLOPS_PER_SECOND
            )
        return SECONDS_PER_CONFIGURATION + passes * (one + self.param_total() * SECONDS_PER_WEIGHT)

    def probe_is_the_call(self) -> bool:
        """The probe twin (return_sequences=True, return_state=True, not stateful, same weights
        and call) would be this very configuration: the runner takes the call's own tensors as
        the probe's instead of running it again. No fact then compares the twin with the call:
        each reads the call's own tensors (no Keras slicing stands in for a claim under test)."""
        return self.return_sequences and self.return_state and not self.stateful and not self.bidirectional

    def eager_only(self) -> str | None:
        """Why this configuration is run eagerly whatever its size, or None."""
        if self.training and (self.dropout or self.recurrent_dropout):
            return (
                "dropout with training=True: Keras draws the dropout masks inside the call and keeps them on "
                "the cell, so the run stays eager, as a user's call would draw them"
            )
        if self.unroll:
            return "unroll=True: Keras writes out every step in Python, so tracing a graph costs as much as the run"
        return None

    def run_mode(self, passes: int) -> tuple[str, str]:
        """("eager" or "compiled", why): compiled when the estimate says tracing pays."""
        return choose_mode(
            self.estimated_seconds(passes, "eager"), self.estimated_seconds(passes, "compiled"), self.eager_only()
        )


def _product(values: Any) -> int:
    total = 1
    for value in values:
        total *= int(value)
    return total


def _tuple_text(values: tuple[int, ...]) -> str:
    """A kernel size or strides as Keras takes them: 3 when equal on every axis, else (3, 2)."""
    if len(set(values)) == 1:
        return str(values[0])
    return "(" + ", ".join(str(v) for v in values) + ")"


def conv_output_size(size: int, kernel: int, stride: int, padding: str) -> int:
    """Keras' convolution arithmetic (operation_utils.compute_conv_output_shape, dilation 1)."""
    if padding == "same":
        return (size - 1) // stride + 1
    return (size - kernel) // stride + 1


def make_spec(*, input_file: FileInput | None = None, state_file: FileInput | None = None, **options: Any) -> LayerSpec:
    """Validate raw options (from the CLI or a check file) into a LayerSpec.

    ``input_file`` is the file named by ``input``, ``state_file`` the one named by
    ``initial_state``, each already read by the caller.

    Unknown keys, wrong types and values out of range raise SpecError naming the key.
    """
    values = dict(DEFAULTS)
    options = dict(options)
    pinned_sha256 = options.pop("input_sha256", None)  # derived; given back (config, check file): verified
    pinned_state_sha256 = options.pop("initial_state_sha256", None)
    for key, value in options.items():
        if key not in DEFAULTS:
            raise UsageError(f"unknown option {key!r}: allowed are {', '.join(DEFAULTS)}")
        if value is not None or key == "merge_mode":
            values[key] = value
    values["layer"] = canonical_layer(values["layer"])
    _resolve_conv(values, options)
    _resolve_cells(values, options)
    values["input_sha256"] = _resolve_input(values, {k: options.get(k) for k in SIZE_KEYS}, input_file)
    if pinned_sha256 is not None and pinned_sha256 != values["input_sha256"]:
        raise SpecError(
            "input_sha256",
            f"{pinned_sha256!r} does not match the input {values['input']!r} (sha256 {values['input_sha256']})",
        )
    for key in INIT_KEYS:
        values[key] = canonical_initializer(key, values[key])
    if values["bias_init"] in MATRIX_INITIALIZERS and values["layer"] != "gru":
        raise SpecError(
            "bias_init",
            f"{values['bias_init']} fills 2-D weights only, and the "
            f"{KERAS_CLASS[values['layer']]} bias is 1-D (Keras raises ValueError; rule of "
            "Keras): use it for the kernels, or give a number or zeros, ones, random_normal, ...",
        )
    for key, (low, high) in INT_LIMITS.items():
        value = values[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecError(key, f"{value!r} is not an integer")
        if not low <= value <= high:
            raise SpecError(key, f"{value} is not in the range {low}..{high}")
    for key in FLAG_KEYS:
        if not isinstance(values[key], bool):
            raise SpecError(key, f"{values[key]!r} is not true or false")
    if values["merge_mode"] is not None:
        if not values["bidirectional"]:
            raise SpecError("merge_mode", "applies only with --bidirectional (bidirectional = true)")
        values["merge_mode"] = canonical_merge_mode(values["merge_mode"])
    elif values["bidirectional"]:
        values["merge_mode"] = "concat"
    values["reset_after"] = resolve_reset_after(values["layer"], values["reset_after"])
    if values["layer"] != CELLS_LAYER:
        _resolve_cell_options(values)
    values["lengths"] = _check_lengths(values["lengths"], values["batch"], values["timesteps"])
    spec = LayerSpec(**values)
    if spec.initial_state is not None:
        spec = _resolve_initial_state(spec, state_file)
        if pinned_state_sha256 is not None and pinned_state_sha256 != spec.initial_state_sha256:
            raise SpecError(
                "initial_state_sha256",
                f"{pinned_state_sha256!r} does not match the initial state "
                f"{spec.initial_state!r} (sha256 {spec.initial_state_sha256})",
            )
    return spec


CONV_INT_LIMITS = {
    "filters": (1, 1_000_000),
    "channels": (1, 1_000_000),
    "depth": (1, 1_000_000),
    "rows": (1, 1_000_000),
    "cols": (1, 1_000_000),
}
CONV_LAYER_WORDS = "--layer convlstm1d, convlstm2d or convlstm3d"


def _resolve_conv(values: dict[str, Any], given: dict[str, Any]) -> None:
    """ConvLSTM: --filters, --kernel-size, --strides, --padding and the map's sizes resolved into
    units (= filters), features (= channels), spatial, kernel_size, strides and padding; refused
    for the other layers, as --units and --features are for ConvLSTM."""
    layer = values["layer"]
    chosen = {key: values.pop(key) for key in CONV_KEYS}
    if layer not in CONV_LAYERS:
        for key, value in chosen.items():
            if value is not None:
                instead = {
                    "filters": " (a recurrent layer counts --units)",
                    "channels": " (a recurrent layer's inputs have --features)",
                }.get(key, "")
                raise SpecError(key, f"applies only with {CONV_LAYER_WORDS}, not {layer}{instead}")
        return
    cls = KERAS_CLASS[layer]
    for key, instead in (("units", "--filters"), ("features", "--channels")):
        if given.get(key) is not None:
            raise SpecError(
                key,
                f"{cls} takes {instead}, not {option_name(key)} (its h and c are feature maps "
                "with filters on the last axis; its input's last axis is channels)",
            )
    if values["lengths"] is not None:
        raise SpecError("lengths", f"masking is not explained for {cls} in rnnshape: drop --lengths")
    if input_file_name(values["input"]) is not None:
        raise SpecError(
            "input",
            f"{cls} runs on generated inputs only ({', '.join(INPUT_KINDS)}); a file input is "
            "not supported for ConvLSTM layers",
        )
    axes = SPATIAL_AXES[layer]
    for key in ("depth", "rows", "cols"):
        if key not in axes and chosen[key] is not None:
            owners = [name for name, names in SPATIAL_AXES.items() if key in names]
            raise SpecError(
                key,
                f"applies only with --layer {' or '.join(owners)}: {cls}'s input is "
                f"[batch, timesteps, {', '.join(axes)}, channels]",
            )
    resolved = {key: CONV_DEFAULTS[key] if value is None else value for key, value in chosen.items()}
    for key, (low, high) in CONV_INT_LIMITS.items():
        value = resolved[key]
        if key in ("depth", "rows", "cols") and key not in axes:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecError(key, f"{value!r} is not an integer")
        if not low <= value <= high:
            raise SpecError(key, f"{value} is not in the range {low}..{high}")
    rank = len(axes)
    kernel = _conv_tuple("kernel_size", resolved["kernel_size"], rank)
    strides = _conv_tuple("strides", resolved["strides"], rank)
    padding = resolved["padding"]
    if not isinstance(padding, str) or padding.strip().lower() not in PADDINGS:
        raise SpecError("padding", f"{padding!r} is not one of {', '.join(PADDINGS)}")
    padding = padding.strip().lower()
    spatial = tuple(resolved[axis] for axis in axes)
    for axis, size, k, stride in zip(axes, spatial, kernel, strides):
        if conv_output_size(size, k, stride, padding) < 1:
            raise SpecError(
                "kernel_size",
                f"{k} is larger than {axis} {size}: with padding valid the output "
                f"would have no {axis} (Keras raises ValueError); use --padding same, "
                f"a smaller --kernel-size or a larger --{axis}",
            )
    values.update(
        units=resolved["filters"],
        features=resolved["channels"],
        spatial=spatial,
        kernel_size=kernel,
        strides=strides,
        padding=padding,
    )


CELLS_REFUSED = (
    "stateful",
    "bidirectional",
    "reset_after",
    "activation",
    "recurrent_activation",
    "unit_forget_bias",
    "dropout",
    "recurrent_dropout",
    "initial_state",
    "lengths",
)
_CELL = re.compile(r"^(lstm|gru|simplernn|simple_rnn):([0-9]+)$")


def _resolve_cells(values: dict[str, Any], given: dict[str, Any]) -> None:
    """--layer rnn --cells lstm:4,gru:3: keras.layers.RNN([LSTMCell(4), GRUCell(3)]); units is the
    last cell's. --cells with another layer, and the options rnnshape does not explain for a list
    of cells, are refused naming the option."""
    cells = values.pop("cells")
    if values["layer"] != CELLS_LAYER:
        if cells is not None:
            raise SpecError(
                "cells", f"applies only with --layer rnn (keras.layers.RNN with a list of cells), not {values['layer']}"
            )
        return
    if given.get("units") is not None:
        raise SpecError("units", "--layer rnn takes its cells' units from --cells (e.g. lstm:4,gru:3), not --units")
    if cells is None:
        raise SpecError(
            "cells",
            "--layer rnn needs its cells: --cells KIND:UNITS[,KIND:UNITS...] with KIND lstm, gru "
            "or simplernn, e.g. lstm:4,gru:3",
        )
    words = cells.split(",") if isinstance(cells, str) else list(cells)
    parsed = []
    for word in words:
        match = _CELL.match(str(word).strip().lower()) if len(str(word)) < 100 else None
        if not match or not 1 <= int(match.group(2)) <= 1_000_000:
            raise SpecError(
                "cells",
                f"{str(word)[:60]!r} is not KIND:UNITS with KIND lstm, gru or simplernn and "
                "UNITS in 1..1000000 (e.g. lstm:4,gru:3)",
            )
        parsed.append((LAYER_ALIASES[match.group(1)], int(match.group(2))))
    if not 1 <= len(parsed) <= 16:
        raise SpecError("cells", f"gives {len(parsed)} cells: give 1 to 16")
    for key in CELLS_REFUSED:
        value = values.get(key)
        if value not in (None, False, 0.0) and not (key == "merge_mode"):
            raise SpecError(
                key,
                "is not explained for --layer rnn (a list of cells) in rnnshape: drop it, or see "
                "the option on one layer with --layer lstm|gru|simplernn",
            )
    if values["use_bias"] is False:
        raise SpecError("use_bias", "is not explained for --layer rnn (a list of cells) in rnnshape: drop it")
    values.update(
        cells=tuple(parsed), units=parsed[-1][1], activation="tanh", recurrent_activation=None, unit_forget_bias=None
    )


def _conv_tuple(key: str, value: Any, rank: int) -> tuple[int, ...]:
    """--kernel-size/--strides: N for every axis, or one number per spatial axis (3,2)."""
    if isinstance(value, str):
        value = parse_int_list(key, value)
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise SpecError(key, f"{value!r} is not an integer or a list of {rank} integers")
    if len(value) not in (1, rank):
        raise SpecError(
            key, f"{','.join(map(str, value))} gives {len(value)} sizes: give one, or one per spatial axis ({rank})"
        )
    if not all(1 <= v <= 10_000 for v in value):
        raise SpecError(key, f"{','.join(map(str, value))}: each size must be in 1..10000")
    return tuple(value) * rank if len(value) == 1 else tuple(value)


def _canonical_activation(key: str, value: Any) -> str:
    if isinstance(value, str) and value.strip().lower() in ACTIVATIONS:
        return value.strip().lower()
    raise SpecError(key, f"{value!r} is not one of {', '.join(ACTIVATIONS)}")


def _resolve_cell_options(values: dict[str, Any]) -> None:
    """Activations, bias, dropout: resolved to Keras' defaults per layer, refused where the layer
    has no such option."""
    layer = values["layer"]
    cls = KERAS_CLASS[layer]
    values["activation"] = (
        DEFAULT_ACTIVATION[layer]
        if values["activation"] is None
        else _canonical_activation("activation", values["activation"])
    )
    if layer == "simplernn":
        if values["recurrent_activation"] is not None:
            raise SpecError(
                "recurrent_activation",
                "SimpleRNN has no gates, so no recurrent_activation: use --activation (only LSTM and GRU take it)",
            )
    else:
        values["recurrent_activation"] = (
            DEFAULT_RECURRENT_ACTIVATION[layer]
            if values["recurrent_activation"] is None
            else _canonical_activation("recurrent_activation", values["recurrent_activation"])
        )
    if layer not in LSTM_FAMILY:
        if values["unit_forget_bias"] is not None:
            raise SpecError(
                "unit_forget_bias", f"applies only with --layer lstm or convlstm1d/2d/3d (the forget gate), not {layer}"
            )
    elif values["unit_forget_bias"] is None:
        values["unit_forget_bias"] = True
    elif not isinstance(values["unit_forget_bias"], bool):
        raise SpecError("unit_forget_bias", f"{values['unit_forget_bias']!r} is not true or false")
    for key in ("dropout", "recurrent_dropout"):
        value = values[key]
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise SpecError(
                    key, f"{values[key]!r} is not a number in 0..1 (a fraction of {cls}'s inputs to drop)"
                ) from None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) < 1.0:
            raise SpecError(key, f"{values[key]!r} is not a number in the range 0 <= {key} < 1")
        values[key] = float(value)


def _resolve_initial_state(spec: LayerSpec, state_file: FileInput | None) -> LayerSpec:
    """--initial-state zeros|random|FILE.npy: refused with stateful; a file's shape must be the
    states' shapes, one array per state in Keras' order."""
    source = spec.initial_state
    expected = spec.initial_state_shapes()
    wanted = "[" + ", ".join(f"{name} {shape_text(shape)}" for name, shape in expected) + "]"
    if spec.stateful:
        raise SpecError(
            "initial_state",
            "a stateful layer keeps its own states between batches (set them with "
            "layer.reset_state() or by assigning layer.states): drop --initial-state "
            "or --stateful",
        )
    if not isinstance(source, str) or not source.strip():
        raise SpecError("initial_state", f"{source!r} is not one of {', '.join(INITIAL_STATE_KINDS)} nor a .npy file")
    if source.strip().lower() in INITIAL_STATE_KINDS:
        return dataclasses.replace(spec, initial_state=source.strip().lower())
    if state_file is None or state_file.path != source:
        raise UsageError(
            f"the initial state file {source!r} was not read: read it with "
            "rnnshape.files.file_state and pass it as state_file"
        )
    shape = tuple(state_file.shape)
    rank = len(expected[0][1])
    states = shape[0] if len(shape) == rank + 1 else 1 if len(shape) == rank else None
    if states != len(expected) or shape[-rank:] != expected[0][1]:
        raise SpecError(
            "initial_state",
            f"{source} holds an array of shape {shape_text(shape)}; "
            f"{spec.keras_call()} takes {len(expected)} state(s) {wanted}: "
            f"save an array of shape {shape_text((len(expected),) + expected[0][1])}"
            + (" (or one of shape " + shape_text(expected[0][1]) + ")" if len(expected) == 1 else ""),
        )
    return dataclasses.replace(spec, initial_state_sha256=state_file.sha256)


def resolve_reset_after(layer: str, reset_after: Any) -> bool | None:
    """GRU: True (Keras 3's default) unless given; every other layer: None (it has no such option)."""
    if layer != "gru":
        if reset_after is not None:
            flag = "--reset-after" if reset_after else "--no-reset-after"
            raise SpecError("reset_after", f"{flag} applies only with --layer gru (a GRU option of Keras), not {layer}")
        return None
    if reset_after is None:
        return True
    if not isinstance(reset_after, bool):
        raise SpecError("reset_after", f"{reset_after!r} is not true or false")
    return reset_after


def canonical_initializer(key: str, value: Any) -> float | str | None:
    """A number (or numeric string) means Constant(value); else a Keras initializer name."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise SpecError(key, f"{value!r} is neither a number nor an initializer name")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = str(value).strip()
        if text.lower() in INITIALIZERS:
            return text.lower()
        try:
            number = float(text)
        except ValueError:
            raise SpecError(
                key, f"{value!r} is neither a number (a constant) nor one of {', '.join(INITIALIZERS)}"
            ) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise SpecError(key, f"{value!r} is not a finite number")
    return number


@dataclass(frozen=True)
class FileInput:
    """What the caller read from an --input FILE: the model reads no files itself."""

    path: str
    shape: tuple[int, ...]
    sha256: str


def input_file_name(source: Any) -> str | None:
    """The file an --input value names, or None for a generated input (random, arange, ...)."""
    if isinstance(source, str) and source.strip() and source.strip().lower() not in INPUT_KINDS:
        return source
    return None


def _resolve_input(values: dict[str, Any], explicit: dict[str, Any], input_file: FileInput | None) -> str | None:
    """For a file input: take batch, timesteps and features from its shape (refusing explicit
    sizes that contradict it) and return its sha256; None for generated inputs."""
    source = values["input"]
    if not isinstance(source, str) or not source.strip():
        raise SpecError("input", f"{source!r} is not one of {', '.join(INPUT_KINDS)} nor a .npy or .csv file")
    if source.strip().lower() in INPUT_KINDS:
        values["input"] = source.strip().lower()
        return None
    if input_file is None or input_file.path != source:
        raise UsageError(
            f"the input file {source!r} was not read: read it with rnnshape.files.load_input_file "
            "and pass it as input_file"
        )
    for key, size in zip(SIZE_KEYS, input_file.shape):
        given = explicit.get(key)
        if given is not None and given != size:
            raise SpecError(
                key,
                f"{given} contradicts --input {source}, whose data has {key} {size} "
                f"(shape {tuple(input_file.shape)} as [batch, timesteps, features]); "
                f"drop {option_name(key)} or change the file",
            )
        values[key] = int(size)
    return input_file.sha256


def _check_lengths(lengths: Any, batch: int, timesteps: int) -> tuple[int, ...] | None:
    if lengths is None:
        return None
    if isinstance(lengths, str):
        lengths = parse_int_list("lengths", lengths)
    if not isinstance(lengths, (list, tuple)) or not all(
        isinstance(n, int) and not isinstance(n, bool) for n in lengths
    ):
        raise SpecError("lengths", f"{lengths!r} is not a list of integers")
    if len(lengths) != batch:
        raise SpecError("lengths", f"gives {len(lengths)} lengths for a batch of {batch}: give one per sample")
    bad = [n for n in lengths if not 1 <= n <= timesteps]
    if bad:
        raise SpecError("lengths", f"{bad[0]} is not a valid length: each must be in 1..{timesteps} (timesteps)")
    return tuple(lengths)


_INT_LIST = re.compile(r"^\s*[0-9]+\s*(,\s*[0-9]+\s*)*$")  # ASCII digits only, as every number option


def parse_int_list(key: str, text: str) -> tuple[int, ...]:
    if not _INT_LIST.match(text or "") or len(text) > 10_000:
        raise SpecError(key, f"{text!r} is not a comma-separated list of non-negative integers, e.g. 3,5")
    return tuple(int(part) for part in text.split(","))


@dataclass(frozen=True)
class Expectation:
    name: str
    shape: tuple[int, ...]


_EXPECT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=([0-9]+(?:,[0-9]+)*)$")


def parse_expect(text: str) -> Expectation:
    """'output=1,6' -> Expectation('output', (1, 6))."""
    match = _EXPECT.match((text or "").replace(" ", ""))
    if not match or len(text) > 1000:
        raise SpecError("expect", f"{text!r} is not NAME=D1,D2,... (for example output=1,6)")
    return Expectation(match.group(1), tuple(int(d) for d in match.group(2).split(",")))


@dataclass(frozen=True)
class ShapeComparison:
    name: str
    expected: tuple[int, ...]
    actual: tuple[int, ...] | None
    hint: str = ""

    @property
    def holds(self) -> bool:
        return self.actual is not None and tuple(self.actual) == tuple(self.expected)


def compare_shapes(
    spec: LayerSpec, actual: dict[str, tuple[int, ...]], expected: list[Expectation]
) -> list[ShapeComparison]:
    """Each expectation against the actual shapes; a missing name gets a hint why."""
    results = []
    for exp in expected:
        shape = actual.get(exp.name)
        hint = "" if shape is not None else missing_output_hint(spec, exp.name)
        results.append(ShapeComparison(exp.name, tuple(exp.shape), tuple(shape) if shape is not None else None, hint))
    return results


def missing_output_hint(spec: LayerSpec, name: str) -> str:
    """Why an output name does not exist for this configuration."""
    names = spec.output_names()
    if name.endswith("state_c") and not spec.has_cell_state:
        why = f"{spec.keras_class} has no cell state c (only LSTM does): its state is h"
    elif "state" in name and not spec.return_state:
        why = "states are returned only with return_state=True (--return-state)"
    elif name.startswith(("forward_", "backward_")) and not spec.bidirectional:
        why = "forward_/backward_ names exist only with --bidirectional"
    elif name in ("forward_output", "backward_output"):
        why = "forward_output/backward_output exist only with --merge-mode none"
    elif name == "output" and spec.bidirectional and spec.merge_mode == "none":
        why = "with merge_mode none the outputs are forward_output and backward_output"
    elif name.startswith("state_") and spec.bidirectional:
        why = "a Bidirectional layer names its states forward_state_h, backward_state_h, ..."
    else:
        why = "unknown output name"
    return f"{why}; this layer returns {', '.join(names)}"
