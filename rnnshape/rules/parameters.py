"""A layer's weights as Keras names and shapes them, their count and its formula. Rules of Keras;
a mixin of LayerSpec (rules/layer.py), reading its fields. Pure.
"""

from __future__ import annotations

from typing import Any

from rnnshape.rules.catalogue import CELL_CLASS, GATES, KERAS_CELL_NAME, KERAS_LAYER_NAME, WeightSpec


class LayerParameters:
    """LayerSpec's parameters (a mixin: LayerSpec holds the fields)."""

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
