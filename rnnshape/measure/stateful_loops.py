"""The claims of `rnnshape stateful --fit/--windows/--save-load`, each measured on the plain arrays
of runner.stateful_loops, and the data objects of JSON and the view."""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnshape.measure.checks import EQUAL_TOLERANCE, Check, differ, equal, flat, max_abs_diff
from rnnshape.rules.layer import LayerSpec
from rnnshape.rules.stateful import state_names
from rnnshape.rules.stateful_loops import FIT_RULES, SAVE_RULES, WINDOW_RULES, FitPlan, history_text


def _named(names: list[str], arrays: list[np.ndarray]) -> dict[str, Any]:
    return {name: np.asarray(a).tolist() for name, a in zip(names, arrays)}


def _zero_diff(arrays: list[np.ndarray]) -> float:
    return float(np.max(np.abs(flat(arrays))))


# ---- fit --------------------------------------------------------------------------------------
def _rows(
    plan: FitPlan, batch: Any, histories: list[list[tuple[int, int, int]]], previous: list[tuple[int, int] | None]
) -> list[dict[str, Any]]:
    """Which sample each row of ``batch`` read (the candidate whose forward pass from the row's
    entering state gives its leaving state), whether it continues that row's previous sample,
    and what the row's state has read since the last reset."""
    rows = []
    for row in range(plan.series):
        diffs = batch.candidates[row]
        sample = int(np.argmin(diffs))
        series, chunk = plan.sample(sample)
        before = previous[row]
        continues = (chunk == 0) if before is None else (before == (series, chunk - 1))
        read_before = history_text(histories[row])
        start, stop = plan.steps(chunk)
        histories[row].append((series, start, stop))
        previous[row] = (series, chunk)
        rows.append(
            {
                "row": row,
                "sample": sample,
                "series": series,
                "steps": [start, stop],
                "continues": bool(continues),
                "state_had_read": read_before,
                "forward_pass_max_abs_diff": float(diffs[sample]),
            }
        )
    return rows


