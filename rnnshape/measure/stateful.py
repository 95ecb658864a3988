"""The claims of `rnnshape stateful`, each measured on the plain arrays of the runner's
StatefulRun, and the stateful object of JSON and tables."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnshape.measure.checks import EQUAL_TOLERANCE, Check, flat, max_abs_diff
from rnnshape.rules.layer import LayerSpec
from rnnshape.rules.stateful import (
    BIDIRECTIONAL_RULE,
    GO_BACKWARDS_RULE,
    RULES,
    Direction,
    chunk_bounds,
    directions,
    keras_input,
    one_pass_names,
    order_text,
    read_order,
    shuffle_rows,
    state_names,
)


# ---- expected outputs from one sequence of h per direction ----------------------------------
def _time_ordered(seq: np.ndarray, direction: Direction) -> np.ndarray:
    """A sequence as the layer returns it -> time order (also the inverse: it is its own)."""
    returned_in_time_order = direction.reversed == direction.flipped
    return seq if returned_in_time_order else seq[:, ::-1]


def _merge(spec: LayerSpec, parts: list[np.ndarray]) -> dict[str, np.ndarray]:
    if not spec.bidirectional:
        return {"output": parts[0]}
    fwd, bwd = parts
    mode = spec.merge_mode
    if mode == "none":
        return {"forward_output": fwd, "backward_output": bwd}
    merged = {
        "concat": lambda: np.concatenate([fwd, bwd], axis=-1),
        "sum": lambda: fwd + bwd,
        "mul": lambda: fwd * bwd,
        "ave": lambda: (fwd + bwd) / np.float32(2),
    }[mode]()
    return {"output": merged}


def expected_chunk_outputs(spec: LayerSpec, h_time: list[np.ndarray], start: int, stop: int) -> dict[str, np.ndarray]:
    """What the stateful layer returns for chunk [start, stop) if, per direction, h after
    reading step t is h_time[d][:, t]."""
    parts = []
    for direction, h in zip(directions(spec), h_time):
        if spec.return_sequences:
            parts.append(_time_ordered(h[:, start:stop], direction))
        else:
            parts.append(h[:, start] if direction.reversed else h[:, stop - 1])
    return _merge(spec, parts)


# ---- measuring ---------------------------------------------------------------------------------


def _equal(claim: str, a: list[np.ndarray], b: list[np.ndarray]) -> Check:
    diff = max_abs_diff(flat(a), flat(b))
    return Check(claim, diff <= EQUAL_TOLERANCE, diff, "equal")


def _differ(claim: str, a: list[np.ndarray], b: list[np.ndarray]) -> Check:
    diff = max_abs_diff(flat(a), flat(b))
    return Check(claim, diff > EQUAL_TOLERANCE, diff, "differ")


def _zeros(arrays: list[np.ndarray]) -> list[np.ndarray]:
    return [np.zeros_like(a) for a in arrays]


def _values(outputs: dict[str, np.ndarray]) -> list[np.ndarray]:
    return [outputs[name] for name in sorted(outputs)]


def _shape_text(shape: tuple[int | None, ...]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


def model_check(spec: LayerSpec, run: Any) -> Check:
    """The recommended keras.Input in a keras.Model, fed every chunk: same outputs and final
    state as the stateful layer itself (a chunk it refuses fails the check, diff unknown)."""
    model = run.model
    declared = f"keras.Input(batch_shape={_shape_text(model.batch_shape)})"
    count = len(run.chunks)
    claim = (
        f"in a model: keras.Model built from {declared} and this stateful layer (same weights) accepts "
        f"all {count} chunk{'s' if count > 1 else ''} fed in turn and returns, chunk after chunk, what the "
        "layer returned, final state included"
    )
    if model.refused is not None:
        index, kind, message = model.refused
        return Check(f"{claim} - but it refused chunk {index}: {kind}: {message}", False, float("inf"), "equal")
    diff = max_abs_diff(
        flat([v for call in model.outputs for v in call] + model.final),
        flat([v for call in run.chunks for v in call.outputs] + run.chunks[-1].final),
    )
    return Check(claim, diff <= EQUAL_TOLERANCE, diff, "equal")


@dataclass
class Analysis:
    checks: list[Check]
    single_pass: dict[str, Any]


def _main_outputs(out_names: list[str], call: Any) -> dict[str, np.ndarray]:
    """The outputs of one call by name, the returned states left out."""
    return {n: v for n, v in zip(out_names, call.outputs) if "state" not in n}


def _carry_checks(chunks: list[Any], count: int) -> list[Check]:
    """Chunk 1 starts from zeros; each later chunk starts from the previous chunk's final state,
    row by row; chunk 2 does not start from zeros."""
    checks = [
        _equal(
            "chunk 1 starts from zeros (a freshly built stateful layer)",
            chunks[0].initial,
            _zeros(chunks[0].initial),
        )
    ]
    for k in range(1, count):
        checks.append(
            _equal(
                f"chunk {k + 1} starts from chunk {k}'s final state: its initial state "
                f"variables equal chunk {k}'s final ones, row i from row i "
                "(sample i continues sample i)",
                chunks[k].initial,
                chunks[k - 1].final,
            )
        )
    if count > 1:
        checks.append(
            _differ(
                "chunk 2's initial state is not the zero state chunk 1 started from",
                chunks[1].initial,
                _zeros(chunks[1].initial),
            )
        )
    return checks


def _one_pass_h(spec: LayerSpec, dirs: list[Direction], one: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Per direction, the h sequence of the one non-stateful pass, in time order."""
    if spec.bidirectional:
        return [_time_ordered(one[d.prefix + "output"], d) for d in dirs]
    return [_time_ordered(one["output"], dirs[0])]


