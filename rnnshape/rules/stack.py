"""The stack language of ``rnnshape stack`` and a pure model of how shapes flow through it.

One token per layer (docs/cli.md, "Stack tokens"):

    lstm|gru|simplernn:UNITS[:seq][:bi][:back]   recurrent layer (return_sequences,
                                                 Bidirectional concat, go_backwards)
    gru:UNITS[...][:noreset]                     GRU with reset_after=False
    ...:nobias :unroll :act-NAME :ract-NAME      use_bias=False, unroll=True, activation,
                                                 recurrent_activation (LSTM, GRU)
    ...:init                                     initial_state = the final states of the
                                                 previous recurrent token (encoder -> decoder)
    dense:N                                      keras.layers.Dense(N)
    td:N                                         keras.layers.TimeDistributed(Dense(N))
    repeat:N                                     keras.layers.RepeatVector(N)

No TensorFlow and no rich here: the ranks each layer accepts, the shapes it returns and its
parameter count are rules of Keras (its layers' input_spec and build), checked against real
Keras models by the tests. The same model diagnoses an incompatible stack: which token fails,
why, and the change that fixes it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from rnnshape.errors import ExpectationFailed, UsageError
from rnnshape.rules.catalogue import BYTES_PER_FLOAT, CONV_LAYERS, GATES, INT_LIMITS, KERAS_LAYER_NAME, LAYER_ALIASES
from rnnshape.rules.cost import FLOPS_PER_SECOND, SECONDS_PER_WEIGHT, pass_seconds
from rnnshape.rules.options import ACTIVATIONS
from rnnshape.rules.spec import make_spec

RECURRENT = ("lstm", "gru", "simplernn")
KINDS = RECURRENT + ("dense", "td", "repeat")
FLAGS = {
    "seq": "return_sequences=True",
    "bi": "Bidirectional (merge_mode concat)",
    "back": "go_backwards=True",
    "noreset": "reset_after=False (GRU only)",
    "nobias": "use_bias=False",
    "unroll": "unroll=True",
    "init": "initial_state: the previous recurrent token's final states",
}
VALUE_FLAGS = {"act": "activation", "ract": "recurrent_activation"}  # act-relu, ract-hard_sigmoid
GRAMMAR = (
    "lstm|gru|simplernn:UNITS[:FLAG]... (seq, bi, back, nobias, unroll, init, act-NAME, ract-NAME, noreset), "
    "dense:N, td:N, repeat:N"
)
MAX_N = INT_LIMITS["units"][1]
# Keras' default layer names, numbered here by token position so that Keras' own messages
# ("... of layer 'lstm_2' ...") point at the token and stay the same run after run.
KERAS_NAME = {**KERAS_LAYER_NAME, "dense": "dense", "td": "time_distributed", "repeat": "repeat_vector"}


class IncompatibleStack(ExpectationFailed):
    """A stack Keras refuses to build (exit 1, like a failed expectation)."""

    type = "incompatible_stack"
    after_view: str | None = None  # the stderr line when the human view has shown the diagnosis


# ---- tokens --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    """One parsed token; ``index`` counts from 1, as the diagnosis names tokens."""

    index: int
    kind: str  # lstm, gru, simplernn, dense, td, repeat
    n: int  # units for recurrent layers and Dense, repeats for RepeatVector
    seq: bool = False
    bi: bool = False
    back: bool = False
    noreset: bool = False  # GRU only: reset_after=False
    nobias: bool = False
    unroll: bool = False
    init: bool = False  # initial_state from the previous recurrent token's final states
    activation: str | None = None
    recurrent_activation: str | None = None

    def layer_options(self) -> dict[str, Any]:
        """make_spec's options for this recurrent token (Keras' defaults left as None)."""
        return {
            "layer": self.kind,
            "units": self.n,
            "return_sequences": self.seq,
            "go_backwards": self.back,
            "bidirectional": self.bi,
            "reset_after": self.reset_after,
            "use_bias": not self.nobias,
            "unroll": self.unroll,
            "activation": self.activation,
            "recurrent_activation": self.recurrent_activation,
        }

    @property
    def state_count(self) -> int:
        """How many states the layer returns with return_state (and takes as initial_state)."""
        return (2 if self.kind == "lstm" else 1) * (2 if self.bi else 1)

    @property
    def reset_after(self) -> bool | None:
        """None lets make_spec resolve Keras' default for the layer (True for GRU)."""
        return False if self.noreset else None

    @property
    def recurrent(self) -> bool:
        return self.kind in RECURRENT

    @property
    def text(self) -> str:
        """The canonical spelling: flags in grammar order."""
        flags = [name for name in FLAGS if getattr(self, name)]
        flags += [f"{prefix}-{getattr(self, key)}" for prefix, key in VALUE_FLAGS.items() if getattr(self, key)]
        return ":".join([self.kind, str(self.n), *flags])

    @property
    def keras_name(self) -> str:
        return f"{KERAS_NAME[self.kind]}_{self.index}"

    def keras_call(self, return_state: bool = False) -> str:
        if self.recurrent:
            return make_spec(**self.layer_options(), return_state=return_state).keras_call()
        return {
            "dense": f"keras.layers.Dense({self.n})",
            "td": f"keras.layers.TimeDistributed(keras.layers.Dense({self.n}))",
            "repeat": f"keras.layers.RepeatVector({self.n})",
        }[self.kind]


