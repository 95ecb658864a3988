"""The claims of `rnnshape generate`, each measured on the plain arrays of the runner's
GenerateRun, and the generate object of JSON and tables."""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnshape.measure.checks import EQUAL_TOLERANCE, Check, differ, equal, flat
from rnnshape.rules import generate as rules
from rnnshape.rules.layer import LayerSpec
from rnnshape.rules.stateful import state_names


def _per_step(a: np.ndarray, b: np.ndarray) -> list[float]:
    """max |a - b| of each generated step (axis 1), over the samples and features."""
    return [float(v) for v in np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)), axis=(0, 2))]


def _zeros(arrays: list[np.ndarray]) -> list[np.ndarray]:
    return [np.zeros_like(a) for a in arrays]


def _named(names: list[str], arrays: list[np.ndarray]) -> dict[str, Any]:
    return {name: np.asarray(a).tolist() for name, a in zip(names, arrays)}


def _biggest(arrays: list[np.ndarray]) -> float:
    return float(np.max(np.abs(flat(arrays))))


def analyze(spec: LayerSpec, steps: int, head: bool, run: Any) -> tuple[list[Check], dict[str, Any]]:
    """Every claim about ``run``, each measured, and the comparisons of JSON's ``measured``."""
    loop = run.loop
    k = spec.timesteps
    checks = [
        equal(
            "after reset_state() every state variable is zeros before the known part is read",
            flat(loop.initial),
            flat(_zeros(loop.initial)),
        ),
        equal(
            "each generation call is fed the previous call's output: call 1 the warm-up's last step, call i+1 "
            "what call i returned",
            loop.inputs,
            np.concatenate([loop.warm_output[:, -1:], loop.generated[:, :-1]], axis=1),
        ),
    ]
    manual = equal(
        "the stateful loop equals the same weights run as a loop of a non-stateful layer with "
        "return_state=True, fed one step per call with initial_state = the states the previous call "
        "returned (warm-up output, generated steps and final state)",
        flat([loop.warm_output, loop.generated, *loop.final]),
        flat([run.manual_warm, run.manual, *run.manual_final]),
    )
    whole = equal(
        f"the generated steps equal a non-stateful model (same weights) fed the whole known part plus "
        f"every generated step in one call ({k} + {steps} steps): its output at step {k} + i is g_i, "
        "and its first outputs are the warm-up's",
        flat([loop.warm_output, loop.generated]),
        flat([run.whole_warm, run.whole]),
    )
    after = equal(
        "after the final reset_state() every state variable is zeros again",
        flat(run.after_reset),
        flat(_zeros(run.after_reset)),
    )
    again = equal(
        "the loop run again after that reset gives the same steps: reset_state() before makes the loop repeatable",
        run.again.generated,
        loop.generated,
    )
    carried = differ(
        "the state the next run starts from when the first reset_state() is forgotten is the state "
        "the previous run left, not zeros",
        flat(run.no_first_reset.initial),
        flat(_zeros(run.no_first_reset.initial)),
    )
    forgot = differ(
        "forgetting the first reset_state(): the loop run again without it continues the previous "
        "run's state, and its warm-up output and generated steps differ from the loop's",
        flat([run.no_first_reset.warm_output, run.no_first_reset.generated]),
        flat([loop.warm_output, loop.generated]),
    )
    between = differ(
        "a reset between warm-up and forecast: the generated steps differ from the forecast that "
        "continues the warm-up's state (the first generated step then starts from zeros, not from "
        f"the {k} known steps)",
        run.reset_between.generated,
        loop.generated,
    )
    warm_state = differ(
        "the warm-up leaves a state that is not zeros: the state the forecast continues from",
        flat(loop.warm_final),
        flat(_zeros(loop.warm_final)),
    )
    checks += [manual, whole, warm_state, between, after, again, carried, forgot]
    measured = {
        "initial_state_loop": {
            "equal": manual.holds,
            "max_abs_diff": manual.max_abs_diff,
            "per_step": _per_step(run.manual, loop.generated),
            "compared": "the stateful loop against a non-stateful layer with return_state=True called one step "
            "at a time with initial_state (same weights)",
        },
        "whole_sequence": {
            "equal": whole.holds,
            "max_abs_diff": whole.max_abs_diff,
            "per_step": _per_step(run.whole, loop.generated),
            "compared": "the warm-up output and the generated steps against a non-stateful model fed the known "
            "part plus every generated step in one call",
        },
        "reset_between": {
            "differs": between.holds,
            "max_abs_diff": between.max_abs_diff,
            "per_step": _per_step(run.reset_between.generated, loop.generated),
            "compared": "a forecast with reset_state() between the warm-up and the first generated step against "
            "the forecast that continues the warm-up",
        },
        "no_first_reset": {
            "differs": forgot.holds,
            "max_abs_diff": forgot.max_abs_diff,
            "warm_up_max_abs_diff": float(
                np.max(np.abs(run.no_first_reset.warm_output.astype(np.float64) - loop.warm_output))
            ),
            "per_step": _per_step(run.no_first_reset.generated, loop.generated),
            "started_from_max_abs": _biggest(run.no_first_reset.initial),
            "compared": "the loop run without its first reset_state(), after a run that was not reset, against "
            "the loop with it",
        },
        "repeat": {"equal": again.holds, "max_abs_diff": again.max_abs_diff},
        "initial_state_max_abs": _biggest(loop.initial),
        "after_reset_max_abs": _biggest(run.after_reset),
        "tolerance": EQUAL_TOLERANCE,
    }
    return checks, measured


