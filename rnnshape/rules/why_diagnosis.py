"""``rnnshape why``: the parts of a diagnosis (causes, fixes, the shapes in axis words) and the reading
of a pasted message (its error line, its shapes, the defaults of what it does not say). Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from rnnshape.errors import ExpectationFailed
from rnnshape.rules.kinds import KINDS as LAYER_KINDS
from rnnshape.rules.kinds import PLAIN
from rnnshape.rules.words import axes_text, shape_text

DEFAULT_UNITS = 8  # the units of a layer the message does not name

DEFAULT_TIMESTEPS = 10

DEFAULT_FEATURES = 1

MAX_TEXT_CHARS = 5_000_000  # a whole training log is fine; more is refused (files.read_log)


class NoShapeError(ExpectationFailed):
    """The text holds no Keras shape error rnnshape knows (exit 1: never a guess)."""

    type = "no_shape_error"


Dims = tuple  # a parsed shape: ints and None (an unknown batch)


# ---- the parts of a diagnosis ------------------------------------------------------------------
@dataclass(frozen=True)
class ShapeWord:
    """A shape from the message, its axes in rnnshape's words and what it means."""

    role: str  # "received", "expected", "target", "output", ...
    shape: Dims
    axes: tuple[str, ...]
    note: str = ""

    def text(self) -> str:
        out = f"{shape_text(tuple('None' if d is None else d for d in self.shape))} = {axes_text(list(self.axes))}"
        return out + (f": {self.note}" if self.note else "")


@dataclass(frozen=True)
class Cause:
    text: str
    id: str = ""  # a stable name for the cause (JSON "id"; the corpus tests compare it with a thread's fix)


def _c(cause_id: str, text: str) -> Cause:
    return Cause(text, cause_id)


@dataclass(frozen=True)
class Fix:
    """One cause's fix: the code to write and the `rnnshape stack` tokens that show its shapes."""

    cause: int  # 1-based index into the causes
    title: str
    code: str
    tokens: str
    timesteps: int | None
    features: int
    batch: int = 1
    assumed: tuple[str, ...] = ()  # numbers that are not in the message, e.g. "units 8"
    note: str = ""
    layer: tuple[tuple[str, object], ...] = ()  # a ConvLSTM fix: `rnnshape inspect` options (no stack token)

    def command(self) -> str:
        if self.layer:
            return "rnnshape inspect " + " ".join(f"--{key.replace('_', '-')} {value}" for key, value in self.layer)
        parts = ["rnnshape stack"]
        if self.timesteps is not None and not self.tokens.startswith("repeat"):
            parts.append(f"--timesteps {self.timesteps}")
        parts.append(f"--features {self.features}")
        if self.batch != 1:
            parts.append(f"--batch {self.batch}")
        return " ".join(parts + [self.tokens])


@dataclass(frozen=True)
class Diagnosis:
    kind: str
    title: str
    checked: str  # what Keras checked (a rule of Keras, from its source)
    message: str  # the error text as found
    wording: str  # which Keras printed this wording
    layer: str | None
    shapes: tuple[ShapeWord, ...]
    causes: tuple[Cause, ...]
    fixes: tuple[Fix, ...]
    readings: tuple[str, ...] = ()  # when the message is ambiguous: each reading and its meaning
    evidence: str = ""  # why the causes are ranked as they are

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "title": self.title,
            "checked": self.checked,
            "keras_message": self.message,
            "wording": self.wording,
            "layer": self.layer,
            "shapes": [
                {"role": s.role, "shape": list(s.shape), "axes": list(s.axes), "note": s.note} for s in self.shapes
            ],
            "readings": list(self.readings),
            "evidence": self.evidence,
            "causes": [{"rank": i, "id": c.id, "cause": c.text} for i, c in enumerate(self.causes, start=1)],
        }


@dataclass(frozen=True)
class Kind:
    name: str
    title: str
    patterns: tuple[tuple[str, str], ...]  # (regex over the normalised text, which Keras printed it)
    diagnose: Callable[[re.Match, str, str], Diagnosis]  # (match, normalised text, wording)
    current: bool = True  # printed by the installed Keras 3 (else: older wordings only)
    examples: tuple[str, ...] = field(default_factory=tuple)


# ---- text and shapes ---------------------------------------------------------------------------
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

_ERROR_LINE = re.compile(r"^\s*(?:[\w.]+\.)?\w*(?:Error|Exception)\b\s*:.*|^\s*(?:Error|Exception)\b.*", re.M)

SHAPE = r"[\(\[][^\(\)\[\]]*[\)\]]"