_TOKEN = re.compile(r"^[A-Za-z_]+(:[A-Za-z0-9_+-]*)*$")


def parse_tokens(texts: list[str] | tuple[str, ...]) -> list[Token]:
    """Command-line arguments -> tokens. An argument may hold several tokens separated by
    spaces ("lstm:8:seq lstm:4"). A bad token raises UsageError naming it and the grammar."""
    words = [word for text in texts for word in str(text).split()]
    if not words:
        raise UsageError(f"Missing SPEC: give at least one token ({GRAMMAR}), e.g. lstm:8:seq lstm:4 dense:1")
    if len(words) > 1000:
        raise UsageError(f"Invalid value for SPEC: {len(words)} tokens; at most 1000 are allowed")
    tokens = [parse_token(index, word) for index, word in enumerate(words, start=1)]
    check_initial_states(tokens)
    return tokens


def state_provider(tokens: list[Token], token: Token) -> Token | None:
    """The recurrent token whose final states an :init token starts from: the nearest before it."""
    before = [t for t in tokens if t.recurrent and t.index < token.index]
    return before[-1] if before else None


def check_initial_states(tokens: list[Token]) -> None:
    """Each :init token takes exactly the states its provider returns: the same count, each
    (batch, units) with the same units (rules of Keras: LSTM h and c, GRU and SimpleRNN h;
    Bidirectional forward then backward)."""
    for token in tokens:
        if not token.init:
            continue
        provider = state_provider(tokens, token)
        where = f"Invalid value for SPEC: token {token.index} {token.text!r}"
        if provider is None:
            raise UsageError(
                f"{where}: ':init' starts from the final states of a recurrent token before it, and "
                "there is none; put an encoder first, e.g. lstm:8 repeat:3 lstm:8:seq:init"
            )
        if provider.state_count != token.state_count or provider.n != token.n:
            raise UsageError(
                f"{where}: takes {token.state_count} initial state(s) of shape (batch, {token.n}), but "
                f"token {provider.index} {provider.text!r} returns {provider.state_count} of shape "
                f"(batch, {provider.n}); give both the same layer, units and bi (rule of Keras)"
            )


def parse_token(index: int, word: str) -> Token:
    """One word of the stack language -> a Token (``index`` counts from 1). A bad word raises
    UsageError naming the token, its first problem (kind, then N, then each flag in turn) and the
    grammar."""

    def bad(problem: str) -> UsageError:
        shown = word if len(word) <= 40 else word[:37] + "..."
        return UsageError(f"Invalid value for SPEC: token {index} {shown!r}: {problem}; grammar: {GRAMMAR}")

    kind, rest = _read_kind(word, bad)
    n = _read_n(kind, rest, bad)
    seen = _read_flags(kind, rest[1:], bad)
    if seen.get("bi") and seen.get("back"):
        raise bad(
            "'bi' and 'back' cannot be combined: Keras' Bidirectional makes the backward copy with "
            "go_backwards=True itself and refuses a layer that already reads backwards"
        )
    return Token(
        index,
        kind,
        n,
        **{name: seen.get(name, False) for name in FLAGS},
        **{key: seen.get(key) for key in VALUE_FLAGS.values()},
    )


