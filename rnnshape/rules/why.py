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
from rnnshape.rules.kinds import KINDS as LAYER_KINDS
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
            "kind": self.kind, "title": self.title, "checked": self.checked, "keras_message": self.message,
            "wording": self.wording, "layer": self.layer,
            "shapes": [{"role": s.role, "shape": list(s.shape), "axes": list(s.axes), "note": s.note}
                       for s in self.shapes],
            "readings": list(self.readings), "evidence": self.evidence,
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


_KERAS_CLASS = {name: LAYER_KINDS[name].keras_class for name in ("lstm", "gru", "simplernn")}
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
    if _is_convlstm(name) or expected in (4, 5, 6) and found == expected - 1 and "lstm" in name:
        return _convlstm(match, layer, expected, found, shape, wording, text)
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
    first_number = 1 if re.match(r"Keras [12]", wording) else 0  # Keras 1/2 named the first LSTM lstm_1
    numbered = bool(_DEFAULT_NAME.match(layer.lower()) and suffix and int(suffix.group(1)) > first_number)
    earlier = len(re.findall(r"\b(?:LSTM|GRU|SimpleRNN)\(", text)) >= 2
    flat_input = re.search(r"input_shape ?= ?\(\d+,\)|Input\(shape ?= ?\(\d+,\)", text)
    stacked_first = (numbered or earlier) and not flat_input
    shown = n if n is not None else DEFAULT_TIMESTEPS
    no_axis = _c("no_timesteps_axis", "your data has no timesteps axis: each sample is a vector"
                    + (f" of {n} numbers" if n is not None else "")
                    + f", but {cls} reads a sequence [batch, timesteps, features]")
    stacked = _c("stacked_without_return_sequences", f"the layer before {called} is a recurrent layer with return_sequences=False: it returns only "
                    f"its last step [batch, units]" + (f" (units {n})" if n is not None else "")
                    + ", which the next recurrent layer cannot read")
    collapsed = _c("layer_removed_timesteps", f"a Flatten, Dense or GlobalPooling layer before {called} removed the timesteps axis")
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
    remover = _TIMESTEPS_REMOVER.search(text)
    if remover:  # the paste shows the layer that removed the axis (a traceback or summary line, the code)
        causes = (collapsed, no_axis, stacked)
        name = remover.group(0)
        fixes = [Fix(1, f"remove the {name} before {called}, or put it after the recurrent layer",
                     f"keras.layers.{cls}({units}, return_sequences=True),  # the recurrent layer first\n"
                     f"keras.layers.{_REMOVER_CLASS.get(name.lower(), name)}(),  # then pool/flatten its sequence"
                     if "pool" in name.lower() else
                     f"keras.Input(shape=(timesteps, features)),\nkeras.layers.{cls}({units}),  # {name} removed",
                     f"{kind_token}:{units} dense:1", t, f, assumed=tuple(assumed))]
        fixes += [_renumber(x, 2) for x in reading_fixes] + [_renumber(stacked_fix, 3)]
        evidence = (f"ranked: the text shows a {name} layer, which returns one vector per sample [batch, features]: "
                    f"nothing after it has timesteps for {called}")
        kind = "timesteps_axis_removed"
        title = f"a {name} before {called} removed the timesteps axis ({_a(cls)} got a {found}-D input)"
    elif stacked_first:
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


_TIMESTEPS_REMOVER = re.compile(r"\b(?:GlobalMaxPooling1D|GlobalAveragePooling1D|GlobalMaxPool1D|GlobalAvgPool1D|"
                                r"global_max_pooling1d|global_average_pooling1d|Flatten)\b")
_REMOVER_CLASS = {"global_max_pooling1d": "GlobalMaxPooling1D", "global_average_pooling1d": "GlobalAveragePooling1D"}


