"""rnnshape.trace(): every gate and state of every timestep, recomputed and checked."""

from __future__ import annotations

from typing import Any

from rnnshape.api._common import documented, make_layer_spec, on_backend, run_modes, spec_options, tensorflow_backend
from rnnshape.errors import UsageError
from rnnshape.results import TraceResult
from rnnshape.rules import trace as tracing
from rnnshape.rules.catalogue import CONV_LAYERS, KERAS_CLASS, canonical_layer
from rnnshape.rules.cost import DEFAULT_MAX_MEMORY_MB, DEFAULT_MAX_SECONDS
from rnnshape.rules.limits import Limits, check_size, check_time, memory_guard
from rnnshape.versions import versions

# Keras' passes: the layer, and a twin per direction (one pass of the layer's length between them);
# the step-by-step recomputation in numpy is estimated apart (rules/trace.py recompute_cost)
TRACE_PASSES = 2


@documented(
    sample="which sample of the batch to show (from 0)",
    steps="timesteps to show, counted from 1, e.g. '1-3,10' (None: all up to 12, else the first and last 5)",
)
def trace(
    layer: str = "lstm",
    units: int | None = None,
    timesteps: int | None = None,
    features: int | None = None,
    batch: int | None = None,
    *,
    return_sequences: bool = False,
    return_state: bool = False,
    stateful: bool = False,
    go_backwards: bool = False,
    bidirectional: bool = False,
    merge_mode: str | None = None,
    seed: int = 0,
    lengths: Any = None,
    kernel_init: Any = None,
    recurrent_init: Any = None,
    bias_init: Any = None,
    input_data: Any = "random",
    use_cudnn: str | None = None,
    reset_after: bool | None = None,
    activation: str | None = None,
    recurrent_activation: str | None = None,
    use_bias: bool | None = None,
    unit_forget_bias: bool | None = None,
    dropout: float | None = None,
    recurrent_dropout: float | None = None,
    training: bool | None = None,
    unroll: bool | None = None,
    initial_state: Any = None,
    sample: int = 0,
    steps: str | None = None,
    max_memory: int = DEFAULT_MAX_MEMORY_MB,
    max_seconds: int = DEFAULT_MAX_SECONDS,
    backend: str | None = None,
) -> TraceResult:
    """The layer inspect builds (same options and seed), recomputed step by step in numpy from its
    own weights and checked against Keras. ``steps`` chooses the steps shown ("1-3,10", counted
    from 1); a disagreement above 1e-4 is a BackendError in ``result.errors`` (exit 3).
    ``backend``: "tensorflow", "jax" or "torch": the Keras backend whose run is recomputed and
    checked (jax and torch in a child process, same weights and input); ``data["backend"]``."""
    arguments = dict(locals())  # the options as given (spec_options picks the layer's)
    from rnnshape.rules.catalogue import canonical_backend

    backend = canonical_backend(backend)
    if canonical_layer(layer) in (*CONV_LAYERS, "rnn"):
        raise UsageError(
            f"Invalid value for --layer: trace recomputes LSTM, GRU and SimpleRNN cells, not "
            f"{KERAS_CLASS[canonical_layer(layer)]}; see its outputs, states and measured facts with "
            "rnnshape inspect"
        )
    spec = make_layer_spec(**spec_options(arguments))
    if spec.initial_state is not None:
        raise UsageError(
            "Invalid value for --initial-state: trace recomputes from zero states; see the first step "
            "from a given state measured by rnnshape inspect --initial-state"
        )
    if spec.training and (spec.dropout or spec.recurrent_dropout):
        raise UsageError(
            "Invalid value for --training: trace recomputes the cell without dropout masks; drop "
            "--training (dropout does nothing at inference)"
        )
    tracing.check_sample(sample, spec.batch)
    limits = Limits(max_memory, max_seconds, static=False)
    check_size(spec, limits, passes=TRACE_PASSES)
    extra_bytes, extra_seconds = tracing.recompute_cost(spec)  # the numpy recomputation of every step
    what = f"{spec.keras_call()} on input {spec.input_shape}"
    memory_guard(
        spec.estimated_bytes() + extra_bytes,
        limits,
        what,
        " (weights, activations, outputs, the recomputed steps)",
        "--units/--timesteps/--batch",
    )
    check_time(spec.estimated_seconds(TRACE_PASSES) + extra_seconds, what, limits)
    chosen = tracing.parse_steps(steps, spec.timesteps) if steps is not None else None
    from rnnshape.measure import trace as measured
    from rnnshape.runner import session as session_runner
    from rnnshape.runner import trace as trace_runner

    if backend in (None, "tensorflow"):
        mode, mode_data = run_modes([(spec, TRACE_PASSES)], spec.keras_call())
        with session_runner.mode(mode):
            run = trace_runner.trace_many([spec])[0]
        ran = tensorflow_backend() if backend else None
    else:
        runs, ran, mode_data = on_backend(backend, [(spec, TRACE_PASSES)], limits, what, "trace.trace_many", [spec])
        run = runs[0]
    overflowed = measured.non_finite_outputs(run)
    if overflowed:
        from rnnshape.errors import BackendError

        raise BackendError(
            f"Keras computed inf or nan in {', '.join(overflowed)} of {spec.keras_call()} (float32 "
            "overflow): there are no steps to recompute; use a bounded --activation or smaller weights "
            "(--kernel-init, --recurrent-init)"
        )
    import numpy as np

    with np.errstate(over="ignore", invalid="ignore"):  # reading the other way may overflow: it only has to differ
        traces = measured.recompute(run)
        checks = measured.measure(run, traces)
    data = measured.trace_data(run, traces, checks, sample=sample, chosen=chosen, versions=versions())
    data["run"] = mode_data
    if ran is not None:
        data["backend"] = ran
    positions, note = tracing.shown_steps(spec.timesteps, chosen)
    error = measured.verdict_error(data)
    return TraceResult(data, [error] if error else [], shown_positions=positions, elision_note=note)