def generate_data(
    spec: LayerSpec, steps: int, head: bool, values: bool, run: Any, versions: dict[str, str]
) -> dict[str, Any]:
    names = state_names(spec)
    checks, measured = analyze(spec, steps, head, run)
    loop = run.loop
    batch, known, features = spec.batch, spec.timesteps, spec.features
    data: dict[str, Any] = {
        "config": spec.config(),
        "steps": steps,
        "keras_call": spec.keras_call(),
        "keras_input": rules.keras_input(spec),
        "head": {"keras_call": rules.head_call(spec), "kernel_shape": [spec.units, features], "bias_shape": [features]}
        if head
        else None,
        "code": rules.loop_code(spec, steps, head),
        "known": {
            "shape": [batch, known, features],
            "axes": ["batch", "timesteps", "features"],
            "dtype": "float32",
            "source": spec.input if spec.input in ("random", "arange", "ones", "zeros") else "file",
        },
        "generated": {"shape": [batch, steps, features], "axes": ["batch", "steps", "features"], "dtype": "float32"},
        "state_names": names,
        "warm_up": {"output_shape": [batch, known, features], "final_state_max_abs": _biggest(loop.warm_final)},
        "measured": measured,
        "checks": [c.to_dict() for c in checks],
        "rules": [*rules.RULES, rules.CALL_RULE],
        "versions": versions,
    }
    first = {"first_step": loop.generated[:, 0].tolist(), "last_step": loop.generated[:, -1].tolist()}
    data["generated"].update(first)
    if values:
        data["known"]["values"] = run.x.tolist()
        data["warm_up"]["output"] = loop.warm_output.tolist()
        data["warm_up"]["final_state"] = _named(names, loop.warm_final)
        data["generated"]["values"] = loop.generated.tolist()
        data["generated"]["inputs"] = loop.inputs.tolist()
        data["final_state"] = _named(names, loop.final)
        data["reset_between"] = {"values": run.reset_between.generated.tolist()}
        data["no_first_reset"] = {
            "values": run.no_first_reset.generated.tolist(),
            "started_from": _named(names, run.no_first_reset.initial),
        }
    return data


def step_rows(run: Any) -> list[dict[str, Any]]:
    """What the view's table shows of sample 0, call by call: the known steps (one call), then
    each generated step with its input (the values JSON gives with --values)."""
    loop = run.loop
    rows = [
        {"kind": "known", "step": t + 1, "input": run.x[0, t].tolist(), "output": loop.warm_output[0, t].tolist()}
        for t in range(run.x.shape[1])
    ]
    rows += [
        {
            "kind": "generated",
            "step": i + 1,
            "input": loop.inputs[0, i].tolist(),
            "output": loop.generated[0, i].tolist(),
        }
        for i in range(loop.generated.shape[1])
    ]
    return rows
