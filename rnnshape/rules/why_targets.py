"""``rnnshape why``: errors about the targets against the model's output and its loss, and the
silent one (a sequence output trained against 2-D targets). Pure.
"""

from __future__ import annotations

import re

from rnnshape.rules.why_diagnosis import (
    _KERAS_CLASS,
    DEFAULT_TIMESTEPS,
    DEFAULT_UNITS,
    Cause,
    Diagnosis,
    Dims,
    Fix,
    ShapeWord,
    _c,
    _dim,
    _f,
    _n,
    _renumber,
    _t,
    _u,
    parse_shape,
)
from rnnshape.rules.words import shape_text

_LOSS = re.compile(
    r"\b(sparse_categorical_crossentropy|categorical_crossentropy|binary_crossentropy|"
    r"mean_squared_error|mean_absolute_error|mse|mae)\b"
)


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
    shapes = (
        ShapeWord("target", target, tuple(_dim(d) for d in target), "y, as given to fit"),
        ShapeWord("output", output, tuple(_dim(d) for d in output), "what the model returns"),
    )
    if len(target) >= 2 and isinstance(target[-1], int):
        head = target[-1]
    else:  # sparse labels, one class index per sample: the head has one unit per class
        head = output[-1] if isinstance(output[-1], int) else 1
    same_steps = (
        len(output) == len(target) >= 3
        and output[-1] != target[-1]
        and all(o is None or t is None or o == t for o, t in zip(output[1:-1], target[1:-1]))
    )
    if len(output) > len(target) or len(output) == len(target) and len(output) >= 3 and not same_steps:
        t = output[1] if len(output) >= 3 and isinstance(output[1], int) else None
        t = _t(assumed, t)
        shapes = (
            shapes[0],
            ShapeWord(
                "output", output, ("batch", "timesteps") + tuple(str(d) for d in output[2:]), "one output per timestep"
            ),
        )
        causes = (
            _c(
                "return_sequences_before_head",
                "a Dense head on a sequence: the recurrent layer before it has return_sequences=True, so "
                "Dense acts on every timestep and the model returns [batch, timesteps, units]",
            ),
            _c(
                "target_per_timestep",
                f"you meant one output per timestep: then y needs a timesteps axis, [batch, {t}, "
                f"{output[-1] if len(output) >= 3 else 1}]",
            ),
        )
        fixes = (
            Fix(
                1,
                "return_sequences=False on the last recurrent layer: one output per sample",
                f"keras.layers.LSTM({units}),  # return_sequences=False\nkeras.layers.Dense({head}),",
                f"lstm:{units} dense:{head}",
                t,
                f,
                assumed=tuple(assumed),
            ),
            Fix(
                2,
                "keep the sequence and give y one row per timestep",
                f"y = y.reshape((-1, {t}, {output[-1] if len(output) >= 3 else 1}))\n"
                f"keras.layers.TimeDistributed(keras.layers.Dense({output[-1] if len(output) >= 3 else 1}))",
                f"lstm:{units}:seq td:{output[-1] if len(output) >= 3 else 1}",
                t,
                f,
                assumed=tuple(assumed),
            ),
        )
        title = "a Dense head on a sequence: the output has a timesteps axis the target lacks"
    elif len(target) > len(output):
        t = target[1] if len(target) >= 3 and isinstance(target[1], int) else None
        t = _t(assumed, t)
        causes = (
            _c(
                "target_has_timesteps",
                "y has a timesteps axis but the model returns one vector per sample: the last recurrent "
                "layer needs return_sequences=True and a TimeDistributed(Dense) head",
            ),
        )
        fixes = (
            Fix(
                1,
                "return_sequences=True and a per-timestep head",
                f"keras.layers.LSTM({units}, return_sequences=True),\n"
                f"keras.layers.TimeDistributed(keras.layers.Dense({head})),",
                f"lstm:{units}:seq td:{head}",
                t,
                f,
                assumed=tuple(assumed),
            ),
        )
        title = "the target has a timesteps axis the output lacks"
    else:
        t = output[1] if len(output) >= 3 and isinstance(output[1], int) else None
        t = _t(assumed, t)
        seq = ":seq" if len(output) >= 3 else ""
        head_token = "td" if len(output) >= 3 else "dense"
        width = output[-1]
        head_cause = _c(
            "head_units_vs_target_width",
            f"the head has {_n(width, 'unit')} but y has "
            f"{_n(head, 'column')} per {'timestep' if seq else 'sample'}: Dense({head})",
        )
        head_fix = Fix(
            0,
            f"a head of {_n(head, 'unit')}, as y has",
            f"keras.layers.TimeDistributed(keras.layers.Dense({head}))" if seq else f"keras.layers.Dense({head})",
            f"lstm:{units}{seq} {head_token}:{head}",
            t,
            f,
            assumed=tuple(assumed),
        )
        ranked: list[tuple[Cause, Fix]] = []
        evidence = ""
        sparse = loss == "sparse_categorical_crossentropy"
        if sparse and head > 1 and width == 1:
            ranked.append(
                (
                    _c(
                        "one_hot_with_sparse_loss",
                        f"y is one-hot ({head} columns) but "
                        "sparse_categorical_crossentropy wants one integer class index per sample (Keras "
                        "expects a last axis of 1): use loss='categorical_crossentropy', or y.argmax(-1)",
                    ),
                    Fix(
                        0,
                        "categorical_crossentropy for one-hot y",
                        "model.compile(loss='categorical_crossentropy', ...)  # y stays one-hot\n"
                        f"keras.layers.Dense({head}, activation='softmax')",
                        f"lstm:{units}{seq} {head_token}:{head}",
                        t,
                        f,
                        assumed=tuple(assumed),
                    ),
                )
            )
            evidence = "ranked: the paste uses sparse_categorical_crossentropy and y has one column per class"
        elif (
            head == 1
            and isinstance(width, int)
            and width > 1
            and loss in ("categorical_crossentropy", None)
            and (loss or width >= 3)
        ):
            ranked.append(
                (
                    _c(
                        "integer_labels_with_categorical_loss",
                        f"y holds one integer label per sample but the head has {width} units (one per class): "
                        f"one-hot y with to_categorical(y, {width}), or loss='sparse_categorical_crossentropy'",
                    ),
                    Fix(
                        0,
                        "integer labels: sparse_categorical_crossentropy (or one-hot y)",
                        "model.compile(loss='sparse_categorical_crossentropy', ...)  # y stays integer\n"
                        f"# or: y = keras.utils.to_categorical(y, {width})",
                        f"lstm:{units}{seq} {head_token}:{width}",
                        t,
                        f,
                        assumed=tuple(assumed),
                    ),
                )
            )
            evidence = (
                f"ranked: the paste uses {loss}"
                if loss
                else f"ranked: a head of {width} units against one column per sample looks like a classifier "
                "given integer labels (no loss named in the paste)"
            )
        if loss in ("mean_squared_error", "mse", "mean_absolute_error", "mae") and not evidence:
            evidence = f"ranked: the paste uses {loss}, a regression: the head must have as many units as y has columns"
        ranked.append((head_cause, head_fix))
        if not seq:
            ranked.append(
                (
                    _c(
                        "squeezed_sequence",
                        f"the output is a sequence of {width} steps with its last axis of "
                        "1 squeezed by the loss: a Dense(1) head on a sequence (return_sequences=True before it)",
                    ),
                    Fix(
                        0,
                        "return_sequences=False on the last recurrent layer",
                        f"keras.layers.LSTM({units}),  # return_sequences=False\nkeras.layers.Dense({head}),",
                        f"lstm:{units} dense:{head}",
                        t,
                        f,
                        assumed=tuple(assumed),
                    ),
                )
            )
        causes = tuple(cause for cause, _ in ranked)
        fixes = tuple(_renumber(fix, i) for i, (_, fix) in enumerate(ranked, start=1))
        title = {
            "one_hot_with_sparse_loss": "one-hot y with sparse_categorical_crossentropy",
            "integer_labels_with_categorical_loss": f"integer labels for a head of {width} classes",
        }.get(causes[0].id, f"the head has {_n(width, 'unit')}, y has {_n(head, 'column')}")
        return Diagnosis(
            "target_mismatch",
            title,
            "the loss compares y with the model's output: their shapes must "
            "agree (rule of Keras, keras/src/losses/ and keras/src/backend/tensorflow/nn.py)",
            match.group(0),
            wording,
            match.groupdict().get("layer"),
            shapes,
            causes,
            fixes,
            evidence=evidence,
        )
    return Diagnosis(
        "target_mismatch",
        title,
        "the loss compares y with the model's output: their shapes must "
        "agree (rule of Keras, keras/src/losses/ and keras/src/backend/tensorflow/nn.py)",
        match.group(0),
        wording,
        None,
        shapes,
        causes,
        fixes,
    )


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
    shapes = (
        ShapeWord("target", shape, ("samples",) + tuple(str(d) for d in shape[1:]), "y, as given to fit"),
        ShapeWord(
            "output",
            output,
            ("batch",) + tuple("?" for _ in output[1:]),
            f"the model returns {expected} axes ({match.group('layer')!r})",
        ),
    )
    return Diagnosis(
        diagnosis.kind,
        diagnosis.title,
        "fit compares y's rank with the output's (rule of Keras 2)",
        match.group(0),
        wording,
        match.group("layer"),
        shapes,
        diagnosis.causes,
        diagnosis.fixes,
    )