def normalise(text: str) -> str:
    """ANSI colours removed, every run of whitespace one space (messages wrap in logs)."""
    return " ".join(_ANSI.sub("", text).split())


def first_error_line(text: str) -> str | None:
    match = _ERROR_LINE.search(_ANSI.sub("", text))
    if match is None:
        return None
    line = match.group(0).strip()
    return line if len(line) <= 200 else line[:197] + "..."


def parse_shape(text: str) -> Dims:
    """ "(None, 10)", "[None, 10]", "(100, 9)", "(None,)", "[?,10]" -> (None, 10) ..."""
    inner = text.strip()[1:-1]
    dims: list[int | None] = []
    for part in inner.split(","):
        part = part.strip().rstrip("lL")
        if not part:
            continue
        dims.append(int(part) if part.isdigit() else None)
    return tuple(dims)


def _dim(d: int | None) -> str:
    return "batch" if d is None else str(d)


def _rnn_token(layer: str | None) -> str:
    """The stack kind of a layer named in a message: lstm, gru or simplernn (lstm if unknown)."""
    name = (layer or "").lower()
    for word, kind in (("simple_rnn", "simplernn"), ("simplernn", "simplernn"), ("gru", "gru"), ("lstm", "lstm")):
        if word in name:
            return kind
    return "lstm"


_KERAS_CLASS = {name: LAYER_KINDS[name].keras_class for name in PLAIN}

_DEFAULT_NAME = re.compile(r"^(lstm|gru|simple_rnn|bidirectional)(_\d+)?$")


def _n(count: object, word: str) -> str:
    """1 unit, 10 units."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def _a(word: str) -> str:
    """The article: an LSTM, a GRU."""
    return ("an " if word[:1] in "AEIOLSaeio" and word != "SimpleRNN" else "a ") + word


def _u(assumed: list[str], units: int | None = None) -> int:
    if units is not None:
        return units
    if f"units {DEFAULT_UNITS}" not in assumed:
        assumed.append(f"units {DEFAULT_UNITS}")
    return DEFAULT_UNITS


def _t(assumed: list[str], timesteps: int | None = None) -> int:
    if timesteps is not None:
        return timesteps
    if f"timesteps {DEFAULT_TIMESTEPS}" not in assumed:
        assumed.append(f"timesteps {DEFAULT_TIMESTEPS}")
    return DEFAULT_TIMESTEPS


def _f(assumed: list[str], features: int | None = None) -> int:
    if features is not None:
        return features
    if f"features {DEFAULT_FEATURES}" not in assumed:
        assumed.append(f"features {DEFAULT_FEATURES}")
    return DEFAULT_FEATURES


# ---- readings of a 2-D input to a recurrent layer ------------------------------------------------
def _two_readings(
    n: int, rows: str, cls: str, cause: int, first_units: int | None = None
) -> tuple[list[str], list[Fix]]:
    """A vector of n numbers per sample can be n timesteps of 1 feature or 1 timestep of n features."""
    assumed: list[str] = []
    units = _u(assumed, first_units)
    kind = cls.lower()
    readings = [
        f"reading A: {n} timesteps of 1 feature each, [batch, {n}, 1] (a univariate series of {n} steps)",
        f"reading B: 1 timestep of {n} features, [batch, 1, {n}] (one vector per sample, no sequence: "
        "a recurrent layer then sees a single step)",
    ]
    fixes = [
        Fix(
            cause,
            f"reading A: add a features axis of 1 ({n} timesteps x 1 feature)",
            f"X = X.reshape(({rows}, {n}, 1))\nkeras.Input(shape=({n}, 1))  # then {cls}({units}) as before",
            f"{kind}:{units} dense:1",
            n,
            1,
            assumed=tuple(assumed),
        ),
        Fix(
            cause,
            f"reading B: add a timesteps axis of 1 (1 timestep x {n} features)",
            f"X = X.reshape(({rows}, 1, {n}))\nkeras.Input(shape=(1, {n}))  # then {cls}({units}) as before",
            f"{kind}:{units} dense:1",
            1,
            n,
            assumed=tuple(assumed),
        ),
    ]
    return readings, fixes


def _renumber(fix: Fix, cause: int) -> Fix:
    return Fix(
        cause, fix.title, fix.code, fix.tokens, fix.timesteps, fix.features, fix.batch, fix.assumed, fix.note, fix.layer
    )


def _dims(text: str) -> Dims:
    """'32,12' / '?,5' / '' -> (32, 12) / (None, 5) / ()."""
    return tuple(int(p) if p.strip().isdigit() else None for p in text.split(",") if p.strip())
