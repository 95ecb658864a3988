"""The windows of a series by plain numpy slicing and by the widely copied ``create_dataset``
loop, measured against Keras' own utility (run in the runner), and the window object."""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnshape.measure.checks import Check, exact, max_abs_diff
from rnnshape.rules.window import WindowSpec


def make_series(spec: WindowSpec) -> np.ndarray:
    """series[t, f] = t + f * length: feature 0 reads as the step index, and every value is
    distinct, so a window taken one step off can never compare equal."""
    steps = np.arange(spec.length, dtype=np.int64)
    return np.stack([steps + f * spec.length for f in range(spec.features)], axis=1)


def slice_windows(series: np.ndarray, spec: WindowSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plain slicing: X[i] = series[s : s + look_back], y[i] = series[s + look_back + horizon - 1]
    for s = i * stride. Returns (starts, X, y). X is the one copy made (from a strided view of
    the series, without an index array as large as X)."""
    starts = np.arange(spec.samples, dtype=np.int64) * spec.stride
    view = np.lib.stride_tricks.sliding_window_view(series, spec.look_back, axis=0)  # [steps, features, look_back]
    x = view.transpose(0, 2, 1)[starts]
    y = series[starts + spec.look_back + spec.horizon - 1]
    return starts, x, y


def create_dataset(dataset: np.ndarray, look_back: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The loop as it is widely copied (one feature, horizon 1), kept verbatim to measure it."""
    data_x, data_y = [], []
    for i in range(len(dataset) - look_back - 1):
        a = dataset[i : (i + look_back), 0]
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
        rows.append(
            {
                "sample": i,
                "x_steps": [start, start + spec.look_back - 1],
                "y_step": start + spec.look_back + spec.horizon - 1,
                "x": x[i].tolist(),
                "y": y[i].tolist(),
            }
        )
    return rows


def create_dataset_note(series: np.ndarray, spec: WindowSpec) -> dict[str, Any]:
    """Run the create_dataset loop and compare it with the correct windows for its own
    setting (feature 0, horizon 1, stride 1)."""
    loop_x, loop_y = create_dataset(series, spec.look_back)
    correct = WindowSpec(spec.length, spec.look_back, 1, 1, 1)
    # The correct windows of feature 0 (horizon 1, stride 1) as a view: X[i] = series[i : i + look_back, 0],
    # y[i] = series[i + look_back, 0]; compared without copying them.
    x = np.lib.stride_tricks.sliding_window_view(series[:, 0], spec.look_back)
    y = series[spec.look_back :, 0]
    kept = len(loop_x)
    same = kept <= correct.samples and (
        kept == 0
        or bool(np.array_equal(loop_x.reshape(kept, -1), x[:kept]) and np.array_equal(loop_y.reshape(-1), y[:kept]))
    )
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


def _exact_diff(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| of two integer arrays, 0.0 without the float64 copies when they are equal."""
    return 0.0 if np.array_equal(a, b) else max_abs_diff(a, b)


def window_data(spec: WindowSpec, show: int, keras: Any) -> dict[str, Any]:
    """The window object. ``keras`` is what Keras' utility gave, or None for --static."""
    series = make_series(spec)
    starts, x, y = slice_windows(series, spec)
    checks: list[Check] = []
    if keras is not None:
        checks.append(
            Check(
                f"Keras makes {keras.count} windows, the formula's {spec.samples}",
                keras.count == spec.samples,
                float(abs(keras.count - spec.samples)),
                "equal",
            )
        )
        where = ""
        if len(keras.segments) > 1:
            sizes = " and ".join(f"{'first' if first == 0 else 'last'} {len(kx):,}" for first, kx, _ in keras.segments)
            where = f" (on the {sizes} of {spec.samples:,} windows)"
        x_diff = y_diff = 0.0
        for first, kx, ky in keras.segments:
            want_x, want_y = x[first : first + len(kx)], y[first : first + len(ky)]
            if kx.shape != want_x.shape or ky.shape != want_y.shape or first + len(kx) > len(x):
                x_diff = y_diff = float("inf")
                break
            if kx.size:
                x_diff = max(x_diff, _exact_diff(kx, want_x))
                y_diff = max(y_diff, _exact_diff(ky, want_y))
        checks.append(
            exact(f"Keras' X equals plain slicing{where}: X[i] = series[i*stride : i*stride + look_back]", x_diff)
        )
        checks.append(
            exact(f"Keras' y equals plain slicing{where}: y[i] = series[i*stride + look_back + horizon - 1]", y_diff)
        )
    data: dict[str, Any] = {
        "config": {
            "length": spec.length,
            "look_back": spec.look_back,
            "features": spec.features,
            "horizon": spec.horizon,
            "stride": spec.stride,
            "show": show,
        },
        "series": {
            "shape": [spec.length, spec.features],
            "axes": ["timesteps", "features"],
            "dtype": "int64",
            "rule": f"series[t, f] = t + f * {spec.length}",
        },
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
