"""The canonical patterns of ``rnnshape patterns``: many-to-one, many-to-many, one-to-many,
encoder-decoder and stacked, each a stack of tokens (rules/stack.py) planned for the options given.
Pure: no Keras.
"""

from __future__ import annotations

from dataclasses import dataclass

from rnnshape.errors import UsageError
from rnnshape.rules.stack import MAX_N, StackPlan, Token, parse_tokens, plan_stack


@dataclass(frozen=True)
class Pattern:
    name: str
    description: str
    template: str  # tokens with {units}, {timesteps}, {features}


PATTERNS = (
    Pattern(
        "many-to-one",
        "a sequence in, one vector out: the last step's h feeds a Dense head (classification, next-value regression)",
        "lstm:{units} dense:1",
    ),
    Pattern(
        "many-to-many",
        "a sequence in, one output per timestep: return_sequences=True and a "
        "TimeDistributed(Dense) head (tagging, per-step regression)",
        "lstm:{units}:seq td:1",
    ),
    Pattern(
        "one-to-many",
        "one vector in, a sequence out: RepeatVector copies the input to every "
        "timestep of the recurrent layer (generation from a code)",
        "repeat:{timesteps} lstm:{units}:seq td:1",
    ),
    Pattern(
        "encoder-decoder",
        "an autoencoder: the encoder's final states start the decoder (initial_state) "
        "and its last h, repeated, is what the decoder reads; the decoder rebuilds a sequence of the input's "
        "shape",
        "lstm:{units} repeat:{timesteps} lstm:{units}:seq:init td:{features}",
    ),
    Pattern(
        "encoder-decoder (RepeatVector only)",
        "the encoder's last h, repeated, is all the decoder gets: it starts from zero states",
        "lstm:{units} repeat:{timesteps} lstm:{units}:seq td:{features}",
    ),
    Pattern(
        "stacked",
        "recurrent layers on top of each other: every layer but the last returns sequences",
        "lstm:{units}:seq lstm:{units} dense:1",
    ),
)


def pattern_tokens(pattern: Pattern, units: int, timesteps: int, features: int) -> list[Token]:
    return parse_tokens([pattern.template.format(units=units, timesteps=timesteps, features=features)])


def pattern_plans(units: int, timesteps: int, features: int, batch: int) -> list[tuple[Pattern, StackPlan]]:
    """Every canonical pattern, planned for these options."""
    # --units and --timesteps become token numbers (lstm:UNITS, repeat:TIMESTEPS): the token range.
    for key, value in (("units", units), ("timesteps", timesteps)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_N:
            raise UsageError(f"Invalid value for --{key}: {value!r} is not in the range 1..{MAX_N}")
    plans = []
    for pattern in PATTERNS:
        plan = plan_stack(pattern_tokens(pattern, units, timesteps, features), batch, timesteps, features)
        plans.append((pattern, plan))
    return plans
