"""How a series becomes [samples, look_back, features] windows and their targets: the
validated options, the counts and shapes, and the segments Keras' utility is run on. Pure:
the windows themselves are sliced in measure.window and made by Keras in the runner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
# ... and at most this many values per segment: with a look-back of 999,900 steps, 4,000 windows
# would be 32 GB of X; Keras then makes (and holds in tf.data's buffers) a few windows only.
KERAS_SEGMENT_VALUES = 2_000_000


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
        return (
            f"samples = floor((length - look_back - horizon) / stride) + 1 = "
            f"floor(({n} - {k} - {h}) / {s}) + 1 = {self.samples}"
        )

    def keras_call(self) -> str:
        """The Keras call that makes these windows from ``series`` [length, features]."""
        return (
            f"keras.utils.timeseries_dataset_from_array(series[:-{self.horizon}], "
            f"targets=series[{self.look_back + self.horizon - 1}:], sequence_length={self.look_back}, "
            f"sequence_stride={self.stride}, shuffle=False, batch_size=128)"
        )

    def estimated_bytes(self, show: int = 5, static: bool = False) -> int:
        """What a run allocates beyond the interpreter and TensorFlow themselves, from the
        measured costs below (tests/benchmarks/guards.py prints estimate / measured): while the
        windows are measured, X, the windows shown as Python lists, the create_dataset loop's
        windows (feature 0) and, unless ``static``, Keras' windows in tf.data; then, for --json,
        the shown windows and their copy made while encoding. The larger of the two."""
        f, lb = self.features, self.look_back
        shown = (min(show, self.samples) + (1 if show and self.samples > show else 0)) * (lb + 1) * f
        per_shown = 40 + 64 / f  # an int, its list slot, and a list per step (of f values)
        loop_windows = max(0, self.length - lb - 1)
        measuring = (
            self.samples * lb * f * BYTES_PER_VALUE  # X
            + self.length * f * BYTES_PER_VALUE * (1 if static else 2)  # the series (and the runner's)
            + shown * per_shown
            + loop_windows * lb * (BYTES_PER_VALUE + 1)  # the loop's X and the comparison's booleans
            + loop_windows * LOOP_BYTES_PER_WINDOW
        )
        if not static:
            keras = sum(count for _, count, _ in segments(self)) * lb * f
            measuring += keras * BYTES_PER_VALUE * TF_COPIES + TF_BYTES
        encoding = shown * (per_shown + 8 + 64 / f)  # the lists copied by the JSON encoder
        return int(max(measuring, encoding))


# Measured costs of window's memory (Python 3.11, numpy 2, TensorFlow 2.21; see estimated_bytes):
LOOP_BYTES_PER_WINDOW = 160  # create_dataset's two lists: a numpy view and a numpy scalar per window
TF_COPIES = 4  # Keras' windows: tf.data's batches, their numpy copies, X filled from them
TF_BYTES = 64 * 2**20  # tf.data's own buffers


def make_window_spec(**options: Any) -> WindowSpec:
    """Validate the options; a bad value raises UsageError naming the option."""
    for key, value in options.items():
        low, high = LIMITS[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise UsageError(
                f"Invalid value for --{key.replace('_', '-')}: {value!r} is not in the range {low}..{high}"
            )
    spec = WindowSpec(**{k: v for k, v in options.items() if k != "show"})
    if spec.length < spec.look_back + spec.horizon:
        raise UsageError(
            f"Invalid value for --length: {spec.length} steps hold no window: a window needs --look-back + --horizon "
            f"= {spec.look_back} + {spec.horizon} = {spec.look_back + spec.horizon} steps"
        )
    if spec.stride >= spec.length - spec.horizon:
        raise UsageError(
            f"Invalid value for --stride: {spec.stride} must be below length - horizon = {spec.length - spec.horizon} "
            "(Keras' timeseries_dataset_from_array requires sequence_stride < len(data))"
        )
    return spec


def segments(spec: WindowSpec) -> list[tuple[int, int, int]]:
    """(first sample, sample count, first step) of the parts of the series Keras is run on:
    the whole series, or its first and last KERAS_SEGMENT windows."""
    segment = segment_windows(spec)
    if spec.samples <= 2 * segment:
        return [(0, spec.samples, 0)]
    tail = spec.samples - segment
    return [(0, segment, 0), (tail, segment, tail * spec.stride)]


def segment_windows(spec: WindowSpec) -> int:
    """The windows of one segment Keras is run on: KERAS_SEGMENT, fewer for long windows."""
    return max(1, min(KERAS_SEGMENT, KERAS_SEGMENT_VALUES // (spec.look_back * spec.features)))
