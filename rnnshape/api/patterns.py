"""rnnshape.patterns(): the canonical recurrent model shapes, each built for real."""

from __future__ import annotations

from typing import Any

from rnnshape.api._common import check_seed, documented, stack_run_mode
from rnnshape.errors import BackendError, ExpectationFailed, RnnshapeError
from rnnshape.results import PatternsResult
from rnnshape.rules.cost import DEFAULT_MAX_MEMORY_MB, DEFAULT_MAX_SECONDS
from rnnshape.rules.limits import Limits, check_time, memory_guard
from rnnshape.rules.patterns import pattern_plans
from rnnshape.versions import versions


@documented()
def patterns(
    units: int = 4,
    timesteps: int = 3,
    features: int = 2,
    batch: int = 1,
    *,
    seed: int = 0,
    static: bool = False,
    max_memory: int = DEFAULT_MAX_MEMORY_MB,
    max_seconds: int = DEFAULT_MAX_SECONDS,
) -> PatternsResult:
    """many-to-one, many-to-many, one-to-many, encoder-decoder and stacked layers, planned with
    these sizes and (unless ``static``) built and run as keras.Models."""
    check_seed(seed)
    plans = pattern_plans(units, timesteps, features, batch)
    from rnnshape.measure.stack import pattern_data, stack_checks

    if static:  # --static builds nothing: any size can be answered
        runs: list[Any] = [None] * len(plans)
        checks: list[Any] = [None] * len(plans)
    else:
        limits = Limits(max_memory, max_seconds)
        memory_guard(sum(plan.estimated_bytes() for _, plan in plans), limits, "the patterns")
        check_time(sum(plan.estimated_seconds() for _, plan in plans), "the patterns", limits)
        from rnnshape.runner import session as session_runner
        from rnnshape.runner import stack as stack_runner

        mode, mode_data = stack_run_mode([plan for _, plan in plans], f"{len(plans)} patterns")
        with session_runner.mode(mode):
            runs = stack_runner.run_stacks([(plan, None) for _, plan in plans], seed)
        for (pattern, plan), run in zip(plans, runs):
            if run.failed_index is not None:
                raise BackendError(f"Keras refused the {pattern.name} pattern {plan.command()}: {run.keras_message}")
        checks = [stack_checks(plan, run, seed) for (_, plan), run in zip(plans, runs)]
    data = {
        "config": {"units": units, "timesteps": timesteps, "features": features, "batch": batch, "seed": seed},
        "patterns": [
            pattern_data(pattern, plan, run, found) for (pattern, plan), run, found in zip(plans, runs, checks)
        ],
        "static": static,
        "versions": versions(),
    }
    if not static:
        data["run"] = mode_data
    failed = [p["name"] for p in data["patterns"] if any(not c["holds"] for c in p["checks"])]
    errors: list[RnnshapeError] = (
        [ExpectationFailed(f"a measured check failed for: {', '.join(failed)}")] if failed else []
    )
    return PatternsResult(data, errors)