def _one_pass_texts(spec: LayerSpec, dirs: list[Direction], bounds: list[tuple[int, int]]) -> tuple[str, str]:
    """The claim against the one non-stateful pass, and what that comparison compared."""
    if spec.return_sequences:
        one_claim = (
            "the chunk outputs, concatenated along time, equal one non-stateful pass over the "
            "whole sequence (same weights)"
        )
        compared = (
            "the chunk outputs concatenated along time against one non-stateful pass over the whole "
            "sequence; final state against that pass's final state"
        )
        return one_claim, compared
    if any(d.reversed for d in dirs):
        where = "the step each direction read last"
    else:
        where = ("step " if len(bounds) == 1 else "steps ") + ", ".join(str(stop) for _start, stop in bounds)
    one_claim = (
        f"each chunk's output (its last step only, return_sequences=False) equals the output of "
        f"one non-stateful pass over the whole sequence at that chunk's last step ({where}; "
        "probe with return_sequences=True, same weights)"
    )
    compared = (
        "each chunk's output (its last step) against one non-stateful pass over the whole sequence "
        "at the step each direction read last; final state against that pass's final state"
    )
    return one_claim, compared


def _direction_final_check(
    d: Direction, names: list[str], last_final: dict[str, np.ndarray], one: dict[str, np.ndarray]
) -> Check:
    """Bidirectional: one direction's final state after the last chunk against its final state in
    one pass (equal for the forward layer, different for the backward one)."""
    own = [n for n in names if n.startswith(d.prefix)]
    a, b = [last_final[n] for n in own], [one[n] for n in own]
    if d.reversed:
        return _differ(
            f"the {d.prefix[:-1]} layer's final state after the last chunk differs "
            "from its final state in one Bidirectional pass",
            a,
            b,
        )
    return _equal(
        f"the {d.prefix[:-1]} layer's final state after the last chunk equals "
        "its final state in one Bidirectional pass",
        a,
        b,
    )


