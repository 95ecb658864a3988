"""The pure rules of a user's model (rnnshape model, rnnshape.explain): which saved classes are
refused before anything runs, how a recurrent layer's flags and returned tensors are named, and
the diagnoses (rules of Keras) drawn from the facts of the walked model. No Keras, no numpy."""

from __future__ import annotations

from typing import Any, Iterator

from rnnshape.rules.kinds import PLAIN_BY_KERAS_CLASS
from rnnshape.rules.layer import LayerSpec

# The recurrent classes rnnshape explains, by Keras class name.
PLAIN_RECURRENT = PLAIN_BY_KERAS_CLASS
CONV_RECURRENT = ("ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")
RECURRENT_CLASSES = (*PLAIN_RECURRENT, *CONV_RECURRENT, "RNN", "Bidirectional")
MASK_PRODUCERS = ("Embedding", "Masking")
# Layers that hold Python code in the saved file: safe mode refuses them, and so does rnnshape.
CODE_LAYERS = ("Lambda",)
MODEL_CLASSES = ("Functional", "Sequential", "Model")
FLAG_KEYS = ("return_sequences", "return_state", "stateful", "go_backwards", "unroll")


# ---- safety: what a saved config would make Keras run ---------------------------------------
def _objects(config: Any, where: str = "") -> Iterator[tuple[dict[str, Any], str]]:
    """Every serialized Keras object ({class_name, config, ...}) in a saved config, with the name
    of the layer it belongs to."""
    if isinstance(config, dict):
        if isinstance(config.get("class_name"), str):
            inner = config.get("config")
            name = inner.get("name") if isinstance(inner, dict) and isinstance(inner.get("name"), str) else where
            yield config, name
            where = name
        for value in config.values():
            yield from _objects(value, where)
    elif isinstance(config, list):
        for value in config:
            yield from _objects(value, where)


def refused_objects(config: dict[str, Any], registered: frozenset[str] = frozenset()) -> list[str]:
    """Why this saved model is refused before Keras loads it: a Lambda layer (Python code in the
    file) or a class that is not part of Keras and not registered in this process (its code is
    not Keras'). Each reason names the layer. Empty when the file holds Keras classes only."""
    reasons = []
    seen = set()
    for obj, name in _objects(config):
        class_name = obj["class_name"]
        module = obj.get("module")
        registered_name = obj.get("registered_name")
        key = (class_name, name)
        if key in seen:
            continue
        if class_name == "__lambda__" and name not in {n for _, n in seen}:
            seen.add(key)
            reasons.append(
                f"layer {name!r} holds a Python lambda stored in the file, which safe mode never runs "
                "(rnnshape keeps safe mode on)"
            )
        elif class_name in CODE_LAYERS:
            seen.add(key)
            reasons.append(
                f"layer {name!r} is a {class_name} layer: its function is Python code stored in the file, "
                "which safe mode never runs (rnnshape keeps safe mode on; rebuild the layer as a "
                "registered class or remove it)"
            )
        elif (
            (module is None or not is_keras_module(module))
            and "class_name" in obj
            and (registered_name not in registered and class_name not in registered)
            and _is_custom(obj)
        ):
            seen.add(key)
            label = registered_name or class_name
            reasons.append(
                f"layer {name!r} uses the custom class {label!r}, which is not part of Keras and not "
                "registered here: its code is not in the file and rnnshape runs no unknown code "
                "(in Python, import the module that registers it, then call rnnshape.rules)"
            )
    return reasons


def _is_custom(obj: dict[str, Any]) -> bool:
    """A serialized object whose class Keras itself does not provide (Keras 3 writes a module
    for its own classes; legacy .h5 configs write none, and their class names are Keras' own)."""
    if "module" not in obj:  # legacy h5: the class name alone, resolved among Keras' classes
        return False
    module = obj.get("module")
    if module is None:
        return True
    return not is_keras_module(module)


def is_keras_module(module: Any) -> bool:
    """A module path of Keras itself: ``keras`` or a path under it (``keras.layers``,
    ``keras.src.ops``), matched as whole names: ``kerasevil`` or ``keras_hub`` is not Keras."""
    return isinstance(module, str) and (module == "keras" or module.startswith("keras."))