def _read_kind(word: str, bad: Callable[[str], UsageError]) -> tuple[str, list[str]]:
    """The token's kind (aliases resolved) and the words after it; ConvLSTM layers, stray
    characters and unknown kinds refused."""
    if LAYER_ALIASES.get(word.split(":")[0].strip().lower()) in CONV_LAYERS:
        raise bad(
            "ConvLSTM layers are not stack tokens (their inputs and states are feature maps); see one with "
            "rnnshape inspect --layer convlstm1d|convlstm2d|convlstm3d"
        )
    if not _TOKEN.match(word) or len(word) > 200:
        raise bad("a token is KIND:N[:flag...] with no other characters")
    kind_text, *rest = word.split(":")
    kind = kind_text.lower()
    kind = LAYER_ALIASES.get(kind, kind)
    if kind not in KINDS:
        raise bad(f"unknown layer {kind_text!r} (one of {', '.join(KINDS)})")
    return kind, rest


def _read_n(kind: str, rest: list[str], bad: Callable[[str], UsageError]) -> int:
    """The token's N (units, or repeats for repeat), the first word after its kind."""
    what = "UNITS" if kind in RECURRENT or kind in ("dense", "td") else "N (repeats)"
    if not rest or rest[0] == "":
        raise bad(f"{kind} needs {what}, e.g. {kind}:4")
    number = rest[0]
    if not (number.isascii() and number.isdigit()):  # ASCII digits only, as every number option
        raise bad(f"{what} {number!r} is not a positive integer")
    n = int(number)
    if not 1 <= n <= MAX_N:
        raise bad(f"{what} {n} is not in the range 1..{MAX_N}")
    return n


def _read_flags(kind: str, flags: list[str], bad: Callable[[str], UsageError]) -> dict[str, Any]:
    """The token's flags: {flag name: True} for FLAGS, {activation or recurrent_activation: NAME}
    for act-NAME and ract-NAME; the first bad flag refused."""
    seen: dict[str, Any] = {}
    for flag in flags:
        name = flag.lower()
        prefix, _, value = name.partition("-")
        if prefix in VALUE_FLAGS and value:
            problem, key, setting = _value_flag_problem(kind, name, seen), VALUE_FLAGS[prefix], value
        else:
            problem, key, setting = _flag_problem(kind, flag, seen), name, True
        if problem is not None:
            raise bad(problem)
        seen[key] = setting
    return seen


def _value_flag_problem(kind: str, name: str, seen: dict[str, Any]) -> str | None:
    """What is wrong with act-NAME or ract-NAME (``name``, lower case) on a ``kind`` token, or None."""
    prefix, _, value = name.partition("-")
    if kind not in RECURRENT:
        return f"flag {name!r} applies only to lstm, gru, simplernn"
    if value not in ACTIVATIONS:
        return f"{prefix}-{value}: {value!r} is not one of {', '.join(ACTIVATIONS)}"
    if prefix == "ract" and kind == "simplernn":
        return "'ract-...' (recurrent_activation) applies only to lstm and gru: SimpleRNN has no gates"
    if VALUE_FLAGS[prefix] in seen:
        return f"flag {prefix!r} is given twice"
    return None


def _flag_problem(kind: str, flag: str, seen: dict[str, Any]) -> str | None:
    """What is wrong with the plain flag ``flag`` (as written) on a ``kind`` token, or None."""
    name = flag.lower()
    if name not in FLAGS:
        return f"unknown flag {flag!r} (flags: {', '.join(FLAGS)}, act-NAME, ract-NAME)"
    if kind not in RECURRENT:
        return f"flag {name!r} applies only to lstm, gru, simplernn"
    if name == "noreset" and kind != "gru":
        return "flag 'noreset' (reset_after=False) applies only to gru"
    if name in seen:
        return f"flag {name!r} is given twice"
    return None


