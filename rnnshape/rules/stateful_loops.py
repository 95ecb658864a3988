"""The loops the tutorials teach with stateful=True (`rnnshape stateful --fit/--windows/--save-load`).

Pure: the arrangement of a series into the samples of stateful training (sample i of batch k+1
continues sample i of batch k), the overlapping windows of the create_dataset recipe, what each
row's state has read, the sizes for the guard, and the rules of Keras these loops state. The
claims measured on a run are in measure.stateful_loops.
"""

from __future__ import annotations

from dataclasses import dataclass

from rnnshape.errors import UsageError

LOOPS = ("fit", "windows", "save_load")
FIT_TIMESTEPS = 200  # the series length of --fit when neither --timesteps nor --input FILE gives it
FIT_CHUNK = 20  # the longest default chunk of --fit
WINDOWS_TIMESTEPS = 12  # the series length of --windows by default
MAX_EPOCHS = 1000
# fit on other backends, measured with Keras 3.15 (tests/test_stateful_loops.py re-measures both):
FIT_BACKEND_REFUSALS = {
    "torch": (
        'Keras on torch cannot train a stateful layer: model.fit raises RuntimeError ("one of the variables '
        'needed for gradient computation has been modified by an inplace operation") at the first batch, '
        "because the layer assigns its state variables inside the graph torch differentiates"
    ),
    "jax": (
        "Keras on jax keeps the layer's state variables at zeros through model.fit (read in a callback after "
        "model.jax_state_sync()): its stateless train step returns the model's variables, and the RNN's state "
        "variables are not among them, so the carried state cannot be measured"
    ),
}

FIT_RULES = [
    "The answer's loop: for epoch in range(E): model.fit(X, y, epochs=1, batch_size=B, shuffle=False); "
    "then reset the states. Keras 3 has no Model.reset_states(): call layer.reset_state() on each stateful "
    "layer (here at each epoch's start).",
    "Stateful training needs the samples arranged so that row i of batch k+1 continues row i of batch k: "
    "X[k*B + i] = chunk k of series i, with batch_size=B equal to the batch_shape of keras.Input.",
    "fit's shuffle=True (its default) reorders the samples every epoch, so a row continues another sample's "
    "history; shuffle='batch' keeps batches whole but reorders them in time, which breaks the carry too.",
]
WINDOW_RULES = [
    "create_dataset (look_back L, stride 1) makes windows that overlap by L-1 steps: window k+1 is window k "
    "shifted by one step. They are independent samples: for a non-stateful layer, or stateful with a "
    "reset_state() after each window (which makes stateful useless).",
    "A stateful layer needs each batch to continue the previous one in time: cut the series into "
    "non-overlapping consecutive chunks (window k+1 starts where window k ended).",
]
SAVE_RULES = [
    "A stateful layer's states live in variables it creates when it is built (layer.states), apart from its "
    "weights: to carry a state across model.save and load, read layer.states before saving and assign them to the "
    "loaded layer's states.",
    "The batch size of a stateful model is the one of keras.Input(batch_shape=...): predict, evaluate and fit take "
    "batches of exactly that size, with batch_size equal to it.",
]


def chosen_loop(fit: int | None, windows: int | None, save_load: bool, shuffle: bool, no_reset: bool) -> str | None:
    """Which loop the options ask for (None: the chunked inference of plain `stateful`)."""
    asked = [
        name
        for name, given in (("--fit", fit is not None), ("--windows", windows is not None), ("--save-load", save_load))
        if given
    ]
    if len(asked) > 1:
        raise UsageError(
            f"Invalid value for {asked[1]}: choose one of --fit, --windows and --save-load "
            f"({' and '.join(asked)} were given)"
        )
    if fit is None:
        for flag, given in (("--shuffle", shuffle), ("--no-reset", no_reset)):
            if given:
                raise UsageError(f"Invalid value for {flag}: it changes the training loop of --fit EPOCHS only")
    if fit is not None:
        if isinstance(fit, bool) or not isinstance(fit, int) or not 1 <= fit <= MAX_EPOCHS:
            raise UsageError(f"Invalid value for --fit: {fit!r} is not a number of epochs in 1..{MAX_EPOCHS}")
        return "fit"
    if windows is not None:
        if isinstance(windows, bool) or not isinstance(windows, int) or windows < 1:
            raise UsageError(f"Invalid value for --windows: {windows!r} is not a look_back of at least 1")
        return "windows"
    return "save_load" if save_load else None


