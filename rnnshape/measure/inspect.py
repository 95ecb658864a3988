"""Measured facts about one run: claims about the returned tensors, each checked with numpy
and reported with its measured max absolute difference. No TensorFlow here: the runner hands
over plain arrays (the layer's outputs and those of probe layers that share its weights).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from rnnshape.errors import UsageError
from rnnshape.measure.checks import EQUAL_TOLERANCE, RECOMPUTE_TOLERANCE, Check, max_abs_diff
from rnnshape.measure.checks import differ as _differ
from rnnshape.measure.checks import equal as _equal
from rnnshape.measure.checks import flat as _flat
from rnnshape.rules.catalogue import BOUNDED_GATE_ACTIVATIONS, INPUT_KINDS
from rnnshape.rules.expectations import ShapeComparison
from rnnshape.rules.layer import LayerSpec
from rnnshape.versions import versions

if TYPE_CHECKING:
    from rnnshape.runner.layer import Probe


def measure(spec: LayerSpec, out: dict[str, np.ndarray], probe: Probe) -> list[Check]:
    """Every fact this configuration allows, measured on this run's arrays."""
    if spec.training and (spec.dropout or spec.recurrent_dropout):
        return _one_call(spec, out) + cell_option_checks(spec, out, probe)
    if spec.cells is not None:
        return _stacked_cells(spec, out, probe) + cell_option_checks(spec, out, probe)
    if spec.bidirectional:
        checks = _bidirectional(spec, out, probe)
    else:
        checks = _plain(spec, out, probe)
    if spec.stateful and probe.state_variables:
        finals = [out[n] for n in spec.state_names()] if spec.return_state else _probe_finals(spec, probe)
        names = spec.state_names() or _probe_state_labels(spec)
        for name, variable, final in zip(names, probe.state_variables, finals):
            checks.append(
                _equal(
                    f"stateful: the layer's state variable now holds {name}, the initial state of the next batch",
                    variable,
                    final,
                )
            )
    if spec.lengths is not None:
        checks.extend(_masking(spec, out, probe))
    if spec.constant_weights:
        checks.append(_identical_units(spec, out))
    checks.extend(cell_option_checks(spec, out, probe))
    return checks


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


def _probe_finals(spec: LayerSpec, probe: Probe) -> list[np.ndarray]:
    if spec.bidirectional:
        return []
    return [probe.h, probe.c] if spec.has_cell_state else [probe.h]


def _final_label(spec: LayerSpec, kind: str = "h") -> str:
    """The final state's name under the one numbering (the state after reading x_t is h_t)."""
    if spec.go_backwards:
        return f"{kind}_1"
    if spec.lengths is not None:
        return f"{kind} after each sample's last valid step"
    return f"{kind}_T"


def _probe_state_labels(spec: LayerSpec) -> list[str]:
    if spec.bidirectional:
        return []
    return [_final_label(spec, "h"), _final_label(spec, "c")] if spec.has_cell_state else [_final_label(spec)]


