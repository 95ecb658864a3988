"""How a series becomes [samples, look_back, features] windows and their targets: the counts,
plain numpy slicing, and the widely copied ``create_dataset`` loop, measured against each
other. No TensorFlow here; Keras' own utility runs in keras_runner.keras_windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnshape.errors import UsageError

LIMITS = {  # option -> (minimum, maximum)
    "length": (2, 1_000_000),  # the create_dataset loop runs in Python over the whole series
    "look_back": (1, 1_000_000),
    "features": (1, 10_000),
    "horizon": (1, 1_000_000),
    "stride": (1, 1_000_000),
    "show": (0, 1000),
}
BYTES_PER_VALUE = 8  # the series is int64
# Keras' utility makes windows one tf.data element at a time (about 0.1 ms each here): beyond
# this many windows it is compared on the first and the last KERAS_SEGMENT windows, and its
# count on the whole series.
KERAS_SEGMENT = 4000


@dataclass(frozen=True)
class WindowSpec:
    length: int = 100
    look_back: int = 3
    features: int = 1
    horizon: int = 1
    stride: int = 1

    @property
    def samples(self) -> int:
        return (self.length - self.look_back - self.horizon) // self.stride + 1

    @property
    def x_shape(self) -> tuple[int, int, int]:
        return (self.samples, self.look_back, self.features)

    @property
    def y_shape(self) -> tuple[int, int]:
        return (self.samples, self.features)

    def formula(self) -> str:
        """The sample count with the numbers filled in."""
        n, k, h, s = self.length, self.look_back, self.horizon, self.stride
        if s == 1:
            return f"samples = length - look_back - horizon + 1 = {n} - {k} - {h} + 1 = {self.samples}"
        return (f"samples = floor((length - look_back - horizon) / stride) + 1 = "
                f"floor(({n} - {k} - {h}) / {s}) + 1 = {self.samples}")

    def keras_call(self) -> str:
        """The Keras call that makes these windows from ``series`` [length, features]."""
        return (f"keras.utils.timeseries_dataset_from_array(series[:-{self.horizon}], "
                f"targets=series[{self.look_back + self.horizon - 1}:], sequence_length={self.look_back}, "
                f"sequence_stride={self.stride}, shuffle=False, batch_size=128)")

    def estimated_bytes(self) -> int:
        """X three times over (slicing, Keras, the comparison) plus the series and y."""
        x = self.samples * self.look_back * self.features
        return (3 * x + 4 * self.samples * self.features + self.length * self.features) * BYTES_PER_VALUE


def make_window_spec(**options: Any) -> WindowSpec:
    """Validate the options; a bad value raises UsageError naming the option."""
    for key, value in options.items():
        low, high = LIMITS[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise UsageError(f"Invalid value for --{key.replace('_', '-')}: {value!r} is not in the range {low}..{high}")
    spec = WindowSpec(**{k: v for k, v in options.items() if k != "show"})
    if spec.length < spec.look_back + spec.horizon:
        raise UsageError(
            f"Invalid value for --length: {spec.length} steps hold no window: a window needs --look-back + --horizon "
            f"= {spec.look_back} + {spec.horizon} = {spec.look_back + spec.horizon} steps")
    if spec.stride >= spec.length - spec.horizon:
        raise UsageError(
            f"Invalid value for --stride: {spec.stride} must be below length - horizon = {spec.length - spec.horizon} "
            "(Keras' timeseries_dataset_from_array requires sequence_stride < len(data))")
    return spec


def make_series(spec: WindowSpec) -> np.ndarray:
    """series[t, f] = t + f * length: feature 0 reads as the step index, and every value is
    distinct, so a window taken one step off can never compare equal."""
    steps = np.arange(spec.length, dtype=np.int64)
    return np.stack([steps + f * spec.length for f in range(spec.features)], axis=1)


def slice_windows(series: np.ndarray, spec: WindowSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plain slicing: X[i] = series[s : s + look_back], y[i] = series[s + look_back + horizon - 1]
    for s = i * stride. Returns (starts, X, y)."""
    starts = np.arange(spec.samples, dtype=np.int64) * spec.stride
    x = series[starts[:, None] + np.arange(spec.look_back)[None, :]]
    y = series[starts + spec.look_back + spec.horizon - 1]
    return starts, x, y