def fit_data(spec: LayerSpec, plan: FitPlan, run: Any) -> dict[str, Any]:
    names = state_names(spec)
    batches, checks = [], []
    histories: list[list[tuple[int, int, int]]] = [[] for _ in range(plan.series)]
    previous: list[tuple[int, int] | None] = [None] * plan.series
    carried, starts_reset, starts_kept = [], [], []
    wrong = wrong_within = 0
    for index, batch in enumerate(run.batches):
        if batch.batch == 0 and plan.reset:
            histories = [[] for _ in range(plan.series)]
            previous = [None] * plan.series
        if index > 0 and (batch.batch > 0 or not plan.reset):
            carried.append(max_abs_diff(flat(batch.entering), flat(run.batches[index - 1].leaving)))
        if batch.batch == 0 and batch.epoch > 0:
            (starts_reset if plan.reset else starts_kept).append(_zero_diff(batch.entering))
        rows = _rows(plan, batch, histories, previous)
        wrong += sum(not r["continues"] for r in rows)
        if batch.batch > 0:
            wrong_within += sum(not r["continues"] for r in rows)
        batches.append(
            {
                "epoch": batch.epoch,
                "batch": batch.batch,
                "loss": batch.loss,
                "rows": rows,
                "entering_state": _named(names, batch.entering),
                "leaving_state": _named(names, batch.leaving),
            }
        )
    pairs = len(carried)
    checks.append(
        Check(
            f"the state entering batch k+1 equals the state leaving batch k, row by row, read from the "
            f"layer's state variables in a callback ({pairs} pairs"
            f"{', across epochs too (no reset)' if not plan.reset else ''})",
            max(carried, default=0.0) <= EQUAL_TOLERANCE,
            max(carried, default=0.0),
            "equal",
        )
    )
    forward = max(r["forward_pass_max_abs_diff"] for b in batches for r in b["rows"])
    checks.append(
        Check(
            "the state leaving each batch equals a forward pass of a non-stateful layer with that batch's "
            "weights (before its update), started from the state entering it (initial_state), over the "
            "sample the row held (found among all samples)",
            forward <= EQUAL_TOLERANCE,
            forward,
            "equal",
        )
    )
    checks.append(
        Check(
            "the first batch of the first epoch starts from zeros",
            _zero_diff(run.batches[0].entering) <= EQUAL_TOLERANCE,
            _zero_diff(run.batches[0].entering),
            "equal",
        )
    )
    if starts_reset:
        checks.append(
            Check(
                "after layer.reset_state() every later epoch starts from zeros",
                max(starts_reset) <= EQUAL_TOLERANCE,
                max(starts_reset),
                "equal",
            )
        )
    if starts_kept:
        checks.append(
            Check(
                "without a reset every later epoch starts from the state the previous epoch left (not zeros)",
                min(starts_kept) > EQUAL_TOLERANCE,
                min(starts_kept),
                "differ",
            )
        )
    rows_total = len(batches) * plan.series
    if plan.shuffle:
        checks.append(
            Check(
                f"shuffle=True: {wrong} of the {rows_total} rows read a sample that does not continue "
                "the sample the same row read before (the wrong history)",
                wrong > 0,
                float(wrong),
                "differ",
            )
        )
    else:
        within = rows_total - plan.series * plan.epochs
        checks.append(
            Check(
                f"shuffle=False: within each epoch all {within} rows of batches 2..{plan.chunks} read the "
                "chunk that continues the row's previous chunk (row i of batch k+1 continues row i of "
                "batch k)",
                wrong_within == 0,
                float(wrong_within),
                "equal",
            )
        )
    if not plan.reset and plan.epochs > 1:
        starts = wrong - wrong_within
        checks.append(
            Check(
                f"without a reset, {starts} rows of the later epochs' first batches read chunk 1 of a series "
                "with a state that has read the previous epoch (the wrong history)",
                starts > 0,
                float(starts),
                "differ",
            )
        )
    partial = _partial_data(plan, run.partial, checks)
    return {
        "loop": "fit",
        "config": spec.config(),
        "keras_call": spec.keras_call(),
        "keras_input": f"keras.Input(batch_shape=({plan.series}, {plan.chunk}, {spec.features}))",
        "keras_loop": plan.keras_loop(),
        "fit": {
            "epochs": plan.epochs,
            "series": plan.series,
            "timesteps": plan.chunks * plan.chunk,
            "chunk": plan.chunk,
            "chunks": plan.chunks,
            "samples": plan.samples,
            "batch_size": plan.series,
            "shuffle": plan.shuffle,
            "reset": plan.reset,
            "arrangement": f"X[k*{plan.series} + i] = x[i, k*{plan.chunk}:(k+1)*{plan.chunk}] (chunk k of series i)",
            "target": "y = the mean of the chunk's steps, Dense(features) head, loss mse",
            "optimizer": "SGD(learning_rate=0.01)",
            "X_shape": list(run.X.shape),
            "y_shape": list(run.y.shape),
            "epoch_losses": list(run.losses),
        },
        "input": {
            "shape": list(run.x.shape),
            "axes": ["series", "timesteps", "features"],
            "dtype": "float32",
            "values": run.x.tolist(),
        },
        "state_names": names,
        "batches": batches,
        "wrong_history_rows": wrong,
        "partial_batch": partial,
        "checks": [c.to_dict() for c in checks],
        "api": dict(run.api),
        "rules": list(FIT_RULES),
    }


def _partial_data(plan: FitPlan, partial: Any, checks: list[Check]) -> dict[str, Any] | None:
    if partial is None:
        return None
    short = partial.samples % partial.batch_size
    data: dict[str, Any] = {
        "samples": partial.samples,
        "batch_size": partial.batch_size,
        "last_batch_samples": short,
        "raised": partial.error is not None,
        "type": partial.error[0] if partial.error else None,
        "message": partial.error[1] if partial.error else None,
        "batches_seen": partial.batches_seen,
        "read_from_rows": None,
        "forward_pass_max_abs_diff": None,
        "predict_rows": partial.predict_rows,
        "predict_type": partial.predict_error[0] if partial.predict_error else None,
        "predict_message": partial.predict_error[1] if partial.predict_error else None,
    }
    if partial.error is not None:
        checks.append(
            Check(
                f"fit on {partial.samples} samples with batch_size={partial.batch_size} (the last batch "
                f"holds {short}): Keras raised {partial.error[0]}",
                True,
                0.0,
                "equal",
            )
        )
    elif partial.last is not None and partial.last.candidates is not None:
        cand = partial.last.candidates
        read = [int(np.argmin(cand[row])) for row in range(cand.shape[0])]
        diff = float(max(cand[row, j] for row, j in enumerate(read)))
        data["read_from_rows"] = read
        data["forward_pass_max_abs_diff"] = diff
        checks.append(
            Check(
                f"fit on {partial.samples} samples with batch_size={partial.batch_size} raised no error: "
                f"the last batch held {short} sample{'s' if short != 1 else ''} and every one of the "
                f"{cand.shape[0]} rows' states read sample {partial.samples} (each row's leaving state "
                "equals that sample read from the row's entering state: the sample was broadcast "
                "against every row)",
                diff <= EQUAL_TOLERANCE and len(set(read)) == 1,
                diff,
                "equal",
            )
        )
        if partial.predict_rows is not None:
            checks.append(
                Check(
                    f"model.predict on those {partial.samples} samples returned {partial.predict_rows} rows",
                    True,
                    float(abs(partial.predict_rows - partial.samples)),
                    "differ" if partial.predict_rows != partial.samples else "equal",
                )
            )
    return data


