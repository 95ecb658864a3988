"""The pure rules of a user's model (rnnshape model, rnnshape.explain): which saved classes are
refused before anything runs, how a recurrent layer's flags and returned tensors are named, and
the diagnoses (rules of Keras) drawn from the facts of the walked model. No Keras, no numpy."""

from __future__ import annotations

from typing import Any, Iterator

from rnnshape.model.layer import LayerSpec

# The recurrent classes rnnshape explains, by Keras class name.
PLAIN_RECURRENT = {"LSTM": "lstm", "GRU": "gru", "SimpleRNN": "simplernn"}
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
            reasons.append(f"layer {name!r} holds a Python lambda stored in the file, which safe mode never runs "
                           "(rnnshape keeps safe mode on)")
        elif class_name in CODE_LAYERS:
            seen.add(key)
            reasons.append(f"layer {name!r} is a {class_name} layer: its function is Python code stored in the file, "
                           "which safe mode never runs (rnnshape keeps safe mode on; rebuild the layer as a "
                           "registered class or remove it)")
        elif (module is None or not str(module).startswith("keras")) and "class_name" in obj and (
                registered_name not in registered and class_name not in registered) and _is_custom(obj):
            seen.add(key)
            label = registered_name or class_name
            reasons.append(f"layer {name!r} uses the custom class {label!r}, which is not part of Keras and not "
                           "registered here: its code is not in the file and rnnshape runs no unknown code "
                           "(in Python, import the module that registers it, then call rnnshape.model)")
    return reasons


def _is_custom(obj: dict[str, Any]) -> bool:
    """A serialized object whose class Keras itself does not provide (Keras 3 writes a module
    for its own classes; legacy .h5 configs write none, and their class names are Keras' own)."""
    if "module" not in obj:  # legacy h5: the class name alone, resolved among Keras' classes
        return False
    module = obj.get("module")
    if module is None:
        return True
    return not str(module).startswith("keras")


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
        words.append("stateful=True: keeps the final states as the next batch's initial state; the batch size "
                     "is fixed")
    if config.get("go_backwards"):
        words.append("go_backwards=True: reads x_T back to x_1")
    if bidirectional:
        how = {"concat": "concatenated (width 2*units)", "sum": "summed (width units)",
               "mul": "multiplied (width units)", "ave": "averaged (width units)",
               None: "not merged: two separate outputs"}[merge_mode]
        words.append(f"Bidirectional, merge_mode={merge_mode!r}: forward and backward outputs {how}")
    if config.get("unroll"):
        words.append("unroll=True: the loop is unrolled (same numbers, more memory)")
    return words


def tensor_names(kind: str | None, config: dict[str, Any], bidirectional: bool = False,
                 merge_mode: str | None = "concat", n_states: int = 0) -> list[tuple[str, str]]:
    """(name, meaning) of each returned tensor, in Keras order, as `rnnshape inspect` names them.
    Plain layers take inspect's own names and meanings (model.layer.LayerSpec); ConvLSTM and a
    custom RNN cell name their states state_h, state_c / state_0, state_1, ..."""
    flags = {key: bool(config.get(key)) for key in ("return_sequences", "return_state", "stateful", "go_backwards")}
    if kind in ("lstm", "gru", "simplernn"):
        spec = LayerSpec(layer=kind, units=int(config.get("units") or 1), bidirectional=bidirectional,
                         merge_mode=("none" if merge_mode is None else merge_mode) if bidirectional else None, **flags)
        return [(t.name, t.meaning) for t in spec.outputs()]
    seq = flags["return_sequences"]
    if kind == "convlstm":
        own = [("state_h", "final hidden state h_T (a feature map)"), ("state_c", "final cell state c_T (a feature map)")]
        main = "the hidden state h at every timestep (feature maps)" if seq else "final hidden state h_T (a feature map)"
    else:
        own = [(f"state_{i}", f"final state {i} of the cell") for i in range(n_states)]
        main = "the cell's output at every timestep" if seq else "the cell's output at the last timestep"
    states = own if flags["return_state"] else []
    if not bidirectional:
        return [("output", main), *states]
    outputs = ([("forward_output", "forward " + main), ("backward_output", "backward " + main)] if merge_mode is None
               else [("output", f"forward and backward {main}, merged ({merge_mode})")])
    return outputs + [(f"{d}_{name}", f"{d} layer's {meaning}") for d in ("forward", "backward") for name, meaning in states]
