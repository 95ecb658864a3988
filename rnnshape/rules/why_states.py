"""``rnnshape why``: errors about states (a stateful layer's batch, initial_state's count and
shapes, Keras 2's state_spec of encoders feeding a decoder). Pure.
"""

from __future__ import annotations

import re

from rnnshape.rules.kinds import KINDS as LAYER_KINDS
from rnnshape.rules.why_diagnosis import (
    _KERAS_CLASS,
    SHAPE,
    Diagnosis,
    Fix,
    ShapeWord,
    _a,
    _c,
    _dim,
    _f,
    _t,
    _u,
    parse_shape,
)


def _stateful_batch(match: re.Match, text: str, wording: str) -> Diagnosis:
    expected, received = int(match.group("expected")), int(match.group("received"))
    seq = re.search(r"sequences=tf\.Tensor\(shape=(" + SHAPE + ")", text)
    cls_match = re.search(r"calling (\w+)\.call\(\)", text)
    cls = cls_match.group(1) if cls_match and cls_match.group(1) in _KERAS_CLASS.values() else "LSTM"
    token = cls.lower()
    assumed: list[str] = []
    t = f = None
    shapes = [
        ShapeWord("state", (expected, None), (str(expected), "units"), f"the batch the state was built for, {expected}")
    ]
    if seq:
        dims = parse_shape(seq.group(1))
        if len(dims) == 3:
            t, f = dims[1], dims[2]
            shapes.append(
                ShapeWord("received", dims, (str(dims[0]), "timesteps", "features"), f"a batch of {dims[0]} samples")
            )
    t, f, units = _t(assumed, t), _f(assumed, f), _u(assumed)
    causes = (
        _c(
            "last_batch_smaller",
            f"the number of samples is not a multiple of the batch size {expected}: the last batch has "
            f"{received}; a stateful layer keeps one state row per sample of its fixed batch",
        ),
        _c(
            "batch_size_differs",
            f"predicting with another batch size ({received}) than the stateful model was built for "
            f"({expected}): build a copy with batch_size={received} and copy the weights",
        ),
    )
    fixes = (
        Fix(
            1,
            f"feed whole batches of {expected}: drop (or pad) the remainder",
            f"n = len(X) // {expected} * {expected}\nmodel.fit(X[:n], y[:n], batch_size={expected}, shuffle=False)",
            f"{token}:{units} dense:1",
            t,
            f,
            batch=expected,
            assumed=tuple(assumed),
            note="the stack shows the shapes of one batch; `rnnshape stateful` shows the state carried",
        ),
        Fix(
            2,
            f"a copy of the model for batch {received}",
            f"twin = build_model(batch_size={received})  # same layers, stateful=True\n"
            "twin.set_weights(model.get_weights())",
            f"{token}:{units} dense:1",
            t,
            f,
            batch=received,
            assumed=tuple(assumed),
        ),
    )
    return Diagnosis(
        "stateful_batch_size",
        f"{_a('stateful')} {cls} fed a batch of {received}, built for {expected}",
        "a stateful RNN keeps its state in variables of shape [batch, units] made for the batch size "
        "it was built with (rule of Keras, keras/src/layers/rnn/rnn.py)",
        match.group(0),
        wording,
        cls,
        tuple(shapes),
        causes,
        fixes,
    )


def _stateful_unknown_batch(match: re.Match, text: str, wording: str) -> Diagnosis:
    shape = parse_shape(match.group("shape")) if match.groupdict().get("shape") else None
    assumed: list[str] = []
    t = f = None
    shapes = []
    if shape is not None and len(shape) == 3:
        t, f = shape[1], shape[2]
        shapes.append(
            ShapeWord("received", shape, ("batch", "timesteps", "features"), "the batch size is unknown (None)")
        )
    t, f, units = _t(assumed, t), _f(assumed, f), _u(assumed)
    batch = 32
    assumed.append(f"batch {batch}")
    causes = (
        _c(
            "stateful_without_batch_size",
            "stateful=True without a fixed batch size: the state needs a row per sample, so Keras must "
            "know how many samples a batch has",
        ),
    )
    fixes = (
        Fix(
            1,
            f"give the input a batch size (here {batch})",
            f"keras.Input(shape=({t}, {f}), batch_size={batch})\nkeras.layers.LSTM({units}, stateful=True)",
            f"lstm:{units} dense:1",
            t,
            f,
            batch=batch,
            assumed=tuple(assumed),
        ),
    )
    return Diagnosis(
        "stateful_needs_batch_size",
        "a stateful layer without a fixed batch size",
        "a stateful RNN needs a static batch size (rule of Keras, keras/src/layers/rnn/rnn.py)",
        match.group(0),
        wording,
        None,
        tuple(shapes),
        causes,
        fixes,
    )


