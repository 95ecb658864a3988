"""The facts of a stack run (shapes measured against the rules and Keras' symbolic shapes; a
Dense on a sequence against TimeDistributed(Dense)) and the stack object of JSON and tables."""

from __future__ import annotations

from typing import Any

from rnnshape.measure.checks import Check, differ, equal
from rnnshape.rules.patterns import Pattern
from rnnshape.rules.stack import StackPlan, canonical_spec, repair, state_provider


def stack_checks(plan: StackPlan, run: Any, seed: int) -> list[Check]:
    """What a StackRun shows: every layer's shape as the rules and Keras say, and each Dense on a
    sequence equal to its TimeDistributed twin. None for a stack whose first layer failed."""
    if not run.layers:
        return []
    rules = [layer.output_shape for layer in plan.layers[: len(run.layers)]]
    mismatched = [
        i
        for i, (rule, got) in enumerate(zip(rules, run.layers))
        if tuple(rule or ()) != got.output_shape or got.symbolic_shape != got.output_shape
    ]
    checks = [
        Check(
            f"{_measured_layers(plan, len(run.layers))}, measured on the eager run of input {tuple(plan.input_shape)} "
            f"(seed {seed}), {'equals' if len(run.layers) == 1 or len(run.layers) == len(plan.layers) else 'equal'} "
            "Keras' symbolic shape and rnnshape's rule",
            not mismatched,
            0.0 if not mismatched else float("inf"),
            "equal",
        )
    ]
    tokens = {token.index: token for token in plan.tokens}
    for index, dense, twin in run.dense_twins:
        token = tokens[index]
        checks.append(
            equal(
                f"token {token.index} {token.text} on the sequence gives the same values as td:{token.n} "
                "(TimeDistributed(Dense)) with the same weights",
                twin,
                dense,
            )
        )
    for index, decoder, zero_start in getattr(run, "init_twins", []):
        token = tokens[index]
        provider = state_provider(list(plan.tokens), token)
        checks.append(
            differ(
                f"token {token.index} {token.text} starts from token {provider.index}'s final states: "
                "its output differs from the same layer (same weights, same input) starting from zeros",
                decoder,
                zero_start,
            )
        )
    return checks


def _measured_layers(plan: StackPlan, built: int) -> str:
    """What the shape claim covers: every layer, or those Keras built before it refused one."""
    if built >= len(plan.layers):
        return "every layer's output shape"
    indices = [layer.token.index for layer in plan.layers[:built]]
    refused = plan.layers[built].token.index
    if built == 1:
        return f"token {indices[0]}'s output shape (the one layer Keras built before refusing token {refused})"
    return f"the output shapes of tokens {indices[0]}-{indices[-1]} (the layers Keras built before refusing token {refused})"


# ---- data for JSON and the tables ------------------------------------------------------------
def plan_data(plan: StackPlan, run: Any = None, checks: list[Check] | None = None) -> dict[str, Any]:
    """The stack object. ``run`` is a runner StackRun (with its ``checks``), or None for --static."""
    layers = []
    tokens = list(plan.tokens)
    receivers = {t.index: state_provider(tokens, t).index for t in tokens if t.init and state_provider(tokens, t)}
    providers = set(receivers.values())
    for position, layer in enumerate(plan.layers):
        entry: dict[str, Any] = {
            "index": layer.token.index,
            "spec": layer.token.text,
            "keras_call": layer.token.keras_call(return_state=layer.token.index in providers),
            "input_shape": _list(layer.input_shape),
            "input_axes": _list(layer.input_axes),
            "output_shape": _list(layer.output_shape),
            "output_axes": _list(layer.output_axes),
            "params": layer.params,
            "param_formula": layer.param_formula,
            "status": layer.status,
        }
        if layer.token.index in receivers:
            entry["initial_state_from"] = receivers[layer.token.index]
        if layer.token.index in providers:
            entry["states_to"] = [r for r, p in receivers.items() if p == layer.token.index]
        if run is not None and position < len(run.layers):
            measured = run.layers[position]
            entry["output_shape"] = list(measured.output_shape)
            entry["params"] = measured.params
        layers.append(entry)
    data: dict[str, Any] = {
        "config": {
            "batch": plan.batch,
            "timesteps": plan.timesteps,
            "features": plan.features,
            "spec": canonical_spec(list(plan.tokens)),
        },
        "input": {
            "shape": list(plan.input_shape),
            "axes": list(plan.input_axes),
            "dtype": "float32",
            "keras_input": plan.keras_input(),
        },
        "layers": layers,
        "compatible": plan.compatible,
        "output": (
            {"shape": layers[-1]["output_shape"], "axes": list(plan.output_axes or ())} if plan.compatible else None
        ),
        "params": {"total": plan.param_total},
        "command": plan.command(),
        "hints": [{"index": h.token.index, "spec": h.token.text, "kind": h.kind, "hint": h.text} for h in plan.hints],
        "diagnosis": _problem_data(plan) if plan.problem is not None else None,
        "static": run is None,
    }
    if run is not None:
        if plan.compatible:
            data["params"]["keras_count_params"] = run.count_params
        data["checks"] = [c.to_dict() for c in checks or []]
        if data["diagnosis"] is not None:
            data["diagnosis"]["keras_message"] = run.keras_message
            data["diagnosis"]["fixed_output_shape"] = (
                list(run.fixed_output_shape) if run.fixed_output_shape is not None else None
            )
    else:
        data["checks"] = []
        if data["diagnosis"] is not None:
            data["diagnosis"]["keras_message"] = None
    return data


def _problem_data(plan: StackPlan) -> dict[str, Any]:
    problem = plan.problem
    assert problem is not None
    repaired = repair(plan)
    fix = problem.fix
    if repaired is not None and len(repaired[1]) > 1:
        fix += "; then the stack also needs: " + "; ".join(repaired[1][1:])
    fixed = repaired[0].tokens if repaired is not None else None
    return {
        "index": problem.token.index,
        "spec": problem.token.text,
        "expected_ndim": problem.expected_ndim,
        "found_ndim": problem.found_ndim,
        "found_shape": list(problem.found_shape),
        "found_axes": list(problem.found_axes),
        "why": problem.why,
        "fix": fix,
        "fixed_spec": canonical_spec(list(fixed)) if fixed else None,
        "fixed_command": plan.command(fixed) if fixed else None,
        "fixed_output_shape": _list(repaired[0].output_shape) if repaired is not None else None,
    }


def _list(value: Any) -> Any:
    return list(value) if value is not None else None


def pattern_data(
    pattern: Pattern, plan: StackPlan, run: Any = None, checks: list[Check] | None = None
) -> dict[str, Any]:
    stack = plan_data(plan, run, checks)
    return {
        "name": pattern.name,
        "description": pattern.description,
        "spec": stack["config"]["spec"],
        "command": stack["command"],
        "input": stack["input"],
        "output": stack["output"],
        "layers": stack["layers"],
        "params": stack["params"],
        "checks": stack["checks"],
        "compatible": stack["compatible"],
    }
