"""``rnnshape why``: errors about what a recurrent layer was given (its rank, the batch in
input_shape, RepeatVector, a Dense on a sequence, ConvLSTM's ranks). Pure.
"""

from __future__ import annotations

import re

from rnnshape.rules.why_diagnosis import (
    _DEFAULT_NAME,
    _KERAS_CLASS,
    DEFAULT_TIMESTEPS,
    DEFAULT_UNITS,
    Cause,
    Diagnosis,
    Dims,
    Fix,
    ShapeWord,
    _a,
    _c,
    _dim,
    _f,
    _renumber,
    _rnn_token,
    _t,
    _two_readings,
    _u,
    parse_shape,
)
from rnnshape.rules.words import axes_text, shape_text

# ---- the kinds ---------------------------------------------------------------------------------
RNN_RULE = (
    "the input_spec of Keras' recurrent layers: InputSpec(ndim=3), an input "
    "[batch, timesteps, features] (rule of Keras, keras/src/layers/rnn/rnn.py)"
)


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


def _no_timesteps(
    match: re.Match, layer: str, expected: int, found: int, shape: Dims | None, wording: str, text: str
) -> Diagnosis:
    kind_token = _rnn_token(layer)
    cls = _KERAS_CLASS[kind_token]
    n = shape[-1] if shape and shape[-1] is not None else None
    shapes = []
    if shape is not None:
        shapes.append(
            ShapeWord(
                "received",
                shape,
                tuple(_dim(d) for d in shape),
                "no timesteps axis" if len(shape) == 2 else f"rank {len(shape)}, no timesteps axis",
            )
        )
    called = repr(layer) if layer != "the layer" else "the recurrent layer"
    suffix = re.search(r"_(\d+)$", layer)
    first_number = 1 if re.match(r"Keras [12]", wording) else 0  # Keras 1/2 named the first LSTM lstm_1
    numbered = bool(_DEFAULT_NAME.match(layer.lower()) and suffix and int(suffix.group(1)) > first_number)
    earlier = len(re.findall(r"\b(?:LSTM|GRU|SimpleRNN)\(", text)) >= 2
    flat_input = re.search(r"input_shape ?= ?\(\d+,\)|Input\(shape ?= ?\(\d+,\)", text)
    stacked_first = (numbered or earlier) and not flat_input
    shown = n if n is not None else DEFAULT_TIMESTEPS
    no_axis = _c(
        "no_timesteps_axis",
        "your data has no timesteps axis: each sample is a vector"
        + (f" of {n} numbers" if n is not None else "")
        + f", but {cls} reads a sequence [batch, timesteps, features]",
    )
    stacked = _c(
        "stacked_without_return_sequences",
        f"the layer before {called} is a recurrent layer with return_sequences=False: it returns only "
        f"its last step [batch, units]"
        + (f" (units {n})" if n is not None else "")
        + ", which the next recurrent layer cannot read",
    )
    collapsed = _c(
        "layer_removed_timesteps", f"a Flatten, Dense or GlobalPooling layer before {called} removed the timesteps axis"
    )
    readings, reading_fixes = _two_readings(shown, "-1", cls, 0)
    assumed: list[str] = []
    t = _t(assumed)
    f = _f(assumed)
    units = _u(assumed)
    stacked_fix = Fix(
        0,
        f"return_sequences=True on the layer before (units {shown})",
        f"keras.layers.{cls}({shown}, return_sequences=True),  # was return_sequences=False\n"
        f"keras.layers.{cls}({units}),",
        f"{kind_token}:{shown}:seq {kind_token}:{units} dense:1",
        t,
        f,
        assumed=tuple(assumed),
    )
    collapsed_fix = Fix(
        0,
        "keep the sequence: no Flatten/Dense between the input and the recurrent layer",
        f"keras.Input(shape=(timesteps, features)),\nkeras.layers.{cls}({units}),  # Flatten removed",
        f"{kind_token}:{units} dense:1",
        t,
        f,
        assumed=tuple(assumed),
    )
    remover = _TIMESTEPS_REMOVER.search(text)
    if remover:  # the paste shows the layer that removed the axis (a traceback or summary line, the code)
        causes = (collapsed, no_axis, stacked)
        name = remover.group(0)
        fixes = [
            Fix(
                1,
                f"remove the {name} before {called}, or put it after the recurrent layer",
                f"keras.layers.{cls}({units}, return_sequences=True),  # the recurrent layer first\n"
                f"keras.layers.{_REMOVER_CLASS.get(name.lower(), name)}(),  # then pool/flatten its sequence"
                if "pool" in name.lower()
                else f"keras.Input(shape=(timesteps, features)),\nkeras.layers.{cls}({units}),  # {name} removed",
                f"{kind_token}:{units} dense:1",
                t,
                f,
                assumed=tuple(assumed),
            )
        ]
        fixes += [_renumber(x, 2) for x in reading_fixes] + [_renumber(stacked_fix, 3)]
        evidence = (
            f"ranked: the text shows a {name} layer, which returns one vector per sample [batch, features]: "
            f"nothing after it has timesteps for {called}"
        )
        kind = "timesteps_axis_removed"
        title = f"a {name} before {called} removed the timesteps axis ({_a(cls)} got a {found}-D input)"
    elif stacked_first:
        causes = (stacked, no_axis, collapsed)
        fixes = [_renumber(stacked_fix, 1)] + [_renumber(x, 2) for x in reading_fixes] + [_renumber(collapsed_fix, 3)]
        evidence = (
            f"ranked: the layer {layer!r} carries Keras' number suffix, given to the second and later "
            f"{cls} of a process, so (in a fresh script) another recurrent layer came before it"
            if numbered
            else "ranked: the text shows more than one recurrent layer"
        )
        kind = "stacked_without_return_sequences"
        title = f"a stacked {cls} without return_sequences=True (a recurrent layer got a 2-D input)"
    else:
        causes = (no_axis, stacked, collapsed)
        fixes = [_renumber(x, 1) for x in reading_fixes] + [_renumber(stacked_fix, 2), _renumber(collapsed_fix, 3)]
        evidence = (
            "ranked: the text shows an input shape of one axis per sample, " + flat_input.group(0)
            if flat_input
            else f"ranked: the layer is named {layer!r}, without a number suffix past Keras' first, so nothing "
            "shows another recurrent layer before it"
            if layer != "the layer"
            else "ranked: the message names no layer, so nothing shows another recurrent layer before it"
        )
        kind = "no_timesteps_axis"
        title = f"no timesteps axis: {_a(cls)} got a {found}-D input"
    return Diagnosis(
        kind,
        title,
        RNN_RULE.replace("ndim=3", f"ndim={expected}"),
        match.group(0),
        wording,
        layer,
        tuple(shapes),
        causes,
        tuple(fixes),
        tuple(readings) if n is not None else (),
        evidence,
    )