def _renumber(fix: Fix, cause: int) -> Fix:
    return Fix(cause, fix.title, fix.code, fix.tokens, fix.timesteps, fix.features, fix.batch, fix.assumed, fix.note,
               fix.layer)


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
    causes = [_c("batch_in_input_shape", "input_shape (or keras.Input(shape=...)) includes the batch size: Keras adds the batch axis "
                    "itself, so shape=(batch, timesteps, features) becomes [batch, batch, timesteps, features]")]
    fixes = []
    if len(dims) == 3 and all(isinstance(d, int) for d in dims):
        b, t, f = dims
        fixes.append(Fix(1, f"drop the batch from the shape: keras.Input(shape=({t}, {f}), batch_size={b})",
                         f"keras.Input(shape=({t}, {f}))  # or input_shape=({t}, {f}); batch_size={b} only if "
                         f"the layer is stateful\nkeras.layers.{cls}({units})",
                         f"{kind_token}:{units} dense:1", t, f, batch=b, assumed=tuple(assumed)))
        causes.append(_c("grid_per_step", f"each sample really has {found - 1} axes (an image or a grid per step): flatten all "
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
    causes = (_c("encoder_return_sequences", "the encoder before RepeatVector has return_sequences=True: it returns every step "
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
    causes = (_c("return_sequences_before_head", f"a Dense layer ({layer!r}) after a recurrent layer with return_sequences=True: this Keras "
                    "wanted one vector per sample for Dense (Keras 3's Dense acts on the last axis of any rank)"),
              _c("per_timestep_head", "you meant one output per timestep: TimeDistributed(Dense)"))
    fixes = (Fix(1, "return_sequences=False before the Dense head", f"keras.layers.LSTM({units}),\nkeras.layers.Dense(1),",
                 f"lstm:{units} dense:1", t, f, assumed=tuple(assumed)),
             Fix(2, "a per-timestep head", f"keras.layers.LSTM({units}, return_sequences=True),\n"
                 "keras.layers.TimeDistributed(keras.layers.Dense(1)),", f"lstm:{units}:seq td:1", t, f,
                 assumed=tuple(assumed)))
    return Diagnosis("dense_on_sequence", "a Dense layer got a sequence (return_sequences=True before it)",
                     "Dense's input_spec in Keras 1/2: ndim=2 (rule of that Keras)", match.group(0), wording, layer,
                     (), causes, fixes)


def _is_convlstm(layer: str | None) -> bool:
    """conv_lstm2d (Keras 3), conv_lst_m2d_5 (Keras 2's snake case of ConvLSTM2D), convlstm..."""
    return "convlst" in (layer or "").lower().replace("_", "")


def _convlstm(match: re.Match, layer: str, expected: int, found: int, shape: Dims | None, wording: str,
              text: str = "") -> Diagnosis:
    """ConvLSTM{n}D reads [batch, time, (n spatial axes), channels]: rank n + 3. A tensor of rank n + 2
    lacks either its channels axis or its time axis; each reading is a fix built by `rnnshape inspect`
    --layer convlstm{n}d, and a reading whose map would be smaller than the kernel (so the layer would
    fail next) is never ranked first."""
    spatial = max(1, min(3, expected - 3))
    cls = f"ConvLSTM{spatial}D"
    spatial_names = {1: ("rows",), 2: ("rows", "cols"), 3: ("depth", "rows", "cols")}[spatial]
    axes_want = ["batch", "time", *spatial_names, "channels"]
    assumed: list[str] = []
    kernel_m = re.search(r"kernel_size ?= ?\(?(\d+)", text) or re.search(cls + r"\( ?(?:filters ?= ?)?\d+ ?, ?\(?(\d+)",
                                                                          text)
    kernel = int(kernel_m.group(1)) if kernel_m else None
    if kernel is None:
        kernel = 3
        assumed.append("kernel_size 3")
    filters_m = re.search(cls + r"\( ?(?:filters ?= ?)?(\d+)", text)
    filters = int(filters_m.group(1)) if filters_m else None
    if filters is None:
        filters = DEFAULT_UNITS
        assumed.append(f"filters {DEFAULT_UNITS}")
    same = bool(re.search(r"padding ?= ?[\"']same", text))
    shapes = []
    channels_cause = _c("convlstm_missing_channels", f"the channels axis is missing: {cls} reads {axes_text(axes_want)} "
                        f"(rank {expected}); a grey frame still needs its channels axis of 1")
    time_cause = _c("convlstm_missing_time", f"the time axis is missing: each sample is one frame "
                    f"{axes_text(axes_want[2:])}, not a sequence of frames (rank {expected} needs the time axis)")
    readings: list[tuple[Cause, Fix, bool]] = []  # (cause, fix, builds)
    body = [d for d in (shape or ())[1:]]
    if shape is not None:
        shapes.append(ShapeWord("received", shape, tuple(_dim(d) if i == 0 else str(d) for i, d in enumerate(shape)),
                                f"rank {found}; {cls} needs rank {expected} {axes_text(axes_want)}"))
    if len(body) == spatial + 1 and all(isinstance(d, int) for d in body):
        for cause, (time, grid, channels), how, code in (
                (channels_cause, (body[0], body[1:], 1), f"add a channels axis of 1: [batch, {', '.join(map(str, body))}, 1]",
                 f"X = X[..., None]  # {shape_text(tuple(body))} -> {shape_text(tuple(body) + (1,))} per sample"),
                (time_cause, (1, body[:-1], body[-1]), f"add a time axis of 1: [batch, 1, {', '.join(map(str, body))}]",
                 f"X = X[:, None]  # one frame per sample: {shape_text((1,) + tuple(body))}")):
            options: list[tuple[str, object]] = [("layer", f"convlstm{spatial}d"), ("filters", filters),
                                                 ("kernel_size", kernel), ("timesteps", time)]
            options += list(zip(spatial_names, grid)) + [("channels", channels)]
            if same:
                options.append(("padding", "same"))
            builds = same or all(d >= kernel for d in grid)
            note = "" if builds else (f"{cls} would then fail: its kernel {kernel} is larger than the map "
                                      f"{' x '.join(map(str, grid))} (padding valid); use padding='same' or a "
                                      "smaller kernel_size")
            whole = shape_text((time, *grid, channels))
            fix = Fix(0, how, code + f"\nkeras.Input(shape={whole})\nkeras.layers.{cls}({filters}, {kernel})", "", time,
                      channels, assumed=tuple(assumed), note=note, layer=tuple(options))
            readings.append((cause, fix, builds))
        if body[-1] in (3, 4) and body[-1] < min(body[:-1]):  # RGB / RGBA frames: the channels are there
            readings.reverse()
        readings.sort(key=lambda r: not r[2])  # stable: a reading whose layer builds comes first
    if not readings:
        t = _t(assumed)
        grid = (DEFAULT_TIMESTEPS,) * spatial
        options = [("layer", f"convlstm{spatial}d"), ("filters", filters), ("kernel_size", kernel), ("timesteps", t)]
        options += list(zip(spatial_names, grid)) + [("channels", 1)]
        assumed.append(f"a map of {' x '.join(map(str, grid))}")
        readings = [(channels_cause, Fix(0, f"give the input its {expected} axes {axes_text(axes_want)}",
                                         f"X = X[..., None]  # if the channels axis is the one missing\n"
                                         f"keras.layers.{cls}({filters}, {kernel})", "", t, 1,
                                         assumed=tuple(assumed), layer=tuple(options)), True),
                    (time_cause, None, True)]
    causes = tuple(cause for cause, _, _ in readings)
    fixes = tuple(_renumber(fix, i) for i, (_, fix, _) in enumerate(readings, start=1) if fix is not None)
    evidence = ""
    if any(not builds for _, _, builds in readings):
        evidence = ("ranked: a reading whose map is smaller than the kernel comes last, the layer would fail on it "
                    "(ConvLSTM's convolution, padding valid)")
    return Diagnosis("convlstm_input_rank", f"{cls} got a {found}-D input, {expected}-D needed",
                     f"{cls}'s input_spec: InputSpec(ndim={expected}), {axes_text(axes_want)} (rule of "
                     "Keras, keras/src/layers/rnn/conv_lstm.py)", match.group(0), wording, layer, tuple(shapes),
                     causes, fixes, evidence=evidence)


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
    causes = (_c("last_batch_smaller", f"the number of samples is not a multiple of the batch size {expected}: the last batch has "
                    f"{received}; a stateful layer keeps one state row per sample of its fixed batch"),
              _c("batch_size_differs", f"predicting with another batch size ({received}) than the stateful model was built for "
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
    causes = (_c("stateful_without_batch_size", "stateful=True without a fixed batch size: the state needs a row per sample, so Keras must "
                    "know how many samples a batch has"),)
    fixes = (Fix(1, f"give the input a batch size (here {batch})",
                 f"keras.Input(shape=({t}, {f}), batch_size={batch})\nkeras.layers.LSTM({units}, stateful=True)",
                 f"lstm:{units} dense:1", t, f, batch=batch, assumed=tuple(assumed)),)
    return Diagnosis("stateful_needs_batch_size", "a stateful layer without a fixed batch size",
                     "a stateful RNN needs a static batch size (rule of Keras, keras/src/layers/rnn/rnn.py)",
                     match.group(0), wording, None, tuple(shapes), causes, fixes)


STATE_COUNT = {LAYER_KINDS[name].keras_class: 2 if LAYER_KINDS[name].has_cell_state else 1
               for name in ("lstm", "gru", "simplernn")}


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
    causes = (_c("initial_state_count", f"{cls} takes {need} initial state{'s' if need > 1 else ''} {names}, each [batch, units]; "
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
    causes = (_c("state_size_vs_units", f"the initial state has {s} numbers per sample but the {cls} has units {u}: every state is "
                    f"[batch, units] = [batch, {u}]"),
              _c("encoder_units_differ", f"the encoder that made the state has units {s}: give the decoder the same units"))
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


_LOSS = re.compile(r"\b(sparse_categorical_crossentropy|categorical_crossentropy|binary_crossentropy|"
                   r"mean_squared_error|mean_absolute_error|mse|mae)\b")


def _loss_in(match: re.Match, text: str) -> str | None:
    """The loss the paste names: the message's own (Keras 2's "while using as loss `X`"), else the code's."""
    named = match.groupdict().get("loss")
    if named:
        return named
    found = _LOSS.findall(text)  # the last one named: "it worked with X, switching to Y raises"
    return found[-1] if found else None


def _target(match: re.Match, text: str, wording: str) -> Diagnosis:
    target = parse_shape(match.group("target"))
    output = parse_shape(match.group("output"))
    if match.groupdict().get("layer") and len(output) == len(target) - 1:
        output = (None,) + output  # Keras 2.1+ printed the expected shape without its batch axis
    loss = _loss_in(match, text)
    assumed: list[str] = []
    units = _u(assumed)
    f = _f(assumed)
    shapes = (ShapeWord("target", target, tuple(_dim(d) for d in target), "y, as given to fit"),
              ShapeWord("output", output, tuple(_dim(d) for d in output), "what the model returns"))
    if len(target) >= 2 and isinstance(target[-1], int):
        head = target[-1]
    else:  # sparse labels, one class index per sample: the head has one unit per class
        head = output[-1] if isinstance(output[-1], int) else 1
    same_steps = (len(output) == len(target) >= 3 and output[-1] != target[-1]
                  and all(o is None or t is None or o == t for o, t in zip(output[1:-1], target[1:-1])))
    if len(output) > len(target) or len(output) == len(target) and len(output) >= 3 and not same_steps:
        t = output[1] if len(output) >= 3 and isinstance(output[1], int) else None
        t = _t(assumed, t)
        shapes = (shapes[0], ShapeWord("output", output, ("batch", "timesteps") + tuple(str(d) for d in output[2:]),
                                       "one output per timestep"))
        causes = (_c("return_sequences_before_head", "a Dense head on a sequence: the recurrent layer before it has return_sequences=True, so "
                        "Dense acts on every timestep and the model returns [batch, timesteps, units]"),
                  _c("target_per_timestep", f"you meant one output per timestep: then y needs a timesteps axis, [batch, {t}, "
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
        causes = (_c("target_has_timesteps", "y has a timesteps axis but the model returns one vector per sample: the last recurrent "
                        "layer needs return_sequences=True and a TimeDistributed(Dense) head"),)
        fixes = (Fix(1, "return_sequences=True and a per-timestep head",
                     f"keras.layers.LSTM({units}, return_sequences=True),\n"
                     f"keras.layers.TimeDistributed(keras.layers.Dense({head})),",
                     f"lstm:{units}:seq td:{head}", t, f, assumed=tuple(assumed)),)
        title = "the target has a timesteps axis the output lacks"
    else:
        t = output[1] if len(output) >= 3 and isinstance(output[1], int) else None
        t = _t(assumed, t)
        seq = ":seq" if len(output) >= 3 else ""
        head_token = "td" if len(output) >= 3 else "dense"
        width = output[-1]
        head_cause = _c("head_units_vs_target_width", f"the head has {_n(width, 'unit')} but y has "
                        f"{_n(head, 'column')} per {'timestep' if seq else 'sample'}: Dense({head})")
        head_fix = Fix(0, f"a head of {_n(head, 'unit')}, as y has",
                       f"keras.layers.TimeDistributed(keras.layers.Dense({head}))" if seq else
                       f"keras.layers.Dense({head})", f"lstm:{units}{seq} {head_token}:{head}", t, f,
                       assumed=tuple(assumed))
        ranked: list[tuple[Cause, Fix]] = []
        evidence = ""
        sparse = loss == "sparse_categorical_crossentropy"
        if sparse and head > 1 and width == 1:
            ranked.append((_c("one_hot_with_sparse_loss", f"y is one-hot ({head} columns) but "
                              "sparse_categorical_crossentropy wants one integer class index per sample (Keras "
                              "expects a last axis of 1): use loss='categorical_crossentropy', or y.argmax(-1)"),
                           Fix(0, "categorical_crossentropy for one-hot y",
                               "model.compile(loss='categorical_crossentropy', ...)  # y stays one-hot\n"
                               f"keras.layers.Dense({head}, activation='softmax')",
                               f"lstm:{units}{seq} {head_token}:{head}", t, f, assumed=tuple(assumed))))
            evidence = "ranked: the paste uses sparse_categorical_crossentropy and y has one column per class"
        elif head == 1 and isinstance(width, int) and width > 1 and loss in ("categorical_crossentropy", None) and (
                loss or width >= 3):
            ranked.append((_c("integer_labels_with_categorical_loss",
                              f"y holds one integer label per sample but the head has {width} units (one per class): "
                              f"one-hot y with to_categorical(y, {width}), or loss='sparse_categorical_crossentropy'"),
                           Fix(0, "integer labels: sparse_categorical_crossentropy (or one-hot y)",
                               "model.compile(loss='sparse_categorical_crossentropy', ...)  # y stays integer\n"
                               f"# or: y = keras.utils.to_categorical(y, {width})",
                               f"lstm:{units}{seq} {head_token}:{width}", t, f, assumed=tuple(assumed))))
            evidence = (f"ranked: the paste uses {loss}" if loss else
                        f"ranked: a head of {width} units against one column per sample looks like a classifier "
                        "given integer labels (no loss named in the paste)")
        if loss in ("mean_squared_error", "mse", "mean_absolute_error", "mae") and not evidence:
            evidence = f"ranked: the paste uses {loss}, a regression: the head must have as many units as y has columns"
        ranked.append((head_cause, head_fix))
        if not seq:
            ranked.append((_c("squeezed_sequence", f"the output is a sequence of {width} steps with its last axis of "
                              "1 squeezed by the loss: a Dense(1) head on a sequence (return_sequences=True before it)"),
                           Fix(0, "return_sequences=False on the last recurrent layer",
                               f"keras.layers.LSTM({units}),  # return_sequences=False\nkeras.layers.Dense({head}),",
                               f"lstm:{units} dense:{head}", t, f, assumed=tuple(assumed))))
        causes = tuple(cause for cause, _ in ranked)
        fixes = tuple(_renumber(fix, i) for i, (_, fix) in enumerate(ranked, start=1))
        title = {"one_hot_with_sparse_loss": "one-hot y with sparse_categorical_crossentropy",
                 "integer_labels_with_categorical_loss": f"integer labels for a head of {width} classes",
                 }.get(causes[0].id, f"the head has {_n(width, 'unit')}, y has {_n(head, 'column')}")
        return Diagnosis("target_mismatch", title, "the loss compares y with the model's output: their shapes must "
                         "agree (rule of Keras, keras/src/losses/ and keras/src/backend/tensorflow/nn.py)",
                         match.group(0), wording, match.groupdict().get("layer"), shapes, causes, fixes,
                         evidence=evidence)
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
    causes = [_c("reshape_size", f"the Reshape target holds {tsize} numbers but each sample has {size}: the product of "
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
    causes.append(_c("flatten_removed_timesteps", "a Flatten before the Reshape or the recurrent layer threw away the timesteps axis: keep "
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
    layer = match.groupdict().get("layer") or match.groupdict().get("named")
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
    if (len(expected) == len(got) and isinstance(expected[0], int) and isinstance(got[0], int)
            and expected[0] != got[0] and all(e is None or g is None or e == g for e, g in zip(expected[1:], got[1:]))):
        built, fed = expected[0], got[0]  # a fixed batch (stateful, batch_input_shape) against the batch fed
        t = next((d for d in (got[1:2] + expected[1:2]) if isinstance(d, int)), None) if len(got) == 3 else None
        t, f = _t(assumed, t), _f(assumed, got[-1] if isinstance(got[-1], int) else None)
        causes.append(_c("batch_size_differs", f"the model was built for batches of {built} (stateful=True with "
                         f"batch_input_shape / batch_shape) and was given a batch of {fed}"
                         + (": 32 is the default batch_size of fit and predict" if fed == 32 else "")
                         + f"; give batch_size={built} to fit/predict"))
        fixes.append(Fix(1, f"batches of {built}, as the model was built", f"model.fit(X, y, batch_size={built})",
                         f"lstm:{units} dense:1", t, f, batch=built, assumed=tuple(assumed)))
        causes.append(_c("last_batch_smaller", f"if {fed} is the last batch: the samples are not a multiple of "
                         f"{built}; drop the remainder"))
        return Diagnosis("fit_input_shape", f"a batch of {fed} given to a model built for batches of {built}",
                         "a model with a fixed batch size takes batches of exactly that size (rule of Keras, "
                         "keras/src/layers/input_spec.py)", match.group(0), wording, layer, shapes, tuple(causes),
                         tuple(fixes), evidence="ranked: the shapes differ only in the batch axis"
                         + (", and 32 is Keras' default batch_size" if fed == 32 else ""))
    if len(expected) == 3 and all(isinstance(d, int) for d in expected[1:]):
        t, f = expected[1], expected[2]
        if size == t * f:
            causes.append(_c("x_missing_timesteps_axis", f"X holds the right numbers, {size} = {t} x {f} per sample, without its timesteps "
                                f"axis: reshape it to [batch, {t}, {f}]"))
            fixes.append(Fix(1, f"reshape X to [batch, {t}, {f}]", f"X = X.reshape((-1, {t}, {f}))",
                             f"lstm:{units} dense:1", t, f, assumed=tuple(assumed)))
        elif len(got) == 2 and got[-1] == f and t > 1:
            # X is 2-D rows of f features and the Input was built as (X.shape[0], f): rows taken for timesteps
            causes.append(_c("rows_taken_as_timesteps", f"X is 2-D, {f} features per row, and the model's Input was "
                             f"built with {t} timesteps, likely X.shape[0] (the number of rows): give X a timesteps "
                             f"axis, X.reshape(-1, 1, {f}) with keras.Input(shape=(1, {f})), or cut it into windows "
                             f"[samples, timesteps, {f}]"))
            fixes.append(Fix(1, f"one step of {f} features per sample: keras.Input(shape=(1, {f}))",
                             f"X = X.reshape((-1, 1, {f}))\nkeras.Input(shape=(1, {f}))  # not (X.shape[0], {f})",
                             f"lstm:{units} dense:1", 1, f, assumed=tuple(assumed)))
        else:
            causes.append(_c("x_not_model_data", f"X has {size} numbers per sample but the model wants {t} x {f} = {t * f}: X is "
                                "not the data the model was built for (or the Input shape is wrong)"))
            fixes.append(Fix(1, f"data of the model's shape [batch, {t}, {f}]",
                             f"print(X.shape)  # must be (samples, {t}, {f}), as keras.Input(shape=({t}, {f}))",
                             f"lstm:{units} dense:1", t, f, assumed=tuple(assumed)))
        if len(got) == 2 and not (got[-1] == f and t > 1):
            causes.append(_c("input_follows_x", f"the model's Input should follow X: {size} numbers per sample as {size} timesteps "
                                f"of 1 feature, keras.Input(shape=({size}, 1))"))
            fixes.append(Fix(len(causes), f"build the model for X as {size} timesteps x 1 feature",
                             f"X = X.reshape((-1, {size}, 1))\nkeras.Input(shape=({size}, 1))",
                             f"lstm:{units} dense:1", size, 1, assumed=tuple(assumed)))
        elif len(got) == 3 and got[2] == f:
            causes.append(_c("timesteps_differ", f"X has {got[1]} timesteps, the model {t}: keras.Input(shape=(None, {f})) accepts any "
                                "number of timesteps"))
            fixes.append(Fix(len(causes), f"build the model for {got[1]} timesteps",
                             f"keras.Input(shape=(None, {f}))  # any timesteps", f"lstm:{units} dense:1", got[1], f,
                             assumed=tuple(assumed)))
    if not fixes:
        t, f = _t(assumed), _f(assumed)
        causes.append(_c("x_vs_input", "X and the model's Input disagree: reshape X or build the Input for X's shape"))
        fixes.append(Fix(1, "an Input that matches X", "keras.Input(shape=X.shape[1:])", f"lstm:{units} dense:1", t, f,
                         assumed=tuple(assumed)))
    return Diagnosis("fit_input_shape", f"data of shape {shape_text(got)} given to a model built for "
                     f"{shape_text(expected)}", "fit/predict compare X with the model's Input shape, every axis but "
                     "the batch (rule of Keras, keras/src/models/functional.py)", match.group(0), wording, layer,
                     shapes, tuple(causes), tuple(fixes))


def _keras2_input_rank(match: re.Match, text: str, wording: str) -> Diagnosis:
    layer = match.group("layer") or match.groupdict().get("named")
    expected = int(match.group("expected"))
    shape = parse_shape(match.group("shape"))
    if _is_convlstm(layer) or expected in (4, 5, 6) and len(shape) == expected - 1 and "convlstm" in text.lower():
        return _convlstm(match, layer, expected, len(shape), shape, wording, text)
    cls = _KERAS_CLASS[_rnn_token(layer)]
    shapes = (ShapeWord("received", shape, ("samples",) + tuple(str(d) for d in shape[1:]),
                        "no timesteps axis" if len(shape) == 2 else ""),)
    if len(shape) == 2 and expected == 3 and isinstance(shape[1], int):
        n = shape[1]
        readings, fixes = _two_readings(n, str(shape[0]), cls, 1)
        causes = (_c("no_timesteps_axis", f"X has no timesteps axis: {shape[0]} samples of {n} numbers, but {layer!r} wants "
                        "[samples, timesteps, features]"),)
        return Diagnosis("no_timesteps_axis", f"no timesteps axis: the data is {len(shape)}-D, {expected}-D needed",
                         "fit compares X's rank with the Input's (rule of Keras 2, keras/engine/training_utils.py)",
                         match.group(0), wording, layer, shapes, causes, tuple(fixes), tuple(readings))
    assumed: list[str] = []
    units = _u(assumed)
    t, f = _t(assumed), _f(assumed)
    causes = (_c("x_rank", f"X is {len(shape)}-D but {layer!r} wants {expected}-D"),)
    fixes = (Fix(1, f"give X {expected} axes", "X = X.reshape((samples, timesteps, features))",
                 f"lstm:{units} dense:1", t, f, assumed=tuple(assumed)),)
    return Diagnosis("fit_input_shape", f"the data is {len(shape)}-D, {expected}-D needed",
                     "fit compares X's rank with the Input's (rule of Keras 2)", match.group(0), wording, layer,
                     shapes, causes, fixes)


def _keras2_target_rank(match: re.Match, text: str, wording: str) -> Diagnosis:
    expected = int(match.group("expected"))
    shape = parse_shape(match.group("shape"))
    if expected == len(shape) + 1 and _loss_in(match, text) == "sparse_categorical_crossentropy":
        return _sparse_labels_axis(match, shape, expected, wording)
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
    causes = [_c("go_backwards_in_bidirectional", "go_backwards=True on the layer given to Bidirectional: Bidirectional makes the backward copy "
                    "itself (with go_backwards flipped), so the layer must read forwards")]
    if not forward:
        causes.insert(0, _c("backward_layer_not_backwards", "a backward_layer without go_backwards=True: the backward layer must read backwards"))
    fixes = [Fix(1, "Bidirectional of a forward layer", f"keras.layers.Bidirectional(keras.layers.LSTM({units}))",
                 f"lstm:{units}:bi dense:1", t, f, assumed=tuple(assumed))]
    if not forward:
        fixes.append(Fix(1, "or a backward_layer that reads backwards",
                         f"keras.layers.Bidirectional(keras.layers.LSTM({units}), backward_layer=keras.layers.LSTM("
                         f"{units}, go_backwards=True))", f"lstm:{units}:bi dense:1", t, f, assumed=tuple(assumed)))
    title = ("Bidirectional with go_backwards=True on both sides" if forward and match.group("b") == "True" else
             "Bidirectional whose backward layer does not read backwards (go_backwards=False on both sides)"
             if not forward and match.group("b") == "False" else
             "Bidirectional whose forward layer reads backwards (go_backwards=True)")
    return Diagnosis("bidirectional_go_backwards", title,
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
    causes = (_c("return_sequences_before_time_distributed", "the recurrent layer before TimeDistributed has return_sequences=False: it returns one vector "
                    f"[batch, units]{f' (units {n})' if n else ''}, so there are no timesteps to distribute over"),
              _c("dense_head", "you want one output per sample: a plain Dense head, no TimeDistributed"))
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


def _categorical_targets(match: re.Match, text: str, wording: str) -> Diagnosis:
    target = parse_shape(match.group("target"))
    assumed: list[str] = []
    units, t, f = _u(assumed), _t(assumed), _f(assumed)
    classes = DEFAULT_UNITS
    assumed.append(f"{classes} classes")
    causes = (_c("integer_labels_with_categorical_loss", f"y {shape_text(target)} holds one integer class per sample; "
                 "categorical_crossentropy wants one-hot rows [samples, classes]: y = to_categorical(y), or "
                 "loss='sparse_categorical_crossentropy' (as Keras' message says)"),)
    fixes = (Fix(1, "integer labels: sparse_categorical_crossentropy (or one-hot y)",
                 "model.compile(loss='sparse_categorical_crossentropy', ...)  # y stays integer\n"
                 "# or: y = keras.utils.to_categorical(y)", f"lstm:{units} dense:{classes}", t, f,
                 assumed=tuple(assumed)),)
    return Diagnosis("target_mismatch", "integer labels with categorical_crossentropy",
                     "categorical_crossentropy takes one-hot targets, one column per class (rule of Keras 2, "
                     "keras/engine/training_utils.py)", match.group(0), wording, None,
                     (ShapeWord("target", target, ("samples",) + tuple(str(d) for d in target[1:]),
                                "one integer label per sample"),), causes, fixes)


def _sparse_labels_axis(match: re.Match, shape: Dims, expected: int, wording: str) -> Diagnosis:
    assumed: list[str] = []
    units, f = _u(assumed), _f(assumed)
    t = shape[1] if len(shape) >= 2 and isinstance(shape[1], int) else None
    t = _t(assumed, t)
    classes = DEFAULT_UNITS
    assumed.append(f"{classes} classes")
    causes = (_c("sparse_labels_need_axis", f"y holds integer labels {shape_text(shape)} and Keras 2 wants them with "
                 f"a last axis of 1 for sparse_categorical_crossentropy ({expected} axes, as the output): "
                 "y[..., None] (np.expand_dims(y, -1))"),)
    fixes = (Fix(1, "add a last axis of 1 to the integer labels", "y = y[..., None]  # " + shape_text(shape) + " -> "
                 + shape_text(tuple(shape) + (1,)), f"lstm:{units}:seq td:{classes}", t, f, assumed=tuple(assumed)),)
    return Diagnosis("target_mismatch", "integer labels without their last axis of 1 (sparse loss, Keras 2)",
                     "Keras 2 compared y's rank with the output's; for a sparse loss it expected a last axis of 1 "
                     "(rule of Keras 2, keras/engine/training.py)", match.group(0), wording, match.group("layer"),
                     (ShapeWord("target", shape, ("samples",) + tuple(str(d) for d in shape[1:]), "integer labels"),),
                     causes, fixes, evidence="ranked: the paste uses sparse_categorical_crossentropy")


def _dims(text: str) -> Dims:
    """'32,12' / '?,5' / '' -> (32, 12) / (None, 5) / ()."""
    return tuple(int(p) if p.strip().isdigit() else None for p in text.split(",") if p.strip())


_RUNTIME_RULE = ("TensorFlow broadcasts two tensors in an elementwise op (the loss, a gate's sum): each axis must "
                 "be equal or 1 (rule of TensorFlow's BroadcastGradientArgs / BCast)")


def _incompatible(match: re.Match, text: str, wording: str) -> Diagnosis:
    """TensorFlow's runtime 'Incompatible shapes: [a] vs. [b]' (and the graph-time 'Dimensions must be
    equal ... with input shapes: [a], [b]'): which of the two is y (or the fed batch) comes from the
    node the message names; without one, the candidates are said as candidates."""
    a, b = _dims(match.group("a")), _dims(match.group("b"))
    after = text[match.start():match.end() + 400]
    node_m = re.search(r"\{\{node ([^}]+)\}\}", after) or re.search(r"Detected at node '?([\w/.-]+)", text)
    node = node_m.group(1) if node_m else ""
    in_loss = bool(re.search(r"loss|mean_squared_error|crossentropy|SquaredDifference", node))
    in_cell = bool(re.search(r"lstm|gru|simple_rnn|rnn", node, re.I)) and not in_loss
    keras3 = "compile_loss" in node or "keras/src" in text or "keras.src" in text
    cls_token = "gru" if re.search(r"gru", node, re.I) else "simplernn" if re.search(r"simple_rnn", node, re.I) else "lstm"
    assumed: list[str] = []
    units = _u(assumed)
    shapes = [ShapeWord("first", a, tuple(_dim(d) for d in a), "the op's first input"),
              ShapeWord("second", b, tuple(_dim(d) for d in b), "the op's second input")]
    where = f" (node {node.split('/')[0]}/.../{node.split('/')[-1]})" if node.count("/") > 1 else (
        f" (node {node})" if node else "")
    if len(a) == len(b) and a and a[1:] == b[1:] and a[0] != b[0] and all(isinstance(d, int) for d in (a[0], b[0])):
        fed, built = a[0], b[0]  # measured in Keras 3 and tf.keras 2: the batch fed comes first, the state's second
        t, f = _t(assumed), _f(assumed)
        shapes = [ShapeWord("fed", a, (str(fed),) + tuple(_dim(d) for d in a[1:]), f"a batch of {fed}"),
                  ShapeWord("built", b, (str(built),) + tuple(_dim(d) for d in b[1:]),
                            f"the model's fixed batch size {built} (a stateful layer's state, or batch_input_shape)")]
        differs = _c("batch_size_differs", f"the model has a fixed batch size of {built} (stateful=True with "
                     f"batch_shape / batch_input_shape, or batch_input_shape alone) and was given a batch of {fed}"
                     + (": 32 is the default batch_size of fit and predict" if fed == 32 else "")
                     + f"; give batch_size={built} to fit/predict (or, if it is not stateful, input_shape without the "
                     "batch)")
        last = _c("last_batch_smaller", f"the number of samples is not a multiple of the batch size {built}: the last "
                  f"batch has {fed} samples, and a stateful layer keeps one state row per sample of its fixed batch")
        differs_fix = Fix(0, f"batches of {built}, as the model was built",
                          f"model.fit(X, y, batch_size={built})  # and predict(X, batch_size={built})\n"
                          "# not stateful? keras.Input(shape=(timesteps, features)) without the batch",
                          f"{cls_token}:{units} dense:1", t, f, batch=built, assumed=tuple(assumed))
        last_fix = Fix(0, f"feed whole batches of {built}: drop (or pad) the remainder",
                       f"n = len(X) // {built} * {built}\nmodel.fit(X[:n], y[:n], batch_size={built}, shuffle=False)",
                       f"{cls_token}:{units} dense:1", t, f, batch=built, assumed=tuple(assumed))
        if fed < built and fed != 32:
            ranked = [(last, last_fix), (differs, differs_fix)]
            evidence = (f"ranked: the batch fed ({fed}) is smaller than the model's ({built}), as the last batch of an "
                        "epoch is when the samples are not a multiple of the batch size" + where)
            title = f"a model built for batches of {built} fed a last batch of {fed}"
        else:
            ranked = [(differs, differs_fix), (last, last_fix)]
            evidence = ("ranked: 32 is Keras' default batch_size, so fit/predict was called without batch_size"
                        if fed == 32 else f"ranked: the batch fed ({fed}) is larger than the model's ({built}), so it "
                        "was not the last batch of an epoch") + where
            title = f"a model built for batches of {built} fed a batch of {fed}"
        return Diagnosis("incompatible_shapes", title, _RUNTIME_RULE, match.group(0), wording, node or None,
                         tuple(shapes), tuple(c for c, _ in ranked),
                         tuple(_renumber(x, i) for i, (_, x) in enumerate(ranked, start=1)), evidence=evidence)
    # which one is y: Keras 3's compile_loss computes y_true - y_pred (measured: y first); tf.keras 2's
    # mean_squared_error is squared_difference(y_pred, y_true) (prediction first)
    if keras3 or "Dimensions must be equal" in match.group(0):
        target, output, order = a, b, "Keras 3's loss computes y - prediction, so y is the first shape"
    else:
        target, output, order = b, a, ("the message does not say which shape is y: read in tf.keras 2's order "
                                       "(its losses take the prediction first, squared_difference(y_pred, y_true))")
    if in_cell:
        order = f"the op is inside the recurrent layer{where}"
    t_shape = tuple("None" if d is None else d for d in target)
    o_shape = tuple("None" if d is None else d for d in output)
    fake = re.match(r"(?P<target>.*)\|(?P<output>.*)", f"{shape_text(t_shape)}|{shape_text(o_shape)}")
    if not in_cell and len(target) == len(output) + 1 and target[:1] + target[2:] == output:
        diagnosis = _target(fake, text, wording)  # y has a timesteps axis the output lacks
    elif not in_cell and len(output) == len(target) + 1 and output[:1] + output[2:] == target:
        diagnosis = _target(fake, text, wording)  # the output has a timesteps axis y lacks
    elif not in_cell and len(target) == len(output) >= 2 and target[:-1] == output[:-1] and target[-1] != output[-1]:
        diagnosis = _target(fake, text, wording)  # widths differ
    else:
        t, f = _t(assumed), _f(assumed)
        causes = (_c("shapes_differ", f"two tensors of shapes {shape_text(tuple('?' if d is None else d for d in a))} "
                     f"and {shape_text(tuple('?' if d is None else d for d in b))} met in one op{where}: compare y with "
                     "the model's output (model.output_shape) and the batch fed with any fixed batch size"),)
        fixes = (Fix(1, "print both shapes before fit", "print(model.output_shape, y.shape)",
                     f"{cls_token}:{units} dense:1", t, f, assumed=tuple(assumed)),)
        return Diagnosis("incompatible_shapes", "TensorFlow could not broadcast two shapes (the paste names no cause)",
                         _RUNTIME_RULE, match.group(0), wording, node or None, tuple(shapes), causes, fixes,
                         evidence="the paste names no loss, layer or batch that explains the two shapes: a candidate, "
                                  "not a ranking")
    evidence = "; ".join(x for x in ("read: " + order + where, diagnosis.evidence) if x)
    return Diagnosis("incompatible_shapes", diagnosis.title, _RUNTIME_RULE, match.group(0), wording, node or None,
                     diagnosis.shapes, diagnosis.causes, diagnosis.fixes, evidence=evidence)


def _concatenate(match: re.Match, text: str, wording: str) -> Diagnosis:
    dims = [parse_shape(x) for x in re.findall(SHAPE, match.group("shapes"))]
    axis_m = re.search(r"axis ?= ?(-?\d+)", text)
    assumed: list[str] = []
    units = _u(assumed)
    shapes = tuple(ShapeWord(f"input {i}", d, tuple(_dim(x) if j == 0 else str(x) for j, x in enumerate(d)),
                             {1: "one axis", 2: "a vector per sample", 3: "a sequence per sample"}.get(len(d), ""))
                   for i, d in enumerate(dims))
    ranks = sorted({len(d) for d in dims})
    rule = ("Concatenate joins tensors along one axis (default the last): every other axis, and so the rank, "
            "must match (rule of Keras, keras/src/layers/merging/concatenate.py)")
    if len(ranks) == 2 and ranks[1] == ranks[0] + 1:
        high = next(d for d in dims if len(d) == ranks[1])
        low = next(d for d in dims if len(d) == ranks[0])
        if high[0] is not None and low and low[0] == high[0] and len(low) == 1:  # (1024,) with (1024, 2): no batch
            n = low[0]
            causes = (_c("vector_missing_axis", f"one tensor {shape_text(low)} has no last axis: reshape it to "
                         f"({n}, 1) and concatenate on axis 1, giving ({n}, {high[-1] + 1})"),)
            fixes = (Fix(1, "give the vector its axis of 1", "v = tf.reshape(v, [-1, 1])\n"
                         "keras.layers.Concatenate(axis=1)([v, m])", f"lstm:{units} dense:1", _t(assumed), _f(assumed),
                         assumed=tuple(assumed)),)
            return Diagnosis("concatenate_shapes", "Concatenate of tensors of different ranks (a vector without its "
                             "axis)", rule, match.group(0), wording, "concatenate", shapes, causes, fixes)
        if len(high) == 3 and high[1] == 1:  # an Embedding/Reshape left a timesteps axis of 1
            causes = (_c("squeeze_axis_of_one", f"{shape_text(tuple('None' if d is None else d for d in high))} "
                         "carries an axis of 1 (an Embedding of input_length=1, a Reshape): Flatten() or "
                         f"Reshape(({high[-1]},)) it to a vector before the Concatenate"),
                      _c("concat_sequence_with_vector", "a sequence was concatenated with a vector"))
            fixes = (Fix(1, "flatten the axis of 1 away", "x = keras.layers.Flatten()(x)  # (None, 1, n) -> (None, n)\n"
                         "keras.layers.Concatenate()([x, v])", f"lstm:{units} dense:1", 1, high[-1],
                         assumed=tuple(assumed)),)
            return Diagnosis("concatenate_shapes", "Concatenate of a (batch, 1, n) tensor with a vector", rule,
                             match.group(0), wording, "concatenate", shapes, causes, fixes)
        t = high[1] if len(high) == 3 and isinstance(high[1], int) else None
        t = _t(assumed, t)
        f = _f(assumed)
        causes = (_c("concat_sequence_with_vector", "a sequence [batch, timesteps, units] was concatenated with a "
                     "vector [batch, units]: the recurrent layer that made the sequence has return_sequences=True; "
                     "return_sequences=False (or a GlobalPooling1D) makes it a vector too"),
                  _c("repeat_vector_to_sequence", f"you meant one vector per timestep: RepeatVector({t}) the vector so "
                     "both are sequences of the same timesteps"))
        fixes = (Fix(1, "two vectors: return_sequences=False on the recurrent layer",
                     f"s = keras.layers.LSTM({units})(x)  # was return_sequences=True: now [batch, {units}]\n"
                     "keras.layers.Concatenate()([s, v])", f"lstm:{units} dense:1", t, f, assumed=tuple(assumed)),
                 Fix(2, "two sequences: repeat the vector over the timesteps",
                     f"v = keras.layers.RepeatVector({t})(v)  # [batch, {t}, n]\nkeras.layers.Concatenate()([s, v])",
                     f"lstm:{units} repeat:{t} lstm:{units}:seq td:1", t, f, assumed=tuple(assumed)))
        return Diagnosis("concatenate_shapes", "Concatenate of a sequence with a vector", rule, match.group(0),
                         wording, "concatenate", shapes, causes, fixes)
    t, f = _t(assumed), _f(assumed)
    axis = int(axis_m.group(1)) if axis_m else -1
    causes = (_c("concat_axis_mismatch", f"the inputs differ on an axis other than the concatenation axis ({axis}): "
                 "the timesteps (or the spatial sizes) must be equal; concatenate on the axis that differs, or make "
                 "them equal (padding, the same pooling)"),)
    fixes = (Fix(1, "inputs that agree on every other axis", "print([x.shape for x in inputs])",
                 f"lstm:{units} dense:1", t, f, assumed=tuple(assumed)),)
    return Diagnosis("concatenate_shapes", "Concatenate of inputs that differ on another axis", rule, match.group(0),
                     wording, "concatenate", shapes, causes, fixes,
                     evidence="the paste shows which axes differ, not why: a candidate, not a ranking")


def _state_spec(match: re.Match, text: str, wording: str) -> Diagnosis:
    """Keras 2 / tf.keras 2's RNN check of initial_state against cell.state_size (Keras 3 no longer
    checks it when building: measured, a sequence passed as a state builds without an error)."""
    specs = [parse_shape(x) for x in re.findall(r"shape=(" + SHAPE + ")", match.group("spec"))]
    sizes = [int(x) for x in re.findall(r"\d+", match.group("size"))]
    assumed: list[str] = []
    t, f = _t(assumed), _f(assumed)
    units = sizes[0] if sizes else _u(assumed)
    lstm = len(sizes) == 2 or "LSTM" in text and "GRU" not in text
    names = "[state_h, state_c]" if lstm else "[state_h]"
    shapes = tuple(ShapeWord(f"initial_state[{i}]", d, tuple(_dim(x) for x in d),
                             "a sequence [batch, timesteps, units]" if len(d) == 3 else "") for i, d in enumerate(specs))
    rule = ("an RNN takes one initial state per entry of its cell's state_size, each [batch, units] (LSTM: "
            "[state_h, state_c]; rule of Keras 2, keras/layers/recurrent.py)")
    cls = "LSTM" if lstm else "GRU"
    if any(len(d) == 3 for d in specs):
        causes = (_c("state_is_a_sequence", "an output sequence was passed as initial_state: a recurrent layer's output "
                     "with return_sequences=True is [batch, timesteps, units], not a state; make the encoder "
                     f"return_state=True and pass its states {names}"),)
        code = (f"_, state_h, state_c = keras.layers.LSTM({units}, return_state=True)(encoder_inputs)\n"
                f"keras.layers.LSTM({units})(decoder_inputs, initial_state=[state_h, state_c])" if lstm else
                f"_, state_h = keras.layers.GRU({units}, return_state=True)(encoder_inputs)\n"
                f"keras.layers.GRU({units})(decoder_inputs, initial_state=[state_h])")
        fixes = (Fix(1, "the encoder's states, not its outputs", code, f"{cls.lower()}:{units}", t, f,
                     assumed=tuple(assumed), note="the stack shows the encoder: its output [batch, units] is the shape "
                                                  "of each state"),)
        title = "an output sequence given as initial_state (return_state=True gives the states)"
    elif len(specs) == len(sizes) and all(d and d[-1] == n for d, n in zip(specs, sizes)):
        causes = (_c("nested_state_structure", f"the {len(specs)} states match the cells' sizes {sizes} one by one: "
                     "tf.keras 2 compared a flat list with the nested state_size of stacked cells "
                     "(RNN([cell, cell, ...])); pass the states nested per cell, [[h1, c1], [h2, c2], ...]"),)
        fixes = (Fix(1, "the states nested per cell", "keras.layers.RNN(cells)(inputs, initial_state=[[h1, c1], "
                     "[h2, c2]])", f"lstm:{units}", t, f, assumed=tuple(assumed)),)
        title = "stacked cells given a flat list of states (tf.keras 2)"
    elif len(specs) == 2 * len(sizes) and sizes:
        half = specs[0][-1] if specs[0] and isinstance(specs[0][-1], int) else sizes[0]
        causes = (_c("bidirectional_states_not_merged", f"a Bidirectional encoder returns {len(specs)} states (forward "
                     f"and backward {names}) but the decoder takes {len(sizes)}: concatenate forward and backward, "
                     f"state_h = Concatenate()([forward_h, backward_h]), with a decoder of twice the encoder's units"),)
        fixes = (Fix(1, "merge the two directions' states", "state_h = keras.layers.Concatenate()([forward_h, backward_h])\n"
                     "state_c = keras.layers.Concatenate()([forward_c, backward_c])\n"
                     f"keras.layers.LSTM({2 * half})(decoder_inputs, initial_state=[state_h, state_c])",
                     f"lstm:{half}:bi", t, f, assumed=tuple(assumed),
                     note=f"the stack shows the Bidirectional encoder: concat merge gives [batch, {2 * half}]"),)
        title = "a Bidirectional encoder's states given to a one-direction decoder"
    else:
        got = specs[0][-1] if specs and specs[0] and isinstance(specs[0][-1], int) else None
        causes = (_c("decoder_units_vs_state", f"the states are [batch, {got}] but the decoder's units are {units}: give "
                     f"the decoder units {got} (a Bidirectional encoder's merged states are twice its units)"),)
        fixes = (Fix(1, f"a decoder of units {got}", f"keras.layers.{cls}({got})(decoder_inputs, initial_state=states)",
                     f"{cls.lower()}:{got or units}", t, f, assumed=tuple(assumed)),)
        title = "initial states of another size than the decoder's units"
    return Diagnosis("initial_state_spec", title, rule, match.group(0), wording, None, shapes, causes, fixes)


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
          (r"(?:Error when checking (?:model )?target: )?expected (?P<layer>\w+)(?<!_input) to have shape (?P<output>"
           + SHAPE + r"),? but got array with shape (?P<target>" + SHAPE + ")", "Keras 2 / TensorFlow 1.x"),
          (r"A target array with shape (?P<target>" + SHAPE + r") was passed for an output of shape (?P<output>"
           + SHAPE + r") while using as loss `(?P<loss>\w+)`", "Keras 2.2-2.3 / tf.keras (TensorFlow 1.13-2.1)")),
         _target),
    Kind("keras2_categorical_targets", "integer targets with categorical_crossentropy (Keras 2 wording)",
         ((r"You are passing a target array of shape (?P<target>" + SHAPE + r") while using as loss "
           r"`categorical_crossentropy`", "Keras 2.0-2.3 / tf.keras (TensorFlow 1.x-2.1)"),), _categorical_targets,
         current=False),
    Kind("keras2_target_rank", "y of another rank than the output (Keras 2 wording)",
         ((r"(?:Error when checking (?:model )?target: )?expected (?P<layer>\w+)(?<!_input) to have (?P<expected>\d+) "
           r"dimensions,? but got array with shape (?P<shape>" + SHAPE + ")", "Keras 2 / TensorFlow 1.x-2.0"),),
         _keras2_target_rank,
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
          (r"(?:Error when checking (?:model )?input: expected (?P<layer>\w+)|expected (?P<named>\w+_input)) to have "
           r"shape (?P<expected>" + SHAPE + r"),? but got array with shape (?P<got>" + SHAPE + ")",
           "Keras 2 / TensorFlow 1.x")), _fit_input),
    Kind("keras2_input_rank", "data without a timesteps axis (Keras 2 wording)",
         ((r"(?:Error when checking ?(?:model )?(?:input)? ?: expected (?P<layer>\w+)|expected (?P<named>\w+_input)) "
           r"to have (?P<expected>\d+) dimensions,? but got array with shape (?P<shape>" + SHAPE + ")",
           "Keras 2 / TensorFlow 1.x-2.0"),),
         _keras2_input_rank, current=False),
    Kind("bidirectional_go_backwards", "Bidirectional of a layer with go_backwards=True",
         ((r"Forward layer and backward layer should have different `go_backwards` value\.? ?(?:Received: )?"
           r"forward_layer\.go_backwards ?=? ?(?P<f>True|False), ?backward_layer\.go_backwards ?=? ?(?P<b>True|False)",
           "Keras 3 (and tf.keras 2.x)"),), _bidirectional),
    Kind("time_distributed_2d", "TimeDistributed on a 2-D input",
         ((r"`TimeDistributed` Layer should be passed an `input_shape ?` with at least 3 dimensions, received: "
           r"(?P<shape>" + SHAPE + ")", "Keras 3 (and tf.keras 2.x)"),), _time_distributed),
    Kind("incompatible_shapes", "TensorFlow's runtime broadcast of two shapes (a stateful batch, y against the "
         "output)",
         ((r"Incompatible shapes: \[(?P<a>[\d?, ]*)\] vs\. \[(?P<b>[\d?, ]*)\]", "TensorFlow's runtime op"),
          (r"Dimensions must be equal, but are \d+ and \d+ for '?\{\{node [^}]+\}\}.{0,300}? with input shapes: "
           r"\[(?P<a>[\d?, ]*)\], \[(?P<b>[\d?, ]*)\]", "TensorFlow's graph op")), _incompatible),
    Kind("concatenate_shapes", "Concatenate of inputs of other shapes (a sequence with a vector)",
         ((r"A `Concatenate` layer requires inputs with matching shapes except for the concatenation axis\. "
           r"Received: input_shape=(?P<shapes>\[.*?[\)\]]\])", "Keras 3"),
          (r"`Concatenate` layer requires inputs with matching shapes except for the concat axis\. Got inputs "
           r"shapes: (?P<shapes>\[.*?\)\])", "Keras 2 / tf.keras 2.x")), _concatenate),
    Kind("initial_state_spec", "initial_state against cell.state_size (Keras 2 / tf.keras 2)",
         ((r"An `?initial_state`? was passed that is not compatible with `cell\.state_size`\. Received `state_spec`="
           r"(?P<spec>.*?\]\)?); [Hh]owever `cell\.state_size` is (?P<size>\[[\d, \[\]]*\]|\([\d, ]*\)|\d+)",
           "Keras 2.1-2.3 / tf.keras 2.x"),), _state_spec, current=False),
)

# Every kind a diagnosis can name, with the first words of its title (docs, tests).
DIAGNOSIS_KINDS = ("no_timesteps_axis", "stacked_without_return_sequences", "input_shape_includes_batch",
                   "repeat_vector_on_sequence", "convlstm_input_rank", "stateful_batch_size",
                   "stateful_needs_batch_size", "initial_state_count", "initial_state_shape", "target_mismatch",
                   "reshape_size", "fit_input_shape", "bidirectional_go_backwards", "time_distributed_2d",
                   "sequence_output_2d_target", "dense_on_sequence", "timesteps_axis_removed", "incompatible_shapes",
                   "concatenate_shapes", "initial_state_spec")


def _loose(pattern: str) -> str:
    """A pattern that matches a message pasted without its backticks or its quotes: people paste
    from rendered pages (Markdown eats the backticks) and retype names."""
    return pattern.replace("`", "`?")


_COMPILED: list[tuple[Kind, list[tuple[re.Pattern, str]]]] = [
    (kind, [(re.compile(_loose(pattern)), wording) for pattern, wording in kind.patterns]) for kind in KINDS]

_KERAS3_TRACE = re.compile(r"keras/src/|keras\\src\\|keras\.src\.|\bKeras 3\b|TensorFlow version:? ?2\.(?:1[6-9]|2\d)|"
                           r"\btf 2\.(?:1[6-9]|2\d)\b|\bTF 2\.(?:1[6-9]|2\d)\b|\b2\.(?:1[6-9]|2\d)\.\d+\b|"
                           r"Exception encountered when calling|When using `stateful=True` in a RNN")
_TFKERAS2_TRACE = re.compile(r"tensorflow/python/keras|tensorflow\\python\\keras|keras/engine/|keras\\engine\\|"
                             r"TensorFlow version:? ?2\.(?:[0-9]|1[0-5])\b|\bTF 2\.(?:[0-9]|1[0-5])\b")


def _refine_wording(flat: str, match: re.Match, wording: str) -> str:
    """The version a wording belongs to, narrowed by what the paste shows: Keras 1 raised a bare
    Exception (Keras 2 a ValueError); a traceback through keras/src/ is Keras 3, through keras/engine/
    or tensorflow/python/keras is Keras 2 / tf.keras 2."""
    before = flat[max(0, match.start() - 30):match.start()]
    if wording.startswith("Keras 2") and re.search(r"(?<![\w.])Exception: ?$", before):
        return "Keras 1.x (it raised a bare Exception; Keras 2 raises ValueError)"
    if wording.startswith("Keras 2") and "checking model " in match.group(0):
        return "Keras 1.x-2.0 (\"Error when checking model ...\")"
    if wording.startswith("TensorFlow's"):  # a runtime op: which Keras ran it shows in the traceback
        if _KERAS3_TRACE.search(flat) or "compile_loss" in flat:
            return "Keras 3, " + wording
        if _TFKERAS2_TRACE.search(flat) or re.search(r"training/\w+/gradients|_loss/", flat):
            return "Keras 2 / tf.keras 2, " + wording
        return wording
    if wording.startswith("tf.keras 2.x") and "-2.15" in wording:  # wordings Keras 3 prints too
        if _KERAS3_TRACE.search(flat):
            return "Keras 3 (on TensorFlow 2.16+: the paste shows Keras 3; this wording is also tf.keras 2's)"
        if not _TFKERAS2_TRACE.search(flat):
            return wording + " or Keras 3 (the paste shows no version)"
    return wording


def recognise(text: str) -> Diagnosis:
    """The first Keras shape error in ``text`` (a message or a whole log), diagnosed; NoShapeError
    (exit 1) when there is none, with the first error line seen."""
    flat = normalise(text)
    found: list[tuple[int, int, Kind, re.Match, str]] = []
    for order, (kind, patterns) in enumerate(_COMPILED):
        for pattern, wording in patterns:
            match = pattern.search(flat)
            if match is not None:
                found.append((match.start(), order, kind, match, wording))
                break
    if not found:
        line = first_error_line(text)
        raise NoShapeError("no Keras shape error found" + (f"; the first error line: {line}" if line else
                                                            " (and no line naming an Error or Exception)"))
    _, _, kind, match, wording = min(found, key=lambda item: (item[0], item[1]))
    return kind.diagnose(match, flat, _refine_wording(flat, match, wording))


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
    causes = (_c("return_sequences_before_head", f"the last recurrent layer has return_sequences=True, so the Dense head returns one output per "
                    f"timestep {shape_text(tuple('None' if d is None else d for d in output_shape))}, while y "
                    f"{shape_text(y_shape)} has one per sample: a loss such as mean squared error broadcasts y over "
                    f"the {t} timesteps and trains every step to predict the sample's one target, without an error"),
                  _c("target_per_timestep", "you meant one output per timestep: then y needs a timesteps axis"))
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