def _plain(spec: LayerSpec, out: dict[str, np.ndarray], probe: Probe) -> list[Check]:
    checks: list[Check] = []
    output = out["output"]
    if spec.return_sequences:
        if spec.return_state:
            if spec.go_backwards:
                claim = (
                    "go_backwards: output runs in reversed time order, so its LAST element output[:, -1] equals state_h"
                )
            else:
                claim = "the last step of output, output[:, -1], equals state_h"
            checks.append(_equal(claim, output[:, -1], out["state_h"]))
        else:
            checks.append(
                _equal(
                    "the last step of output, output[:, -1], equals the final hidden "
                    f"state {_final_label(spec)} (probe with return_state=True)",
                    output[:, -1],
                    probe.h,
                )
            )
    else:
        if spec.return_state:
            checks.append(
                _equal(
                    f"output equals state_h (without return_sequences both are {_final_label(spec)})",
                    output,
                    out["state_h"],
                )
            )
        checks.append(
            _equal(
                "output equals the last step of the full sequence "
                "(probe with the same weights and return_sequences=True)",
                output,
                probe.seq[:, -1],
            )
        )
    a = spec.activation
    if spec.has_cell_state and spec.return_state:
        checks.append(
            _differ(
                f"state_c differs from state_h (c is the cell state, h = o * {a}(c))", out["state_c"], out["state_h"]
            )
        )
    if spec.has_cell_state and spec.return_state and spec.recurrent_activation in BOUNDED_GATE_ACTIVATIONS:
        # h = o * a(c) with 0 <= o <= 1; the reported figure is how far the bound is exceeded.
        from rnnshape.measure.cells import activation

        bound = np.abs(activation(a)(np.asarray(out["state_c"], np.float64)))
        excess = float(max(0.0, np.max(np.abs(out["state_h"]) - bound)))
        checks.append(
            Check(
                f"|state_h| <= |{a}(state_c)| element-wise, as h = o * {a}(c) with 0 <= o <= 1 "
                f"({spec.recurrent_activation} gates)",
                excess <= EQUAL_TOLERANCE,
                excess,
                "bound",
            )
        )
    if spec.go_backwards and probe.reversed_input_seq is not None:
        checks.append(
            _equal(
                "go_backwards=True gives the same h sequence as go_backwards=False "
                "reading the time-reversed input x[:, ::-1]",
                probe.seq,
                probe.reversed_input_seq,
            )
        )
    return checks


def _bidirectional(spec: LayerSpec, out: dict[str, np.ndarray], probe: Probe) -> list[Check]:
    checks: list[Check] = []
    u, seq, mode = spec.units, spec.return_sequences, spec.merge_mode
    fwd, bwd = probe.forward_seq, probe.backward_seq  # (B, T, U), both in time order
    # The backward layer ends at the FIRST step. Under a mask the forward layer ends at each
    # sample's last valid step, and Bidirectional zeroes the masked steps of the sequences.
    last = _last_valid_index(spec)
    rows = np.arange(spec.batch)
    fwd_final, bwd_final = fwd[rows, last], bwd[:, 0]
    masked = spec.lengths is not None
    lo, hi = ("..., :filters", "..., filters:") if spec.conv else (":units", "units:")
    at_last = "the LAST valid step" if masked else "the LAST step"
    last_index = "i, length_i - 1" if masked else ":, -1"
    if spec.return_state:
        if mode == "concat":
            if seq:
                checks.append(
                    _equal(
                        f"forward_state_h equals the forward half of output at {at_last}, output[{last_index}, {lo}]",
                        out["output"][rows, last][..., :u],
                        out["forward_state_h"],
                    )
                )
                checks.append(
                    _equal(
                        f"backward_state_h equals the backward half of output at the FIRST step, output[:, 0, {hi}]",
                        out["output"][:, 0][..., u:],
                        out["backward_state_h"],
                    )
                )
            else:
                checks.append(
                    _equal(f"forward_state_h equals output[:, {lo}]", out["output"][..., :u], out["forward_state_h"])
                )
                checks.append(
                    _equal(f"backward_state_h equals output[:, {hi}]", out["output"][..., u:], out["backward_state_h"])
                )
        elif mode == "none":
            if seq:
                checks.append(
                    _equal(
                        f"forward_state_h equals forward_output at {at_last}",
                        out["forward_output"][rows, last],
                        out["forward_state_h"],
                    )
                )
                checks.append(
                    _equal(
                        "backward_state_h equals backward_output at the FIRST step "
                        "(the backward layer's sequence is flipped back to time order)",
                        out["backward_output"][:, 0],
                        out["backward_state_h"],
                    )
                )
            else:
                checks.append(
                    _equal("forward_state_h equals forward_output", out["forward_output"], out["forward_state_h"])
                )
                checks.append(
                    _equal("backward_state_h equals backward_output", out["backward_output"], out["backward_state_h"])
                )
        else:
            checks.append(
                _equal(f"forward_state_h equals the forward layer's h at {at_last}", fwd_final, out["forward_state_h"])
            )
            checks.append(
                _equal(
                    "backward_state_h equals the backward layer's h at the FIRST step",
                    bwd_final,
                    out["backward_state_h"],
                )
            )
        if spec.has_cell_state:
            checks.append(
                _differ("forward_state_c differs from forward_state_h", out["forward_state_c"], out["forward_state_h"])
            )
    a, b = (fwd, bwd) if seq else (fwd_final, bwd_final)
    if mode in ("concat", "sum", "mul", "ave"):
        merged = {
            "concat": lambda: np.concatenate([a, b], axis=-1),
            "sum": lambda: a + b,
            "mul": lambda: a * b,
            "ave": lambda: (a + b) / 2,
        }[mode]()
        formula = {
            "concat": "concat([forward, backward], axis=-1)",
            "sum": "forward + backward",
            "mul": "forward * backward",
            "ave": "(forward + backward) / 2",
        }[mode]
        checks.append(
            _equal(f"output equals {formula} (each direction measured alone, same weights)", out["output"], merged)
        )
    else:
        checks.append(
            _equal(
                "forward_output and backward_output equal the two directions measured alone",
                np.stack([out["forward_output"], out["backward_output"]]),
                np.stack([a, b]),
            )
        )
    return checks