_TIMESTEPS_REMOVER = re.compile(
    r"\b(?:GlobalMaxPooling1D|GlobalAveragePooling1D|GlobalMaxPool1D|GlobalAvgPool1D|"
    r"global_max_pooling1d|global_average_pooling1d|Flatten)\b"
)


_REMOVER_CLASS = {"global_max_pooling1d": "GlobalMaxPooling1D", "global_average_pooling1d": "GlobalAveragePooling1D"}


def _batch_in_shape(
    match: re.Match, layer: str, expected: int, found: int, shape: Dims | None, wording: str
) -> Diagnosis:
    cls = _KERAS_CLASS[_rnn_token(layer)]
    kind_token = _rnn_token(layer)
    dims = [d for d in (shape or ())[1:]]
    shapes = []
    if shape is not None:
        shapes.append(
            ShapeWord(
                "received",
                shape,
                ("batch",) + tuple(str(d) for d in shape[1:]),
                f"rank {found}, one axis more than [batch, timesteps, features]",
            )
        )
    assumed: list[str] = []
    units = _u(assumed)
    causes = [
        _c(
            "batch_in_input_shape",
            "input_shape (or keras.Input(shape=...)) includes the batch size: Keras adds the batch axis "
            "itself, so shape=(batch, timesteps, features) becomes [batch, batch, timesteps, features]",
        )
    ]
    fixes = []
    if len(dims) == 3 and all(isinstance(d, int) for d in dims):
        b, t, f = dims
        fixes.append(
            Fix(
                1,
                f"drop the batch from the shape: keras.Input(shape=({t}, {f}), batch_size={b})",
                f"keras.Input(shape=({t}, {f}))  # or input_shape=({t}, {f}); batch_size={b} only if "
                f"the layer is stateful\nkeras.layers.{cls}({units})",
                f"{kind_token}:{units} dense:1",
                t,
                f,
                batch=b,
                assumed=tuple(assumed),
            )
        )
        causes.append(
            _c(
                "grid_per_step",
                f"each sample really has {found - 1} axes (an image or a grid per step): flatten all "
                f"but the timesteps axis, [batch, {dims[0]}, {dims[1] * dims[2]}]",
            )
        )
        fixes.append(
            Fix(
                2,
                f"flatten each step: [batch, {dims[0]}, {dims[1]} x {dims[2]}]",
                f"X = X.reshape((-1, {dims[0]}, {dims[1] * dims[2]}))\n"
                f"keras.Input(shape=({dims[0]}, {dims[1] * dims[2]}))",
                f"{kind_token}:{units} dense:1",
                dims[0],
                dims[1] * dims[2],
                assumed=tuple(assumed),
            )
        )
    else:
        t, f = _t(assumed), _f(assumed)
        fixes.append(
            Fix(
                1,
                "drop the batch from the shape",
                f"keras.Input(shape=({t}, {f}))",
                f"{kind_token}:{units} dense:1",
                t,
                f,
                assumed=tuple(assumed),
            )
        )
    return Diagnosis(
        "input_shape_includes_batch",
        f"input_shape includes the batch: {_a(cls)} got a {found}-D input",
        RNN_RULE,
        match.group(0),
        wording,
        layer,
        tuple(shapes),
        tuple(causes),
        tuple(fixes),
    )


