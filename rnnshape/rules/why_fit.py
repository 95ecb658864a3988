"""``rnnshape why``: errors about the data fit is given and the wrappers (reshapes, fit's input,
Keras 2's input ranks, Bidirectional, TimeDistributed). Pure.
"""

from __future__ import annotations

import re

from rnnshape.rules.why_diagnosis import (
    _KERAS_CLASS,
    Diagnosis,
    Fix,
    ShapeWord,
    _c,
    _dim,
    _f,
    _rnn_token,
    _t,
    _two_readings,
    _u,
    parse_shape,
)
from rnnshape.rules.why_inputs import _convlstm, _is_convlstm
from rnnshape.rules.words import shape_text


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