def _last_valid_index(spec: LayerSpec) -> np.ndarray:
    if spec.lengths is None:
        return np.full(spec.batch, spec.timesteps - 1)
    return np.asarray(spec.lengths) - 1


def _merge_directions(mode: str, fwd: np.ndarray, bwd: np.ndarray) -> dict[str, np.ndarray]:
    """What Bidirectional returns for these two directions (time order) under merge_mode."""
    if mode == "none":
        return {"forward_output": fwd, "backward_output": bwd}
    merged = {
        "concat": lambda: np.concatenate([fwd, bwd], axis=-1),
        "sum": lambda: fwd + bwd,
        "mul": lambda: fwd * bwd,
        "ave": lambda: (fwd + bwd) / np.float32(2),
    }[mode]()
    return {"output": merged}


def _padded(spec: LayerSpec) -> list[tuple[int, int]]:
    return [(i, int(n)) for i, n in enumerate(spec.lengths or ()) if n < spec.timesteps]


def _steps_text(start: int, stop: int) -> str:
    """[start, stop) 0-based -> 'steps 4..5', counted from 1 like t in the equations and pictures."""
    return f"step {start + 1}" if stop - start == 1 else f"steps {start + 1}..{stop}"


def _padded_text(spec: LayerSpec, limit: int = 4) -> str:
    """'sample 0: steps 3..4; sample 2: step 4' (the padded input steps), abridged."""
    padded = _padded(spec)
    parts = [f"sample {i}: {_steps_text(n, spec.timesteps)}" for i, n in padded[:limit]]
    if len(padded) > limit:
        parts.append(f"{len(padded) - limit} more")
    return "; ".join(parts)


