"""rnnshape.window(): how a series becomes [samples, timesteps, features] windows."""

from __future__ import annotations

from rnnshape.api._common import documented
from rnnshape.errors import ExpectationFailed, RnnshapeError
from rnnshape.results import WindowResult
from rnnshape.rules.cost import DEFAULT_MAX_MEMORY_MB
from rnnshape.rules.limits import Limits, memory_guard
from rnnshape.rules.window import make_window_spec
from rnnshape.versions import versions


@documented(
    length="steps in the series",
    look_back="steps per window (the model's timesteps)",
    horizon="the target is the value this many steps after a window's last step",
    stride="steps between the starts of two windows",
    show="windows to list (then the last one)",
)
def window(
    length: int = 100,
    look_back: int = 3,
    features: int = 1,
    horizon: int = 1,
    stride: int = 1,
    *,
    show: int = 5,
    static: bool = False,
    max_memory: int = DEFAULT_MAX_MEMORY_MB,
) -> WindowResult:
    """The windows of a series of ``length`` steps (series[t, f] = t + f * length): X of
    ``look_back`` steps, y ``horizon`` steps after each window, made by Keras' own
    timeseries_dataset_from_array (unless ``static``) and checked against plain slicing."""
    spec = make_window_spec(
        length=length, look_back=look_back, features=features, horizon=horizon, stride=stride, show=show
    )
    memory_guard(
        spec.estimated_bytes(show, static), Limits(max_memory), f"{spec.samples:,} windows of {look_back} x {features}"
    )
    from rnnshape.measure.window import make_series, window_data

    keras = None
    if not static:
        from rnnshape.runner import window as window_runner

        keras = window_runner.run_windows(spec, make_series(spec))
    data = window_data(spec, show, keras)
    data["versions"] = versions()
    failed = [c["claim"] for c in data["checks"] if not c["holds"]]
    errors: list[RnnshapeError] = [ExpectationFailed(f"measured check failed: {failed[0]}")] if failed else []
    return WindowResult(data, errors)
