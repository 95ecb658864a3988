"""One recurrent layer built in Keras from a LayerSpec: the constructor's arguments, the cells,
initializers, initial states and rnnshape's deterministic weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnshape.rules.catalogue import INIT_KEYS, INITIALIZERS, KERAS_LAYER_NAME, SEEDLESS_INITIALIZERS
from rnnshape.rules.layer import LayerSpec
from rnnshape.runner.numbers import deterministic_weights
from rnnshape.runner.session import load_keras

# ---- building ----------------------------------------------------------------------------
CELL_OPTIONS = ("reset_after", "activation", "recurrent_activation")  # constructor options of the cell


def build_layer(spec: LayerSpec, **overrides: Any) -> Any:
    """The Keras layer for ``spec`` (``overrides`` replace constructor flags), built for the
    input shape. Weights are Keras' defaults until set. ``overrides`` may also give cell
    options (``reset_after`` for GRU, ``activation``, ``recurrent_activation``)."""
    keras = load_keras()
    flags = {
        "return_sequences": spec.return_sequences,
        "return_state": spec.return_state,
        "stateful": spec.stateful,
        "go_backwards": spec.go_backwards,
    }
    flags.update({k: v for k, v in overrides.items() if k in flags})
    flags.update(
        cell_arguments(spec, **{k: overrides[k] for k in ("dropout", "recurrent_dropout", "unroll") if k in overrides})
    )
    bidirectional = overrides.get("bidirectional", spec.bidirectional)
    merge_mode = overrides.get("merge_mode", spec.merge_mode)
    if spec.reset_after is not None:
        flags["reset_after"] = spec.reset_after
    flags.update({k: overrides[k] for k in CELL_OPTIONS if overrides.get(k) is not None})
    flags.update(spec.plain_arguments())  # the option table's plain constructor arguments
    if spec.cells is not None:  # keras.layers.RNN([cells...]): the cells take the initializers
        return _build_cells_layer(keras, spec, flags)
    cls = getattr(keras.layers, spec.keras_class)
    # Weights the user left to rnnshape are overwritten right after building: start them at zeros
    # rather than at Keras' defaults (its orthogonal recurrent initializer costs a QR decomposition:
    # minutes for thousands of units).
    placeholders = {keyword: "zeros" for keyword in INIT_KEYS.values()}
    if spec.conv:  # ConvLSTM: filters, kernel_size, strides, padding; channels_last only
        flags.update(
            kernel_size=spec.kernel_size, strides=spec.strides, padding=spec.padding, data_format="channels_last"
        )
    layer = cls(spec.units, name=KERAS_LAYER_NAME[spec.layer], **flags, **{**placeholders, **initializers(spec)})
    if bidirectional:
        layer = keras.layers.Bidirectional(
            layer, merge_mode=None if merge_mode == "none" else merge_mode, name="bidirectional"
        )
    layer.build(spec.input_shape)
    return layer


def _build_cells_layer(keras: Any, spec: LayerSpec, flags: dict[str, Any]) -> Any:
    """keras.layers.RNN with a list of cells (Keras wraps them in StackedRNNCells), named in order."""
    from rnnshape.rules.catalogue import CELL_CLASS

    chosen = {**{keyword: "zeros" for keyword in INIT_KEYS.values()}, **initializers(spec)}
    cells = [
        getattr(keras.layers, CELL_CLASS[kind])(units, name=name, **chosen)
        for (kind, units), name in zip(spec.cells, spec.cell_names())
    ]
    arguments = {
        k: v
        for k, v in flags.items()
        if k in ("return_sequences", "return_state", "stateful", "go_backwards", "unroll")
    }
    # RNN(cells) would wrap them in a StackedRNNCells numbered per process: named here, as Keras' first one
    layer = keras.layers.RNN(keras.layers.StackedRNNCells(cells, name="stacked_rnn_cells"), name="rnn", **arguments)
    layer.build(spec.input_shape)
    return layer


def flatten(value: Any) -> list[Any]:
    """Keras 3.15 returns RNN([cells]) states nested, one list per cell ([h, c] or [h]): flat, in order."""
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in flatten(item)]
    return [value]


def _flat_shapes(value: Any) -> list[tuple]:
    """compute_output_shape's nesting flattened down to the shape tuples."""
    if isinstance(value, (list, tuple)) and value and all(isinstance(d, int) or d is None for d in value):
        return [tuple(value)]
    return [shape for item in value for shape in _flat_shapes(item)]