def _masking(spec: LayerSpec, out: dict[str, np.ndarray], probe: Probe) -> list[Check]:
    """With --lengths: what a mask does to the returned tensors, measured on the padded samples."""
    checks: list[Check] = []
    padded = _padded(spec)
    if not padded:
        return checks
    t = spec.timesteps
    where = _padded_text(spec)
    main = [n for n in spec.output_names() if "state" not in n]
    finals = {n: out[n] for n in spec.state_names()} if spec.return_state else probe.states
    source = "" if spec.return_state else " (probe with return_state=True)"
    if probe.unmasked:
        names = sorted(finals)
        measured = sorted(int(i) for run in probe.unmasked for i in run.rows)
        which = "" if len(measured) == len(padded) else f" (samples {', '.join(map(str, measured))})"
        checks.append(
            _equal(
                f"masking: each padded sample's final states{source} equal those of an unmasked run on its valid "
                f"steps only, x[i, :length_i]{which}: the padding changes no state",
                _flat([finals[n][run.rows] for run in probe.unmasked for n in names]),
                _flat([run.outputs[n] for run in probe.unmasked for n in names]),
            )
        )
        actual, expected = [], []
        for run in probe.unmasked:
            rows, length = run.rows, run.length
            if not spec.bidirectional:
                seq = run.outputs["output"]
                if spec.return_sequences:
                    at = out["output"][rows, t - length :] if spec.go_backwards else out["output"][rows, :length]
                    actual.append(at)
                    expected.append(seq)
                else:
                    actual.append(out["output"][rows])
                    expected.append(seq[:, -1])
                continue
            fwd, bwd = run.outputs["forward_output"], run.outputs["backward_output"]
            if spec.return_sequences:
                merged = _merge_directions(spec.merge_mode, fwd, bwd)
                actual += [out[n][rows, :length] for n in main]
            else:
                merged = _merge_directions(spec.merge_mode, fwd[:, -1], bwd[:, 0])
                actual += [out[n][rows] for n in main]
            expected += [merged[n] for n in main]
        if spec.return_sequences and spec.go_backwards and not spec.bidirectional:
            claim = (
                "masking: the outputs at the valid steps (go_backwards: the LAST length_i entries of output, "
                "read after the padding) equal those of the unmasked run on the valid steps only"
            )
        elif spec.return_sequences:
            claim = (
                "masking: the outputs at the valid steps, output[i, :length_i], equal those of the unmasked "
                "run on the valid steps only"
            )
        else:
            claim = (
                "masking: output (last step only) equals the output of the unmasked run on the valid steps "
                "only: it is h after each sample's last VALID step, not after the padding"
            )
        checks.append(_equal(claim, _flat(actual), _flat(expected)))
    if spec.bidirectional:
        if spec.return_sequences:
            masked = _flat([out[n][i, k:] for n in main for i, k in padded])
            diff = float(np.max(np.abs(masked)))
            checks.append(
                Check(
                    f"masking: Bidirectional returns zeros at masked steps ({where}): it sets "
                    "zero_output_for_mask=True when return_sequences",
                    diff <= EQUAL_TOLERANCE,
                    diff,
                    "equal",
                )
            )
        return checks
    if spec.go_backwards:
        if spec.return_sequences:
            masked = _flat([out["output"][i, : t - k] for i, k in padded])
            diff = float(np.max(np.abs(masked)))
            checks.append(
                Check(
                    f"masking with go_backwards: the padding ({where}) is read FIRST, so "
                    "output[i, :timesteps - length_i], before any valid step, is zeros",
                    diff <= EQUAL_TOLERANCE,
                    diff,
                    "equal",
                )
            )
        return checks
    lengths = np.asarray(spec.lengths)
    rows = np.arange(spec.batch)
    seq = out["output"] if spec.return_sequences else probe.seq  # the probe ran with the same mask
    seq_source = "" if spec.return_sequences else " (probe with return_sequences=True)"
    checks.append(
        _equal(
            f"masking: each sample's final state{source} equals its output at its last VALID step, "
            f"output[i, length_i - 1]{seq_source}",
            finals["state_h"],
            seq[rows, lengths - 1],
        )
    )
    if spec.return_sequences:
        repeated = _flat([seq[i, k:] - seq[i, k - 1] for i, k in padded])
        diff = float(np.max(np.abs(repeated)))
        checks.append(
            Check(
                f"masking: at masked steps ({where}) Keras repeats the last valid output "
                "output[i, length_i - 1]: it does not compute on the zero padding",
                diff <= EQUAL_TOLERANCE,
                diff,
                "equal",
            )
        )
    return checks


