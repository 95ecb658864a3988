"""The pure model of a Keras recurrent layer: LayerSpec, a validated configuration, with its output
names and shapes, what Keras calls it and what it refuses. Its meanings (rules/meanings.py), its
parameters (rules/parameters.py) and its cost (rules/cost.py) are the mixins it is made of; make_spec
(rules/spec.py) builds one from options. No TensorFlow, no rich: everything here is a rule of Keras,
checked against real Keras by the tests.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from rnnshape.rules.catalogue import (
    BYTES_PER_FLOAT,
    CELL_CLASS,
    CELLS_LAYER,
    CONV_LAYERS,
    DEFAULT_ACTIVATION,
    DEFAULT_RECURRENT_ACTIVATION,
    GATES,
    INIT_KEYS,
    INITIALIZERS,
    KERAS_CELL_NAME,
    KERAS_CLASS,
    KERAS_LAYER_NAME,
    SEEDLESS_INITIALIZERS,
    SPATIAL_AXES,
    TensorSpec,
    WeightSpec,
    _product,
    _tuple_text,
    conv_output_size,
)
from rnnshape.rules.cost import (
    BYTES_PER_RUN,
    COMPILED_BYTES_PER_STEP,
    COMPILED_BYTES_PER_TRACE,
    FLOPS_PER_SECOND,
    SECONDS_PER_CONFIGURATION,
    SECONDS_PER_WEIGHT,
    choose_mode,
    pass_seconds,
    step_seconds,
)
from rnnshape.rules.options import LSTM_FAMILY
from rnnshape.rules.words import shape_text


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