def _repeat_vector(match: re.Match, layer: str, found: int, shape: Dims | None, wording: str) -> Diagnosis:
    assumed: list[str] = []
    shapes = []
    t = units = None
    if shape is not None and len(shape) == 3:
        t, units = shape[1], shape[2]
        shapes.append(
            ShapeWord(
                "received",
                shape,
                ("batch", "timesteps", "units"),
                "a whole sequence, where RepeatVector wants one vector per sample",
            )
        )
    t = _t(assumed, t)
    units = _u(assumed, units)
    f = _f(assumed)
    causes = (
        _c(
            "encoder_return_sequences",
            "the encoder before RepeatVector has return_sequences=True: it returns every step "
            "[batch, timesteps, units], not the one vector RepeatVector repeats",
        ),
    )
    fixes = (
        Fix(
            1,
            "return_sequences=False on the encoder, so its last step is repeated",
            f"keras.layers.LSTM({units}),  # the encoder, return_sequences=False\n"
            f"keras.layers.RepeatVector({t}),\nkeras.layers.LSTM({units}, return_sequences=True),\n"
            f"keras.layers.TimeDistributed(keras.layers.Dense({f})),",
            f"lstm:{units} repeat:{t} lstm:{units}:seq td:{f}",
            t,
            f,
            assumed=tuple(assumed),
        ),
    )
    return Diagnosis(
        "repeat_vector_on_sequence",
        "RepeatVector got a sequence (an encoder with return_sequences=True)",
        "RepeatVector's input_spec: InputSpec(ndim=2), one vector [batch, features] per sample (rule "
        "of Keras, keras/src/layers/reshaping/repeat_vector.py)",
        match.group(0),
        wording,
        layer,
        tuple(shapes),
        causes,
        fixes,
    )


def _dense_on_sequence(match: re.Match, layer: str, shape: Dims | None, wording: str) -> Diagnosis:
    assumed: list[str] = []
    units, t, f = _u(assumed), _t(assumed), _f(assumed)
    causes = (
        _c(
            "return_sequences_before_head",
            f"a Dense layer ({layer!r}) after a recurrent layer with return_sequences=True: this Keras "
            "wanted one vector per sample for Dense (Keras 3's Dense acts on the last axis of any rank)",
        ),
        _c("per_timestep_head", "you meant one output per timestep: TimeDistributed(Dense)"),
    )
    fixes = (
        Fix(
            1,
            "return_sequences=False before the Dense head",
            f"keras.layers.LSTM({units}),\nkeras.layers.Dense(1),",
            f"lstm:{units} dense:1",
            t,
            f,
            assumed=tuple(assumed),
        ),
        Fix(
            2,
            "a per-timestep head",
            f"keras.layers.LSTM({units}, return_sequences=True),\nkeras.layers.TimeDistributed(keras.layers.Dense(1)),",
            f"lstm:{units}:seq td:1",
            t,
            f,
            assumed=tuple(assumed),
        ),
    )
    return Diagnosis(
        "dense_on_sequence",
        "a Dense layer got a sequence (return_sequences=True before it)",
        "Dense's input_spec in Keras 1/2: ndim=2 (rule of that Keras)",
        match.group(0),
        wording,
        layer,
        (),
        causes,
        fixes,
    )


def _is_convlstm(layer: str | None) -> bool:
    """conv_lstm2d (Keras 3), conv_lst_m2d_5 (Keras 2's snake case of ConvLSTM2D), convlstm..."""
    return "convlst" in (layer or "").lower().replace("_", "")