# ---- overlapping windows ----------------------------------------------------------------------
def _read_text(k: int, look_back: int) -> str:
    """What the state entering window k+1 (k windows fed) has read."""
    if k == 0:
        return "nothing (zeros)"
    if k == 1:
        return f"steps 1..{look_back}"
    return f"windows 1..{k}: {k * look_back} steps of 1..{k + look_back - 1}"


def windows_data(spec: LayerSpec, look_back: int, run: Any) -> dict[str, Any]:
    names = state_names(spec)
    h_seq, *one_finals = run.one_pass
    read_seq, *read_finals = run.as_read
    rows, checks = [], []
    entering_vs_read, entering_vs_right, output_vs_one = [], [], []
    for k, (entering, _leaving, output) in enumerate(run.windows):
        h_in = entering[0]
        vs_read = max_abs_diff(h_in, read_seq[:, k * look_back - 1]) if k else max_abs_diff(h_in, 0 * h_in)
        vs_right = max_abs_diff(h_in, h_seq[:, k - 1]) if k else max_abs_diff(h_in, 0 * h_in)
        vs_one = max_abs_diff(output, h_seq[:, k + look_back - 1])
        if k:
            entering_vs_read.append(vs_read)
            entering_vs_right.append(vs_right)
        output_vs_one.append(vs_one)
        rows.append(
            {
                "index": k,
                "steps": [k, k + look_back],
                "state_had_read": _read_text(k, look_back),
                "steps_read_again": look_back - 1 if k else 0,
                "entering_h_vs_windows_read_max_abs_diff": vs_read,
                "entering_h_vs_one_pass_max_abs_diff": vs_right,
                "output_vs_one_pass_max_abs_diff": vs_one,
                "entering_state": _named(names, entering),
                "output": np.asarray(output).tolist(),
            }
        )
    count = len(run.windows)
    if count > 1:
        checks.append(
            Check(
                f"the state h entering window k+1 equals h of one non-stateful pass over windows 1..k "
                f"concatenated (k*{look_back} steps): it has read steps 1..k+{look_back - 1}, "
                f"{look_back - 1} of them again in every window",
                max(entering_vs_read) <= EQUAL_TOLERANCE,
                max(entering_vs_read),
                "equal",
            )
        )
        checks.append(
            equal(
                "after the last window the state variables equal the final states of that pass over the "
                "windows concatenated",
                flat(run.windows[-1][1]),
                flat(read_finals),
            )
        )
        if look_back > 1:
            checks.append(
                Check(
                    "...and differ from the state window k+1 should start from (one pass over steps 1..k "
                    "of the series), largest over the windows",
                    max(entering_vs_right) > EQUAL_TOLERANCE,
                    max(entering_vs_right),
                    "differ",
                )
            )
            checks.append(
                Check(
                    "the windows' outputs differ from one pass over the series at each window's last step "
                    "(window 1 alone is equal), largest over the windows",
                    max(output_vs_one[1:]) > EQUAL_TOLERANCE,
                    max(output_vs_one[1:]),
                    "differ",
                )
            )
    checks.append(
        Check(
            f"window 1 (from zeros) equals one pass over the series at step {look_back}",
            output_vs_one[0] <= EQUAL_TOLERANCE,
            output_vs_one[0],
            "equal",
        )
    )
    chunks = []
    steps = run.x.shape[1]
    chunk_diffs = []
    for j, (_entering, _leaving, output) in enumerate(run.chunks):
        start, stop = j * look_back, min(steps, (j + 1) * look_back)
        diff = max_abs_diff(output, h_seq[:, stop - 1])
        chunk_diffs.append(diff)
        chunks.append(
            {
                "index": j,
                "steps": [start, stop],
                "output_vs_one_pass_max_abs_diff": diff,
                "output": np.asarray(output).tolist(),
            }
        )
    checks.append(
        Check(
            f"the right arrangement: non-overlapping consecutive chunks of {look_back} steps fed to the "
            "same stateful layer (after a reset) give one pass's output at each chunk's last step",
            max(chunk_diffs) <= EQUAL_TOLERANCE,
            max(chunk_diffs),
            "equal",
        )
    )
    checks.append(
        equal("...and its final state equals one pass's final state", flat(run.chunks[-1][1]), flat(one_finals))
    )
    return {
        "loop": "windows",
        "config": spec.config(),
        "keras_call": spec.keras_call(),
        "keras_input": f"keras.Input(batch_shape=({spec.batch}, {look_back}, {spec.features}))",
        "look_back": look_back,
        "windows_recipe": f"X[k] = series[k:k+{look_back}] (rnnshape window --look-back {look_back} --stride 1)",
        "input": {
            "shape": list(run.x.shape),
            "axes": ["series", "timesteps", "features"],
            "dtype": "float32",
            "values": run.x.tolist(),
        },
        "state_names": names,
        "windows": rows,
        "steps_read": count * look_back,
        "series_steps": steps,
        "chunks": chunks,
        "checks": [c.to_dict() for c in checks],
        "rules": list(WINDOW_RULES),
    }


