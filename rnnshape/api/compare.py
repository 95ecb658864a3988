"""rnnshape.compare(): many configurations side by side, one row each, in one process."""

from __future__ import annotations

from typing import Any, Iterable

from rnnshape.api._common import documented, make_layer_spec, run_modes
from rnnshape.errors import UsageError
from rnnshape.results import CompareResult, ViewOptions
from rnnshape.rules.cost import DEFAULT_MAX_MEMORY_MB, DEFAULT_MAX_SECONDS, SECONDS_PER_SHOWN_VALUE
from rnnshape.rules.grid import canonical_flag, changes, drop_refused, grid_flags, grid_options
from rnnshape.rules.limits import Limits, check_size, check_time, run_passes
from rnnshape.rules.options import FIXABLE


@documented(
    layers="the layers to compare, one row group each ('lstm', or several: ['lstm', 'gru'])",
    vary="flags added to the grid (return_state x return_sequences by default): return_sequences, return_state, stateful, go_backwards, bidirectional, reset_after (GRU rows), use_bias, unit_forget_bias (LSTM rows), unroll, training",
    fixed="flags held at the value given here in every row (None: each flag given as True, and each optional flag given)",
    backend="Keras backends to run every row on ('tensorflow', 'jax', 'torch'); with two or more, each output's max |difference| from the first backend is measured (above 1e-5: an ExpectationFailed in result.errors)",
)
def compare(
    layers: str | Iterable[str] = ("lstm",),
    *,
    vary: Iterable[str] = (),
    fixed: Iterable[str] | None = None,
    units: int | None = None,
    timesteps: int | None = None,
    features: int | None = None,
    batch: int | None = None,
    return_sequences: bool = False,
    return_state: bool = False,
    stateful: bool = False,
    go_backwards: bool = False,
    bidirectional: bool = False,
    merge_mode: str | None = None,
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
    seed: int = 0,
    lengths: Any = None,
    kernel_init: Any = None,
    recurrent_init: Any = None,
    bias_init: Any = None,
    input_data: Any = "random",
    use_cudnn: str | None = None,
    filters: int | None = None,
    kernel_size: Any = None,
    strides: Any = None,
    padding: str | None = None,
    depth: int | None = None,
    rows: int | None = None,
    cols: int | None = None,
    channels: int | None = None,
    cells: Any = None,
    values: bool = False,
    static: bool = False,
    max_memory: int = DEFAULT_MAX_MEMORY_MB,
    max_seconds: int = DEFAULT_MAX_SECONDS,
    diagram: bool = False,
    ascii_only: bool = False,
    backend: Any = (),
) -> CompareResult:
    """Every layer of ``layers`` times the grid of flags: return_sequences x return_state, plus
    each flag of ``vary``. A flag named in ``fixed`` keeps the value given here in every row
    (by default: each of the five flags given as True here is fixed, and reset_after, use_bias,
    unit_forget_bias, unroll and training when given). reset_after applies to the GRU rows only,
    unit_forget_bias to the LSTM rows, recurrent_activation to LSTM and GRU. ``backend``: Keras
    backends to run every row on ("tensorflow", "jax", "torch"; jax and torch in a child process);
    with two or more, each output is compared with the first backend's (a difference above 1e-5
    is an ExpectationFailed in ``result.errors``)."""
    layers = (layers,) if isinstance(layers, str) else tuple(layers)
    layers = tuple(dict.fromkeys(layers or ("lstm",)))
    flag_values = {
        "return_sequences": return_sequences,
        "return_state": return_state,
        "stateful": stateful,
        "go_backwards": go_backwards,
        "bidirectional": bidirectional,
    }
    fixed = [flag for flag, value in flag_values.items() if value] if fixed is None else list(fixed)
    optional = {
        "reset_after": reset_after,
        "use_bias": use_bias,
        "unit_forget_bias": unit_forget_bias,
        "unroll": unroll,
        "training": training,
    }
    fixed += [flag for flag, value in optional.items() if value is not None and flag not in fixed]
    vary = [canonical_flag(flag) for flag in vary]
    if static and values:
        raise UsageError("Invalid value for --values: values need a real run; drop --static")
    from rnnshape.rules.catalogue import canonical_backend

    backends = list(
        dict.fromkeys(canonical_backend(b) for b in ((backend,) if isinstance(backend, str) else tuple(backend or ())))
    )
    if static and backends:
        raise UsageError("Invalid value for --backend: a backend runs the layers; drop --static")
    base = dict(
        flag_values,
        **optional,
        activation=activation,
        recurrent_activation=recurrent_activation,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        initial_state=initial_state,
        units=units,
        timesteps=timesteps,
        features=features,
        batch=batch,
        merge_mode=merge_mode,
        seed=seed,
        lengths=lengths,
        kernel_init=kernel_init,
        recurrent_init=recurrent_init,
        bias_init=bias_init,
        input=input_data,
        use_cudnn=use_cudnn,
        filters=filters,
        kernel_size=kernel_size,
        strides=strides,
        padding=padding,
        depth=depth,
        rows=rows,
        cols=cols,
        channels=channels,
        cells=cells,
    )
    flags = grid_flags(vary, fixed)
    specs, skipped = drop_refused([make_layer_spec(**row) for row in grid_options(base, layers, flags)], flags)
    if diagram and any(spec.cells is not None for spec in specs):
        raise UsageError(
            "Invalid value for --diagram: the unrolled picture draws one cell per step; --layer rnn "
            "(a list of cells) is not drawn: drop --diagram"
        )
    from rnnshape.measure.inspect import layer_data

    if static:  # --static builds nothing: any size can be answered
        rows = [layer_data(spec, None) for spec in specs]
    else:
        limits = Limits(max_memory, max_seconds)
        for spec in specs:
            check_size(spec, limits, passes=run_passes(spec), values=spec.value_count() if values else 0)
        check_time(
            sum(
                spec.estimated_seconds(run_passes(spec)) + values * spec.value_count() * SECONDS_PER_SHOWN_VALUE
                for spec in specs
            ),
            f"the {len(specs)} rows",
            limits,
        )
        from rnnshape.runner import session as session_runner

        mode, run = run_modes([(spec, run_passes(spec)) for spec in specs], f"{len(specs)} rows")
        with session_runner.mode(mode):
            runs, ran = _run_on(backends, specs)
        rows = [layer_data(spec, result, values=values) for spec, result in zip(specs, runs[0])]
    data = {
        "grid": {
            "layers": list(layers),
            "vary": list(flags),
            "fixed": {key: base[key] for key in FIXABLE if key not in flags},
            "skipped": skipped,
        },
        "rows": rows,
        "changes": changes(rows, flags),
        "static": static,
    }
    errors: list[Any] = []
    if not static:
        data["run"] = run
    if backends and not static:
        errors = _backend_facts(data, backends, ran, runs)
    return CompareResult(data, errors, ViewOptions(values=values, diagram=diagram, ascii_only=ascii_only), specs=specs)