def _one_pass_checks(
    spec: LayerSpec,
    dirs: list[Direction],
    any_reversed: bool,
    one_claim: str,
    out_diff: float,
    names: list[str],
    last_final: dict[str, np.ndarray],
    one: dict[str, np.ndarray],
) -> list[Check]:
    """The chunk outputs and the last final state against one non-stateful pass: equal, unless a
    direction reads each of several chunks backwards within itself."""
    final, one_final = list(last_final.values()), [one[n] for n in names]
    if not any_reversed:
        return [
            Check(one_claim, out_diff <= EQUAL_TOLERANCE, out_diff, "equal"),
            _equal(
                f"the last chunk's final state equals the final state of that one pass ({', '.join(names)})",
                final,
                one_final,
            ),
        ]
    if not spec.bidirectional:
        return [
            Check(
                "go_backwards: the chunk outputs DIFFER from one go_backwards pass over the whole "
                "sequence, because each chunk is read backwards within itself",
                out_diff > EQUAL_TOLERANCE,
                out_diff,
                "differ",
            ),
            _differ(
                "go_backwards: the last chunk's final state differs from that of one "
                "go_backwards pass over the whole sequence",
                final,
                one_final,
            ),
        ]
    differ = Check(
        "Bidirectional: the chunk outputs DIFFER from one Bidirectional pass over the "
        "whole sequence, because the backward layer reads each chunk backwards within itself",
        out_diff > EQUAL_TOLERANCE,
        out_diff,
        "differ",
    )
    return [differ] + [_direction_final_check(d, names, last_final, one) for d in dirs]


def _as_read(
    spec: LayerSpec,
    dirs: list[Direction],
    bounds: list[tuple[int, int]],
    run: Any,
    actual: list[dict[str, np.ndarray]],
    last_final: dict[str, np.ndarray],
) -> tuple[list[Check], dict[str, Any], list[np.ndarray]]:
    """What the layer does equal when a direction reads backwards: one pass over x as read. The
    two checks, the single_pass "as_read" object, and h per direction in time order."""
    read_h = []
    for d, (seq, *_states) in zip(dirs, run.as_read):
        h = np.empty_like(seq)
        h[:, read_order(bounds, d.reversed)] = seq
        read_h.append(h)
    read_finals = [s for _seq, *states in run.as_read for s in states]
    expected_read = [expected_chunk_outputs(spec, read_h, start, stop) for start, stop in bounds]
    orders = "; ".join(f"{d.layer_name} reads steps {order_text(bounds, d.reversed)}" for d in dirs)
    read_out = _equal(
        f"as read: the chunk outputs equal one pass of go_backwards=False layers with the "
        f"same weights over the input in the order the stateful layer reads it ({orders})",
        [v for o in actual for v in _values(o)],
        [v for o in expected_read for v in _values(o)],
    )
    read_state = _equal(
        "as read: the last chunk's final state equals the final state of that pass",
        list(last_final.values()),
        read_finals,
    )
    as_read = {
        "equal": read_out.holds and read_state.holds,
        "output_max_abs_diff": read_out.max_abs_diff,
        "final_state_max_abs_diff": read_state.max_abs_diff,
        "compared": read_out.claim,
    }
    return [read_out, read_state], as_read, read_h


def _reset_checks(
    spec: LayerSpec, names: list[str], count: int, run: Any, out_names: list[str], actual: list[dict[str, np.ndarray]]
) -> list[Check]:
    """reset_state(): zeros, and the last chunk fed again starts over."""
    checks = [
        _equal("after layer.reset_state() every state variable is zeros", run.after_reset, _zeros(run.after_reset))
    ]
    with_state = dataclasses.replace(spec, return_state=True).output_names()
    fresh = dict(zip(with_state, run.fresh_last))
    rerun = _main_outputs(out_names, run.rerun)
    last = f"chunk {count}"
    checks.append(
        _equal(
            f"after the reset, {last} fed again gives the output and final state of a fresh "
            f"non-stateful layer run on {last} alone: the layer starts over",
            _values(rerun) + run.rerun.final,
            [fresh[n] for n in sorted(rerun)] + [fresh[n] for n in names],
        )
    )
    if count > 1:
        checks.append(
            _differ(
                f"...and that output differs from {last}'s output when it continued chunk {count - 1}",
                _values(rerun),
                _values(actual[-1]),
            )
        )
    return checks