def _convlstm(
    match: re.Match, layer: str, expected: int, found: int, shape: Dims | None, wording: str, text: str = ""
) -> Diagnosis:
    """ConvLSTM{n}D reads [batch, time, (n spatial axes), channels]: rank n + 3. A tensor of rank n + 2
    lacks either its channels axis or its time axis; each reading is a fix built by `rnnshape inspect`
    --layer convlstm{n}d, and a reading whose map would be smaller than the kernel (so the layer would
    fail next) is never ranked first."""
    spatial = max(1, min(3, expected - 3))
    cls = f"ConvLSTM{spatial}D"
    spatial_names = {1: ("rows",), 2: ("rows", "cols"), 3: ("depth", "rows", "cols")}[spatial]
    axes_want = ["batch", "time", *spatial_names, "channels"]
    assumed: list[str] = []
    kernel_m = re.search(r"kernel_size ?= ?\(?(\d+)", text) or re.search(
        cls + r"\( ?(?:filters ?= ?)?\d+ ?, ?\(?(\d+)", text
    )
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
    channels_cause = _c(
        "convlstm_missing_channels",
        f"the channels axis is missing: {cls} reads {axes_text(axes_want)} "
        f"(rank {expected}); a grey frame still needs its channels axis of 1",
    )
    time_cause = _c(
        "convlstm_missing_time",
        f"the time axis is missing: each sample is one frame "
        f"{axes_text(axes_want[2:])}, not a sequence of frames (rank {expected} needs the time axis)",
    )
    readings: list[tuple[Cause, Fix, bool]] = []  # (cause, fix, builds)
    body = [d for d in (shape or ())[1:]]
    if shape is not None:
        shapes.append(
            ShapeWord(
                "received",
                shape,
                tuple(_dim(d) if i == 0 else str(d) for i, d in enumerate(shape)),
                f"rank {found}; {cls} needs rank {expected} {axes_text(axes_want)}",
            )
        )
    if len(body) == spatial + 1 and all(isinstance(d, int) for d in body):
        for cause, (time, grid, channels), how, code in (
            (
                channels_cause,
                (body[0], body[1:], 1),
                f"add a channels axis of 1: [batch, {', '.join(map(str, body))}, 1]",
                f"X = X[..., None]  # {shape_text(tuple(body))} -> {shape_text(tuple(body) + (1,))} per sample",
            ),
            (
                time_cause,
                (1, body[:-1], body[-1]),
                f"add a time axis of 1: [batch, 1, {', '.join(map(str, body))}]",
                f"X = X[:, None]  # one frame per sample: {shape_text((1,) + tuple(body))}",
            ),
        ):
            options: list[tuple[str, object]] = [
                ("layer", f"convlstm{spatial}d"),
                ("filters", filters),
                ("kernel_size", kernel),
                ("timesteps", time),
            ]
            options += list(zip(spatial_names, grid)) + [("channels", channels)]
            if same:
                options.append(("padding", "same"))
            builds = same or all(d >= kernel for d in grid)
            note = (
                ""
                if builds
                else (
                    f"{cls} would then fail: its kernel {kernel} is larger than the map "
                    f"{' x '.join(map(str, grid))} (padding valid); use padding='same' or a "
                    "smaller kernel_size"
                )
            )
            whole = shape_text((time, *grid, channels))
            fix = Fix(
                0,
                how,
                code + f"\nkeras.Input(shape={whole})\nkeras.layers.{cls}({filters}, {kernel})",
                "",
                time,
                channels,
                assumed=tuple(assumed),
                note=note,
                layer=tuple(options),
            )
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
        readings = [
            (
                channels_cause,
                Fix(
                    0,
                    f"give the input its {expected} axes {axes_text(axes_want)}",
                    f"X = X[..., None]  # if the channels axis is the one missing\n"
                    f"keras.layers.{cls}({filters}, {kernel})",
                    "",
                    t,
                    1,
                    assumed=tuple(assumed),
                    layer=tuple(options),
                ),
                True,
            ),
            (time_cause, None, True),
        ]
    causes = tuple(cause for cause, _, _ in readings)
    fixes = tuple(_renumber(fix, i) for i, (_, fix, _) in enumerate(readings, start=1) if fix is not None)
    evidence = ""
    if any(not builds for _, _, builds in readings):
        evidence = (
            "ranked: a reading whose map is smaller than the kernel comes last, the layer would fail on it "
            "(ConvLSTM's convolution, padding valid)"
        )
    return Diagnosis(
        "convlstm_input_rank",
        f"{cls} got a {found}-D input, {expected}-D needed",
        f"{cls}'s input_spec: InputSpec(ndim={expected}), {axes_text(axes_want)} (rule of "
        "Keras, keras/src/layers/rnn/conv_lstm.py)",
        match.group(0),
        wording,
        layer,
        tuple(shapes),
        causes,
        fixes,
        evidence=evidence,
    )
