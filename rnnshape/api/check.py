"""rnnshape.check(): a shape contract (TOML) checked case by case, in one process."""

from __future__ import annotations

from rnnshape.api._common import documented, make_layer_spec, run_modes
from rnnshape.errors import ExpectationFailed, RnnshapeError, UsageError
from rnnshape.results import CheckResult
from rnnshape.rules import contract
from rnnshape.rules.cost import DEFAULT_MAX_MEMORY_MB, DEFAULT_MAX_SECONDS
from rnnshape.rules.limits import Limits, check_seconds, check_size, check_time, run_passes
from rnnshape.versions import versions


@documented(
    file="the contract file (TOML) of cases and expected shapes",
    junit="also write a JUnit XML report to this path (one testcase per case)",
)
def check(
    file: str,
    *,
    junit: str | None = None,
    static: bool = False,
    max_memory: int = DEFAULT_MAX_MEMORY_MB,
    max_seconds: int = DEFAULT_MAX_SECONDS,
) -> CheckResult:
    """Every case of the contract ``file``: its layer built and run, its expected shapes compared.
    A failed case is in ``result.errors`` (``result.ok`` False); ``junit`` also writes a JUnit
    XML report there (folders are created)."""
    from rnnshape import files

    cases = contract.parse(files.read_toml(file), file, make=make_layer_spec)
    limits = Limits(max_memory, max_seconds, sizes="sizes")
    for case in cases if not static else []:  # --static builds nothing: any size can be answered
        try:
            check_size(case.spec, limits, passes=run_passes(case.spec))
        except UsageError as exc:
            raise UsageError(f"{file}: {case.label}: {exc.message}") from None
    if not static:
        check_time(check_seconds([case.spec for case in cases]), f"{file}: the {len(cases):,} cases", limits)
    if junit:
        files.check_writable(junit)
        inputs = {
            "FILE": file,
            **{
                f"the input of {case.label}": case.spec.input
                for case in cases
                if case.spec.input.lower().endswith(files.FILE_SUFFIXES)
            },
        }
        files.refuse_same_files(inputs, {"--junit": junit})
    specs = [case.spec for case in cases]
    from rnnshape.measure.inspect import layer_data

    if static:
        rows = [layer_data(spec, None) for spec in specs]
    else:
        from rnnshape.runner import layer as layer_runner
        from rnnshape.runner import session as session_runner

        mode, run = run_modes([(spec, run_passes(spec)) for spec in specs], f"{len(specs)} cases")
        with session_runner.mode(mode):
            results = layer_runner.run_many(specs)
        rows = [layer_data(spec, result) for spec, result in zip(specs, results)]
    verdicts = [contract.judge(case, row) for case, row in zip(cases, rows)]
    found = versions()
    if junit:
        properties = {
            "rnnshape": found["rnnshape"],
            "keras": found["keras"],
            "tensorflow": found["tensorflow"],
            "static": str(static).lower(),
        }
        files.write_junit(junit, contract.junit_tree(file, verdicts, properties))
    data = {
        "file": file,
        "cases": [contract.verdict_data(v) for v in verdicts],
        "summary": contract.summary(verdicts),
        "static": static,
        "junit": junit,
        "versions": found,
    }
    if not static:
        data["run"] = run
    errors: list[RnnshapeError] = [ExpectationFailed(v.message()) for v in verdicts if not v.passed]
    return CheckResult(data, errors)