def _run_on(backends: list[str], specs: list[Any]) -> tuple[list[list[Any]], list[dict[str, str]]]:
    """Every spec run on each backend (TensorFlow in this process, the others in a child each)."""
    from rnnshape.runner import backend as other
    from rnnshape.runner import layer as layer_runner

    other.require(*backends)  # a missing backend is said before TensorFlow runs the first one
    runs, ran = [], []
    # A named initializer (--kernel-init glorot_uniform) draws other numbers on each backend from
    # the same seed: with two or more backends the weights are drawn once, on TensorFlow, and set
    # on every backend, so that the computation is what is compared (as with rnnshape's own weights).
    weights = (
        layer_runner.drawn_weights(specs) if len(backends) > 1 and any(map(layer_runner.draws_weights, specs)) else None
    )
    for name in backends or ["tensorflow"]:
        if name == "tensorflow":
            from rnnshape.api._common import tensorflow_backend

            runs.append(layer_runner.run_many(specs, weights))
            ran.append(tensorflow_backend())
        else:
            results, which = other.run_many(specs, name, weights)
            runs.append(results)
            ran.append(which)
    return runs, ran


def _backend_facts(
    data: dict[str, Any], backends: list[str], ran: list[dict[str, str]], runs: list[list[Any]]
) -> list[Any]:
    """data.backends, each row's backend differences (and their checks); the disagreements as errors."""
    from rnnshape.errors import ExpectationFailed
    from rnnshape.measure.backends import agreement

    data["backends"] = ran
    errors = []
    for index, row in enumerate(data["rows"]):
        entries, checks = agreement(backends, [per_backend[index] for per_backend in runs])
        row["backends"] = entries
        row.setdefault("checks", []).extend(check.to_dict() for check in checks)
        for check in checks:
            if not check.holds:
                errors.append(
                    ExpectationFailed(
                        f"{row['keras_call']}: {check.claim} fails: max |diff| {check.max_abs_diff:.3g} > 1e-5"
                    )
                )
    return errors