def default_timesteps(loop: str) -> int:
    return FIT_TIMESTEPS if loop == "fit" else WINDOWS_TIMESTEPS


def fit_chunk(timesteps: int, split: tuple[int, ...] | None) -> int:
    """The chunk length of --fit: --split's (all chunks equal), else the longest divisor of
    timesteps up to FIT_CHUNK."""
    if split is not None:
        if len(set(split)) != 1:
            raise UsageError(
                f"Invalid value for --split: --fit feeds model.fit one array, so every chunk has the same "
                f"length (got {','.join(str(n) for n in split)})"
            )
        if len(split) < 2:
            raise UsageError(
                "Invalid value for --split: --fit needs at least two chunks to carry a state across batches"
            )
        return split[0]
    if timesteps < 2:
        raise UsageError("Invalid value for --timesteps: --fit needs at least 2 steps (two chunks of one step)")
    return max(n for n in range(1, min(FIT_CHUNK, timesteps // 2) + 1) if timesteps % n == 0)


@dataclass(frozen=True)
class FitPlan:
    """X[k*B + i] = chunk k of series i: ``series`` rows (the batch), ``chunks`` per series."""

    series: int
    chunks: int
    chunk: int
    epochs: int
    shuffle: bool
    reset: bool

    @property
    def samples(self) -> int:
        return self.series * self.chunks

    def sample(self, index: int) -> tuple[int, int]:
        """Sample index -> (series, chunk), both from 0."""
        return index % self.series, index // self.series

    def steps(self, chunk: int) -> tuple[int, int]:
        """[start, stop) of a chunk along time."""
        return chunk * self.chunk, (chunk + 1) * self.chunk

    def keras_loop(self) -> str:
        shuffle = "True" if self.shuffle else "False"
        reset = "layer.reset_state(); " if self.reset else ""
        return (
            f"for epoch in range({self.epochs}): {reset}model.fit(X, y, epochs=1, batch_size={self.series}, "
            f"shuffle={shuffle})"
        )


def history_text(pieces: list[tuple[int, int, int]]) -> str:
    """What a row's state has read, [(series, start, stop)] in reading order (0-based, stop
    exclusive), merged where one piece continues the previous: 'series 1 steps 1..40'."""
    if not pieces:
        return "nothing (zeros)"
    merged: list[list[int]] = []
    for series, start, stop in pieces:
        if merged and merged[-1][0] == series and merged[-1][2] == start:
            merged[-1][2] = stop
        else:
            merged.append([series, start, stop])
    parts = [f"series {s + 1} steps {a + 1}..{b}" for s, a, b in merged]
    if len(parts) > 4:
        parts = parts[:2] + [f"... ({len(parts) - 4} more pieces)"] + parts[-2:]
    return ", ".join(parts)


def window_count(timesteps: int, look_back: int) -> int:
    if look_back > timesteps:
        raise UsageError(
            f"Invalid value for --windows: look_back {look_back} is longer than the series ({timesteps} steps)"
        )
    return timesteps - look_back + 1


def window_read_steps(k: int, look_back: int) -> list[int]:
    """The steps (1-based) the state entering window k+1 (k windows fed, k from 0) has read, in order."""
    return [t + 1 for w in range(k) for t in range(w, w + look_back)]


def fit_values(series: int, timesteps: int, units: int, states: int, plan: FitPlan) -> int:
    """About how many numbers a --fit run shows (JSON): per batch the states entering and leaving
    and a few numbers per row, and the series."""
    batches = plan.epochs * plan.chunks
    return batches * (2 * states * series * units + 6 * series) + series * timesteps


def fit_passes(plan: FitPlan) -> int:
    """Passes over the whole series the guard counts: per epoch fit's forward and backward pass
    (about 3) and the reference runs of its batches (1 pass of steps, each batch over every sample
    from every row: ``series`` times the rows beyond 64 samples); the short-batch fit and its
    predict (5)."""
    return plan.epochs * (4 + plan.samples * plan.series // 64) + 5
