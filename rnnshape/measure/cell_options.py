"""The facts of a layer's cell options, measured on twin layers (activations, bias, unit_forget_bias,
dropout, unroll, initial states) and of a list of cells (keras.layers.RNN).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from rnnshape.measure.checks import EQUAL_TOLERANCE, RECOMPUTE_TOLERANCE, Check, max_abs_diff
from rnnshape.measure.checks import differ as _differ
from rnnshape.measure.checks import equal as _equal
from rnnshape.measure.checks import flat as _flat
from rnnshape.rules.layer import LayerSpec

if TYPE_CHECKING:
    from rnnshape.runner.layer import Probe


UNROLL_TOLERANCE = 1e-6  # unroll=True runs the same ops step by step: rounding at most


def cell_option_checks(spec: LayerSpec, out: dict[str, np.ndarray], probe: Probe) -> list[Check]:
    """The facts of dropout, unroll, initial_state and unit_forget_bias, from their twins."""
    checks: list[Check] = []
    returned = [out[name] for name in spec.output_names()]
    if probe.without_dropout is not None:
        if spec.training:
            checks.append(
                _differ(
                    "training=True: dropout changes the numbers: the outputs differ from the same "
                    "layer without dropout (same weights, input and call)",
                    _flat(returned),
                    _flat(probe.without_dropout),
                )
            )
        else:
            checks.append(
                _equal(
                    "training=False (inference): dropout does nothing: the outputs equal those of "
                    "the same layer without dropout",
                    _flat(returned),
                    _flat(probe.without_dropout),
                )
            )
    if probe.rolled is not None:
        checks.append(
            _equal(
                "unroll=True computes what the symbolic loop computes: the outputs equal those of "
                f"the same layer with unroll=False (within {UNROLL_TOLERANCE:g})",
                _flat(returned),
                _flat(probe.rolled),
                tolerance=UNROLL_TOLERANCE,
            )
        )
    if probe.zero_start is not None:
        if spec.initial_state == "zeros":
            checks.append(
                _equal(
                    "initial_state of zeros is Keras' default start: the outputs equal those of "
                    "the same call without initial_state",
                    _flat(returned),
                    _flat(probe.zero_start),
                )
            )
        else:
            checks.append(
                _differ(
                    "the given initial_state changes the run: the outputs differ from those of "
                    "the same call starting from zeros",
                    _flat(returned),
                    _flat(probe.zero_start),
                )
            )
    if probe.first_step is not None and probe.cell_weights is not None:
        checks.append(_first_step_check(spec, probe))
    bias = _initial_bias(spec, probe)
    if bias is not None:
        u = spec.units
        if spec.unit_forget_bias:
            checks.append(
                _equal(
                    "unit_forget_bias=True: the forget gate's bias block b_f starts at exactly 1.0 "
                    "(Keras' code sets ones; its docstring says it adds 1)",
                    bias[u : 2 * u],
                    np.ones(u),
                )
            )
        elif isinstance(spec.bias_init, float):
            checks.append(
                _equal(
                    f"unit_forget_bias=False: b_f starts at the bias initializer's value "
                    f"{spec.bias_init:g}, like the other gates",
                    bias[u : 2 * u],
                    np.full(u, spec.bias_init),
                )
            )
    return checks


def _initial_bias(spec: LayerSpec, probe: Probe) -> np.ndarray | None:
    """The LSTM bias as Keras' initializer drew it (only when --bias-init chose the initializer)."""
    if not spec.has_cell_state or not spec.use_bias or spec.bias_init is None or probe.initial_bias is None:
        return None
    return probe.initial_bias