def _shuffle_check(
    spec: LayerSpec, bounds: list[tuple[int, int]], run: Any, out_names: list[str], model_h: list[np.ndarray]
) -> Check:
    """Shuffled batches break the continuation: chunk 2 with its rows reordered differs from each
    sample's true continuation."""
    rows = shuffle_rows(spec.batch)
    start, stop = bounds[1]
    true_continuation = expected_chunk_outputs(spec, [h[rows] for h in model_h], start, stop)
    order = ", ".join(str(i) for i in rows) if spec.batch <= 8 else f"{spec.batch - 1} .. 0"
    return _differ(
        f"shuffled: chunk 2 fed with its samples in another order ({order}) continues "
        "each row from the state of the sample that row held in chunk 1; its output "
        "differs from each sample's true continuation",
        _values(_main_outputs(out_names, run.shuffled)),
        _values(true_continuation),
    )


def analyze(spec: LayerSpec, bounds: list[tuple[int, int]], run: Any) -> Analysis:
    """Every claim about ``run`` (the runner's StatefulRun), each measured."""
    dirs = directions(spec)
    names = state_names(spec)
    count = len(bounds)
    out_names = spec.output_names()
    returned = [n for n in out_names if "state" in n]
    actual = [_main_outputs(out_names, call) for call in run.chunks]

    # 1. The state is carried from chunk to chunk, row by row.
    checks = _carry_checks(run.chunks, count)

    # 1b. The model the command recommends accepts every chunk and returns what the layer returned.
    if run.model is not None:
        checks.append(model_check(spec, run))

    # 2. Against one non-stateful pass over the whole sequence.
    one = dict(zip(one_pass_names(spec), run.one_pass))
    one_h = _one_pass_h(spec, dirs, one)
    expected_one = [expected_chunk_outputs(spec, one_h, start, stop) for start, stop in bounds]
    out_diff = max_abs_diff(
        flat([v for o in actual for v in _values(o)]), flat([v for o in expected_one for v in _values(o)])
    )
    last_final = dict(zip(names, run.chunks[-1].final))
    state_diff = max_abs_diff(flat(list(last_final.values())), flat([one[n] for n in names]))
    one_claim, compared = _one_pass_texts(spec, dirs, bounds)
    any_reversed = count > 1 and any(d.reversed for d in dirs)
    checks += _one_pass_checks(spec, dirs, any_reversed, one_claim, out_diff, names, last_final, one)
    single_pass: dict[str, Any] = {
        "equal": bool(out_diff <= EQUAL_TOLERANCE and state_diff <= EQUAL_TOLERANCE),
        "output_max_abs_diff": out_diff,
        "final_state_max_abs_diff": state_diff,
        "compared": compared,
        "as_read": None,
    }

    # 3. What the layer does equal when a direction reads backwards: one pass over x as read.
    model_h = one_h
    if run.as_read is not None:
        read_checks, single_pass["as_read"], model_h = _as_read(spec, dirs, bounds, run, actual, last_final)
        checks += read_checks

    # 4. reset_state(): zeros, and the next chunk starts over.
    checks += _reset_checks(spec, names, count, run, out_names, actual)

    # 5. The returned states are the state variables.
    if returned:
        checks.append(
            _equal(
                "the states each call returns (return_state=True) equal the layer's state variables after that call",
                [v for call in run.chunks for n, v in zip(out_names, call.outputs) if n in returned],
                [v for call in run.chunks for v in call.final],
            )
        )

    # 6. Shuffled batches break the continuation.
    if run.shuffled is not None:
        checks.append(_shuffle_check(spec, bounds, run, out_names, model_h))
    return Analysis(checks, single_pass)


# ---- the data object (JSON and tables) ------------------------------------------------------
def _named(names: list[str], arrays: list[np.ndarray]) -> dict[str, Any]:
    return {name: np.asarray(a).tolist() for name, a in zip(names, arrays)}


def _main_output_value(spec: LayerSpec, outputs: list[np.ndarray]) -> Any:
    named = dict(zip(spec.output_names(), outputs))
    if spec.bidirectional and spec.merge_mode == "none":
        return {n: named[n].tolist() for n in ("forward_output", "backward_output")}
    return named["output"].tolist()