def masked_steps(spec: LayerSpec, out: dict[str, np.ndarray]) -> list[dict]:
    """Per padded sample: which output steps are masked and what Keras put there, measured.
    Only with return_sequences (otherwise no masked step is returned)."""
    if spec.lengths is None or not spec.return_sequences:
        return []
    t = spec.timesteps
    main = [n for n in spec.output_names() if "state" not in n]
    rows = []
    for i, n in _padded(spec):
        if spec.bidirectional:
            positions = list(range(n, t))
            there = "zeros (Bidirectional sets zero_output_for_mask=True)"
            diff = float(np.max(np.abs(_flat([out[name][i, n:] for name in main]))))
        elif spec.go_backwards:
            positions = list(range(0, t - n))
            there = f"zeros: go_backwards reads the padding (input {_steps_text(n, t)}) first, before any valid step"
            diff = float(np.max(np.abs(out["output"][i, : t - n])))
        else:
            positions = list(range(n, t))
            there = f"a repeat of output[{i}, {n - 1}], the output at the last valid step (step {n})"
            diff = max_abs_diff(
                out["output"][i, n:], np.broadcast_to(out["output"][i, n - 1], out["output"][i, n:].shape)
            )
        rows.append(
            {
                "sample": i,
                "length": n,
                "outputs": main,
                "masked_output_steps": positions,
                "output_there": there,
                "holds": diff <= EQUAL_TOLERANCE,
                "max_abs_diff": diff,
            }
        )
    return rows


def layer_data(spec: LayerSpec, result: Any = None, *, values: bool = False) -> dict[str, Any]:
    """The inspect object for one configuration, its facts measured. ``result`` is the runner's
    RunResult, or None for --static (names, shapes and parameters from the pure model only)."""
    if result is None and spec.keras_refusal():
        raise UsageError(
            f"--static cannot answer for {spec.keras_call()}: {spec.keras_refusal()}; "
            "drop --static to see what Keras itself says"
        )
    outputs = []
    for tensor in spec.outputs():
        shape = list(result.outputs[tensor.name].shape) if result is not None else list(tensor.shape)
        entry = {
            "name": tensor.name,
            "shape": shape,
            "axes": list(tensor.axes),
            "dtype": str(result.outputs[tensor.name].dtype) if result is not None else tensor.dtype,
            "meaning": tensor.meaning,
        }
        if values and result is not None:
            entry["values"] = result.outputs[tensor.name].tolist()
        outputs.append(entry)
    if result is not None:
        weights = [{"name": name, "shape": list(shape)} for name, shape in result.weights]
    else:
        weights = [{"name": w.name, "shape": list(w.shape)} for w in spec.weights()]
    params: dict[str, Any] = {"total": spec.param_total(), "formula": spec.param_formula(), "weights": weights}
    if spec.cells is not None:
        params["cells"] = spec.cell_params()
    data: dict[str, Any] = {
        "config": spec.config(),
        "keras_call": spec.keras_call(),
        "call": spec.call_text(),
        "keras_input": spec.keras_input(),
        "input": {
            "shape": list(spec.input_shape),
            "axes": list(spec.input_axes),
            "dtype": "float32",
            "source": spec.input,
            "notes": input_notes(spec),
        },
        "outputs": outputs,
        "params": params,
        "h_vs_c": spec.h_vs_c(),
        "static": result is None,
        "versions": versions(),
    }
    if spec.initial_state is not None:
        data["initial_state"] = {
            "source": spec.initial_state,
            "names": [name for name, _ in spec.initial_state_shapes()],
            "shapes": [list(shape) for _, shape in spec.initial_state_shapes()],
        }
        if values and result is not None and result.probe.initial_states is not None:
            data["initial_state"]["values"] = [s.tolist() for s in result.probe.initial_states]
    voided, notes = voided_facts(spec), option_notes(spec)
    if voided:
        data["voided_facts"] = voided
    if notes:
        data["notes"] = notes
    if result is not None:
        params["keras_count_params"] = result.count_params
        data["checks"] = [c.to_dict() for c in measure(spec, result.outputs, result.probe)]
        if spec.lengths is not None:
            data["masking"] = masked_steps(spec, result.outputs)
        if values:
            data["input"]["values"] = result.input.tolist()
    else:
        data["checks"] = []
        data["not_measured"] = "values and measured checks need a real run: drop --static"
    return data


