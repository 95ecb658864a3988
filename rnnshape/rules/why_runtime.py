"""``rnnshape why``: TensorFlow's runtime errors (Incompatible shapes, Dimensions must be equal)
and Concatenate's. Pure.
"""

from __future__ import annotations

import re

from rnnshape.rules.why_diagnosis import (
    SHAPE,
    Diagnosis,
    Fix,
    ShapeWord,
    _c,
    _dim,
    _dims,
    _f,
    _renumber,
    _t,
    _u,
    parse_shape,
)
from rnnshape.rules.why_targets import _target
from rnnshape.rules.words import shape_text

_RUNTIME_RULE = (
    "TensorFlow broadcasts two tensors in an elementwise op (the loss, a gate's sum): each axis must "
    "be equal or 1 (rule of TensorFlow's BroadcastGradientArgs / BCast)"
)


def _incompatible(match: re.Match, text: str, wording: str) -> Diagnosis:
    """TensorFlow's runtime 'Incompatible shapes: [a] vs. [b]' (and the graph-time 'Dimensions must be
    equal ... with input shapes: [a], [b]'): which of the two is y (or the fed batch) comes from the
    node the message names; without one, the candidates are said as candidates."""
    a, b = _dims(match.group("a")), _dims(match.group("b"))
    after = text[match.start() : match.end() + 400]
    node_m = re.search(r"\{\{node ([^}]+)\}\}", after) or re.search(r"Detected at node '?([\w/.-]+)", text)
    node = node_m.group(1) if node_m else ""
    in_loss = bool(re.search(r"loss|mean_squared_error|crossentropy|SquaredDifference", node))
    in_cell = bool(re.search(r"lstm|gru|simple_rnn|rnn", node, re.I)) and not in_loss
    keras3 = "compile_loss" in node or "keras/src" in text or "keras.src" in text
    cls_token = (
        "gru" if re.search(r"gru", node, re.I) else "simplernn" if re.search(r"simple_rnn", node, re.I) else "lstm"
    )
    assumed: list[str] = []
    units = _u(assumed)
    shapes = [
        ShapeWord("first", a, tuple(_dim(d) for d in a), "the op's first input"),
        ShapeWord("second", b, tuple(_dim(d) for d in b), "the op's second input"),
    ]
    where = (
        f" (node {node.split('/')[0]}/.../{node.split('/')[-1]})"
        if node.count("/") > 1
        else (f" (node {node})" if node else "")
    )
    if len(a) == len(b) and a and a[1:] == b[1:] and a[0] != b[0] and all(isinstance(d, int) for d in (a[0], b[0])):
        fed, built = a[0], b[0]  # measured in Keras 3 and tf.keras 2: the batch fed comes first, the state's second
        t, f = _t(assumed), _f(assumed)
        shapes = [
            ShapeWord("fed", a, (str(fed),) + tuple(_dim(d) for d in a[1:]), f"a batch of {fed}"),
            ShapeWord(
                "built",
                b,
                (str(built),) + tuple(_dim(d) for d in b[1:]),
                f"the model's fixed batch size {built} (a stateful layer's state, or batch_input_shape)",
            ),
        ]
        differs = _c(
            "batch_size_differs",
            f"the model has a fixed batch size of {built} (stateful=True with "
            f"batch_shape / batch_input_shape, or batch_input_shape alone) and was given a batch of {fed}"
            + (": 32 is the default batch_size of fit and predict" if fed == 32 else "")
            + f"; give batch_size={built} to fit/predict (or, if it is not stateful, input_shape without the "
            "batch)",
        )
        last = _c(
            "last_batch_smaller",
            f"the number of samples is not a multiple of the batch size {built}: the last "
            f"batch has {fed} samples, and a stateful layer keeps one state row per sample of its fixed batch",
        )
        differs_fix = Fix(
            0,
            f"batches of {built}, as the model was built",
            f"model.fit(X, y, batch_size={built})  # and predict(X, batch_size={built})\n"
            "# not stateful? keras.Input(shape=(timesteps, features)) without the batch",
            f"{cls_token}:{units} dense:1",
            t,
            f,
            batch=built,
            assumed=tuple(assumed),
        )
        last_fix = Fix(
            0,
            f"feed whole batches of {built}: drop (or pad) the remainder",
            f"n = len(X) // {built} * {built}\nmodel.fit(X[:n], y[:n], batch_size={built}, shuffle=False)",
            f"{cls_token}:{units} dense:1",
            t,
            f,
            batch=built,
            assumed=tuple(assumed),
        )
        if fed < built and fed != 32:
            ranked = [(last, last_fix), (differs, differs_fix)]
            evidence = (
                f"ranked: the batch fed ({fed}) is smaller than the model's ({built}), as the last batch of an "
                "epoch is when the samples are not a multiple of the batch size" + where
            )
            title = f"a model built for batches of {built} fed a last batch of {fed}"
        else:
            ranked = [(differs, differs_fix), (last, last_fix)]
            evidence = (
                "ranked: 32 is Keras' default batch_size, so fit/predict was called without batch_size"
                if fed == 32
                else f"ranked: the batch fed ({fed}) is larger than the model's ({built}), so it "
                "was not the last batch of an epoch"
            ) + where
            title = f"a model built for batches of {built} fed a batch of {fed}"
        return Diagnosis(
            "incompatible_shapes",
            title,
            _RUNTIME_RULE,
            match.group(0),
            wording,
            node or None,
            tuple(shapes),
            tuple(c for c, _ in ranked),
            tuple(_renumber(x, i) for i, (_, x) in enumerate(ranked, start=1)),
            evidence=evidence,
        )
    # which one is y: Keras 3's compile_loss computes y_true - y_pred (measured: y first); tf.keras 2's
    # mean_squared_error is squared_difference(y_pred, y_true) (prediction first)
    if keras3 or "Dimensions must be equal" in match.group(0):
        target, output, order = a, b, "Keras 3's loss computes y - prediction, so y is the first shape"
    else:
        target, output, order = (
            b,
            a,
            (
                "the message does not say which shape is y: read in tf.keras 2's order "
                "(its losses take the prediction first, squared_difference(y_pred, y_true))"
            ),
        )
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
        causes = (
            _c(
                "shapes_differ",
                f"two tensors of shapes {shape_text(tuple('?' if d is None else d for d in a))} "
                f"and {shape_text(tuple('?' if d is None else d for d in b))} met in one op{where}: compare y with "
                "the model's output (model.output_shape) and the batch fed with any fixed batch size",
            ),
        )
        fixes = (
            Fix(
                1,
                "print both shapes before fit",
                "print(model.output_shape, y.shape)",
                f"{cls_token}:{units} dense:1",
                t,
                f,
                assumed=tuple(assumed),
            ),
        )
        return Diagnosis(
            "incompatible_shapes",
            "TensorFlow could not broadcast two shapes (the paste names no cause)",
            _RUNTIME_RULE,
            match.group(0),
            wording,
            node or None,
            tuple(shapes),
            causes,
            fixes,
            evidence="the paste names no loss, layer or batch that explains the two shapes: a candidate, not a ranking",
        )
    evidence = "; ".join(x for x in ("read: " + order + where, diagnosis.evidence) if x)
    return Diagnosis(
        "incompatible_shapes",
        diagnosis.title,
        _RUNTIME_RULE,
        match.group(0),
        wording,
        node or None,
        diagnosis.shapes,
        diagnosis.causes,
        diagnosis.fixes,
        evidence=evidence,
    )


