"""The facts of a masked run (--lengths): each sample's valid steps, padded steps and final state."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from rnnshape.measure.checks import EQUAL_TOLERANCE, Check, max_abs_diff
from rnnshape.measure.checks import equal as _equal
from rnnshape.measure.checks import flat as _flat
from rnnshape.rules.layer import LayerSpec

if TYPE_CHECKING:
    from rnnshape.runner.layer import Probe


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