def _first_step_check(spec: LayerSpec, probe: Probe) -> Check:
    """h after the first step read, recomputed in numpy from the given initial state."""
    from rnnshape.measure import cells

    kernel, recurrent, *rest = probe.cell_weights
    weights = cells.CellWeights(
        np.asarray(kernel, np.float64),
        np.asarray(recurrent, np.float64),
        np.asarray(rest[0], np.float64) if rest else None,
    )
    act = cells.activation(spec.activation)
    x = np.asarray(probe.first_input, np.float64)
    h0 = np.asarray(probe.initial_states[0], np.float64)
    if spec.layer == "lstm":
        c0 = np.asarray(probe.initial_states[1], np.float64)
        step = cells.lstm_step(x, h0, c0, weights, act, cells.activation(spec.recurrent_activation))
    elif spec.layer == "gru":
        step = cells.gru_step(x, h0, weights, act, cells.activation(spec.recurrent_activation), bool(spec.reset_after))
    else:
        step = cells.simplernn_step(x, h0, weights, act)
    expected, got = step["h"], probe.first_step
    samples = ""
    if probe.first_valid is not None:  # a padded first step outputs Keras' initial previous output instead
        rows = np.flatnonzero(probe.first_valid)
        expected, got = expected[rows], got[rows]
        samples = f" (samples {', '.join(str(r) for r in rows)}, whose first read step is valid)"
    which = "x_T (go_backwards reads it first)" if spec.go_backwards else "x_1"
    return _equal(
        f"the first step starts from the given initial_state: h after reading {which}, recomputed in "
        "numpy from h0" + (", c0" if spec.has_cell_state else "") + " and the layer's weights, equals "
        f"Keras' first output step{samples}",
        expected,
        got,
        tolerance=RECOMPUTE_TOLERANCE,
    )


def _stacked_cells(spec: LayerSpec, out: dict[str, np.ndarray], probe: Probe) -> list[Check]:
    """--layer rnn: where each cell's states are, and that the stacked cells compute what the same
    weights compute as a chain of ordinary layers."""
    checks: list[Check] = []
    last = f"state_{len(spec.cells) - 1}_h"
    output = out["output"]
    final = output[:, -1] if spec.return_sequences else output
    at = "the last step of output, output[:, -1]," if spec.return_sequences else "output"
    if spec.return_state:
        checks.append(
            _equal(
                f"{at} equals {last}, the LAST cell's h (Keras returns the states cell by cell, first cell first)",
                final,
                out[last],
            )
        )
        if len(spec.cells) > 1 and spec.cells[0][1] == spec.cells[-1][1]:
            checks.append(
                _differ(
                    f"{at} differs from state_0_h (the first cell's h, not the layer's output)", final, out["state_0_h"]
                )
            )
    else:
        checks.append(
            _equal(f"{at} equals the last cell's final h (probe with return_state=True)", final, probe.states[last])
        )
    if probe.chain_seq is not None:
        chain = probe.chain_seq if spec.return_sequences else probe.chain_seq[:, -1]
        layers = " -> ".join(
            f"{kind.upper() if kind != 'simplernn' else 'SimpleRNN'}({n}, return_sequences=True)"
            for kind, n in spec.cells
        )
        checks.append(
            _equal(
                f"output equals the same weights as a chain of layers, {layers}: stacked cells "
                "run each step through every cell",
                output,
                chain,
            )
        )
        states = [out[name] for name in spec.state_names()] if spec.return_state else list(probe.states.values())
        checks.append(
            _equal(
                "every cell's final states equal those of its layer in the chain, in the same order",
                _flat(states),
                _flat(probe.chain_states),
            )
        )
    return checks


def _one_call(spec: LayerSpec, out: dict[str, np.ndarray]) -> list[Check]:
    """The facts one call shows by itself (dropout in training: no twin draws the same masks)."""
    checks: list[Check] = []
    if spec.bidirectional or not spec.return_state:
        return checks
    output = out["output"]
    if spec.return_sequences:
        checks.append(
            _equal("the last step of output, output[:, -1], equals state_h (one call)", output[:, -1], out["state_h"])
        )
    else:
        checks.append(_equal("output equals state_h (one call)", output, out["state_h"]))
    if spec.has_cell_state:
        checks.append(
            _differ(
                f"state_c differs from state_h (c is the memory, h = o * {spec.activation}(c))",
                out["state_c"],
                out["state_h"],
            )
        )
    return checks


def _identical_units(spec: LayerSpec, out: dict[str, np.ndarray]) -> Check:
    """Constant initializers give every unit the same weights, so the same number."""
    diff = 0.0
    for array in out.values():
        blocks = array.reshape(array.shape[:-1] + (-1, spec.units))  # concat: one block per direction
        diff = max(diff, max_abs_diff(blocks, blocks[..., :1]))
    return Check(
        "constant initializers give every unit identical weights, so every unit computes the "
        "same number: the columns of each tensor are equal",
        diff <= EQUAL_TOLERANCE,
        diff,
        "equal",
    )