def _output_shape(spec: LayerSpec, outputs: list[np.ndarray]) -> list[int]:
    return list(np.asarray(outputs[0]).shape)


def stateful_data(
    spec: LayerSpec, split: tuple[int, ...], split_given: bool, run: Any, versions: dict[str, str]
) -> dict[str, Any]:
    bounds = chunk_bounds(split)
    names = state_names(spec)
    dirs = directions(spec)
    analysis = analyze(spec, bounds, run)
    chunks = []
    for index, ((start, stop), call) in enumerate(zip(bounds, run.chunks), start=1):
        chunks.append(
            {
                "index": index,
                "steps": list(range(start, stop)),
                "initial_state": _named(names, call.initial),
                "final_state": _named(names, call.final),
                "output": _main_output_value(spec, call.outputs),
                "output_shape": _output_shape(spec, call.outputs),
            }
        )
    last_start, last_stop = bounds[-1]
    error = None
    if run.batch_error is not None:
        batch, kind, message = run.batch_error
        error = {"batch": batch, "raised": True, "type": kind, "message": message}
    else:
        error = {"batch": spec.batch + 1, "raised": False, "type": None, "message": None}
    rules = (
        list(RULES)
        + ([GO_BACKWARDS_RULE] if spec.go_backwards else [])
        + ([BIDIRECTIONAL_RULE] if spec.bidirectional else [])
    )
    return {
        "config": spec.config(),
        "split": list(split),
        "split_source": "--split"
        if split_given
        else (
            "default: two halves, the first rounded down" if len(split) > 1 else "default: one chunk, as timesteps is 1"
        ),
        "keras_call": spec.keras_call(),
        "keras_input": keras_input(spec, split),
        "input": {
            "shape": list(spec.input_shape),
            "axes": ["batch", "timesteps", "features"],
            "dtype": "float32",
            "values": run.x.tolist(),
        },
        "reading": [
            {
                "layer": d.layer_name,
                "go_backwards": d.reversed,
                "order": [int(t) for t in read_order(bounds, d.reversed)],
            }
            for d in dirs
        ],
        "state_names": names,
        "chunks": chunks,
        "after_reset": _named(names, run.after_reset),
        "after_reset_rerun": {
            "index": len(bounds),
            "steps": list(range(last_start, last_stop)),
            "initial_state": _named(names, run.rerun.initial),
            "final_state": _named(names, run.rerun.final),
            "output": _main_output_value(spec, run.rerun.outputs),
            "output_shape": _output_shape(spec, run.rerun.outputs),
        },
        "single_pass": analysis.single_pass,
        "checks": [c.to_dict() for c in analysis.checks],
        "batch_size_error": error,
        "api": dict(run.api),
        "rules": rules,
        "versions": versions,
    }


def picture_facts(data: dict[str, Any]) -> dict[str, Any]:
    """The differences the stateful picture states, measured on the run's numbers: each chunk's
    initial state against the previous chunk's final state, the first initial state and the
    states after the reset against zeros, the rerun's output against its output in the chain."""
    chunks, rerun = data["chunks"], data["after_reset_rerun"]

    def values(tree: Any) -> list[Any]:
        return [np.asarray(tree[k]) for k in sorted(tree)] if isinstance(tree, dict) else [np.asarray(tree)]

    def biggest(a: Any, b: Any = None) -> float:
        first = flat(values(a))
        return float(np.max(np.abs(first - (flat(values(b)) if b is not None else 0.0))))

    return {
        "carried": [None]
        + [biggest(chunks[k]["initial_state"], chunks[k - 1]["final_state"]) for k in range(1, len(chunks))],
        "first_initial": biggest(chunks[0]["initial_state"]),
        "after_reset": biggest(data["after_reset"]),
        "rerun_vs_chain": biggest(rerun["output"], chunks[-1]["output"]),
        "state_shapes": {name: list(np.shape(value)) for name, value in chunks[0]["final_state"].items()},
        "tolerance": EQUAL_TOLERANCE,
    }
