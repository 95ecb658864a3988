"""The size guard: refuse, before TensorFlow is imported, what would not fit in --max-memory
or would take longer than --max-seconds. Pure arithmetic on the estimates of the specs."""

from __future__ import annotations

from rnnshape.errors import UsageError
from rnnshape.rules.catalogue import BYTES_PER_FLOAT
from rnnshape.rules.cost import (
    BYTES_PER_SHOWN_VALUE,
    COMPILED_SECONDS_PER_STEP,
    DEFAULT_MAX_MEMORY_MB,
    DEFAULT_MAX_SECONDS,
    FLOPS_PER_SECOND,
    SECONDS_PER_SHOWN_VALUE,
    TRACE_SECONDS,
)
from rnnshape.rules.layer import LayerSpec

__all__ = [
    "DEFAULT_MAX_MEMORY_MB",
    "DEFAULT_MAX_SECONDS",
    "SECONDS_PER_CASE",
    "SECONDS_PER_CHECK",
    "Limits",
    "case_seconds",
    "check_seconds",
    "check_size",
    "check_time",
    "memory_guard",
    "run_passes",
    "check_model_run",
    "model_run_estimate",
]

# Unmasked reference runs are one call per distinct padded length; beyond this many lengths
# the masking claims name the samples they measured.
MAX_UNMASKED_LENGTHS = 32
# check builds, runs and judges one layer per case: beyond its passes over the sequence, a case
# costs about 35 ms (building two Keras layers, setting weights, measuring; 30-70 ms measured on a
# loaded 2-core CPU with Keras 3.15 / TensorFlow 2.21: 1,000 cases took 39 s, not the 9 s the
# per-step cost alone gave). tests/benchmarks/guards.py prints estimate / measured.
SECONDS_PER_CASE = 0.035
# ... and once per run, what rnnshape itself adds to importing TensorFlow (0.3 to 0.8 s measured).
SECONDS_PER_CHECK = 0.5
# The options a refusal suggests, per command: the sizes it has, and whether --static exists.
SIZES = "--timesteps/--units/--batch"


class Limits:
    """--max-memory MB and --max-seconds S of one call, and what a refusal suggests instead."""

    def __init__(
        self,
        max_memory: int = DEFAULT_MAX_MEMORY_MB,
        max_seconds: int = DEFAULT_MAX_SECONDS,
        sizes: str = SIZES,
        static: bool = True,
    ):
        for key, value in (("max_memory", max_memory), ("max_seconds", max_seconds)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                unit = "MiB" if key == "max_memory" else "seconds"
                raise UsageError(
                    f"Invalid value for --{key.replace('_', '-')}: {value!r} is not a positive number of {unit}"
                )
        self.max_memory = max_memory
        self.max_seconds = max_seconds
        self.sizes = sizes
        self.static = static


def check_time(seconds: float, what: str, limits: Limits) -> None:
    """Refuse, before TensorFlow is imported, what would take minutes (see layer.SECONDS_PER_STEP)."""
    if seconds > limits.max_seconds:
        static = ", --static" if limits.static else ""
        raise UsageError(
            f"{what} would take about {_duration(seconds)} (a rough estimate, made before running "
            f"anything), above the limit of {limits.max_seconds:,} s; use smaller {limits.sizes}{static} or raise "
            "--max-seconds S"
        )


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:,.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:,.0f} minutes"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:,.0f} hours"
    return f"{seconds / 86400:,.0f} days"


def run_passes(spec: LayerSpec) -> int:
    """The passes the runner makes over the sequence: the layer, its probe twin (unless it is the
    call itself), a forward reader for go_backwards, one per distinct partial length under --lengths."""
    partial = len({n for n in spec.lengths if n < spec.timesteps}) if spec.lengths else 0
    return (
        2
        - int(spec.probe_is_the_call())
        + int(spec.go_backwards and not spec.lengths)
        + min(partial, MAX_UNMASKED_LENGTHS)
    )


def case_seconds(spec: LayerSpec) -> float:
    """The estimated seconds of one check case: its passes plus the cost of a case."""
    return SECONDS_PER_CASE + spec.estimated_seconds(run_passes(spec))


def check_seconds(specs: list[LayerSpec]) -> float:
    """The estimated seconds of a check run of these cases (TensorFlow's import aside)."""
    return SECONDS_PER_CHECK + sum(case_seconds(spec) for spec in specs)


def memory_guard(needed: int, limits: Limits, what: str, detail: str = "", smaller: str = "sizes") -> None:
    """Refuse, before TensorFlow is imported, what would not fit in --max-memory."""
    if needed > limits.max_memory * 2**20:
        raise UsageError(
            f"{what} needs about {needed / 2**20:,.0f} MiB{detail}, above the limit of "
            f"{limits.max_memory:,} MiB; use smaller {smaller} or raise --max-memory MB"
        )


def check_size(spec: LayerSpec, limits: Limits, passes: int = 0, values: int = 0) -> None:
    """Refuse what would not fit in memory, or (for ``passes`` eager passes over the sequence;
    0 for --static) would take too long; ``values`` is how many numbers the output shows."""
    memory_guard(
        spec.estimated_bytes() + values * BYTES_PER_SHOWN_VALUE,
        limits,
        f"{spec.keras_call()} on input {spec.input_shape}",
        " (weights, activations, outputs)",
        "--units/--timesteps/--batch",
    )
    if passes:
        check_time(
            spec.estimated_seconds(passes) + values * SECONDS_PER_SHOWN_VALUE,
            f"{spec.keras_call()} on input {spec.input_shape}",
            limits,
        )


def model_run_estimate(rows: list[dict], batch: int, timesteps: int | None) -> tuple[int, float]:
    """(bytes, seconds) of running a user's model on a batch of ``batch`` samples and every
    recurrent layer's probe copy: every layer's output (an unknown dimension taken as
    ``timesteps``) three times over, the weights, and the compiled steps of the recurrent layers."""
    floats = 0
    seconds = 0.0
    for row in rows:
        for shape in row.get("output_shapes") or []:
            size = batch
            for d in shape[1:]:
                size *= int(d) if d is not None else int(timesteps or 1)
            floats += 3 * size
        floats += 3 * int(row.get("params") or 0)
        rec = row.get("recurrent")
        if rec and row.get("input_shapes"):
            shape = row["input_shapes"][0]
            steps = shape[1] if len(shape) > 1 and shape[1] is not None else int(timesteps or 1)
            directions = 2 if rec.get("bidirectional") else 1
            # the layer in the model and its probe copy, both graphs: one compiled step per timestep
            # and direction, and the arithmetic
            seconds += (
                2 * directions * (TRACE_SECONDS + int(steps) * COMPILED_SECONDS_PER_STEP["lstm"])
                + 2 * batch * int(row.get("params") or 0) * int(steps) * 2 / FLOPS_PER_SECOND
            )
    return floats * BYTES_PER_FLOAT, seconds


def check_model_run(rows: list[dict], batch: int, timesteps: int | None, limits: Limits, what: str) -> None:
    """Refuse a --x run that would not fit in --max-memory or take longer than --max-seconds."""
    needed, seconds = model_run_estimate(rows, batch, timesteps)
    memory_guard(needed, limits, what, " (every layer's outputs and the probe copies)", "data (fewer samples in --x)")
    check_time(seconds, what, limits)