# ---- words -----------------------------------------------------------------------------------
def recurrent_kind(class_name: str, inner_class: str | None = None) -> str | None:
    """'lstm', 'gru', 'simplernn', 'convlstm', 'rnn' (a custom cell) or None; a Bidirectional
    layer is the kind of the layer it wraps."""
    if class_name == "Bidirectional":
        return recurrent_kind(inner_class or "")
    if class_name in PLAIN_RECURRENT:
        return PLAIN_RECURRENT[class_name]
    if class_name in CONV_RECURRENT:
        return "convlstm"
    if class_name == "RNN":
        return "rnn"
    return None


def flag_words(config: dict[str, Any], merge_mode: str | None = None, bidirectional: bool = False) -> list[str]:
    """The flags of a recurrent layer in words (rules of Keras)."""
    words = []
    if config.get("return_sequences"):
        words.append("return_sequences=True: returns h at every timestep (a sequence)")
    else:
        words.append("return_sequences=False: returns only the last step's h (one vector per sample)")
    if config.get("return_state"):
        words.append("return_state=True: also returns the final states")
    if config.get("stateful"):
        words.append("stateful=True: keeps the final states as the next batch's initial state; the batch size is fixed")
    if config.get("go_backwards"):
        words.append("go_backwards=True: reads x_T back to x_1")
    if bidirectional:
        how = {
            "concat": "concatenated (width 2*units)",
            "sum": "summed (width units)",
            "mul": "multiplied (width units)",
            "ave": "averaged (width units)",
            None: "not merged: two separate outputs",
        }[merge_mode]
        words.append(f"Bidirectional, merge_mode={merge_mode!r}: forward and backward outputs {how}")
    if config.get("unroll"):
        words.append("unroll=True: the loop is unrolled (same numbers, more memory)")
    activation, recurrent = config.get("activation"), config.get("recurrent_activation")
    if activation is not None and activation != "tanh":
        words.append(f"activation={activation!r}: the candidate and output use {activation}, not Keras' default tanh")
    if recurrent is not None and recurrent != "sigmoid":
        words.append(f"recurrent_activation={recurrent!r}: the gates use {recurrent}, not Keras' default sigmoid")
    return words


def tensor_names(
    kind: str | None,
    config: dict[str, Any],
    bidirectional: bool = False,
    merge_mode: str | None = "concat",
    n_states: int = 0,
) -> list[tuple[str, str]]:
    """(name, meaning) of each returned tensor, in Keras order, as `rnnshape inspect` names them.
    Plain layers take inspect's own names and meanings (rules.layer.LayerSpec); ConvLSTM and a
    custom RNN cell name their states state_h, state_c / state_0, state_1, ..."""
    flags = {key: bool(config.get(key)) for key in ("return_sequences", "return_state", "stateful", "go_backwards")}
    if kind in ("lstm", "gru", "simplernn"):
        spec = LayerSpec(
            layer=kind,
            units=int(config.get("units") or 1),
            bidirectional=bidirectional,
            merge_mode=("none" if merge_mode is None else merge_mode) if bidirectional else None,
            **flags,
        )
        return [(t.name, t.meaning) for t in spec.outputs()]
    seq = flags["return_sequences"]
    if kind == "convlstm":
        own = [
            ("state_h", "final hidden state h_T (a feature map)"),
            ("state_c", "final cell state c_T (a feature map)"),
        ]
        main = (
            "the hidden state h at every timestep (feature maps)" if seq else "final hidden state h_T (a feature map)"
        )
    else:
        own = [(f"state_{i}", f"final state {i} of the cell") for i in range(n_states)]
        main = "the cell's output at every timestep" if seq else "the cell's output at the last timestep"
    states = own if flags["return_state"] else []
    if not bidirectional:
        return [("output", main), *states]
    outputs = (
        [("forward_output", "forward " + main), ("backward_output", "backward " + main)]
        if merge_mode is None
        else [("output", f"forward and backward {main}, merged ({merge_mode})")]
    )
    return outputs + [
        (f"{d}_{name}", f"{d} layer's {meaning}") for d in ("forward", "backward") for name, meaning in states
    ]


# ---- diagnoses: rules of Keras applied to the walked model (rows of the model data) -----------
# Layers that keep the shape and pass what they receive on (a head behind them is still fed the
# recurrent layer's output).
PASS_THROUGH = (
    "Dropout",
    "SpatialDropout1D",
    "GaussianNoise",
    "GaussianDropout",
    "Activation",
    "LayerNormalization",
    "BatchNormalization",
    "Masking",
)


def diagnosis(
    kind: str, layer: str, severity: str, text: str, fix: str, basis: str = "rule of Keras"
) -> dict[str, Any]:
    return {"kind": kind, "layer": layer, "severity": severity, "basis": basis, "text": text, "fix": fix}