STATE_COUNT = {
    LAYER_KINDS[name].keras_class: 2 if LAYER_KINDS[name].has_cell_state else 1 for name in ("lstm", "gru", "simplernn")
}


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
    causes = (
        _c(
            "initial_state_count",
            f"{cls} takes {need} initial state{'s' if need > 1 else ''} {names}, each [batch, units]; "
            f"{len(given)} {'were' if len(given) != 1 else 'was'} given"
            + (" (an LSTM needs both h and c)" if cls == "LSTM" and len(given) < need else ""),
        ),
    )
    fixes = (
        Fix(
            1,
            f"pass {names}, the states an encoder returns with return_state=True",
            f"_, state_h, state_c = keras.layers.LSTM({units}, return_state=True)(encoder_inputs)\n"
            f"keras.layers.LSTM({units})(decoder_inputs, initial_state=[state_h, state_c])"
            if cls == "LSTM"
            else f"_, state_h = keras.layers.{cls}({units}, return_state=True)(encoder_inputs)\n"
            f"keras.layers.{cls}({units})(decoder_inputs, initial_state=[state_h])",
            f"{token}:{units}",
            t,
            f,
            batch=batch,
            assumed=tuple(assumed),
            note=f"the stack shows the encoder: its output [batch, units] = {(batch, units)} is the shape of "
            "each state",
        ),
    )
    return Diagnosis(
        "initial_state_count",
        f"{cls} given {len(given)} initial state(s), {need} needed",
        f"{cls}'s state_size: {need} state{'s' if need > 1 else ''} {names}, each [batch, units] (rule "
        "of Keras, keras/src/layers/rnn/)",
        match.group(0),
        wording,
        cls,
        shapes,
        causes,
        fixes,
    )


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
    shapes = (
        ShapeWord("state", (b, s), ("batch", str(s)), f"a state of {s} numbers per sample"),
        ShapeWord(
            "recurrent_kernel",
            (u, g),
            ("units", "gates x units"),
            f"the {cls} has units {u} ({g} = {_CELL_GATES.get(cell, 1)} x {u})",
        ),
    )
    causes = (
        _c(
            "state_size_vs_units",
            f"the initial state has {s} numbers per sample but the {cls} has units {u}: every state is "
            f"[batch, units] = [batch, {u}]",
        ),
        _c("encoder_units_differ", f"the encoder that made the state has units {s}: give the decoder the same units"),
    )
    fixes = (
        Fix(
            1,
            f"states of the layer's own size [batch, {u}]",
            f"keras.layers.{cls}({u}, return_state=True)  # the encoder: states [batch, {u}]",
            f"{token}:{u}",
            t,
            f,
            batch=b,
            assumed=tuple(assumed),
            note="the stack shows the encoder: its output [batch, units] is the shape each state must have",
        ),
        Fix(
            2,
            f"a decoder of units {s}, as the encoder",
            f"keras.layers.{cls}({s})(decoder_inputs, initial_state=states)",
            f"{token}:{s}",
            t,
            f,
            batch=b,
            assumed=tuple(assumed),
        ),
    )
    return Diagnosis(
        "initial_state_shape",
        f"an initial state of size {s} given to {_a(cls)} of units {u}",
        f"{cls}Cell multiplies the state [batch, units] by its recurrent kernel [units, "
        f"{_CELL_GATES.get(cell, 1)} x units] (rule of Keras, keras/src/layers/rnn/)",
        match.group(0),
        wording,
        cls,
        shapes,
        causes,
        fixes,
    )


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
    shapes = tuple(
        ShapeWord(
            f"initial_state[{i}]",
            d,
            tuple(_dim(x) for x in d),
            "a sequence [batch, timesteps, units]" if len(d) == 3 else "",
        )
        for i, d in enumerate(specs)
    )
    rule = (
        "an RNN takes one initial state per entry of its cell's state_size, each [batch, units] (LSTM: "
        "[state_h, state_c]; rule of Keras 2, keras/layers/recurrent.py)"
    )
    cls = "LSTM" if lstm else "GRU"
    if any(len(d) == 3 for d in specs):
        causes = (
            _c(
                "state_is_a_sequence",
                "an output sequence was passed as initial_state: a recurrent layer's output "
                "with return_sequences=True is [batch, timesteps, units], not a state; make the encoder "
                f"return_state=True and pass its states {names}",
            ),
        )
        code = (
            f"_, state_h, state_c = keras.layers.LSTM({units}, return_state=True)(encoder_inputs)\n"
            f"keras.layers.LSTM({units})(decoder_inputs, initial_state=[state_h, state_c])"
            if lstm
            else f"_, state_h = keras.layers.GRU({units}, return_state=True)(encoder_inputs)\n"
            f"keras.layers.GRU({units})(decoder_inputs, initial_state=[state_h])"
        )
        fixes = (
            Fix(
                1,
                "the encoder's states, not its outputs",
                code,
                f"{cls.lower()}:{units}",
                t,
                f,
                assumed=tuple(assumed),
                note="the stack shows the encoder: its output [batch, units] is the shape of each state",
            ),
        )
        title = "an output sequence given as initial_state (return_state=True gives the states)"
    elif len(specs) == len(sizes) and all(d and d[-1] == n for d, n in zip(specs, sizes)):
        causes = (
            _c(
                "nested_state_structure",
                f"the {len(specs)} states match the cells' sizes {sizes} one by one: "
                "tf.keras 2 compared a flat list with the nested state_size of stacked cells "
                "(RNN([cell, cell, ...])); pass the states nested per cell, [[h1, c1], [h2, c2], ...]",
            ),
        )
        fixes = (
            Fix(
                1,
                "the states nested per cell",
                "keras.layers.RNN(cells)(inputs, initial_state=[[h1, c1], [h2, c2]])",
                f"lstm:{units}",
                t,
                f,
                assumed=tuple(assumed),
            ),
        )
        title = "stacked cells given a flat list of states (tf.keras 2)"
    elif len(specs) == 2 * len(sizes) and sizes:
        half = specs[0][-1] if specs[0] and isinstance(specs[0][-1], int) else sizes[0]
        causes = (
            _c(
                "bidirectional_states_not_merged",
                f"a Bidirectional encoder returns {len(specs)} states (forward "
                f"and backward {names}) but the decoder takes {len(sizes)}: concatenate forward and backward, "
                f"state_h = Concatenate()([forward_h, backward_h]), with a decoder of twice the encoder's units",
            ),
        )
        fixes = (
            Fix(
                1,
                "merge the two directions' states",
                "state_h = keras.layers.Concatenate()([forward_h, backward_h])\n"
                "state_c = keras.layers.Concatenate()([forward_c, backward_c])\n"
                f"keras.layers.LSTM({2 * half})(decoder_inputs, initial_state=[state_h, state_c])",
                f"lstm:{half}:bi",
                t,
                f,
                assumed=tuple(assumed),
                note=f"the stack shows the Bidirectional encoder: concat merge gives [batch, {2 * half}]",
            ),
        )
        title = "a Bidirectional encoder's states given to a one-direction decoder"
    else:
        got = specs[0][-1] if specs and specs[0] and isinstance(specs[0][-1], int) else None
        causes = (
            _c(
                "decoder_units_vs_state",
                f"the states are [batch, {got}] but the decoder's units are {units}: give "
                f"the decoder units {got} (a Bidirectional encoder's merged states are twice its units)",
            ),
        )
        fixes = (
            Fix(
                1,
                f"a decoder of units {got}",
                f"keras.layers.{cls}({got})(decoder_inputs, initial_state=states)",
                f"{cls.lower()}:{got or units}",
                t,
                f,
                assumed=tuple(assumed),
            ),
        )
        title = "initial states of another size than the decoder's units"
    return Diagnosis("initial_state_spec", title, rule, match.group(0), wording, None, shapes, causes, fixes)
