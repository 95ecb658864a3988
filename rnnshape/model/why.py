"""``rnnshape why``: find a Keras shape error in pasted text, recognise its kind, and name its
causes and fixes in rnnshape's words. Pure: regexes over the text, shapes parsed, no Keras.

The catalogue (KINDS) holds every kind of message rnnshape recognises, with the wordings of the
Keras versions that printed it. Each current wording is produced by a real Keras 3 call in the
tests (tests/test_why_keras.py), and the recogniser is tested on that exact message; the older
TensorFlow 2 / Keras 2 wordings are kept as text fixtures (tests/fixtures/why/).

A diagnosis ranks the likely causes and gives, per cause, a fix as code and as `rnnshape stack`
tokens, which the API then builds for real. Numbers the message does not hold (the units of your
layer, often the timesteps) are filled with plain defaults and listed as ``assumed``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from rnnshape.errors import ExpectationFailed
from rnnshape.model.words import axes_text, shape_text

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

    def command(self) -> str:
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
            "kind": self.kind, "title": self.title, "checked": self.checked, "keras_message": self.message,
            "wording": self.wording, "layer": self.layer,
            "shapes": [{"role": s.role, "shape": list(s.shape), "axes": list(s.axes), "note": s.note}
                       for s in self.shapes],
            "readings": list(self.readings), "evidence": self.evidence,
            "causes": [{"rank": i, "cause": c.text} for i, c in enumerate(self.causes, start=1)],
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
    """"(None, 10)", "[None, 10]", "(100, 9)", "(None,)", "[?,10]" -> (None, 10) ..."""
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


_KERAS_CLASS = {"lstm": "LSTM", "gru": "GRU", "simplernn": "SimpleRNN"}
_DEFAULT_NAME = re.compile(r"^(lstm|gru|simple_rnn|bidirectional)(_\d+)?$")


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
def _two_readings(n: int, rows: str, cls: str, cause: int, first_units: int | None = None) -> tuple[list[str], list[Fix]]:
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
        Fix(cause, f"reading A: add a features axis of 1 ({n} timesteps x 1 feature)",
            f"X = X.reshape(({rows}, {n}, 1))\nkeras.Input(shape=({n}, 1))  # then {cls}({units}) as before",
            f"{kind}:{units} dense:1", n, 1, assumed=tuple(assumed)),
        Fix(cause, f"reading B: add a timesteps axis of 1 (1 timestep x {n} features)",
            f"X = X.reshape(({rows}, 1, {n}))\nkeras.Input(shape=(1, {n}))  # then {cls}({units}) as before",
            f"{kind}:{units} dense:1", 1, n, assumed=tuple(assumed)),
    ]
    return readings, fixes


# ---- the kinds ---------------------------------------------------------------------------------
RNN_RULE = ("the input_spec of Keras' recurrent layers: InputSpec(ndim=3), an input "
            "[batch, timesteps, features] (rule of Keras, keras/src/layers/rnn/rnn.py)")


def _input_spec(match: re.Match, text: str, wording: str) -> Diagnosis:
    """Every 'Input 0 of layer ... expected ndim=E, found ndim=F' message: which kind depends on
    the layer and the ranks."""
    layer = match.group("layer") or "the layer"
    expected = int(match.group("expected"))
    found = int(match.group("found"))
    shape = parse_shape(match.group("shape")) if match.group("shape") else None
    name = layer.lower()
    if name.startswith("conv_lstm") or expected in (4, 5, 6) and found == expected - 1 and "lstm" in name:
        return _convlstm(match, layer, expected, found, shape, wording)
    if name.startswith("dense") and expected == 2 and found == 3:
        return _dense_on_sequence(match, layer, shape, wording)
    if name.startswith("repeat_vector") or expected == 2 and found == 3:
        return _repeat_vector(match, layer, found, shape, wording)
    if found > expected:
        return _batch_in_shape(match, layer, expected, found, shape, wording)
    return _no_timesteps(match, layer, expected, found, shape, wording, text)


def _no_timesteps(match: re.Match, layer: str, expected: int, found: int, shape: Dims | None, wording: str,
                  text: str) -> Diagnosis:
    kind_token = _rnn_token(layer)
    cls = _KERAS_CLASS[kind_token]
    n = shape[-1] if shape and shape[-1] is not None else None
    shapes = []
    if shape is not None:
        shapes.append(ShapeWord("received", shape, tuple(_dim(d) for d in shape),
                                "no timesteps axis" if len(shape) == 2 else f"rank {len(shape)}, no timesteps axis"))
    called = repr(layer) if layer != "the layer" else "the recurrent layer"
    suffix = re.search(r"_(\d+)$", layer)
    first_number = 1 if wording.startswith("Keras 2") else 0  # Keras 2 named the first LSTM lstm_1
    numbered = bool(_DEFAULT_NAME.match(layer.lower()) and suffix and int(suffix.group(1)) > first_number)
    earlier = len(re.findall(r"\b(?:LSTM|GRU|SimpleRNN)\(", text)) >= 2
    flat_input = re.search(r"input_shape ?= ?\(\d+,\)|Input\(shape ?= ?\(\d+,\)", text)
    stacked_first = (numbered or earlier) and not flat_input
    shown = n if n is not None else DEFAULT_TIMESTEPS
    no_axis = Cause("your data has no timesteps axis: each sample is a vector"
                    + (f" of {n} numbers" if n is not None else "")
                    + f", but {cls} reads a sequence [batch, timesteps, features]")
    stacked = Cause(f"the layer before {called} is a recurrent layer with return_sequences=False: it returns only "
                    f"its last step [batch, units]" + (f" (units {n})" if n is not None else "")
                    + ", which the next recurrent layer cannot read")
    collapsed = Cause(f"a Flatten, Dense or GlobalPooling layer before {called} removed the timesteps axis")
    readings, reading_fixes = _two_readings(shown, "-1", cls, 0)
    assumed: list[str] = []
    t = _t(assumed)
    f = _f(assumed)
    units = _u(assumed)
    stacked_fix = Fix(0, f"return_sequences=True on the layer before (units {shown})",
                      f"keras.layers.{cls}({shown}, return_sequences=True),  # was return_sequences=False\n"
                      f"keras.layers.{cls}({units}),",
                      f"{kind_token}:{shown}:seq {kind_token}:{units} dense:1", t, f, assumed=tuple(assumed))
    collapsed_fix = Fix(0, "keep the sequence: no Flatten/Dense between the input and the recurrent layer",
                        f"keras.Input(shape=(timesteps, features)),\nkeras.layers.{cls}({units}),  # Flatten removed",
                        f"{kind_token}:{units} dense:1", t, f, assumed=tuple(assumed))
    if stacked_first:
        causes = (stacked, no_axis, collapsed)
        fixes = [_renumber(stacked_fix, 1)] + [_renumber(x, 2) for x in reading_fixes] + [_renumber(collapsed_fix, 3)]
        evidence = (f"ranked: the layer {layer!r} carries Keras' number suffix, given to the second and later "
                    f"{cls} of a process, so (in a fresh script) another recurrent layer came before it"
                    if numbered else "ranked: the text shows more than one recurrent layer")
        kind = "stacked_without_return_sequences"
        title = f"a stacked {cls} without return_sequences=True (a recurrent layer got a 2-D input)"
    else:
        causes = (no_axis, stacked, collapsed)
        fixes = [_renumber(x, 1) for x in reading_fixes] + [_renumber(stacked_fix, 2), _renumber(collapsed_fix, 3)]
        evidence = ("ranked: the text shows an input shape of one axis per sample, " + flat_input.group(0)
                    if flat_input else
                    f"ranked: the layer is named {layer!r}, without a number suffix past Keras' first, so nothing "
                    "shows another recurrent layer before it" if layer != "the layer" else
                    "ranked: the message names no layer, so nothing shows another recurrent layer before it")
        kind = "no_timesteps_axis"
        title = f"no timesteps axis: {_a(cls)} got a {found}-D input"
    return Diagnosis(kind, title, RNN_RULE.replace("ndim=3", f"ndim={expected}"), match.group(0), wording, layer,
                     tuple(shapes), causes, tuple(fixes), tuple(readings) if n is not None else (), evidence)


def _renumber(fix: Fix, cause: int) -> Fix:
    return Fix(cause, fix.title, fix.code, fix.tokens, fix.timesteps, fix.features, fix.batch, fix.assumed, fix.note)


def _batch_in_shape(match: re.Match, layer: str, expected: int, found: int, shape: Dims | None,
                    wording: str) -> Diagnosis:
    cls = _KERAS_CLASS[_rnn_token(layer)]
    kind_token = _rnn_token(layer)
    dims = [d for d in (shape or ())[1:]]
    shapes = []
    if shape is not None:
        shapes.append(ShapeWord("received", shape, ("batch",) + tuple(str(d) for d in shape[1:]),
                                f"rank {found}, one axis more than [batch, timesteps, features]"))
    assumed: list[str] = []
    units = _u(assumed)
    causes = [Cause("input_shape (or keras.Input(shape=...)) includes the batch size: Keras adds the batch axis "
                    "itself, so shape=(batch, timesteps, features) becomes [batch, batch, timesteps, features]")]
    fixes = []
    if len(dims) == 3 and all(isinstance(d, int) for d in dims):
        b, t, f = dims
        fixes.append(Fix(1, f"drop the batch from the shape: keras.Input(shape=({t}, {f}), batch_size={b})",
                         f"keras.Input(shape=({t}, {f}))  # or input_shape=({t}, {f}); batch_size={b} only if "
                         f"the layer is stateful\nkeras.layers.{cls}({units})",
                         f"{kind_token}:{units} dense:1", t, f, batch=b, assumed=tuple(assumed)))
        causes.append(Cause(f"each sample really has {found - 1} axes (an image or a grid per step): flatten all "
                            f"but the timesteps axis, [batch, {dims[0]}, {dims[1] * dims[2]}]"))
        fixes.append(Fix(2, f"flatten each step: [batch, {dims[0]}, {dims[1]} x {dims[2]}]",
                         f"X = X.reshape((-1, {dims[0]}, {dims[1] * dims[2]}))\n"
                         f"keras.Input(shape=({dims[0]}, {dims[1] * dims[2]}))",
                         f"{kind_token}:{units} dense:1", dims[0], dims[1] * dims[2], assumed=tuple(assumed)))
    else:
        t, f = _t(assumed), _f(assumed)
        fixes.append(Fix(1, "drop the batch from the shape", f"keras.Input(shape=({t}, {f}))",
                         f"{kind_token}:{units} dense:1", t, f, assumed=tuple(assumed)))
    return Diagnosis("input_shape_includes_batch", f"input_shape includes the batch: {_a(cls)} got a {found}-D input",
                     RNN_RULE, match.group(0), wording, layer, tuple(shapes), tuple(causes), tuple(fixes))


def _repeat_vector(match: re.Match, layer: str, found: int, shape: Dims | None, wording: str) -> Diagnosis:
    assumed: list[str] = []
    shapes = []
    t = units = None
    if shape is not None and len(shape) == 3:
        t, units = shape[1], shape[2]
        shapes.append(ShapeWord("received", shape, ("batch", "timesteps", "units"),
                                "a whole sequence, where RepeatVector wants one vector per sample"))
    t = _t(assumed, t)
    units = _u(assumed, units)
    f = _f(assumed)
    causes = (Cause("the encoder before RepeatVector has return_sequences=True: it returns every step "
                    "[batch, timesteps, units], not the one vector RepeatVector repeats"),)
    fixes = (Fix(1, "return_sequences=False on the encoder, so its last step is repeated",
                 f"keras.layers.LSTM({units}),  # the encoder, return_sequences=False\n"
                 f"keras.layers.RepeatVector({t}),\nkeras.layers.LSTM({units}, return_sequences=True),\n"
                 f"keras.layers.TimeDistributed(keras.layers.Dense({f})),",
                 f"lstm:{units} repeat:{t} lstm:{units}:seq td:{f}", t, f, assumed=tuple(assumed)),)
    return Diagnosis("repeat_vector_on_sequence", "RepeatVector got a sequence (an encoder with return_sequences=True)",
                     "RepeatVector's input_spec: InputSpec(ndim=2), one vector [batch, features] per sample (rule "
                     "of Keras, keras/src/layers/reshaping/repeat_vector.py)", match.group(0), wording, layer,
                     tuple(shapes), causes, fixes)


def _dense_on_sequence(match: re.Match, layer: str, shape: Dims | None, wording: str) -> Diagnosis:
    assumed: list[str] = []
    units, t, f = _u(assumed), _t(assumed), _f(assumed)
    causes = (Cause(f"a Dense layer ({layer!r}) after a recurrent layer with return_sequences=True: this Keras "
                    "wanted one vector per sample for Dense (Keras 3's Dense acts on the last axis of any rank)"),
              Cause("you meant one output per timestep: TimeDistributed(Dense)"))
    fixes = (Fix(1, "return_sequences=False before the Dense head", f"keras.layers.LSTM({units}),\nkeras.layers.Dense(1),",
                 f"lstm:{units} dense:1", t, f, assumed=tuple(assumed)),
             Fix(2, "a per-timestep head", f"keras.layers.LSTM({units}, return_sequences=True),\n"
                 "keras.layers.TimeDistributed(keras.layers.Dense(1)),", f"lstm:{units}:seq td:1", t, f,
                 assumed=tuple(assumed)))
    return Diagnosis("dense_on_sequence", "a Dense layer got a sequence (return_sequences=True before it)",
                     "Dense's input_spec in Keras 1/2: ndim=2 (rule of that Keras)", match.group(0), wording, layer,
                     (), causes, fixes)


def _convlstm(match: re.Match, layer: str, expected: int, found: int, shape: Dims | None, wording: str) -> Diagnosis:
    spatial = expected - 3
    axes_want = ["batch", "time"] + ["rows", "cols", "depth"][:spatial] + ["channels"]
    assumed: list[str] = []
    units = _u(assumed)
    shapes = []
    fixes = []
    causes = [Cause(f"the channels axis is missing: ConvLSTM{spatial}D reads {axes_text(axes_want)}; a grey "
                    "frame still needs its channels axis of 1"),
              Cause("the time axis is missing: each sample is one frame, not a sequence of frames")]
    note = (f"the stack language has no ConvLSTM{spatial}D: this is the same sequence read by an LSTM with each "
            "frame flattened into its features, to show the time axis")
    if shape is not None:
        shapes.append(ShapeWord("received", shape, tuple(_dim(d) if i == 0 else str(d) for i, d in enumerate(shape)),
                                f"rank {found}; ConvLSTM{spatial}D needs rank {expected} {axes_text(axes_want)}"))
        body = [d for d in shape[1:] if isinstance(d, int)]
        if len(body) == found - 1 and body:
            frame = 1
            for d in body[1:]:
                frame *= d
            fixes.append(Fix(1, f"add a channels axis of 1: [batch, {', '.join(map(str, body))}, 1]",
                             f"X = X[..., None]  # {shape_text(tuple(body))} -> {shape_text(tuple(body) + (1,))} per "
                             f"sample\nkeras.Input(shape={shape_text(tuple(body) + (1,))})",
                             f"lstm:{units} dense:1", body[0], frame, assumed=tuple(assumed), note=note))
            whole = frame * body[0]
            fixes.append(Fix(2, f"add a time axis of 1: [batch, 1, {', '.join(map(str, body))}]",
                             f"X = X[:, None]  # one frame per sample\nkeras.Input(shape={shape_text((1,) + tuple(body))})",
                             f"lstm:{units} dense:1", 1, whole, assumed=tuple(assumed), note=note))
    if not fixes:
        fixes.append(Fix(1, "add the missing axis", "X = X[..., None]", f"lstm:{units} dense:1", _t(assumed),
                         _f(assumed), assumed=tuple(assumed), note=note))
    return Diagnosis("convlstm_input_rank", f"ConvLSTM{spatial}D got a {found}-D input, {expected}-D needed",
                     f"ConvLSTM{spatial}D's input_spec: InputSpec(ndim={expected}), {axes_text(axes_want)} (rule of "
                     "Keras, keras/src/layers/rnn/conv_lstm.py)", match.group(0), wording, layer, tuple(shapes),
                     tuple(causes), tuple(fixes))


def _stateful_batch(match: re.Match, text: str, wording: str) -> Diagnosis:
    expected, received = int(match.group("expected")), int(match.group("received"))
    seq = re.search(r"sequences=tf\.Tensor\(shape=(" + SHAPE + ")", text)
    cls_match = re.search(r"calling (\w+)\.call\(\)", text)
    cls = cls_match.group(1) if cls_match and cls_match.group(1) in _KERAS_CLASS.values() else "LSTM"
    token = cls.lower()
    assumed: list[str] = []
    t = f = None
    shapes = [ShapeWord("state", (expected, None), (str(expected), "units"), f"the batch the state was built for, {expected}")]
    if seq:
        dims = parse_shape(seq.group(1))
        if len(dims) == 3:
            t, f = dims[1], dims[2]
            shapes.append(ShapeWord("received", dims, (str(dims[0]), "timesteps", "features"),
                                    f"a batch of {dims[0]} samples"))
    t, f, units = _t(assumed, t), _f(assumed, f), _u(assumed)
    causes = (Cause(f"the number of samples is not a multiple of the batch size {expected}: the last batch has "
                    f"{received}; a stateful layer keeps one state row per sample of its fixed batch"),
              Cause(f"predicting with another batch size ({received}) than the stateful model was built for "
                    f"({expected}): build a copy with batch_size={received} and copy the weights"))
    fixes = (Fix(1, f"feed whole batches of {expected}: drop (or pad) the remainder",
                 f"n = len(X) // {expected} * {expected}\nmodel.fit(X[:n], y[:n], batch_size={expected}, shuffle=False)",
                 f"{token}:{units} dense:1", t, f, batch=expected, assumed=tuple(assumed),
                 note="the stack shows the shapes of one batch; `rnnshape stateful` shows the state carried"),
             Fix(2, f"a copy of the model for batch {received}",
                 f"twin = build_model(batch_size={received})  # same layers, stateful=True\n"
                 "twin.set_weights(model.get_weights())",
                 f"{token}:{units} dense:1", t, f, batch=received, assumed=tuple(assumed)))
    return Diagnosis("stateful_batch_size", f"{_a('stateful')} {cls} fed a batch of {received}, built for {expected}",
                     "a stateful RNN keeps its state in variables of shape [batch, units] made for the batch size "
                     "it was built with (rule of Keras, keras/src/layers/rnn/rnn.py)", match.group(0), wording, cls,
                     tuple(shapes), causes, fixes)


def _stateful_unknown_batch(match: re.Match, text: str, wording: str) -> Diagnosis:
    shape = parse_shape(match.group("shape")) if match.groupdict().get("shape") else None
    assumed: list[str] = []
    t = f = None
    shapes = []
    if shape is not None and len(shape) == 3:
        t, f = shape[1], shape[2]
        shapes.append(ShapeWord("received", shape, ("batch", "timesteps", "features"), "the batch size is unknown (None)"))
    t, f, units = _t(assumed, t), _f(assumed, f), _u(assumed)
    batch = 32
    assumed.append(f"batch {batch}")
    causes = (Cause("stateful=True without a fixed batch size: the state needs a row per sample, so Keras must "
                    "know how many samples a batch has"),)
    fixes = (Fix(1, f"give the input a batch size (here {batch})",
                 f"keras.Input(shape=({t}, {f}), batch_size={batch})\nkeras.layers.LSTM({units}, stateful=True)",
                 f"lstm:{units} dense:1", t, f, batch=batch, assumed=tuple(assumed)),)
    return Diagnosis("stateful_needs_batch_size", "a stateful layer without a fixed batch size",
                     "a stateful RNN needs a static batch size (rule of Keras, keras/src/layers/rnn/rnn.py)",
                     match.group(0), wording, None, tuple(shapes), causes, fixes)


STATE_COUNT = {"LSTM": 2, "GRU": 1, "SimpleRNN": 1}


def _initial_state_count(match: re.Match, text: str, wording: str) -> Diagnosis:
    cls = match.group("cls")
    given = re.findall(r"shape=(" + SHAPE + ")", match.group("states"))
    need = STATE_COUNT[cls]
    token = cls.lower()
    dims = [parse_shape(s) for s in given]
    assumed: list[str] = []
    units = dims[0][-1] if dims and dims[0] and isinstance(dims[0][-1], int) else None
    seq = re.search(r"sequences=tf\.Tensor\(shape=(" + SHAPE + ")", text)
    t = f = None
    batch = 1
    if seq:
        s = parse_shape(seq.group(1))
        if len(s) == 3:
            batch, t, f = (s[0] or 1), s[1], s[2]
    t, f, units = _t(assumed, t), _f(assumed, f), _u(assumed, units)
    names = "[state_h, state_c]" if cls == "LSTM" else "[state_h]"
    shapes = tuple(ShapeWord(f"initial_state[{i}]", d, ("batch", "units")) for i, d in enumerate(dims))
    causes = (Cause(f"{cls} takes {need} initial state{'s' if need > 1 else ''} {names}, each [batch, units]; "
                    f"{len(given)} {'were' if len(given) != 1 else 'was'} given"
                    + (" (an LSTM needs both h and c)" if cls == "LSTM" and len(given) < need else "")),)
    fixes = (Fix(1, f"pass {names}, the states an encoder returns with return_state=True",
                 f"_, state_h, state_c = keras.layers.LSTM({units}, return_state=True)(encoder_inputs)\n"
                 f"keras.layers.LSTM({units})(decoder_inputs, initial_state=[state_h, state_c])"
                 if cls == "LSTM" else
                 f"_, state_h = keras.layers.{cls}({units}, return_state=True)(encoder_inputs)\n"
                 f"keras.layers.{cls}({units})(decoder_inputs, initial_state=[state_h])",
                 f"{token}:{units}", t, f, batch=batch, assumed=tuple(assumed),
                 note=f"the stack shows the encoder: its output [batch, units] = {(batch, units)} is the shape of "
                      "each state"),)
    return Diagnosis("initial_state_count", f"{cls} given {len(given)} initial state(s), {need} needed",
                     f"{cls}'s state_size: {need} state{'s' if need > 1 else ''} {names}, each [batch, units] (rule "
                     "of Keras, keras/src/layers/rnn/)", match.group(0), wording, cls, shapes, causes, fixes)


_CELL_GATES = {"LSTMCell": 4, "GRUCell": 3, "SimpleRNNCell": 1}


def _initial_state_shape(match: re.Match, text: str, wording: str) -> Diagnosis:
    cell = match.group("cls")
    cls = cell.removesuffix("Cell")
    b, s, u, g = (int(match.group(k)) for k in ("b", "s", "u", "g"))
    token = cls.lower()
    assumed: list[str] = []
    inputs = re.search(r"(?:inputs|sequence)=tf\.Tensor\(shape=\((\d+), (\d+)\)", text)
    f = int(inputs.group(2)) if inputs else None
    f, t = _f(assumed, f), _t(assumed)
    shapes = (ShapeWord("state", (b, s), ("batch", str(s)), f"a state of {s} numbers per sample"),
              ShapeWord("recurrent_kernel", (u, g), ("units", "gates x units"),
                        f"the {cls} has units {u} ({g} = {_CELL_GATES.get(cell, 1)} x {u})"))
    causes = (Cause(f"the initial state has {s} numbers per sample but the {cls} has units {u}: every state is "
                    f"[batch, units] = [batch, {u}]"),
              Cause(f"the encoder that made the state has units {s}: give the decoder the same units"))
    fixes = (Fix(1, f"states of the layer's own size [batch, {u}]",
                 f"keras.layers.{cls}({u}, return_state=True)  # the encoder: states [batch, {u}]",
                 f"{token}:{u}", t, f, batch=b, assumed=tuple(assumed),
                 note="the stack shows the encoder: its output [batch, units] is the shape each state must have"),
             Fix(2, f"a decoder of units {s}, as the encoder",
                 f"keras.layers.{cls}({s})(decoder_inputs, initial_state=states)",
                 f"{token}:{s}", t, f, batch=b, assumed=tuple(assumed)))
    return Diagnosis("initial_state_shape", f"an initial state of size {s} given to {_a(cls)} of units {u}",
                     f"{cls}Cell multiplies the state [batch, units] by its recurrent kernel [units, "
                     f"{_CELL_GATES.get(cell, 1)} x units] (rule of Keras, keras/src/layers/rnn/)",
                     match.group(0), wording, cls, shapes, causes, fixes)


def _target(match: re.Match, text: str, wording: str) -> Diagnosis:
    target = parse_shape(match.group("target"))
    output = parse_shape(match.group("output"))
    assumed: list[str] = []
    units = _u(assumed)
    f = _f(assumed)
    shapes = (ShapeWord("target", target, tuple(_dim(d) for d in target), "y, as given to fit"),
              ShapeWord("output", output, tuple(_dim(d) for d in output), "what the model returns"))
    if len(target) >= 2 and isinstance(target[-1], int):
        head = target[-1]
    else:  # sparse labels, one class index per sample: the head has one unit per class
        head = output[-1] if isinstance(output[-1], int) else 1
    if len(output) > len(target) or len(output) == len(target) and len(output) >= 3:
        t = output[1] if len(output) >= 3 and isinstance(output[1], int) else None
        t = _t(assumed, t)
        shapes = (shapes[0], ShapeWord("output", output, ("batch", "timesteps") + tuple(str(d) for d in output[2:]),
                                       "one output per timestep"))
        causes = (Cause("a Dense head on a sequence: the recurrent layer before it has return_sequences=True, so "
                        "Dense acts on every timestep and the model returns [batch, timesteps, units]"),
                  Cause(f"you meant one output per timestep: then y needs a timesteps axis, [batch, {t}, "
                        f"{output[-1] if len(output) >= 3 else 1}]"))
        fixes = (Fix(1, "return_sequences=False on the last recurrent layer: one output per sample",
                     f"keras.layers.LSTM({units}),  # return_sequences=False\nkeras.layers.Dense({head}),",
                     f"lstm:{units} dense:{head}", t, f, assumed=tuple(assumed)),
                 Fix(2, "keep the sequence and give y one row per timestep",
                     f"y = y.reshape((-1, {t}, {output[-1] if len(output) >= 3 else 1}))\n"
                     f"keras.layers.TimeDistributed(keras.layers.Dense({output[-1] if len(output) >= 3 else 1}))",
                     f"lstm:{units}:seq td:{output[-1] if len(output) >= 3 else 1}", t, f, assumed=tuple(assumed)))
        title = "a Dense head on a sequence: the output has a timesteps axis the target lacks"
    elif len(target) > len(output):
        t = target[1] if len(target) >= 3 and isinstance(target[1], int) else None
        t = _t(assumed, t)
        causes = (Cause("y has a timesteps axis but the model returns one vector per sample: the last recurrent "
                        "layer needs return_sequences=True and a TimeDistributed(Dense) head"),)
        fixes = (Fix(1, "return_sequences=True and a per-timestep head",
                     f"keras.layers.LSTM({units}, return_sequences=True),\n"
                     f"keras.layers.TimeDistributed(keras.layers.Dense({head})),",
                     f"lstm:{units}:seq td:{head}", t, f, assumed=tuple(assumed)),)
        title = "the target has a timesteps axis the output lacks"
    else:
        t = _t(assumed)
        causes = (Cause(f"the head has {output[-1]} units but y has {head} columns per sample: Dense({head}) (or "
                        f"one-hot y to {output[-1]} columns)"),
                  Cause(f"the output is a sequence of {output[-1]} steps with its last axis of 1 squeezed by the "
                        "loss: a Dense(1) head on a sequence (return_sequences=True before it)"))
        fixes = (Fix(1, f"a head of {head} units, as y has", f"keras.layers.Dense({head})",
                     f"lstm:{units} dense:{head}", t, f, assumed=tuple(assumed)),
                 Fix(2, "return_sequences=False on the last recurrent layer",
                     f"keras.layers.LSTM({units}),  # return_sequences=False\nkeras.layers.Dense({head}),",
                     f"lstm:{units} dense:{head}", t, f, assumed=tuple(assumed)))
        title = "the target and the output differ"
    return Diagnosis("target_mismatch", title, "the loss compares y with the model's output: their shapes must "
                     "agree (rule of Keras, keras/src/losses/ and keras/src/backend/tensorflow/nn.py)",
                     match.group(0), wording, None, shapes, causes, fixes)


def _reshape(match: re.Match, text: str, wording: str) -> Diagnosis:
    source = parse_shape(match.group("input"))
    target = parse_shape(match.group("target"))
    size = 1
    for d in source:
        if isinstance(d, int):
            size *= d
    tsize = 1
    for d in target:
        if isinstance(d, int) and d > 0:
            tsize *= d
    assumed: list[str] = []
    units = _u(assumed)
    shapes = (ShapeWord("input", source, tuple(str(d) for d in source), f"{size} numbers per sample"),
              ShapeWord("target_shape", target, tuple(str(d) for d in target), f"{tsize} numbers per sample"))
    causes = [Cause(f"the Reshape target holds {tsize} numbers but each sample has {size}: the product of "
                    "target_shape must equal the input's (per sample, the batch is not part of it)")]
    fixes = []
    last = target[-1] if target and isinstance(target[-1], int) and target[-1] > 0 else None
    if last and size % last == 0 and len(target) == 2:
        fixes.append(Fix(1, f"let Keras count the timesteps: Reshape((-1, {last})) = [batch, {size // last}, {last}]",
                         f"keras.layers.Reshape((-1, {last})),  # {size // last} timesteps of {last} features",
                         f"lstm:{units} dense:1", size // last, last, assumed=tuple(assumed)))
    fixes.append(Fix(1, f"reading A: {size} timesteps of 1 feature: Reshape(({size}, 1))",
                     f"keras.layers.Reshape(({size}, 1)),", f"lstm:{units} dense:1", size, 1, assumed=tuple(assumed)))
    fixes.append(Fix(1, f"reading B: 1 timestep of {size} features: Reshape((1, {size}))",
                     f"keras.layers.Reshape((1, {size})),", f"lstm:{units} dense:1", 1, size, assumed=tuple(assumed)))
    causes.append(Cause("a Flatten before the Reshape or the recurrent layer threw away the timesteps axis: keep "
                        "[batch, timesteps, features] and drop the Flatten"))
    return Diagnosis("reshape_size", f"Reshape to {shape_text(target)} of an input of {size} numbers per sample",
                     "Reshape keeps every number: the product of target_shape equals that of the input without its "
                     "batch (rule of Keras, keras/src/layers/reshaping/reshape.py)", match.group(0), wording, None,
                     shapes, tuple(causes), tuple(fixes),
                     readings=(f"reading A: [batch, {size}, 1], {size} timesteps of 1 feature",
                               f"reading B: [batch, 1, {size}], 1 timestep of {size} features"))


def _fit_input(match: re.Match, text: str, wording: str) -> Diagnosis:
    expected = parse_shape(match.group("expected"))
    got = parse_shape(match.group("got"))
    layer = match.groupdict().get("layer")
    if len(expected) == 2 and layer is not None:  # Keras 2 "expected X to have shape (5, 3)": without the batch
        expected = (None,) + expected
        got = (got[0],) + got[1:] if len(got) == 3 else got
    assumed: list[str] = []
    units = _u(assumed)
    exp_axes = ("batch", "timesteps", "features") if len(expected) == 3 else tuple(_dim(d) for d in expected)
    shapes = (ShapeWord("expected", expected, exp_axes, "what the model's Input was built for"),
              ShapeWord("received", got, ("batch",) + tuple(str(d) for d in got[1:]),
                        "no timesteps axis" if len(got) == 2 else ""))
    fixes = []
    causes = []
    size = 1
    for d in got[1:]:
        size *= d if isinstance(d, int) else 1
    if len(expected) == 3 and all(isinstance(d, int) for d in expected[1:]):
        t, f = expected[1], expected[2]
        if size == t * f:
            causes.append(Cause(f"X holds the right numbers, {size} = {t} x {f} per sample, without its timesteps "
                                f"axis: reshape it to [batch, {t}, {f}]"))
            fixes.append(Fix(1, f"reshape X to [batch, {t}, {f}]", f"X = X.reshape((-1, {t}, {f}))",
                             f"lstm:{units} dense:1", t, f, assumed=tuple(assumed)))
        else:
            causes.append(Cause(f"X has {size} numbers per sample but the model wants {t} x {f} = {t * f}: X is "
                                "not the data the model was built for (or the Input shape is wrong)"))
        if len(got) == 2:
            causes.append(Cause(f"the model's Input should follow X: {size} numbers per sample as {size} timesteps "
                                f"of 1 feature, keras.Input(shape=({size}, 1))"))
            fixes.append(Fix(len(causes), f"build the model for X as {size} timesteps x 1 feature",
                             f"X = X.reshape((-1, {size}, 1))\nkeras.Input(shape=({size}, 1))",
                             f"lstm:{units} dense:1", size, 1, assumed=tuple(assumed)))
        elif len(got) == 3 and got[2] == f:
            causes.append(Cause(f"X has {got[1]} timesteps, the model {t}: keras.Input(shape=(None, {f})) accepts any "
                                "number of timesteps"))
            fixes.append(Fix(len(causes), f"build the model for {got[1]} timesteps",
                             f"keras.Input(shape=(None, {f}))  # any timesteps", f"lstm:{units} dense:1", got[1], f,
                             assumed=tuple(assumed)))
    if not fixes:
        t, f = _t(assumed), _f(assumed)
        causes.append(Cause("X and the model's Input disagree: reshape X or build the Input for X's shape"))
        fixes.append(Fix(1, "an Input that matches X", "keras.Input(shape=X.shape[1:])", f"lstm:{units} dense:1", t, f,
                         assumed=tuple(assumed)))
    return Diagnosis("fit_input_shape", f"data of shape {shape_text(got)} given to a model built for "
                     f"{shape_text(expected)}", "fit/predict compare X with the model's Input shape, every axis but "
                     "the batch (rule of Keras, keras/src/models/functional.py)", match.group(0), wording, layer,
                     shapes, tuple(causes), tuple(fixes))


def _keras2_input_rank(match: re.Match, text: str, wording: str) -> Diagnosis:
    layer = match.group("layer")
    expected = int(match.group("expected"))
    shape = parse_shape(match.group("shape"))
    cls = _KERAS_CLASS[_rnn_token(layer)]
    shapes = (ShapeWord("received", shape, ("samples",) + tuple(str(d) for d in shape[1:]),
                        "no timesteps axis" if len(shape) == 2 else ""),)
    if len(shape) == 2 and expected == 3 and isinstance(shape[1], int):
        n = shape[1]
        readings, fixes = _two_readings(n, str(shape[0]), cls, 1)
        causes = (Cause(f"X has no timesteps axis: {shape[0]} samples of {n} numbers, but {layer!r} wants "
                        "[samples, timesteps, features]"),)
        return Diagnosis("no_timesteps_axis", f"no timesteps axis: the data is {len(shape)}-D, {expected}-D needed",
                         "fit compares X's rank with the Input's (rule of Keras 2, keras/engine/training_utils.py)",
                         match.group(0), wording, layer, shapes, causes, tuple(fixes), tuple(readings))
    assumed: list[str] = []
    units = _u(assumed)
    t, f = _t(assumed), _f(assumed)
    causes = (Cause(f"X is {len(shape)}-D but {layer!r} wants {expected}-D"),)
    fixes = (Fix(1, f"give X {expected} axes", "X = X.reshape((samples, timesteps, features))",
                 f"lstm:{units} dense:1", t, f, assumed=tuple(assumed)),)
    return Diagnosis("fit_input_shape", f"the data is {len(shape)}-D, {expected}-D needed",
                     "fit compares X's rank with the Input's (rule of Keras 2)", match.group(0), wording, layer,
                     shapes, causes, fixes)


def _keras2_target_rank(match: re.Match, text: str, wording: str) -> Diagnosis:
    expected = int(match.group("expected"))
    shape = parse_shape(match.group("shape"))
    if expected == 3 and len(shape) == 2:  # the model returns a sequence, y does not
        output = (None, DEFAULT_TIMESTEPS, shape[-1])
    elif expected == 2 and len(shape) == 3:
        output = (None, shape[-1])
    else:
        output = (None,) * expected
    fake = re.match(r"(?P<target>.*)\|(?P<output>.*)", f"{shape_text(shape)}|{shape_text(output)}")
    diagnosis = _target(fake, text, wording)
    shapes = (ShapeWord("target", shape, ("samples",) + tuple(str(d) for d in shape[1:]), "y, as given to fit"),
              ShapeWord("output", output, ("batch",) + tuple("?" for _ in output[1:]),
                        f"the model returns {expected} axes ({match.group('layer')!r})"))
    return Diagnosis(diagnosis.kind, diagnosis.title, "fit compares y's rank with the output's (rule of Keras 2)",
                     match.group(0), wording, match.group("layer"), shapes, diagnosis.causes, diagnosis.fixes)


def _bidirectional(match: re.Match, text: str, wording: str) -> Diagnosis:
    forward = match.group("f") == "True"
    assumed: list[str] = []
    units = _u(assumed)
    t, f = _t(assumed), _f(assumed)
    causes = [Cause("go_backwards=True on the layer given to Bidirectional: Bidirectional makes the backward copy "
                    "itself (with go_backwards flipped), so the layer must read forwards")]
    if not forward:
        causes.insert(0, Cause("a backward_layer without go_backwards=True: the backward layer must read backwards"))
    fixes = [Fix(1, "Bidirectional of a forward layer", f"keras.layers.Bidirectional(keras.layers.LSTM({units}))",
                 f"lstm:{units}:bi dense:1", t, f, assumed=tuple(assumed))]
    if not forward:
        fixes.append(Fix(1, "or a backward_layer that reads backwards",
                         f"keras.layers.Bidirectional(keras.layers.LSTM({units}), backward_layer=keras.layers.LSTM("
                         f"{units}, go_backwards=True))", f"lstm:{units}:bi dense:1", t, f, assumed=tuple(assumed)))
    return Diagnosis("bidirectional_go_backwards", "Bidirectional with a go_backwards layer on both sides",
                     "Bidirectional runs the layer forwards and a copy with go_backwards flipped; the two must differ "
                     "(rule of Keras, keras/src/layers/rnn/bidirectional.py)", match.group(0), wording, "bidirectional",
                     (), tuple(causes), tuple(fixes))


def _time_distributed(match: re.Match, text: str, wording: str) -> Diagnosis:
    shape = parse_shape(match.group("shape"))
    assumed: list[str] = []
    n = shape[-1] if shape and isinstance(shape[-1], int) else None
    units = _u(assumed, n)
    t, f = _t(assumed), _f(assumed)
    shapes = (ShapeWord("received", shape, tuple(_dim(d) for d in shape), "no timesteps axis"),)
    causes = (Cause("the recurrent layer before TimeDistributed has return_sequences=False: it returns one vector "
                    f"[batch, units]{f' (units {n})' if n else ''}, so there are no timesteps to distribute over"),
              Cause("you want one output per sample: a plain Dense head, no TimeDistributed"))
    fixes = (Fix(1, "return_sequences=True before TimeDistributed: one output per timestep",
                 f"keras.layers.LSTM({units}, return_sequences=True),\n"
                 "keras.layers.TimeDistributed(keras.layers.Dense(1)),", f"lstm:{units}:seq td:1", t, f,
                 assumed=tuple(assumed)),
             Fix(2, "a Dense head: one output per sample", f"keras.layers.LSTM({units}),\nkeras.layers.Dense(1),",
                 f"lstm:{units} dense:1", t, f, assumed=tuple(assumed)))
    return Diagnosis("time_distributed_2d", "TimeDistributed got a 2-D input (no timesteps axis)",
                     "TimeDistributed applies its layer to every slice of axis 1, the timesteps: it needs at least "
                     "[batch, timesteps, features] (rule of Keras, keras/src/layers/rnn/time_distributed.py)",
                     match.group(0), wording, "time_distributed", shapes, causes, fixes)


_INPUT_SPEC_K3 = (r"Input (?P<index>\d+) with name '[^']*' of layer [\"'](?P<layer>[^\"']+)[\"'] is incompatible with "
                  r"the layer: expected ndim=(?P<expected>\d+), found ndim=(?P<found>\d+)\. Full shape received: "
                  r"(?P<shape>" + SHAPE + ")")
_INPUT_SPEC_TF2 = (r"Input (?P<index>\d+) of layer [\"']?(?P<layer>[\w./-]+)[\"']? is incompatible with the layer: "
                   r":? ?expected ndim=(?P<expected>\d+), found ndim=(?P<found>\d+)\.?(?: Full shape received: "
                   r"(?P<shape>" + SHAPE + "))?")
_INPUT_SPEC_K2 = (r"Input (?P<index>\d+) is incompatible with layer (?P<layer>[\w./-]+): expected ndim=(?P<expected>\d+), "
                  r"found ndim=(?P<found>\d+)(?P<shape>)")
_INPUT_SPEC_BARE = (r"(?P<layer>)(?P<index>)expected ndim=(?P<expected>\d+), found ndim=(?P<found>\d+)\.?(?: Full shape "
                    r"received: (?P<shape>" + SHAPE + "))?")
SHAPE_KINDS = ("no_timesteps_axis", "stacked_without_return_sequences", "input_shape_includes_batch",
               "repeat_vector_on_sequence", "convlstm_input_rank")

KINDS: tuple[Kind, ...] = (
    Kind("input_spec", "a layer's input rank (no timesteps axis, stacked without return_sequences, batch in "
         "input_shape, RepeatVector on a sequence, ConvLSTM rank)",
         ((_INPUT_SPEC_K3, "Keras 3"), (_INPUT_SPEC_TF2, "tf.keras 2.x (TensorFlow 2.1-2.15)"),
          (_INPUT_SPEC_K2, "Keras 2.0-2.3 / TensorFlow 1.x"), (_INPUT_SPEC_BARE, "a part of Keras' input_spec message")),
         _input_spec),
    Kind("stateful_batch_size", "a stateful layer fed another batch size",
         ((r"If an? RNN is stateful, the batch size of the input sequences must be the same as the batch size of "
           r"the initial state\.? -? ?Expected batch size: (?P<expected>\d+) -? ?Received batch size: "
           r"(?P<received>\d+)", "Keras 3"),), _stateful_batch),
    Kind("stateful_needs_batch_size", "a stateful layer without a fixed batch size",
         ((r"When using `stateful=True` in a RNN, the batch size must be static\. Found dynamic batch size: "
           r"sequence\.shape=(?P<shape>" + SHAPE + ")", "Keras 3"),
          (r"If a RNN is stateful, it needs to know its batch size\. Specify the batch size of your input tensors",
           "Keras 2 / tf.keras 2.x")), _stateful_unknown_batch),
    Kind("initial_state_count", "initial states of the wrong number",
         ((r"Exception encountered when calling (?P<cls>LSTM|GRU|SimpleRNN)\.call\(\)\. (?:list index out of range|"
           r"Too (?:few|many) leaves for PyTreeSpec[^.]*\.[^.]*\.).*? initial_state=\[(?P<states>[^\]]*)\]",
           "Keras 3"),), _initial_state_count),
    Kind("initial_state_shape", "an initial state of the wrong size",
         ((r"Exception encountered when calling (?P<cls>LSTMCell|GRUCell|SimpleRNNCell)\.call\(\)\. .*?"
           r"Matrix size-incompatible: In\[0\]: \[(?P<b>\d+),(?P<s>\d+)\], In\[1\]: \[(?P<u>\d+),(?P<g>\d+)\]",
           "Keras 3 on TensorFlow"),), _initial_state_shape),
    Kind("target_mismatch", "a Dense head on a sequence / y that does not match the output",
         ((r"Arguments `target` and `output` must have the same (?:shape|rank \(ndim\))\. Received: "
           r"target\.shape=(?P<target>" + SHAPE + r"), output\.shape=(?P<output>" + SHAPE + ")", "Keras 3"),
          (r"Argument `output` must have rank \(ndim\) `target\.ndim - 1`\. Received: target\.shape=(?P<target>"
           + SHAPE + r"), output\.shape=(?P<output>" + SHAPE + ")", "Keras 3"),
          (r"Shapes (?P<target>" + SHAPE + r") and (?P<output>" + SHAPE + r") are incompatible",
           "tf.keras 2.x (TensorFlow 2.x)"),
          (r"Error when checking (?:model )?target: expected (?P<layer>\w+) to have shape (?P<output>" + SHAPE
           + r") but got array with shape (?P<target>" + SHAPE + ")", "Keras 2 / TensorFlow 1.x")), _target),
    Kind("keras2_target_rank", "y of another rank than the output (Keras 2 wording)",
         ((r"Error when checking (?:model )?target: expected (?P<layer>\w+) to have (?P<expected>\d+) dimensions, but got "
           r"array with shape (?P<shape>" + SHAPE + ")", "Keras 2 / TensorFlow 1.x-2.0"),), _keras2_target_rank,
         current=False),
    Kind("reshape_size", "a Flatten or Reshape in the wrong place (Reshape of another size)",
         ((r"The total size of the tensor must be unchanged\. Received: input_shape=(?P<input>" + SHAPE
           + r"), target_shape=(?P<target>" + SHAPE + ")", "Keras 3"),
          (r"total size of new array must be unchanged, input_shape = (?P<input>" + SHAPE + r"), output_shape = "
           r"(?P<target>" + SHAPE + ")", "tf.keras 2.x")), _reshape),
    Kind("fit_input_shape", "data of another shape than the model's Input",
         ((r"Invalid input shape for input .{0,300}?Expected shape (?P<expected>" + SHAPE + r"), but input has "
           r"incompatible shape (?P<got>" + SHAPE + ")", "Keras 3"),
          (r"Input \d+ of layer [\"']?[\w./-]+[\"']? is incompatible with the layer: expected shape=(?P<expected>"
           + SHAPE + r"), found shape=(?P<got>" + SHAPE + ")", "tf.keras 2.x (TensorFlow 2.4-2.15)"),
          (r"Input \d+ is incompatible with layer [\w./-]+: expected shape=(?P<expected>" + SHAPE + r"), found "
           r"shape=(?P<got>" + SHAPE + ")", "tf.keras 2.x (TensorFlow 2.2-2.5)"),
          (r"Error when checking (?:model )?input: expected (?P<layer>\w+) to have shape (?P<expected>" + SHAPE
           + r") but got array with shape (?P<got>" + SHAPE + ")", "Keras 2 / TensorFlow 1.x")), _fit_input),
    Kind("keras2_input_rank", "data without a timesteps axis (Keras 2 wording)",
         ((r"Error when checking ?(?:model )?(?:input)? ?: expected (?P<layer>\w+) to have (?P<expected>\d+) dimensions, "
           r"but got array with shape (?P<shape>" + SHAPE + ")", "Keras 2 / TensorFlow 1.x-2.0"),),
         _keras2_input_rank, current=False),
    Kind("bidirectional_go_backwards", "Bidirectional of a layer with go_backwards=True",
         ((r"Forward layer and backward layer should have different `go_backwards` value\.? ?(?:Received: )?"
           r"forward_layer\.go_backwards ?=? ?(?P<f>True|False), ?backward_layer\.go_backwards ?=? ?(?P<b>True|False)",
           "Keras 3 (and tf.keras 2.x)"),), _bidirectional),
    Kind("time_distributed_2d", "TimeDistributed on a 2-D input",
         ((r"`TimeDistributed` Layer should be passed an `input_shape ?` with at least 3 dimensions, received: "
           r"(?P<shape>" + SHAPE + ")", "Keras 3 (and tf.keras 2.x)"),), _time_distributed),
)

# Every kind a diagnosis can name, with the first words of its title (docs, tests).
DIAGNOSIS_KINDS = ("no_timesteps_axis", "stacked_without_return_sequences", "input_shape_includes_batch",
                   "repeat_vector_on_sequence", "convlstm_input_rank", "stateful_batch_size",
                   "stateful_needs_batch_size", "initial_state_count", "initial_state_shape", "target_mismatch",
                   "reshape_size", "fit_input_shape", "bidirectional_go_backwards", "time_distributed_2d",
                   "sequence_output_2d_target", "dense_on_sequence")


def recognise(text: str) -> Diagnosis:
    """The first Keras shape error in ``text`` (a message or a whole log), diagnosed; NoShapeError
    (exit 1) when there is none, with the first error line seen."""
    flat = normalise(text)
    found: list[tuple[int, int, Kind, re.Match, str]] = []
    for order, kind in enumerate(KINDS):
        for pattern, wording in kind.patterns:
            match = re.search(pattern, flat)
            if match is not None:
                found.append((match.start(), order, kind, match, wording))
                break
    if not found:
        line = first_error_line(text)
        raise NoShapeError("no Keras shape error found" + (f"; the first error line: {line}" if line else
                                                            " (and no line naming an Error or Exception)"))
    _, _, kind, match, wording = min(found, key=lambda item: (item[0], item[1]))
    return kind.diagnose(match, flat, wording)


# ---- the silent one: a sequence output trained against a 2-D target ------------------------------
def sequence_target(model_name: str, output_shape: Dims, y_shape: Dims, recurrent: list[tuple[str, int, bool]],
                    head_units: int | None, input_shape: Dims) -> Diagnosis | None:
    """A model whose output is [batch, timesteps, units] fit against y [batch, k]: Keras raises
    nothing for mean squared error, it broadcasts y over the timesteps. None when shapes agree."""
    if not (len(output_shape) == 3 and len(y_shape) == 2):
        return None
    t = output_shape[1] if isinstance(output_shape[1], int) else input_shape[1] if len(input_shape) == 3 else None
    assumed: list[str] = []
    t = _t(assumed, t if isinstance(t, int) else None)
    f = input_shape[-1] if isinstance(input_shape[-1], int) else _f(assumed)
    kind, units, _seq = recurrent[-1] if recurrent else ("lstm", _u(assumed), True)
    head = head_units or y_shape[-1]
    shapes = (ShapeWord("output", output_shape, ("batch", "timesteps", "units"), "one output per timestep"),
              ShapeWord("y", y_shape, ("samples", str(y_shape[1])), "one target per sample: no timesteps axis"))
    earlier = " ".join(f"{k}:{u}:seq" for k, u, s in recurrent[:-1]) if recurrent else ""
    tokens = " ".join(x for x in (earlier, f"{kind}:{units}", f"dense:{head}") if x)
    seq_tokens = " ".join(x for x in (earlier, f"{kind}:{units}:seq", f"td:{head}") if x)
    causes = (Cause(f"the last recurrent layer has return_sequences=True, so the Dense head returns one output per "
                    f"timestep {shape_text(tuple('None' if d is None else d for d in output_shape))}, while y "
                    f"{shape_text(y_shape)} has one per sample: a loss such as mean squared error broadcasts y over "
                    f"the {t} timesteps and trains every step to predict the sample's one target, without an error"),
                  Cause("you meant one output per timestep: then y needs a timesteps axis"))
    cls = _KERAS_CLASS.get(kind, "LSTM")
    fixes = (Fix(1, "return_sequences=False on the last recurrent layer: one output per sample",
                 f"keras.layers.{cls}({units}),  # was return_sequences=True\nkeras.layers.Dense({head}),", tokens, t, f,
                 assumed=tuple(assumed)),
             Fix(2, "keep the sequence and give y a timesteps axis",
                 f"y = y.reshape((-1, {t}, {head}))  # one target per timestep", seq_tokens, t, f,
                 assumed=tuple(assumed)))
    return Diagnosis("sequence_output_2d_target", "a sequence output trained against a 2-D target (no error: "
                     "broadcast)", "a loss of y [batch, k] and an output [batch, timesteps, k] broadcasts y over "
                     "the timesteps (rule of numpy broadcasting, which Keras' losses follow)",
                     f"model {model_name!r} returns {shape_text(tuple('None' if d is None else d for d in output_shape))}; "
                     f"y is {shape_text(y_shape)}", "the loaded model", None, shapes, causes, fixes)