def _categorical_targets(match: re.Match, text: str, wording: str) -> Diagnosis:
    target = parse_shape(match.group("target"))
    assumed: list[str] = []
    units, t, f = _u(assumed), _t(assumed), _f(assumed)
    classes = DEFAULT_UNITS
    assumed.append(f"{classes} classes")
    causes = (
        _c(
            "integer_labels_with_categorical_loss",
            f"y {shape_text(target)} holds one integer class per sample; "
            "categorical_crossentropy wants one-hot rows [samples, classes]: y = to_categorical(y), or "
            "loss='sparse_categorical_crossentropy' (as Keras' message says)",
        ),
    )
    fixes = (
        Fix(
            1,
            "integer labels: sparse_categorical_crossentropy (or one-hot y)",
            "model.compile(loss='sparse_categorical_crossentropy', ...)  # y stays integer\n"
            "# or: y = keras.utils.to_categorical(y)",
            f"lstm:{units} dense:{classes}",
            t,
            f,
            assumed=tuple(assumed),
        ),
    )
    return Diagnosis(
        "target_mismatch",
        "integer labels with categorical_crossentropy",
        "categorical_crossentropy takes one-hot targets, one column per class (rule of Keras 2, "
        "keras/engine/training_utils.py)",
        match.group(0),
        wording,
        None,
        (
            ShapeWord(
                "target", target, ("samples",) + tuple(str(d) for d in target[1:]), "one integer label per sample"
            ),
        ),
        causes,
        fixes,
    )