def create_dataset(dataset: np.ndarray, look_back: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The loop as it is widely copied (one feature, horizon 1), kept verbatim to measure it."""
    data_x, data_y = [], []
    for i in range(len(dataset) - look_back - 1):
        a = dataset[i:(i + look_back), 0]
        data_x.append(a)
        data_y.append(dataset[i + look_back, 0])
    return np.array(data_x), np.array(data_y)


def window_rows(starts: np.ndarray, x: np.ndarray, y: np.ndarray, spec: WindowSpec, show: int) -> list[dict[str, Any]]:
    """The first ``show`` windows and the last one, as index ranges with their values."""
    picks = list(range(min(show, len(starts))))
    if len(starts) and (len(starts) - 1) not in picks and show > 0:
        picks.append(len(starts) - 1)
    rows = []
    for i in picks:
        start = int(starts[i])
        rows.append({
            "sample": i,
            "x_steps": [start, start + spec.look_back - 1],
            "y_step": start + spec.look_back + spec.horizon - 1,
            "x": x[i].tolist(),
            "y": y[i].tolist(),
        })
    return rows


def create_dataset_note(series: np.ndarray, spec: WindowSpec) -> dict[str, Any]:
    """Run the create_dataset loop and compare it with the correct windows for its own
    setting (feature 0, horizon 1, stride 1)."""
    loop_x, loop_y = create_dataset(series, spec.look_back)
    correct = WindowSpec(spec.length, spec.look_back, 1, 1, 1)
    _, x, y = slice_windows(series[:, :1], correct)
    kept = len(loop_x)
    same = kept <= len(x) and (kept == 0 or bool(np.array_equal(loop_x.reshape(kept, -1), x[:kept, :, 0])
                                                 and np.array_equal(loop_y.reshape(-1), y[:kept, 0])))
    last = correct.samples - 1
    return {
        "loop": "for i in range(len(dataset)-look_back-1): X.append(dataset[i:(i+look_back), 0]); "
                "Y.append(dataset[i + look_back, 0])",
        "loop_windows": kept,
        "correct_windows": correct.samples,
        "dropped": correct.samples - kept,
        "loop_windows_equal_the_first_correct_ones": same,
        "last_correct_window": {"x_steps": [last, last + spec.look_back - 1], "y_step": last + spec.look_back},
    }


@dataclass
class KerasWindows:
    """What Keras' utility gave: its window count on the whole series, and the windows of the
    segments it was run on, each as (first sample index, X, y)."""

    count: int
    segments: list[tuple[int, np.ndarray, np.ndarray]]


def segments(spec: WindowSpec) -> list[tuple[int, int, int]]:
    """(first sample, sample count, first step) of the parts of the series Keras is run on:
    the whole series, or its first and last KERAS_SEGMENT windows."""
    if spec.samples <= 2 * KERAS_SEGMENT:
        return [(0, spec.samples, 0)]
    tail = spec.samples - KERAS_SEGMENT
    return [(0, KERAS_SEGMENT, 0), (tail, KERAS_SEGMENT, tail * spec.stride)]


def run_keras(spec: WindowSpec, series: np.ndarray) -> KerasWindows:
    """Keras' utility on the series (see ``segments``); a segment starting at a window's first
    step, made with the same call, holds exactly the windows from there on."""
    from rnnshape import keras_runner

    parts = []
    for first, count, step in segments(spec):
        end = step + (count - 1) * spec.stride + spec.look_back + spec.horizon
        kx, ky = keras_runner.keras_windows(series[step:end], spec.look_back, spec.horizon, spec.stride)
        parts.append((first, kx, ky))
    if len(parts) == 1:
        total = len(parts[0][1])
    else:
        total = keras_runner.keras_window_count(series, spec.look_back, spec.horizon, spec.stride)
    return KerasWindows(total, parts)


def window_data(spec: WindowSpec, show: int, keras: KerasWindows | None) -> dict[str, Any]:
    """The window object. ``keras`` is what Keras' utility gave, or None for --static."""
    from rnnshape.facts import Check, max_abs_diff

    series = make_series(spec)
    starts, x, y = slice_windows(series, spec)
    checks: list[Check] = []
    if keras is not None:
        checks.append(Check(f"Keras makes {keras.count} windows, the formula's {spec.samples}",
                            keras.count == spec.samples, float(abs(keras.count - spec.samples)), "equal"))
        where = ""
        if len(keras.segments) > 1:
            sizes = " and ".join(f"{'first' if first == 0 else 'last'} {len(kx):,}" for first, kx, _ in keras.segments)
            where = f" (on the {sizes} of {spec.samples:,} windows)"
        x_diff = y_diff = 0.0
        for first, kx, ky in keras.segments:
            want_x, want_y = x[first:first + len(kx)], y[first:first + len(ky)]
            if kx.shape != want_x.shape or ky.shape != want_y.shape or first + len(kx) > len(x):
                x_diff = y_diff = float("inf")
                break
            if kx.size:
                x_diff = max(x_diff, max_abs_diff(kx, want_x))
                y_diff = max(y_diff, max_abs_diff(ky, want_y))
        checks.append(_exact(f"Keras' X equals plain slicing{where}: X[i] = series[i*stride : i*stride + look_back]",
                             x_diff))
        checks.append(_exact(f"Keras' y equals plain slicing{where}: "
                             "y[i] = series[i*stride + look_back + horizon - 1]", y_diff))
    data: dict[str, Any] = {
        "config": {"length": spec.length, "look_back": spec.look_back, "features": spec.features,
                   "horizon": spec.horizon, "stride": spec.stride, "show": show},
        "series": {"shape": [spec.length, spec.features], "axes": ["timesteps", "features"], "dtype": "int64",
                   "rule": f"series[t, f] = t + f * {spec.length}"},
        "samples": spec.samples,
        "formula": spec.formula(),
        "x_shape": list(spec.x_shape),
        "x_axes": ["samples", "look_back", "features"],
        "y_shape": list(spec.y_shape),
        "y_axes": ["samples", "features"],
        "windows": window_rows(starts, x, y, spec, show),
        "keras_call": spec.keras_call(),
        "checks": [c.to_dict() for c in checks],
        "create_dataset": create_dataset_note(series, spec),
        "static": keras is None,
    }
    return data


def _exact(claim: str, diff: float):
    from rnnshape.facts import Check

    return Check(claim, diff == 0.0, diff, "equal")