def cell_arguments(spec: LayerSpec, **overrides: Any) -> dict[str, Any]:
    """The constructor arguments of activations and bias, and of dropout and unroll where they
    differ from Keras' defaults (``overrides`` replace dropout, recurrent_dropout or unroll)."""
    values = {"dropout": spec.dropout, "recurrent_dropout": spec.recurrent_dropout, "unroll": spec.unroll, **overrides}
    arguments: dict[str, Any] = {"activation": spec.activation, "use_bias": spec.use_bias}
    if spec.recurrent_activation is not None:
        arguments["recurrent_activation"] = spec.recurrent_activation
    if spec.unit_forget_bias is not None:
        arguments["unit_forget_bias"] = spec.unit_forget_bias
    if values["dropout"] or values["recurrent_dropout"]:
        # Seeded: every layer built for this spec draws the same dropout masks on its first call.
        arguments.update(dropout=values["dropout"], recurrent_dropout=values["recurrent_dropout"], seed=spec.seed)
    if values["unroll"]:
        arguments["unroll"] = True
    return arguments


def initial_states(spec: LayerSpec) -> list[np.ndarray] | None:
    """The arrays given as initial_state, in Keras' order, or None (Keras starts from zeros)."""
    if spec.initial_state is None:
        return None
    shapes = [shape for _, shape in spec.initial_state_shapes()]
    if spec.initial_state == "zeros":
        return [np.zeros(shape, np.float32) for shape in shapes]
    if spec.initial_state == "random":
        # its own stream ([seed, 2]): the input draws [seed, 1], the weights [seed, 0]
        rng = np.random.default_rng([spec.seed, 2])
        return [np.round(rng.uniform(-1.0, 1.0, size=shape), 2).astype(np.float32) for shape in shapes]
    from rnnshape.files import load_state_file

    array = load_state_file(spec.initial_state).array
    array = array.reshape((len(shapes),) + shapes[0])
    return [array[i] for i in range(len(shapes))]


def initializers(spec: LayerSpec) -> dict[str, Any]:
    """Constructor arguments for the initializers the user chose (--kernel-init ...)."""
    keras = load_keras()
    chosen = {}
    for key, keyword in INIT_KEYS.items():
        value = getattr(spec, key)
        if value is None:
            continue
        if isinstance(value, float):
            chosen[keyword] = keras.initializers.Constant(value)
        elif value in SEEDLESS_INITIALIZERS:
            chosen[keyword] = value
        else:
            cls = getattr(keras.initializers, INITIALIZERS[value])
            chosen[keyword] = cls(seed=spec.seed)
    return chosen


# Which initializer option governs a weight, by the last part of its path.
_WEIGHT_INIT_KEY = {"kernel": "kernel_init", "recurrent_kernel": "recurrent_init", "bias": "bias_init"}


def set_deterministic_weights(layer: Any, spec: LayerSpec) -> None:
    """rnnshape's own seeded weights, for every weight whose initializer the user left unset
    (the others keep what the chosen Keras initializer drew)."""
    shapes = [tuple(w.shape) for w in layer.weights]
    own = deterministic_weights(spec.seed, shapes)
    for variable, value in zip(layer.weights, own):
        key = _WEIGHT_INIT_KEY.get(variable.path.rsplit("/", 1)[-1])
        if key is None or getattr(spec, key) is None:
            variable.assign(value)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]