def _sparse_labels_axis(match: re.Match, shape: Dims, expected: int, wording: str) -> Diagnosis:
    assumed: list[str] = []
    units, f = _u(assumed), _f(assumed)
    t = shape[1] if len(shape) >= 2 and isinstance(shape[1], int) else None
    t = _t(assumed, t)
    classes = DEFAULT_UNITS
    assumed.append(f"{classes} classes")
    causes = (
        _c(
            "sparse_labels_need_axis",
            f"y holds integer labels {shape_text(shape)} and Keras 2 wants them with "
            f"a last axis of 1 for sparse_categorical_crossentropy ({expected} axes, as the output): "
            "y[..., None] (np.expand_dims(y, -1))",
        ),
    )
    fixes = (
        Fix(
            1,
            "add a last axis of 1 to the integer labels",
            "y = y[..., None]  # " + shape_text(shape) + " -> " + shape_text(tuple(shape) + (1,)),
            f"lstm:{units}:seq td:{classes}",
            t,
            f,
            assumed=tuple(assumed),
        ),
    )
    return Diagnosis(
        "target_mismatch",
        "integer labels without their last axis of 1 (sparse loss, Keras 2)",
        "Keras 2 compared y's rank with the output's; for a sparse loss it expected a last axis of 1 "
        "(rule of Keras 2, keras/engine/training.py)",
        match.group(0),
        wording,
        match.group("layer"),
        (ShapeWord("target", shape, ("samples",) + tuple(str(d) for d in shape[1:]), "integer labels"),),
        causes,
        fixes,
        evidence="ranked: the paste uses sparse_categorical_crossentropy",
    )


# ---- the silent one: a sequence output trained against a 2-D target ------------------------------
def sequence_target(
    model_name: str,
    output_shape: Dims,
    y_shape: Dims,
    recurrent: list[tuple[str, int, bool]],
    head_units: int | None,
    input_shape: Dims,
) -> Diagnosis | None:
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
    shapes = (
        ShapeWord("output", output_shape, ("batch", "timesteps", "units"), "one output per timestep"),
        ShapeWord("y", y_shape, ("samples", str(y_shape[1])), "one target per sample: no timesteps axis"),
    )
    earlier = " ".join(f"{k}:{u}:seq" for k, u, s in recurrent[:-1]) if recurrent else ""
    tokens = " ".join(x for x in (earlier, f"{kind}:{units}", f"dense:{head}") if x)
    seq_tokens = " ".join(x for x in (earlier, f"{kind}:{units}:seq", f"td:{head}") if x)
    causes = (
        _c(
            "return_sequences_before_head",
            f"the last recurrent layer has return_sequences=True, so the Dense head returns one output per "
            f"timestep {shape_text(tuple('None' if d is None else d for d in output_shape))}, while y "
            f"{shape_text(y_shape)} has one per sample: a loss such as mean squared error broadcasts y over "
            f"the {t} timesteps and trains every step to predict the sample's one target, without an error",
        ),
        _c("target_per_timestep", "you meant one output per timestep: then y needs a timesteps axis"),
    )
    cls = _KERAS_CLASS.get(kind, "LSTM")
    fixes = (
        Fix(
            1,
            "return_sequences=False on the last recurrent layer: one output per sample",
            f"keras.layers.{cls}({units}),  # was return_sequences=True\nkeras.layers.Dense({head}),",
            tokens,
            t,
            f,
            assumed=tuple(assumed),
        ),
        Fix(
            2,
            "keep the sequence and give y a timesteps axis",
            f"y = y.reshape((-1, {t}, {head}))  # one target per timestep",
            seq_tokens,
            t,
            f,
            assumed=tuple(assumed),
        ),
    )
    return Diagnosis(
        "sequence_output_2d_target",
        "a sequence output trained against a 2-D target (no error: broadcast)",
        "a loss of y [batch, k] and an output [batch, timesteps, k] broadcasts y over "
        "the timesteps (rule of numpy broadcasting, which Keras' losses follow)",
        f"model {model_name!r} returns {shape_text(tuple('None' if d is None else d for d in output_shape))}; "
        f"y is {shape_text(y_shape)}",
        "the loaded model",
        None,
        shapes,
        causes,
        fixes,
    )
