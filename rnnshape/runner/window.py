"""Windows of a series (rnnshape window) made by Keras' own timeseries_dataset_from_array."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnshape.errors import BackendError
from rnnshape.runner.session import first_keras_line, load_keras, quiet_native_stderr


# ---- windows of a series (rnnshape window) ----------------------------------------------
def _window_dataset(
    keras: Any, series: np.ndarray, look_back: int, horizon: int, stride: int, batch_size: int | None
) -> Any:
    """Keras' utility, called as window.WindowSpec.keras_call shows."""
    return keras.utils.timeseries_dataset_from_array(
        series[:-horizon],
        targets=series[look_back + horizon - 1 :],
        sequence_length=look_back,
        sequence_stride=stride,
        shuffle=False,
        batch_size=batch_size,
    )


def keras_windows(
    series: np.ndarray, look_back: int, horizon: int, stride: int, batch_size: int = 128
) -> tuple[np.ndarray, np.ndarray]:
    """X and y from keras.utils.timeseries_dataset_from_array, called as window.WindowSpec.keras_call
    shows: data series[:-horizon], targets series[look_back + horizon - 1:]."""
    keras = load_keras()
    with quiet_native_stderr():
        try:
            dataset = _window_dataset(keras, series, look_back, horizon, stride, batch_size)
            # Filled batch by batch: X is held once, not as batches and their concatenation.
            count = max(0, (len(series) - horizon - look_back) // stride + 1)
            xs = np.empty((count, look_back, series.shape[1]), series.dtype)
            ys = np.empty((count, series.shape[1]), series.dtype)
            filled = 0
            for x, y in dataset:
                x, y = np.asarray(x), np.asarray(y)
                if filled + len(x) > count:  # more windows than the formula: keep them all, to be compared
                    xs = np.concatenate([xs[:filled], x])
                    ys = np.concatenate([ys[:filled], y])
                    count = filled = len(xs)
                    continue
                xs[filled : filled + len(x)], ys[filled : filled + len(y)] = x, y
                filled += len(x)
        except Exception as exc:
            raise BackendError(
                f"keras.utils.timeseries_dataset_from_array failed: {type(exc).__name__}: {first_keras_line(exc)}"
            ) from exc
    return xs[:filled], ys[:filled]


def keras_window_count(series: np.ndarray, look_back: int, horizon: int, stride: int) -> int:
    """How many windows Keras' utility makes of the whole series, read from the dataset's
    cardinality (unbatched) without iterating it."""
    keras = load_keras()
    with quiet_native_stderr():
        try:
            dataset = _window_dataset(keras, series, look_back, horizon, stride, None)
            count = int(dataset.cardinality().numpy())
        except Exception as exc:
            raise BackendError(
                f"keras.utils.timeseries_dataset_from_array failed: {type(exc).__name__}: {first_keras_line(exc)}"
            ) from exc
    if count < 0:  # tf.data's UNKNOWN (-2) or INFINITE (-1): count by iterating
        with quiet_native_stderr():
            count = sum(1 for _ in dataset)
    return count


@dataclass
class KerasWindows:
    """What Keras' utility gave: its window count on the whole series, and the windows of the
    segments it was run on, each as (first sample index, X, y)."""

    count: int
    segments: list[tuple[int, np.ndarray, np.ndarray]]


def run_windows(spec: Any, series: np.ndarray) -> KerasWindows:
    """Keras' utility on the series (see ``segments``); a segment starting at a window's first
    step, made with the same call, holds exactly the windows from there on."""
    from rnnshape.rules.window import segments

    parts = []
    cut = segments(spec)
    for first, count, step in cut:
        # One segment: the whole series, as the user would call it (cut to its last window, a
        # series of 5 steps with look-back 3 and stride 3 became data shorter than the stride,
        # which Keras refuses).
        end = len(series) if len(cut) == 1 else step + (count - 1) * spec.stride + spec.look_back + spec.horizon
        kx, ky = keras_windows(series[step:end], spec.look_back, spec.horizon, spec.stride)
        parts.append((first, kx, ky))
    if len(parts) == 1:
        total = len(parts[0][1])
    else:
        total = keras_window_count(series, spec.look_back, spec.horizon, spec.stride)
    return KerasWindows(total, parts)