# ---- save and load ----------------------------------------------------------------------------
def save_load_data(spec: LayerSpec, bounds: list[tuple[int, int]], run: Any) -> dict[str, Any]:
    names = state_names(spec)
    kept = max_abs_diff(flat(run.after_load), flat(run.before_save))
    restored = kept <= EQUAL_TOLERANCE
    zero_after = _zero_diff(run.after_load)
    checks = [
        differ(
            "before model.save the state variables hold the chunks read (not zeros)",
            flat(run.before_save),
            0 * flat(run.before_save),
        ),
        Check(
            "model.save / keras.saving.load_model (.keras) kept the weights",
            run.weights_diff <= EQUAL_TOLERANCE,
            run.weights_diff,
            "equal",
        ),
    ]
    if restored:
        checks.append(
            Check(
                "the loaded layer's state variables equal those at save time: the state came back", True, kept, "equal"
            )
        )
    else:
        checks.append(
            Check(
                "the loaded layer's state variables are NOT those at save time (max |diff| from them); "
                f"they are zeros (max |value| {zero_after:.3g}): the state was not saved",
                zero_after <= EQUAL_TOLERANCE,
                kept,
                "differ",
            )
        )
    checks.append(
        equal(
            "the loaded model fed the last chunk returns what the original returns after reset_state(): it starts over",
            run.loaded_continued,
            run.fresh,
        )
    )
    checks.append(
        differ("...and differs from the original model continuing from its state", run.loaded_continued, run.continued)
    )
    start, stop = bounds[-1]
    return {
        "loop": "save_load",
        "config": spec.config(),
        "keras_call": spec.keras_call(),
        "keras_input": "keras.Input(batch_shape=(" + ", ".join(str(d) for d in run.batch_shape) + "))",
        "split": [b - a for a, b in bounds],
        "fed_before_save": [[a, b] for a, b in bounds[:-1]],
        "last_chunk": [start, stop],
        "input": {
            "shape": list(run.x.shape),
            "axes": ["batch", "timesteps", "features"],
            "dtype": "float32",
            "values": run.x.tolist(),
        },
        "state_names": names,
        "saved_variables": [p for p in run.saved_paths if not p.startswith("seed_generator")],
        "state_variables": list(run.state_paths),
        "state_restored": bool(restored),
        "before_save": _named(names, run.before_save),
        "after_load": _named(names, run.after_load),
        "weights_max_abs_diff": run.weights_diff,
        "continued_output": np.asarray(run.continued).tolist(),
        "loaded_output": np.asarray(run.loaded_continued).tolist(),
        "reset_output": np.asarray(run.fresh).tolist(),
        "other_batch_predict": {
            "batch": run.predict_batch,
            "raised": run.predict_error is not None,
            "type": run.predict_error[0] if run.predict_error else None,
            "message": run.predict_error[1] if run.predict_error else None,
            "rows": run.predict_rows,
        },
        "checks": [c.to_dict() for c in checks],
        "rules": list(SAVE_RULES),
    }
