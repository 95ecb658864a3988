"""`rnnshape stateful`: one sequence cut into consecutive batches and fed to a stateful layer.

Pure: the chunking rules, the order in which each direction reads the input, and the rules
of Keras the command states (RULES); the claims measured on a run are in measure.stateful.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass

from rnnshape.errors import SpecError
from rnnshape.rules.catalogue import KERAS_LAYER_NAME
from rnnshape.rules.layer import LayerSpec
from rnnshape.rules.spec import parse_int_list

MAX_CHUNKS = 100

RULES = [
    "stateful=True keeps the final state of each batch as the initial state of the next batch, row by "
    "row: sample i of batch k+1 continues sample i of batch k.",
    "The batch size is fixed: the state variables are created with shape (batch, units) when the layer "
    "is built; in a model declare it with keras.Input(batch_shape=(batch, None, features)) when the chunks "
    "differ in length, or (batch, chunk_length, features) when they all have the same length (a model "
    "refuses any other length than the one it declares), and feed batches of exactly that many samples.",
    "Batches must arrive in time order, never shuffled: train with model.fit(..., shuffle=False), "
    "else a sample continues another sample's state.",
    "Keras 3 spells the reset layer.reset_state(); reset_states() survives on RNN layers only as a "
    "compatibility alias, and a Model has no reset_states: call reset_state() on each stateful layer "
    "between independent sequences (e.g. at the start of every epoch).",
]
GO_BACKWARDS_RULE = (
    "go_backwards=True reads every batch backwards within itself, so a stateful go_backwards "
    "layer carries its state from the FIRST step of one chunk into the LAST step of the next."
)
BIDIRECTIONAL_RULE = (
    "Bidirectional keeps the states of both of its layers; the backward layer is built "
    "with go_backwards=True, so it reads every chunk backwards within itself."
)


# ---- the chunks -------------------------------------------------------------------------------
def default_split(timesteps: int) -> tuple[int, ...]:
    """Two halves, the first rounded down (3 -> 1,2; 6 -> 3,3); one chunk when timesteps is 1."""
    if timesteps == 1:
        return (1,)
    return (timesteps // 2, timesteps - timesteps // 2)


def parse_split(text: str | None, timesteps: int) -> tuple[int, ...]:
    """--split '2,4' -> (2, 4), checked against --timesteps; None gives default_split."""
    if text is None:
        return default_split(timesteps)
    split = parse_int_list("split", text)
    if any(n == 0 for n in split):
        raise SpecError("split", f"{text!r} has a chunk of 0 steps: every chunk length must be at least 1")
    if len(split) > MAX_CHUNKS:
        raise SpecError("split", f"{len(split)} chunks is more than the {MAX_CHUNKS} allowed")
    if sum(split) != timesteps:
        raise SpecError(
            "split",
            f"{text!r} adds up to {sum(split)}, but --timesteps is {timesteps}: "
            "the chunk lengths must add up to the timesteps",
        )
    return split


def input_batch_shape(spec: LayerSpec, split: tuple[int, ...]) -> tuple[int, int | None, int]:
    """The batch_shape of the keras.Input a model feeding these chunks needs: (batch, chunk
    length, features) when every chunk has the same length, else (batch, None, features)."""
    steps = split[0] if len(set(split)) == 1 else None
    return (spec.batch, steps, spec.features)


def keras_input(spec: LayerSpec, split: tuple[int, ...]) -> str:
    """input_batch_shape as the line of Python that declares it."""
    batch, steps, features = input_batch_shape(spec, split)
    return f"keras.Input(batch_shape=({batch}, {steps}, {features}))"


def chunk_bounds(split: tuple[int, ...]) -> list[tuple[int, int]]:
    """(2, 4) -> [(0, 2), (2, 6)]: [start, stop) of each chunk along time."""
    stops = list(itertools.accumulate(split))
    return [(stop - n, stop) for n, stop in zip(split, stops)]


# ---- the directions and the order they read the input -------------------------------------
@dataclass(frozen=True)
class Direction:
    prefix: str  # "" for a plain layer, "forward_" / "backward_" inside Bidirectional
    layer_name: str  # the Keras name of the (sub-)layer
    reversed: bool  # reads each chunk backwards (go_backwards=True)
    flipped: bool  # Bidirectional flips this layer's output sequence back to time order


def directions(spec: LayerSpec) -> list[Direction]:
    name = KERAS_LAYER_NAME[spec.layer]
    if not spec.bidirectional:
        return [Direction("", name, spec.go_backwards, False)]
    return [
        Direction("forward_", f"forward_{name}", spec.go_backwards, False),
        Direction("backward_", f"backward_{name}", not spec.go_backwards, True),
    ]


def state_names(spec: LayerSpec) -> list[str]:
    """Every state variable of the stateful layer, in Keras order (forward, then backward)."""
    own = ["state_h", "state_c"] if spec.has_cell_state else ["state_h"]
    return [d.prefix + name for d in directions(spec) for name in own]


def value_count(spec: LayerSpec, split: tuple[int, ...]) -> int:
    """About how many numbers stateful_data holds (for the size guard): the input, every
    state before and after each call, and each call's output."""
    width = spec.units * (2 if spec.bidirectional else 1)
    states = len(state_names(spec)) * spec.batch * spec.units
    calls = len(split) + 1  # the chunks and the rerun after reset_state()
    steps = spec.timesteps + split[-1]
    outputs = spec.batch * width * (steps if spec.return_sequences else calls)
    return spec.batch * spec.timesteps * spec.features + (2 * calls + 1) * states + outputs


def read_order(bounds: list[tuple[int, int]], reversed_: bool) -> list[int]:
    """The time steps in the order a stateful layer reads them, chunk after chunk."""
    return [t for start, stop in bounds for t in (range(stop - 1, start - 1, -1) if reversed_ else range(start, stop))]


def order_text(bounds: list[tuple[int, int]], reversed_: bool) -> str:
    """'2 1 | 6 5 4 3' (chunks separated by |, steps counted from 1 like t in x_t), abridged when long."""
    if bounds[-1][1] > 24:
        return "each chunk backwards" if reversed_ else "each chunk forwards"
    parts = []
    for start, stop in bounds:
        steps = range(stop - 1, start - 1, -1) if reversed_ else range(start, stop)
        parts.append(" ".join(str(t + 1) for t in steps))
    return " | ".join(parts)


def one_pass_names(spec: LayerSpec) -> list[str]:
    """Names of what the runner's one-pass reference returns."""
    full = dataclasses.replace(
        spec,
        stateful=False,
        return_sequences=True,
        return_state=True,
        merge_mode="none" if spec.bidirectional else spec.merge_mode,
    )
    return full.output_names()


def shuffle_rows(batch: int) -> list[int] | None:
    """The sample order of the shuffled demonstration: reversed rows (needs two samples)."""
    return list(range(batch - 1, -1, -1)) if batch >= 2 else None
