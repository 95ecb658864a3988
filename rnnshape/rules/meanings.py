"""What each tensor of a layer means, in words: the outputs and states (forward, backward, merged,
masked), h versus c, a GRU's candidate, ConvLSTM's arithmetic. Rules of Keras; a mixin of
LayerSpec (rules/layer.py), reading its fields. Pure.
"""

from __future__ import annotations

import dataclasses

from rnnshape.rules.catalogue import CELL_CLASS, SPATIAL_AXES, TensorSpec, _tuple_text
from rnnshape.rules.words import shape_text


class LayerMeanings:
    """LayerSpec's meanings (a mixin: LayerSpec holds the fields)."""

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