def _scope(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


def _by_name(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(_scope(row["path"]), row["name"]): row for row in rows}


def producers(rows: list[dict[str, Any]], row: dict[str, Any]) -> list[dict[str, Any]]:
    """The layers of the same model whose outputs this layer takes."""
    scope = _scope(row["path"])
    return [
        other
        for other in rows
        if _scope(other["path"]) == scope and any(row["name"] in names for names in other.get("consumers", []))
    ]


def feeding_recurrent(rows: list[dict[str, Any]], row: dict[str, Any]) -> dict[str, Any] | None:
    """The recurrent layer whose output reaches this layer directly or through shape-keeping
    layers (Dropout, normalization, Masking), or None."""
    seen = set()
    todo = producers(rows, row)
    while todo:
        other = todo.pop(0)
        if other["path"] in seen:
            continue
        seen.add(other["path"])
        if other.get("recurrent"):
            return other
        if other["class"] in PASS_THROUGH:
            todo.extend(producers(rows, other))
    return None


def diagnose(rows: list[dict[str, Any]], batch: Any = None) -> list[dict[str, Any]]:
    """Every rule-of-Keras diagnosis of the walked model (``rows`` as in the model data)."""
    found: list[dict[str, Any]] = []
    found += _time_axis_heads(rows)
    found += _stateful(rows, batch)
    found += _masks(rows)
    found += _bidirectional_widths(rows)
    found += _unused_states(rows)
    return found


def is_time_axis_head(rows: list[dict[str, Any]], row: dict[str, Any]) -> dict[str, Any] | None:
    """A Dense head that gives a model output with a time axis because a recurrent layer with
    return_sequences=True feeds it: the recurrent layer, else None."""
    if row["class"] != "Dense" or "(model output)" not in [n for names in row.get("consumers", []) for n in names]:
        return None
    shapes = row.get("output_shapes") or []
    if not shapes or len(shapes[0]) < 3:
        return None
    source = feeding_recurrent(rows, row)
    if source is None or not source["recurrent"]["config"].get("return_sequences"):
        return None
    return source


def _time_axis_heads(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for row in rows:
        source = is_time_axis_head(rows, row)
        if source is None or source["recurrent"].get("initial_state"):
            continue  # a decoder started from an encoder's states predicts one step per timestep by design
        shape = tuple(row["output_shapes"][0])
        found.append(
            diagnosis(
                "time_axis_head",
                row["path"],
                "warning",
                f"{source['path']} has return_sequences=True, so the Dense layer {row['path']} (Dense acts on the last "
                f"axis only) predicts {_shape(shape)}: one prediction per timestep, the time axis kept. With targets "
                f"of shape (batch, {shape[-1]}) a loss such as mse does not fail: it broadcasts the one target over "
                "every timestep and the model trains on the wrong question without a word",
                f"for one prediction per sequence set return_sequences=False on {source['path']}; for one per "
                f"timestep keep it and give targets of shape (batch, {shape[1] if shape[1] is not None else 'timesteps'}, "
                f"{shape[-1]}) (TimeDistributed(Dense) says so explicitly); rnnshape model FILE --x X --y Y checks your "
                "targets",
            )
        )
    return found


def _shape(shape: Any) -> str:
    dims = ["batch" if d is None and i == 0 else ("None" if d is None else str(d)) for i, d in enumerate(shape)]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def _stateful(rows: list[dict[str, Any]], batch: Any) -> list[dict[str, Any]]:
    found = []
    for row in rows:
        rec = row.get("recurrent")
        if not rec or not rec["config"].get("stateful"):
            continue
        shapes = row.get("input_shapes") or []
        fixed = shapes[0][0] if shapes and shapes[0] else None
        if fixed is None:
            found.append(
                diagnosis(
                    "stateful_batch",
                    row["path"],
                    "problem",
                    f"{row['path']} is stateful but the model's batch size is not fixed: Keras keeps one state per "
                    "sample and needs the batch size to size it",
                    "start the model from keras.Input(batch_shape=(BATCH, timesteps, features))",
                )
            )
        else:
            found.append(
                diagnosis(
                    "stateful_batch",
                    row["path"],
                    "note",
                    f"{row['path']} is stateful with the batch size fixed at {fixed}: every batch given to predict/fit "
                    f"must hold exactly {fixed} samples (a smaller last batch fails), sample i of a batch continues "
                    "sample i of the previous one, and the states carry over until model.reset_state()",
                    f"feed batches of {fixed} in sequence order with shuffle=False, and call model.reset_state() "
                    "between independent sequences",
                )
            )
    return found


def _masks(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    index = _by_name(rows)
    for row in rows:
        producing = (row["class"] == "Embedding" and row["config"].get("mask_zero")) or row["class"] == "Masking"
        if not producing or not row.get("mask_out"):
            continue
        what = (
            "Embedding(mask_zero=True): token 0 is padding"
            if row["class"] == "Embedding"
            else f"Masking(mask_value={row['config'].get('mask_value', 0.0)}): steps whose features all equal it"
        )
        users, stops = [], []
        todo, seen = [row], set()
        while todo:
            current = todo.pop(0)
            if current["path"] in seen:
                continue
            seen.add(current["path"])
            for names in current.get("consumers", []):
                for name in names:
                    nxt = index.get((_scope(current["path"]), name))
                    if nxt is None:
                        if name == "(model output)":
                            stops.append(f"the model output ({current['path']} still carries the mask)")
                        continue
                    if not nxt.get("mask_in"):
                        stops.append(f"{nxt['path']} (receives no mask)")
                        continue
                    if nxt.get("recurrent"):
                        users.append(nxt["path"])
                    if nxt.get("mask_out"):
                        todo.append(nxt)
                    else:
                        stops.append(
                            f"{nxt['path']} (takes the mask; its output carries none"
                            + (": return_sequences=False)" if nxt.get("recurrent") else ")")
                        )
        used = (
            f"recurrent layers that use it (they skip masked steps and keep their state there): {', '.join(users)}"
            if users
            else "no recurrent layer uses it"
        )
        text = (
            f"{row['path']} produces a mask ({what}); {used}; the mask stops at "
            f"{'; '.join(dict.fromkeys(stops)) or 'no layer'}"
        )
        fix = (
            "nothing to fix if that is intended; layers after the mask stops see the padded steps as data"
            if users
            else f"put {row['path']} right before the recurrent layer, or drop it: here it changes nothing"
        )
        found.append(diagnosis("mask", row["path"], "note" if users else "warning", text, fix))
    return found


def recurrent_size(config: dict[str, Any]) -> tuple[Any, str]:
    """A recurrent layer's size and its word: (units, "units"), or a ConvLSTM's (filters, "filters")."""
    if config.get("units") is None and config.get("filters") is not None:
        return config["filters"], "filters"
    return config.get("units"), "units"


def _bidirectional_widths(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for row in rows:
        rec = row.get("recurrent")
        if not rec or row["class"] != "Bidirectional":
            continue
        units, word = recurrent_size(rec["config"])
        seen = "channels" if word == "filters" else "features"  # what the next layer sees: a ConvLSTM's channels
        mode = rec["merge_mode"]
        width = (row.get("output_shapes") or [[None]])[0][-1]
        if mode == "concat":
            text = (
                f"{row['path']} concatenates its directions: the output width is {width} = 2 x {units} {word}, so "
                f"the next layer sees {width} {seen}, not {units}"
            )
            fix = "size the next layer for 2 x units, or use merge_mode='sum'/'ave' to keep units"
        elif mode is None:
            text = f"{row['path']} has merge_mode=None: it returns forward_output and backward_output separately"
            fix = "take both tensors, or choose a merge_mode"
        else:
            text = (
                f"{row['path']} merges its directions with {mode}: the width stays {units} {word}, and forward "
                "and backward can no longer be told apart"
            )
            fix = "use merge_mode='concat' to keep both directions side by side (width 2 x units)"
        found.append(diagnosis("bidirectional_merge", row["path"], "note", text, fix))
    return found


def _unused_states(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for row in rows:
        rec = row.get("recurrent")
        if not rec or not rec["config"].get("return_state"):
            continue
        unused = [out["name"] for out in rec["returns"] if "state" in out["name"] and not out.get("used", True)]
        if not unused:
            continue
        if rec.get("initial_state") and rec["config"].get("return_sequences"):
            continue  # a decoder started from an encoder's states keeps return_state=True for its inference loop
        found.append(
            diagnosis(
                "unused_states",
                row["path"],
                "warning",
                f"{row['path']} returns its final states (return_state=True) but nothing in the model takes "
                f"{', '.join(unused)}",
                "drop return_state=True, or pass the states on (e.g. initial_state=[state_h, state_c] of a decoder)",
            )
        )
    return found
