"""rnnshape.stack(): shapes flowing through a stack of layers, built as a real keras.Model."""

from __future__ import annotations

from typing import Iterable

from rnnshape.api._common import check_seed, documented, stack_run_mode
from rnnshape.errors import BackendError, RnnshapeError
from rnnshape.results import StackResult, ViewOptions
from rnnshape.rules.cost import DEFAULT_MAX_MEMORY_MB, DEFAULT_MAX_SECONDS
from rnnshape.rules.limits import Limits, check_time, memory_guard
from rnnshape.rules.stack import incompatible_error, parse_tokens, plan_stack, repair
from rnnshape.versions import versions


@documented(tokens="the stack as tokens ('lstm:8:seq lstm:4 dense:1') or a list of them")
def stack(
    tokens: str | Iterable[str],
    *,
    timesteps: int | None = None,
    features: int = 2,
    batch: int = 1,
    seed: int = 0,
    static: bool = False,
    max_memory: int = DEFAULT_MAX_MEMORY_MB,
    max_seconds: int = DEFAULT_MAX_SECONDS,
    diagram: bool = False,
    ascii_only: bool = False,
) -> StackResult:
    """A stack of tokens ("lstm:32:seq lstm:16 dense:1", or a list of them), each layer's shapes
    and parameters; an incompatible stack is diagnosed, its error in ``result.errors``."""
    texts = tuple(tokens.split()) if isinstance(tokens, str) else tuple(tokens)
    parsed = parse_tokens(texts)
    check_seed(seed)
    plan = plan_stack(parsed, batch, 3 if timesteps is None else timesteps, features)
    repaired = repair(plan)[0] if plan.problem is not None and repair(plan) is not None else None
    from rnnshape.measure.stack import plan_data, stack_checks

    if static:  # --static builds nothing: any size can be answered
        data = plan_data(plan)
    else:
        limits = Limits(max_memory, max_seconds, sizes="--timesteps/--batch")
        for each in (plan, repaired):
            if each is not None:
                memory_guard(each.estimated_bytes(), limits, f"the stack {each.command()}")
        check_time(
            sum(each.estimated_seconds() for each in (plan, repaired) if each is not None),
            f"the stack {plan.command()}",
            limits,
        )
        from rnnshape.runner import session as session_runner
        from rnnshape.runner import stack as stack_runner

        mode, mode_data = stack_run_mode([each for each in (plan, repaired) if each is not None], plan.command())
        with session_runner.mode(mode):
            run = stack_runner.run_stacks([(plan, repaired)], seed)[0]
        expected = plan.problem.token.index if plan.problem is not None else None
        if run.failed_index != expected:
            raise BackendError(
                f"rnnshape's shape rules and Keras disagree on {plan.command()}: Keras "
                + (
                    f"refused token {run.failed_index}: {run.keras_message}"
                    if run.failed_index
                    else "built every token"
                )
                + "; please report this"
            )
        data = plan_data(plan, run, stack_checks(plan, run, seed))
    data["config"]["seed"] = seed
    data["notes"] = []
    if parsed[0].kind == "repeat" and timesteps is not None:
        data["notes"].append(
            f"--timesteps {timesteps} does not apply: the first token {parsed[0].text} takes the "
            "input as [batch, features] and makes its own timesteps"
        )
    data["versions"] = versions()
    if not static:
        data["run"] = mode_data
    errors: list[RnnshapeError] = [] if plan.compatible else [incompatible_error(data)]
    return StackResult(data, errors, ViewOptions(diagram=diagram, ascii_only=ascii_only), tokens=list(plan.tokens))
