"""rnnshape trace, measured: every gate and state of every timestep recomputed in numpy
(measure.cells) from the real layer's weights and checked against what Keras returned (the
runner's TraceRun of plain arrays), and the trace object of JSON and tables.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnshape.errors import BackendError
from rnnshape.measure import cells
from rnnshape.measure.checks import EQUAL_TOLERANCE, RECOMPUTE_TOLERANCE, Check, max_abs_diff
from rnnshape.measure.inspect import padding_note
from rnnshape.rules.layer import LayerSpec
from rnnshape.rules.trace import equations, reading_text, weights_layout

# Above this the numpy recomputation does not describe the layer: exit 3.
TOLERANCE = RECOMPUTE_TOLERANCE


# ---- recomputation ------------------------------------------------------------------------------
def direction_name(run_direction: Any) -> str:
    """Directions are named by the way they read: forward (x_1 first) or backward (x_T first)."""
    return "backward" if run_direction.go_backwards else "forward"


def recompute(run: Any) -> list[cells.CellTrace]:
    """Each direction of ``run`` (the runner's TraceRun) recomputed in numpy."""
    traces = []
    for d in run.directions:
        try:
            traces.append(
                cells.run(
                    run.spec.layer,
                    run.input,
                    cells.CellWeights(d.kernel, d.recurrent_kernel, d.bias),
                    activation_name=d.activation,
                    recurrent_activation_name=d.recurrent_activation,
                    reset_after=bool(d.reset_after),
                    go_backwards=d.go_backwards,
                    mask=run.mask,
                )
            )
        except ValueError as exc:
            raise BackendError(f"cannot recompute {run.spec.keras_call()}: {exc}") from exc
    return traces


def expected_outputs(spec: LayerSpec, traces: list[cells.CellTrace]) -> dict[str, np.ndarray]:
    """The tensors the layer returns, assembled from the recomputed steps by Keras' rules."""
    if not spec.bidirectional:
        tr = traces[0]
        out = {"output": tr.h if spec.return_sequences else tr.h[:, -1]}
        if spec.return_state:
            out["state_h"] = tr.h[:, -1]
            if tr.c is not None:
                out["state_c"] = tr.c[:, -1]
        return out
    fwd, bwd = traces
    if spec.return_sequences:
        # Bidirectional sets zero_output_for_mask=True when returning sequences, and flips the
        # backward layer's sequence back to time order.
        y = np.where(fwd.masked[:, :, None], 0.0, fwd.h)
        y_rev = np.flip(np.where(bwd.masked[:, :, None], 0.0, bwd.h), axis=1)
    else:
        y, y_rev = fwd.h[:, -1], bwd.h[:, -1]
    mode = spec.merge_mode
    out: dict[str, np.ndarray] = {}
    if mode == "none":
        out["forward_output"], out["backward_output"] = y, y_rev
    else:
        out["output"] = {
            "concat": lambda: np.concatenate([y, y_rev], axis=-1),
            "sum": lambda: y + y_rev,
            "mul": lambda: y * y_rev,
            "ave": lambda: (y + y_rev) / 2,
        }[mode]()
    if spec.return_state:
        for name, tr in (("forward", fwd), ("backward", bwd)):
            out[f"{name}_state_h"] = tr.h[:, -1]
            if tr.c is not None:
                out[f"{name}_state_c"] = tr.c[:, -1]
    return out


def _equal(claim: str, a: np.ndarray, b: np.ndarray) -> Check:
    """Equal within TOLERANCE, relative to the value where Keras' value exceeds 1 in magnitude
    (float32 keeps ~7 digits: h of 1.6e8 under an exponential activation is off by ~600)."""
    diff = max_abs_diff(a, b)
    return Check(claim, diff <= TOLERANCE or relative_diff(a, b) <= TOLERANCE, diff, "equal")


def relative_diff(a: Any, b: Any) -> float:
    """max |a - b| / max(1, |b|): the absolute difference for values up to 1, relative above."""
    a64, b64 = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a64.size == 0:
        return 0.0
    return float(np.max(np.abs(a64 - b64) / np.maximum(1.0, np.abs(b64))))


def non_finite_outputs(run: Any) -> list[str]:
    """The tensors of a traced run (returned, or a direction's steps) holding inf or nan."""
    found = [name for name, value in run.outputs.items() if not np.all(np.isfinite(value))]
    found += [f"{d.keras_name} steps" for d in run.directions if not np.all(np.isfinite(d.seq))]
    return found


def measure(run: Any, traces: list[cells.CellTrace]) -> list[Check]:
    """The recomputation against Keras: every step of every direction, the final cell
    state, and every tensor the real layer returned (all samples of the batch)."""
    spec = run.spec
    checks: list[Check] = []
    samples = f"all {spec.batch} samples" if spec.batch > 1 else "1 sample"
    for d, tr in zip(run.directions, traces):
        name = direction_name(d)
        checks.append(
            _equal(
                f"{name}: recomputed h at every step equals Keras' h ({d.keras_name} "
                f"twin returning every step, same weights; {samples})",
                tr.h,
                d.seq,
            )
        )
        if tr.c is not None:
            checks.append(_equal(f"{name}: recomputed final c equals Keras' final cell state", tr.c[:, -1], d.c))
    expected = expected_outputs(spec, traces)
    for out_name, value in run.outputs.items():
        shape = "(" + ", ".join(str(n) for n in value.shape) + ")"
        checks.append(
            _equal(f"{out_name} {shape}, returned by the layer, equals its recomputation", value, expected[out_name])
        )
    if spec.layer == "lstm" and not spec.bidirectional:
        tr = traces[0]
        c_like = tr.c if spec.return_sequences else tr.c[:, -1]
        diff = max_abs_diff(run.outputs["output"], c_like)
        checks.append(
            Check(
                "output is h, not c: it differs from the recomputed c at the same steps",
                diff > EQUAL_TOLERANCE,
                diff,
                "differ",
            )
        )
    if run.mask is None and spec.timesteps > 1:
        for d, _trace in zip(run.directions, traces):
            other = cells.run(
                spec.layer,
                run.input,
                cells.CellWeights(d.kernel, d.recurrent_kernel, d.bias),
                activation_name=d.activation,
                recurrent_activation_name=d.recurrent_activation,
                reset_after=bool(d.reset_after),
                go_backwards=not d.go_backwards,
            )
            wrong = "x_1 first" if d.go_backwards else "x_T first"
            diff = max_abs_diff(other.h, d.seq)
            checks.append(
                Check(
                    f"{direction_name(d)}: reading the other way ({wrong}) would not reproduce Keras",
                    diff > EQUAL_TOLERANCE,
                    diff,
                    "differ",
                )
            )
    return checks


def worst_difference(checks: list[Check]) -> float:
    return max((c.max_abs_diff for c in checks if c.kind == "equal"), default=0.0)


# ---- where the returned tensors come from ------------------------------------------------------
def _merged_position(spec: LayerSpec, direction: str, index: str) -> str:
    """Where Bidirectional puts ``direction``'s h at ``index`` ("sample" or "sample, time") of its
    output, by merge mode: its half of the concatenation, its own output, or merged into output."""
    mode = spec.merge_mode
    if mode == "concat":
        half = f":{spec.units}" if direction == "forward" else f"{spec.units}:"
        return f"output[{index}, {half}]"
    if mode == "none":
        return f"{direction}_output[{index}]"
    return f"output[{index}] ({mode})"


def _output_positions(
    spec: LayerSpec, direction: str, k: int, t: int, s: int, masked: bool
) -> tuple[list[str], list[str]]:
    """The outputs (not the states) that hold this step's h, and those that hold zeros instead."""
    last = k == spec.timesteps - 1
    if not spec.bidirectional:
        if spec.return_sequences:
            return [f"output[{s}, {k}]"], []  # in reading order, also under go_backwards
        return ([f"output[{s}]"] if last else []), []
    if spec.return_sequences:
        position = _merged_position(spec, direction, f"{s}, {t}")
        # Bidirectional puts zeros at masked steps of the sequence instead of h.
        return ([], [position]) if masked else ([position], [])
    return ([_merged_position(spec, direction, f"{s}")] if last else []), []


def returned_as(spec: LayerSpec, direction: str, k: int, t: int, sample: int, masked: bool) -> dict[str, list[str]]:
    """Which returned tensors hold this step's h (and c): reading step k (0-based) of
    ``direction``, which read x at time index t (0-based), for one sample."""
    s, last = sample, k == spec.timesteps - 1
    h, zero = _output_positions(spec, direction, k, t, s, masked)
    c: list[str] = []
    if spec.return_state and last:
        prefix = f"{direction}_" if spec.bidirectional else ""
        h.append(f"{prefix}state_h[{s}]")
        if spec.has_cell_state:
            c.append(f"{prefix}state_c[{s}]")
    out = {"h": h}
    if spec.has_cell_state:
        out["c"] = c
    if zero:
        out["zero"] = zero
    return out


def _vec(a: np.ndarray) -> list[float]:
    return [float(v) for v in a]


def trace_data(
    run: Any,
    traces: list[cells.CellTrace],
    checks: list[Check],
    *,
    sample: int,
    chosen: tuple[int, ...] | None,
    versions: dict[str, str],
) -> dict[str, Any]:
    spec = run.spec
    reset_after = spec.reset_after
    s = sample
    config = spec.config()
    config.update({"sample": sample, "steps": list(chosen) if chosen is not None else None})
    first = run.directions[0]
    steps: list[dict[str, Any]] = []
    directions: list[dict[str, Any]] = []
    chosen_set = set(chosen) if chosen is not None else None
    for d, tr in zip(run.directions, traces):
        name = direction_name(d)
        final = {"h": _vec(tr.h[s, -1])}
        if tr.c is not None:
            final["c"] = _vec(tr.c[s, -1])
        directions.append(
            {
                "direction": name,
                "keras_layer": d.keras_name,
                "go_backwards": d.go_backwards,
                "reads": reading_text(name, spec.timesteps),
                "reading_order": [int(t) + 1 for t in tr.order],
                "final": final,
                "max_abs_diff": max_abs_diff(tr.h, d.seq),
            }
        )
        for k, t in enumerate(tr.order):
            t = int(t)
            if chosen_set is not None and t + 1 not in chosen_set:
                continue
            masked = bool(tr.masked[s, k])
            step: dict[str, Any] = {
                "direction": name,
                "step": k + 1,
                "t": t + 1,
                "x": [float(str(v)) for v in run.input[s, t]],  # shortest decimal of each float32
                "gates": None if masked else {g: _vec(tr.gates[g][s, k]) for g in tr.gates},
                "h": _vec(tr.h[s, k]),
                "masked": masked,
                "returned_as": returned_as(spec, name, k, t, s, masked),
            }
            if tr.c is not None:
                step["c"] = _vec(tr.c[s, k])
            if tr.pre_activation is not None:
                step["pre_activation"] = None if masked else _vec(tr.pre_activation[s, k])
            steps.append(step)
    worst = worst_difference(checks)
    notes = []
    if spec.batch > 1:
        notes.append(f"showing sample {s} of {spec.batch} (--sample); the checks cover every sample")
    if spec.lengths is not None:
        notes.append(
            f"sample {s} has {spec.lengths[s]} valid steps of {spec.timesteps}: at a masked step "
            "Keras keeps h" + (" and c" if spec.has_cell_state else "") + " unchanged (rule of Keras, measured "
            "above: the recomputation carries the state over and matches)"
        )
        padding = padding_note(spec)
        if padding:
            notes.append(padding)
        if spec.bidirectional and spec.return_sequences:
            notes.append(
                "Bidirectional returns zeros at masked steps of the sequence (rule of Keras: it sets "
                "zero_output_for_mask=True when returning sequences); the states still carry over"
            )
    if spec.stateful:
        notes.append(
            "stateful=True: this first call starts from zero states like any other; Keras keeps "
            "the final states for the next batch (rule of Keras)"
        )
    return {
        "config": config,
        "keras_call": spec.keras_call(),
        "input": {"shape": list(spec.input_shape), "axes": ["batch", "timesteps", "features"], "dtype": "float32"},
        "activations": {"activation": first.activation, "recurrent_activation": first.recurrent_activation},
        "equations": equations(spec.layer, first.activation, first.recurrent_activation, reset_after),
        "weights_layout": weights_layout(spec.layer, reset_after),
        "gates": {g: cells.GATE_MEANINGS[g] for g in cells.GATE_NAMES[spec.layer]},
        "directions": directions,
        "steps": steps,
        "checks": [c.to_dict() for c in checks],
        "max_abs_diff": worst,
        "tolerance": TOLERANCE,
        "agrees": all(c.holds for c in checks if c.kind == "equal"),
        "notes": notes,
        "versions": versions,
    }


def verdict_error(data: dict[str, Any]) -> BackendError | None:
    """A difference above TOLERANCE means the trace would explain a different computation."""
    if data["agrees"]:
        return None
    return BackendError(
        f"the numpy recomputation differs from Keras by {data['max_abs_diff']:.3g} "
        f"(limit {TOLERANCE:g}): this trace does not explain {data['keras_call']}"
    )
