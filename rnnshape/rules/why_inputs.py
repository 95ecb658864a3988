"""``rnnshape why``: errors about what a layer was given (a recurrent layer's rank, the batch in
input_shape, RepeatVector, a Dense on a sequence, ConvLSTM's ranks, reshapes, fit's input,
Bidirectional, TimeDistributed). Pure.
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
    shapes = (
        ShapeWord("input", source, tuple(str(d) for d in source), f"{size} numbers per sample"),
        ShapeWord("target_shape", target, tuple(str(d) for d in target), f"{tsize} numbers per sample"),
    )
    causes = [
        _c(
            "reshape_size",
            f"the Reshape target holds {tsize} numbers but each sample has {size}: the product of "
            "target_shape must equal the input's (per sample, the batch is not part of it)",
        )
    ]
    fixes = []
    last = target[-1] if target and isinstance(target[-1], int) and target[-1] > 0 else None
    if last and size % last == 0 and len(target) == 2:
        fixes.append(
            Fix(
                1,
                f"let Keras count the timesteps: Reshape((-1, {last})) = [batch, {size // last}, {last}]",
                f"keras.layers.Reshape((-1, {last})),  # {size // last} timesteps of {last} features",
                f"lstm:{units} dense:1",
                size // last,
                last,
                assumed=tuple(assumed),
            )
        )
    fixes.append(
        Fix(
            1,
            f"reading A: {size} timesteps of 1 feature: Reshape(({size}, 1))",
            f"keras.layers.Reshape(({size}, 1)),",
            f"lstm:{units} dense:1",
            size,
            1,
            assumed=tuple(assumed),
        )
    )
    fixes.append(
        Fix(
            1,
            f"reading B: 1 timestep of {size} features: Reshape((1, {size}))",
            f"keras.layers.Reshape((1, {size})),",
            f"lstm:{units} dense:1",
            1,
            size,
            assumed=tuple(assumed),
        )
    )
    causes.append(
        _c(
            "flatten_removed_timesteps",
            "a Flatten before the Reshape or the recurrent layer threw away the timesteps axis: keep "
            "[batch, timesteps, features] and drop the Flatten",
        )
    )
    return Diagnosis(
        "reshape_size",
        f"Reshape to {shape_text(target)} of an input of {size} numbers per sample",
        "Reshape keeps every number: the product of target_shape equals that of the input without its "
        "batch (rule of Keras, keras/src/layers/reshaping/reshape.py)",
        match.group(0),
        wording,
        None,
        shapes,
        tuple(causes),
        tuple(fixes),
        readings=(
            f"reading A: [batch, {size}, 1], {size} timesteps of 1 feature",
            f"reading B: [batch, 1, {size}], 1 timestep of {size} features",
        ),
    )


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
    shapes = (
        ShapeWord("expected", expected, exp_axes, "what the model's Input was built for"),
        ShapeWord(
            "received", got, ("batch",) + tuple(str(d) for d in got[1:]), "no timesteps axis" if len(got) == 2 else ""
        ),
    )
    fixes = []
    causes = []
    size = 1
    for d in got[1:]:
        size *= d if isinstance(d, int) else 1
    if (
        len(expected) == len(got)
        and isinstance(expected[0], int)
        and isinstance(got[0], int)
        and expected[0] != got[0]
        and all(e is None or g is None or e == g for e, g in zip(expected[1:], got[1:]))
    ):
        built, fed = expected[0], got[0]  # a fixed batch (stateful, batch_input_shape) against the batch fed
        t = next((d for d in (got[1:2] + expected[1:2]) if isinstance(d, int)), None) if len(got) == 3 else None
        t, f = _t(assumed, t), _f(assumed, got[-1] if isinstance(got[-1], int) else None)
        causes.append(
            _c(
                "batch_size_differs",
                f"the model was built for batches of {built} (stateful=True with "
                f"batch_input_shape / batch_shape) and was given a batch of {fed}"
                + (": 32 is the default batch_size of fit and predict" if fed == 32 else "")
                + f"; give batch_size={built} to fit/predict",
            )
        )
        fixes.append(
            Fix(
                1,
                f"batches of {built}, as the model was built",
                f"model.fit(X, y, batch_size={built})",
                f"lstm:{units} dense:1",
                t,
                f,
                batch=built,
                assumed=tuple(assumed),
            )
        )
        causes.append(
            _c(
                "last_batch_smaller",
                f"if {fed} is the last batch: the samples are not a multiple of {built}; drop the remainder",
            )
        )
        return Diagnosis(
            "fit_input_shape",
            f"a batch of {fed} given to a model built for batches of {built}",
            "a model with a fixed batch size takes batches of exactly that size (rule of Keras, "
            "keras/src/layers/input_spec.py)",
            match.group(0),
            wording,
            layer,
            shapes,
            tuple(causes),
            tuple(fixes),
            evidence="ranked: the shapes differ only in the batch axis"
            + (", and 32 is Keras' default batch_size" if fed == 32 else ""),
        )
    if len(expected) == 3 and all(isinstance(d, int) for d in expected[1:]):
        t, f = expected[1], expected[2]
        if size == t * f:
            causes.append(
                _c(
                    "x_missing_timesteps_axis",
                    f"X holds the right numbers, {size} = {t} x {f} per sample, without its timesteps "
                    f"axis: reshape it to [batch, {t}, {f}]",
                )
            )
            fixes.append(
                Fix(
                    1,
                    f"reshape X to [batch, {t}, {f}]",
                    f"X = X.reshape((-1, {t}, {f}))",
                    f"lstm:{units} dense:1",
                    t,
                    f,
                    assumed=tuple(assumed),
                )
            )
        elif len(got) == 2 and got[-1] == f and t > 1:
            # X is 2-D rows of f features and the Input was built as (X.shape[0], f): rows taken for timesteps
            causes.append(
                _c(
                    "rows_taken_as_timesteps",
                    f"X is 2-D, {f} features per row, and the model's Input was "
                    f"built with {t} timesteps, likely X.shape[0] (the number of rows): give X a timesteps "
                    f"axis, X.reshape(-1, 1, {f}) with keras.Input(shape=(1, {f})), or cut it into windows "
                    f"[samples, timesteps, {f}]",
                )
            )
            fixes.append(
                Fix(
                    1,
                    f"one step of {f} features per sample: keras.Input(shape=(1, {f}))",
                    f"X = X.reshape((-1, 1, {f}))\nkeras.Input(shape=(1, {f}))  # not (X.shape[0], {f})",
                    f"lstm:{units} dense:1",
                    1,
                    f,
                    assumed=tuple(assumed),
                )
            )
        else:
            causes.append(
                _c(
                    "x_not_model_data",
                    f"X has {size} numbers per sample but the model wants {t} x {f} = {t * f}: X is "
                    "not the data the model was built for (or the Input shape is wrong)",
                )
            )
            fixes.append(
                Fix(
                    1,
                    f"data of the model's shape [batch, {t}, {f}]",
                    f"print(X.shape)  # must be (samples, {t}, {f}), as keras.Input(shape=({t}, {f}))",
                    f"lstm:{units} dense:1",
                    t,
                    f,
                    assumed=tuple(assumed),
                )
            )
        if len(got) == 2 and not (got[-1] == f and t > 1):
            causes.append(
                _c(
                    "input_follows_x",
                    f"the model's Input should follow X: {size} numbers per sample as {size} timesteps "
                    f"of 1 feature, keras.Input(shape=({size}, 1))",
                )
            )
            fixes.append(
                Fix(
                    len(causes),
                    f"build the model for X as {size} timesteps x 1 feature",
                    f"X = X.reshape((-1, {size}, 1))\nkeras.Input(shape=({size}, 1))",
                    f"lstm:{units} dense:1",
                    size,
                    1,
                    assumed=tuple(assumed),
                )
            )
        elif len(got) == 3 and got[2] == f:
            causes.append(
                _c(
                    "timesteps_differ",
                    f"X has {got[1]} timesteps, the model {t}: keras.Input(shape=(None, {f})) accepts any "
                    "number of timesteps",
                )
            )
            fixes.append(
                Fix(
                    len(causes),
                    f"build the model for {got[1]} timesteps",
                    f"keras.Input(shape=(None, {f}))  # any timesteps",
                    f"lstm:{units} dense:1",
                    got[1],
                    f,
                    assumed=tuple(assumed),
                )
            )
    if not fixes:
        t, f = _t(assumed), _f(assumed)
        causes.append(_c("x_vs_input", "X and the model's Input disagree: reshape X or build the Input for X's shape"))
        fixes.append(
            Fix(
                1,
                "an Input that matches X",
                "keras.Input(shape=X.shape[1:])",
                f"lstm:{units} dense:1",
                t,
                f,
                assumed=tuple(assumed),
            )
        )
    return Diagnosis(
        "fit_input_shape",
        f"data of shape {shape_text(got)} given to a model built for {shape_text(expected)}",
        "fit/predict compare X with the model's Input shape, every axis but "
        "the batch (rule of Keras, keras/src/models/functional.py)",
        match.group(0),
        wording,
        layer,
        shapes,
        tuple(causes),
        tuple(fixes),
    )


def _keras2_input_rank(match: re.Match, text: str, wording: str) -> Diagnosis:
    layer = match.group("layer") or match.groupdict().get("named")
    expected = int(match.group("expected"))
    shape = parse_shape(match.group("shape"))
    if _is_convlstm(layer) or expected in (4, 5, 6) and len(shape) == expected - 1 and "convlstm" in text.lower():
        return _convlstm(match, layer, expected, len(shape), shape, wording, text)
    cls = _KERAS_CLASS[_rnn_token(layer)]
    shapes = (
        ShapeWord(
            "received",
            shape,
            ("samples",) + tuple(str(d) for d in shape[1:]),
            "no timesteps axis" if len(shape) == 2 else "",
        ),
    )
    if len(shape) == 2 and expected == 3 and isinstance(shape[1], int):
        n = shape[1]
        readings, fixes = _two_readings(n, str(shape[0]), cls, 1)
        causes = (
            _c(
                "no_timesteps_axis",
                f"X has no timesteps axis: {shape[0]} samples of {n} numbers, but {layer!r} wants "
                "[samples, timesteps, features]",
            ),
        )
        return Diagnosis(
            "no_timesteps_axis",
            f"no timesteps axis: the data is {len(shape)}-D, {expected}-D needed",
            "fit compares X's rank with the Input's (rule of Keras 2, keras/engine/training_utils.py)",
            match.group(0),
            wording,
            layer,
            shapes,
            causes,
            tuple(fixes),
            tuple(readings),
        )
    assumed: list[str] = []
    units = _u(assumed)
    t, f = _t(assumed), _f(assumed)
    causes = (_c("x_rank", f"X is {len(shape)}-D but {layer!r} wants {expected}-D"),)
    fixes = (
        Fix(
            1,
            f"give X {expected} axes",
            "X = X.reshape((samples, timesteps, features))",
            f"lstm:{units} dense:1",
            t,
            f,
            assumed=tuple(assumed),
        ),
    )
    return Diagnosis(
        "fit_input_shape",
        f"the data is {len(shape)}-D, {expected}-D needed",
        "fit compares X's rank with the Input's (rule of Keras 2)",
        match.group(0),
        wording,
        layer,
        shapes,
        causes,
        fixes,
    )


def _bidirectional(match: re.Match, text: str, wording: str) -> Diagnosis:
    forward = match.group("f") == "True"
    assumed: list[str] = []
    units = _u(assumed)
    t, f = _t(assumed), _f(assumed)
    causes = [
        _c(
            "go_backwards_in_bidirectional",
            "go_backwards=True on the layer given to Bidirectional: Bidirectional makes the backward copy "
            "itself (with go_backwards flipped), so the layer must read forwards",
        )
    ]
    if not forward:
        causes.insert(
            0,
            _c(
                "backward_layer_not_backwards",
                "a backward_layer without go_backwards=True: the backward layer must read backwards",
            ),
        )
    fixes = [
        Fix(
            1,
            "Bidirectional of a forward layer",
            f"keras.layers.Bidirectional(keras.layers.LSTM({units}))",
            f"lstm:{units}:bi dense:1",
            t,
            f,
            assumed=tuple(assumed),
        )
    ]
    if not forward:
        fixes.append(
            Fix(
                1,
                "or a backward_layer that reads backwards",
                f"keras.layers.Bidirectional(keras.layers.LSTM({units}), backward_layer=keras.layers.LSTM("
                f"{units}, go_backwards=True))",
                f"lstm:{units}:bi dense:1",
                t,
                f,
                assumed=tuple(assumed),
            )
        )
    title = (
        "Bidirectional with go_backwards=True on both sides"
        if forward and match.group("b") == "True"
        else "Bidirectional whose backward layer does not read backwards (go_backwards=False on both sides)"
        if not forward and match.group("b") == "False"
        else "Bidirectional whose forward layer reads backwards (go_backwards=True)"
    )
    return Diagnosis(
        "bidirectional_go_backwards",
        title,
        "Bidirectional runs the layer forwards and a copy with go_backwards flipped; the two must differ "
        "(rule of Keras, keras/src/layers/rnn/bidirectional.py)",
        match.group(0),
        wording,
        "bidirectional",
        (),
        tuple(causes),
        tuple(fixes),
    )


def _time_distributed(match: re.Match, text: str, wording: str) -> Diagnosis:
    shape = parse_shape(match.group("shape"))
    assumed: list[str] = []
    n = shape[-1] if shape and isinstance(shape[-1], int) else None
    units = _u(assumed, n)
    t, f = _t(assumed), _f(assumed)
    shapes = (ShapeWord("received", shape, tuple(_dim(d) for d in shape), "no timesteps axis"),)
    causes = (
        _c(
            "return_sequences_before_time_distributed",
            "the recurrent layer before TimeDistributed has return_sequences=False: it returns one vector "
            f"[batch, units]{f' (units {n})' if n else ''}, so there are no timesteps to distribute over",
        ),
        _c("dense_head", "you want one output per sample: a plain Dense head, no TimeDistributed"),
    )
    fixes = (
        Fix(
            1,
            "return_sequences=True before TimeDistributed: one output per timestep",
            f"keras.layers.LSTM({units}, return_sequences=True),\nkeras.layers.TimeDistributed(keras.layers.Dense(1)),",
            f"lstm:{units}:seq td:1",
            t,
            f,
            assumed=tuple(assumed),
        ),
        Fix(
            2,
            "a Dense head: one output per sample",
            f"keras.layers.LSTM({units}),\nkeras.layers.Dense(1),",
            f"lstm:{units} dense:1",
            t,
            f,
            assumed=tuple(assumed),
        ),
    )
    return Diagnosis(
        "time_distributed_2d",
        "TimeDistributed got a 2-D input (no timesteps axis)",
        "TimeDistributed applies its layer to every slice of axis 1, the timesteps: it needs at least "
        "[batch, timesteps, features] (rule of Keras, keras/src/layers/rnn/time_distributed.py)",
        match.group(0),
        wording,
        "time_distributed",
        shapes,
        causes,
        fixes,
    )