def voided_facts(spec: LayerSpec) -> list[str]:
    """Facts rnnshape measures for the default options that the chosen options void: said, not
    printed as checks."""
    voided = []
    if spec.has_cell_state and spec.recurrent_activation not in BOUNDED_GATE_ACTIVATIONS:
        voided.append(
            f"|h| <= |{spec.activation}(c)|: recurrent_activation {spec.recurrent_activation} does not "
            "keep the output gate o in [0, 1]"
        )
    if spec.training and (spec.dropout or spec.recurrent_dropout):
        voided.append(
            "the facts that compare with other calls (probes, masking, Bidirectional halves, unroll, "
            "initial_state): with dropout in training every call draws new dropout masks (the same run "
            "after run, not from call to call)"
        )
    return voided


def option_notes(spec: LayerSpec) -> list[str]:
    """Rules of Keras about the chosen options, said once under the tables."""
    notes = []
    if spec.recurrent_dropout and not spec.conv:
        notes.append(
            "recurrent_dropout > 0 makes Keras compute the cell step by step (implementation=1) and "
            "never with the fused cuDNN kernel on a GPU (rule of Keras)"
        )
    if (spec.dropout or spec.recurrent_dropout) and not spec.training:
        notes.append(
            "dropout acts only when the layer is called with training=True (as model.fit does); "
            "add --training to see it"
        )
    if spec.unit_forget_bias is False and spec.use_bias and spec.bias_init is None:
        notes.append(
            "unit_forget_bias only sets the bias at initialization; rnnshape's own seeded weights replace "
            "it (give --bias-init to see Keras' initial bias)"
        )
    if spec.unroll:
        notes.append(
            "unroll=True builds one copy of the step per timestep: faster for short sequences, memory "
            "grows with timesteps (Keras: suitable for short sequences only)"
        )
    if spec.bidirectional and spec.unroll and spec.lengths is not None and spec.return_sequences:
        notes.append(
            "Keras 3's unrolled loop zeroes the masked steps of the backward direction at the wrong "
            "positions (it applies the mask in time order to outputs in reading order: "
            "keras/src/backend/tensorflow/rnn.py, unroll with zero_output_for_mask); the facts above "
            "that say NO show it"
        )
    return notes


def input_notes(spec: LayerSpec) -> list[str]:
    """Why the input has the shape it has, and what makes its numbers special."""
    notes: list[str] = list(spec.conv_arithmetic())
    if spec.input not in INPUT_KINDS:
        from rnnshape.files import load_input_file

        notes = list(load_input_file(spec.input).notes)
    padding = padding_note(spec)
    if padding:
        notes.append(padding)
    if spec.constant_weights:
        notes.append(
            "constant initializers: every unit has identical weights, so every unit computes the "
            "same number (which is why tutorials print repeated columns)"
        )
    return notes


def padding_note(spec: LayerSpec) -> str | None:
    """With --input FILE and --lengths: the file's numbers past each length are replaced by zeros
    (rnnshape pads every input with zeros after each sample's length), counted on the file."""
    if spec.lengths is None or spec.input in INPUT_KINDS or not _padded(spec):
        return None
    from rnnshape.files import load_input_file

    array = load_input_file(spec.input).array
    replaced = sum(int(np.count_nonzero(array[i, n:])) for i, n in _padded(spec))
    return (
        f"--lengths: the file's values at the padded steps ({_padded_text(spec)}) were replaced by zeros "
        f"({replaced} of them were not zero): rnnshape pads every sample with zeros after its length, "
        "like keras.utils.pad_sequences(..., padding='post') with its default value 0 (rule of Keras), and "
        "the mask makes Keras skip those steps"
    )


def expectations_data(comparisons: list[ShapeComparison]) -> list[dict[str, Any]]:
    return [
        {
            "name": c.name,
            "expected": list(c.expected),
            "actual": list(c.actual) if c.actual is not None else None,
            "holds": c.holds,
            "hint": c.hint,
        }
        for c in comparisons
    ]