def canonical_spec(tokens: list[Token]) -> str:
    return " ".join(t.text for t in tokens)


# ---- the pure shape model ------------------------------------------------------------------
@dataclass(frozen=True)
class LayerShape:
    """What one token receives and returns under the rules of Keras. ``status`` is "built",
    "incompatible" (Keras refuses this input) or "not reached" (after an incompatible token)."""

    token: Token
    input_shape: tuple[int, ...] | None
    input_axes: tuple[str, ...] | None
    output_shape: tuple[int, ...] | None
    output_axes: tuple[str, ...] | None
    params: int | None
    param_formula: str | None
    status: str = "built"


@dataclass(frozen=True)
class Problem:
    """Why Keras refuses a token, and the change that fixes the stack."""

    token: Token
    expected_ndim: str  # "3", "2" or ">=3", as Keras' input_spec says
    found_ndim: int
    found_shape: tuple[int, ...]
    found_axes: tuple[str, ...]
    why: str
    fix: str
    edit: str  # the change alone, e.g. "add :seq to token 1 -> lstm:8:seq"
    fixed_tokens: tuple[Token, ...] | None  # the whole stack with this edit made, when one edit is known


@dataclass(frozen=True)
class Hint:
    """A stack Keras accepts but that probably does not do what was meant."""

    token: Token
    kind: str  # "dense_on_sequence"
    text: str


@dataclass(frozen=True)
class StackPlan:
    tokens: tuple[Token, ...]
    batch: int
    timesteps: int | None  # None when the first token is repeat:N (input [batch, features])
    features: int
    input_shape: tuple[int, ...]
    input_axes: tuple[str, ...]
    layers: tuple[LayerShape, ...]
    problem: Problem | None
    hints: tuple[Hint, ...] = field(default_factory=tuple)

    @property
    def compatible(self) -> bool:
        return self.problem is None

    @property
    def output_shape(self) -> tuple[int, ...] | None:
        return self.layers[-1].output_shape if self.compatible else None

    @property
    def output_axes(self) -> tuple[str, ...] | None:
        return self.layers[-1].output_axes if self.compatible else None

    @property
    def param_total(self) -> int | None:
        return sum(layer.params or 0 for layer in self.layers) if self.compatible else None

    def keras_input(self) -> str:
        dims = self.input_shape[1:]
        inner = ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "")
        return f"keras.Input(shape=({inner}), batch_size={self.batch})"

    def command(self, tokens: tuple[Token, ...] | list[Token] | None = None) -> str:
        """The rnnshape stack command line for these options and ``tokens`` (default: own)."""
        tokens = tuple(tokens if tokens is not None else self.tokens)
        parts = ["rnnshape stack"]
        if tokens and tokens[0].kind != "repeat":
            parts.append(f"--timesteps {self.timesteps}")
        parts.append(f"--features {self.features}")
        if self.batch != 1:
            parts.append(f"--batch {self.batch}")
        return " ".join(parts + [canonical_spec(list(tokens))])

    def estimated_bytes(self) -> int:
        """A generous estimate of a real run: weights twice, every layer's output, and the
        recurrent layers' per-step activations."""
        floats = 2 * sum(layer.params or 0 for layer in self.layers)
        floats += 2 * _prod(self.input_shape)
        for layer in self.layers:
            if layer.output_shape is not None:
                floats += 3 * _prod(layer.output_shape)
            if layer.token.recurrent and layer.input_shape is not None and len(layer.input_shape) == 3:
                b, t, _ = layer.input_shape
                floats += (2 if layer.token.bi else 1) * b * t * layer.token.n * (GATES[layer.token.kind] + 4) * 3
        return floats * BYTES_PER_FLOAT

    def estimated_seconds(self, compiled: bool = False) -> float:
        """A rough estimate of one real run (see spec.SECONDS_PER_STEP): every recurrent layer
        reads its sequence step by step (eager, or ``compiled``); Dense layers cost their arithmetic."""
        seconds = 2 * sum(layer.params or 0 for layer in self.layers) * SECONDS_PER_WEIGHT
        for layer in self.layers:
            shape = layer.input_shape
            if shape is None:
                continue
            if layer.token.recurrent and len(shape) == 3:
                b, t, f = shape
                seconds += pass_seconds(layer.token.kind, layer.token.n, f, b, t, 2 if layer.token.bi else 1, compiled)
            elif layer.token.kind in ("dense", "td"):
                seconds += 2 * _prod(shape) * layer.token.n / FLOPS_PER_SECOND
        return seconds