def _concatenate(match: re.Match, text: str, wording: str) -> Diagnosis:
    dims = [parse_shape(x) for x in re.findall(SHAPE, match.group("shapes"))]
    axis_m = re.search(r"axis ?= ?(-?\d+)", text)
    assumed: list[str] = []
    units = _u(assumed)
    shapes = tuple(
        ShapeWord(
            f"input {i}",
            d,
            tuple(_dim(x) if j == 0 else str(x) for j, x in enumerate(d)),
            {1: "one axis", 2: "a vector per sample", 3: "a sequence per sample"}.get(len(d), ""),
        )
        for i, d in enumerate(dims)
    )
    ranks = sorted({len(d) for d in dims})
    rule = (
        "Concatenate joins tensors along one axis (default the last): every other axis, and so the rank, "
        "must match (rule of Keras, keras/src/layers/merging/concatenate.py)"
    )
    if len(ranks) == 2 and ranks[1] == ranks[0] + 1:
        high = next(d for d in dims if len(d) == ranks[1])
        low = next(d for d in dims if len(d) == ranks[0])
        if high[0] is not None and low and low[0] == high[0] and len(low) == 1:  # (1024,) with (1024, 2): no batch
            n = low[0]
            causes = (
                _c(
                    "vector_missing_axis",
                    f"one tensor {shape_text(low)} has no last axis: reshape it to "
                    f"({n}, 1) and concatenate on axis 1, giving ({n}, {high[-1] + 1})",
                ),
            )
            fixes = (
                Fix(
                    1,
                    "give the vector its axis of 1",
                    "v = tf.reshape(v, [-1, 1])\nkeras.layers.Concatenate(axis=1)([v, m])",
                    f"lstm:{units} dense:1",
                    _t(assumed),
                    _f(assumed),
                    assumed=tuple(assumed),
                ),
            )
            return Diagnosis(
                "concatenate_shapes",
                "Concatenate of tensors of different ranks (a vector without its axis)",
                rule,
                match.group(0),
                wording,
                "concatenate",
                shapes,
                causes,
                fixes,
            )
        if len(high) == 3 and high[1] == 1:  # an Embedding/Reshape left a timesteps axis of 1
            causes = (
                _c(
                    "squeeze_axis_of_one",
                    f"{shape_text(tuple('None' if d is None else d for d in high))} "
                    "carries an axis of 1 (an Embedding of input_length=1, a Reshape): Flatten() or "
                    f"Reshape(({high[-1]},)) it to a vector before the Concatenate",
                ),
                _c("concat_sequence_with_vector", "a sequence was concatenated with a vector"),
            )
            fixes = (
                Fix(
                    1,
                    "flatten the axis of 1 away",
                    "x = keras.layers.Flatten()(x)  # (None, 1, n) -> (None, n)\nkeras.layers.Concatenate()([x, v])",
                    f"lstm:{units} dense:1",
                    1,
                    high[-1],
                    assumed=tuple(assumed),
                ),
            )
            return Diagnosis(
                "concatenate_shapes",
                "Concatenate of a (batch, 1, n) tensor with a vector",
                rule,
                match.group(0),
                wording,
                "concatenate",
                shapes,
                causes,
                fixes,
            )
        t = high[1] if len(high) == 3 and isinstance(high[1], int) else None
        t = _t(assumed, t)
        f = _f(assumed)
        causes = (
            _c(
                "concat_sequence_with_vector",
                "a sequence [batch, timesteps, units] was concatenated with a "
                "vector [batch, units]: the recurrent layer that made the sequence has return_sequences=True; "
                "return_sequences=False (or a GlobalPooling1D) makes it a vector too",
            ),
            _c(
                "repeat_vector_to_sequence",
                f"you meant one vector per timestep: RepeatVector({t}) the vector so "
                "both are sequences of the same timesteps",
            ),
        )
        fixes = (
            Fix(
                1,
                "two vectors: return_sequences=False on the recurrent layer",
                f"s = keras.layers.LSTM({units})(x)  # was return_sequences=True: now [batch, {units}]\n"
                "keras.layers.Concatenate()([s, v])",
                f"lstm:{units} dense:1",
                t,
                f,
                assumed=tuple(assumed),
            ),
            Fix(
                2,
                "two sequences: repeat the vector over the timesteps",
                f"v = keras.layers.RepeatVector({t})(v)  # [batch, {t}, n]\nkeras.layers.Concatenate()([s, v])",
                f"lstm:{units} repeat:{t} lstm:{units}:seq td:1",
                t,
                f,
                assumed=tuple(assumed),
            ),
        )
        return Diagnosis(
            "concatenate_shapes",
            "Concatenate of a sequence with a vector",
            rule,
            match.group(0),
            wording,
            "concatenate",
            shapes,
            causes,
            fixes,
        )
    t, f = _t(assumed), _f(assumed)
    axis = int(axis_m.group(1)) if axis_m else -1
    causes = (
        _c(
            "concat_axis_mismatch",
            f"the inputs differ on an axis other than the concatenation axis ({axis}): "
            "the timesteps (or the spatial sizes) must be equal; concatenate on the axis that differs, or make "
            "them equal (padding, the same pooling)",
        ),
    )
    fixes = (
        Fix(
            1,
            "inputs that agree on every other axis",
            "print([x.shape for x in inputs])",
            f"lstm:{units} dense:1",
            t,
            f,
            assumed=tuple(assumed),
        ),
    )
    return Diagnosis(
        "concatenate_shapes",
        "Concatenate of inputs that differ on another axis",
        rule,
        match.group(0),
        wording,
        "concatenate",
        shapes,
        causes,
        fixes,
        evidence="the paste shows which axes differ, not why: a candidate, not a ranking",
    )