def _prod(shape: tuple[int, ...]) -> int:
    out = 1
    for d in shape:
        out *= d
    return out


def plan_stack(tokens: list[Token], batch: int, timesteps: int, features: int) -> StackPlan:
    """Propagate shapes through the tokens under Keras' rules; stop at the first token Keras
    would refuse and diagnose it."""
    for key, value in (("batch", batch), ("timesteps", timesteps), ("features", features)):
        low, high = INT_LIMITS[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise UsageError(f"Invalid value for --{key}: {value!r} is not in the range {low}..{high}")
    tokens = list(tokens)
    if tokens and tokens[0].kind == "repeat":
        shape: tuple[int, ...] = (batch, features)
        axes: tuple[str, ...] = ("batch", "features")
        steps = None
    else:
        shape, axes, steps = (batch, timesteps, features), ("batch", "timesteps", "features"), timesteps
    input_shape, input_axes = shape, axes
    layers: list[LayerShape] = []
    hints: list[Hint] = []
    problem = None
    for position, token in enumerate(tokens):
        problem = _check_rank(tokens, position, shape, axes)
        if problem is not None:
            layers.append(LayerShape(token, shape, axes, None, None, None, None, "incompatible"))
            layers.extend(
                LayerShape(t, None, None, None, None, None, None, "not reached") for t in tokens[position + 1 :]
            )
            break
        out_shape, out_axes, params, formula = _apply(token, shape, axes)
        if token.kind == "dense" and len(shape) == 3:
            hints.append(_dense_on_sequence_hint(tokens, position, shape, axes, out_shape))
        layers.append(LayerShape(token, shape, axes, out_shape, out_axes, params, formula))
        shape, axes = out_shape, out_axes
    return StackPlan(
        tuple(tokens), batch, steps, features, input_shape, input_axes, tuple(layers), problem, tuple(hints)
    )


def _apply(
    token: Token, shape: tuple[int, ...], axes: tuple[str, ...]
) -> tuple[tuple[int, ...], tuple[str, ...], int, str]:
    """Output shape, axes, parameter count and formula of a token on an input it accepts."""
    last = shape[-1]
    if token.recurrent:
        b, t, f = shape
        spec = make_spec(timesteps=t, features=f, batch=b, **token.layer_options())
        out = spec.outputs()[0]
        return out.shape, out.axes, spec.param_total(), spec.param_formula()
    if token.kind in ("dense", "td"):
        # Dense acts on the last axis whatever the rank (a rule of Keras' Dense.build).
        params = (last + 1) * token.n
        formula = f"(inputs + 1) * units = ({last} + 1) * {token.n} = {params}"
        return shape[:-1] + (token.n,), axes[:-1] + ("units",), params, formula
    # repeat: (batch, features) -> (batch, N, features); the N copies become the timesteps.
    return (shape[0], token.n, last), (axes[0], "timesteps", axes[-1]), 0, "RepeatVector has no weights = 0"


def _check_rank(tokens: list[Token], position: int, shape: tuple[int, ...], axes: tuple[str, ...]) -> Problem | None:
    """Keras' input_spec: recurrent layers need ndim=3, TimeDistributed at least 3 dims,
    RepeatVector ndim=2; Dense takes any rank >= 2."""
    token = tokens[position]
    rank = len(shape)
    if token.recurrent and rank != 3:
        return _needs_sequence(tokens, position, shape, axes, "3")
    if token.kind == "td" and rank < 3:
        return _needs_sequence(tokens, position, shape, axes, ">=3")
    if token.kind == "repeat" and rank != 2:
        return _needs_vector(tokens, position, shape, axes)
    return None


def _last_recurrent(tokens: list[Token], position: int) -> Token | None:
    """The recurrent token that decides whether the input of ``position`` is a sequence:
    Dense and TimeDistributed keep the rank they receive, RepeatVector makes a sequence."""
    for token in reversed(tokens[:position]):
        if token.recurrent:
            return token
        if token.kind == "repeat":
            return None
    return None


def _shape_words(shape: tuple[int, ...], axes: tuple[str, ...]) -> str:
    return f"({', '.join(str(d) for d in shape)}) [{', '.join(axes)}]"


def _between(tokens: list[Token], origin: Token, position: int) -> str:
    middle = [t for t in tokens[origin.index : position]]
    if not middle:
        return ""
    names = ", ".join(f"{t.index} {t.text!r}" for t in middle)
    return f" (token{'s' if len(middle) > 1 else ''} {names} keep{'' if len(middle) > 1 else 's'} the rank)"


def _needs_sequence(
    tokens: list[Token], position: int, shape: tuple[int, ...], axes: tuple[str, ...], expected: str
) -> Problem:
    token = tokens[position]
    what = token.keras_call()
    need = (
        "a 3-D input [batch, timesteps, features]"
        if expected == "3"
        else "an input with a timesteps axis, at least 3-D [batch, timesteps, features]"
    )
    origin = _last_recurrent(tokens, position)
    found = f"rank {len(shape)} {_shape_words(shape, axes)}"
    if origin is None or origin.seq:  # cannot happen with this grammar; said plainly if it does
        return Problem(
            token,
            expected,
            len(shape),
            shape,
            axes,
            f"token {token.index} {token.text!r} ({what}) needs {need} but receives {found}",
            "give this token a sequence: a recurrent layer with :seq before it",
            "",
            None,
        )
    why = (
        f"token {token.index} {token.text!r} ({what}) needs {need} but receives {found}, because token "
        f"{origin.index} {origin.text!r} has return_sequences=False and returns only its last step"
        f"{_between(tokens, origin, position)}"
    )
    fixed = replace(origin, seq=True)
    edit = f"add :seq to token {origin.index} -> {fixed.text}"
    fix = (
        f"{edit}, i.e. return_sequences=True "
        f"(or, for an encoder-decoder, insert repeat:N after token {origin.index} to feed its last "
        f"step to every one of N steps)"
    )
    if token.kind == "td":
        fix += f"; or use dense:{token.n} for one output per sample"
    fixed_tokens = tuple(fixed if t.index == origin.index else t for t in tokens)
    return Problem(token, expected, len(shape), shape, axes, why, fix, edit, fixed_tokens)


def _needs_vector(tokens: list[Token], position: int, shape: tuple[int, ...], axes: tuple[str, ...]) -> Problem:
    token = tokens[position]
    need = "a 2-D input [batch, features] (one vector per sample, to repeat N times)"
    found = f"rank {len(shape)} {_shape_words(shape, axes)}"
    origin = _last_recurrent(tokens, position)
    head = f"token {token.index} {token.text!r} ({token.keras_call()}) needs {need} but receives {found}"
    if origin is not None and origin.seq:
        fixed = replace(origin, seq=False)
        why = (
            f"{head}, because token {origin.index} {origin.text!r} has return_sequences=True and returns "
            f"every step{_between(tokens, origin, position)}"
        )
        edit = f"remove :seq from token {origin.index} -> {fixed.text}"
        fix = f"{edit}, i.e. return_sequences=False, so that its last step is what gets repeated"
        return Problem(
            token,
            "2",
            len(shape),
            shape,
            axes,
            why,
            fix,
            edit,
            tuple(fixed if t.index == origin.index else t for t in tokens),
        )
    if origin is None:
        source = "the model input [batch, timesteps, features] is a sequence" + (
            f"{_between_input(tokens, position)}" if position else ""
        )
        why = f"{head}, because {source}"
        fix = (
            "put an encoder before it, a recurrent layer without :seq (e.g. lstm:8), which returns one "
            "vector per sample; or make repeat the first token, which takes the input as [batch, features]"
        )
        return Problem(token, "2", len(shape), shape, axes, why, fix, "", None)
    return Problem(token, "2", len(shape), shape, axes, head, "give it one vector per sample", "", None)


def _between_input(tokens: list[Token], position: int) -> str:
    names = ", ".join(f"{t.index} {t.text!r}" for t in tokens[:position])
    return f" and token{'s' if position > 1 else ''} {names} keep{'' if position > 1 else 's'} the rank"


def _dense_on_sequence_hint(
    tokens: list[Token], position: int, shape: tuple[int, ...], axes: tuple[str, ...], out_shape: tuple[int, ...]
) -> Hint:
    token = tokens[position]
    origin = _last_recurrent(tokens, position)
    text = (
        f"token {token.index} {token.text!r} receives a sequence {_shape_words(shape, axes)}; Keras' Dense "
        f"acts on the last axis, so it returns {_shape_words(out_shape, axes[:-1] + ('units',))}: one "
        f"output per timestep, as td:{token.n} would. If you meant one output per sample, "
    )
    if origin is not None and origin.seq:
        text += f"remove :seq from token {origin.index} -> {replace(origin, seq=False).text}"
    else:
        text += "put a recurrent layer without :seq before it"
    text += f"; if you meant one per timestep, td:{token.n} says so"
    return Hint(token, "dense_on_sequence", text)


def repair(plan: StackPlan) -> tuple[StackPlan, list[str]] | None:
    """Make the diagnosed edits one after another until the stack builds: the repaired plan
    and the edits made, or None when some problem has no single known edit."""
    edits: list[str] = []
    current = plan
    for _ in range(len(plan.tokens) + 1):
        problem = current.problem
        if problem is None:
            return current, edits
        if problem.fixed_tokens is None:
            return None
        edits.append(problem.edit)
        current = plan_stack(list(problem.fixed_tokens), plan.batch, plan.timesteps or 1, plan.features)
    return None


def incompatible_error(data: dict[str, Any]) -> IncompatibleStack:
    """The one error of an incompatible stack: Keras' message (when run), why, and the fix."""
    diagnosis = data["diagnosis"]
    keras = diagnosis.get("keras_message")
    text = f"token {diagnosis['index']} {diagnosis['spec']!r} is incompatible"
    if keras:
        text += f": Keras: {keras}"
    else:
        expected = diagnosis["expected_ndim"]
        text += (
            f" (rule of Keras, not run: expected ndim{'' if expected.startswith('>') else '='}{expected}, "
            f"found ndim={diagnosis['found_ndim']})"
        )
    error = IncompatibleStack(f"{text}; why: {diagnosis['why']}; fix: {diagnosis['fix']}")
    # The view on standard output holds the whole diagnosis: stderr's line only names it.
    error.after_view = (
        f"token {diagnosis['index']} {diagnosis['spec']!r} is incompatible (the diagnosis on "
        "standard output says why and how to fix it)"
    )
    return error


def stacks_mode(plans: list[StackPlan]) -> tuple[str, str, float]:
    """(mode, why, estimated seconds) of building and running these stacks (see layer.choose_mode)."""
    from rnnshape.rules.cost import choose_mode

    eager = sum(plan.estimated_seconds() for plan in plans)
    compiled = sum(plan.estimated_seconds(compiled=True) for plan in plans)
    mode, why = choose_mode(
        eager,
        compiled,
        next(
            (
                f"{t.text}: unroll=True: Keras writes out every step in Python, so "
                "tracing a graph costs as much as the run"
                for plan in plans
                for t in plan.tokens
                if t.unroll
            ),
            None,
        ),
    )
    return mode, why, compiled if mode == "compiled" else eager
