"""What the layer options may hold and what Keras calls each kind: the maps read from the kind
catalogue (rules/kinds.py) and the option table (rules/options.py), the initializers, the
limits, the tensor and weight records, and Keras' convolution arithmetic. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rnnshape.errors import SpecError, UsageError
from rnnshape.rules.kinds import KINDS
from rnnshape.rules.options import CELLS, CONV, LAYER_OPTIONS, MERGE_MODES, RECURRENT
from rnnshape.rules.options import DEFAULTS as OPTION_DEFAULTS

# The layer kinds (rules/options.py): LSTM, GRU, SimpleRNN; ConvLSTM1D/2D/3D, an LSTM whose gates are
# convolutions over a feature map (channels_last only); keras.layers.RNN([cells...]), a list of cells
# (Keras wraps it in StackedRNNCells), --cells lstm:4,gru:3.
LAYERS = RECURRENT  # LSTM, GRU, SimpleRNN
CONV_LAYERS = CONV

CELLS_LAYER = CELLS

ALL_LAYERS = LAYERS + CONV_LAYERS + (CELLS_LAYER,)

CELL_CLASS = {name: kind.cell_class for name, kind in KINDS.items() if kind.cell_class}

# Accepted spellings of --layer, compared after lower-casing.
LAYER_ALIASES = {
    "lstm": "lstm",
    "gru": "gru",
    "simplernn": "simplernn",
    "simple_rnn": "simplernn",
    **{name: name for name in CONV_LAYERS},
    **{f"conv_lstm{rank}d": f"convlstm{rank}d" for rank in (1, 2, 3)},
    "rnn": "rnn",
}

# The catalogue of layer kinds (rules/kinds.py), as the maps the rest of this module reads.
KERAS_CLASS = {name: kind.keras_class for name, kind in KINDS.items()}

# The names Keras gives these layers and their cells by default; the runner uses them
# explicitly so that weight paths are the same run after run.
KERAS_LAYER_NAME = {name: kind.layer_name for name, kind in KINDS.items()}

KERAS_CELL_NAME = {name: kind.cell_name for name, kind in KINDS.items()}

# Number of fused gate blocks in the kernels: LSTM i,f,c,o; GRU z,r,h; SimpleRNN one.
GATES = {name: len(kind.gates) for name, kind in KINDS.items()}

# ConvLSTM: the spatial axes of the map of each step, in Keras' channels_last order.
SPATIAL_AXES = {name: kind.spatial_axes for name, kind in KINDS.items() if kind.spatial_axes}

# The options only ConvLSTM layers take (docs/cli.md).
CONV_KEYS = tuple(option.name for option in LAYER_OPTIONS if option.group == "conv")

CONV_DEFAULTS: dict[str, Any] = {
    "filters": 4,
    "kernel_size": 3,
    "strides": 1,
    "padding": "valid",
    "depth": 5,
    "rows": 5,
    "cols": 5,
    "channels": 1,
}

DEFAULTS: dict[str, Any] = dict(OPTION_DEFAULTS)  # every layer option, declared in rules/options.py

# Keras initializers a user may name (--kernel-init glorot_uniform); a number means Constant.
INITIALIZERS = {
    "zeros": "Zeros",
    "ones": "Ones",
    "glorot_uniform": "GlorotUniform",
    "glorot_normal": "GlorotNormal",
    "he_uniform": "HeUniform",
    "he_normal": "HeNormal",
    "lecun_uniform": "LecunUniform",
    "lecun_normal": "LecunNormal",
    "orthogonal": "Orthogonal",
    "random_normal": "RandomNormal",
    "random_uniform": "RandomUniform",
    "truncated_normal": "TruncatedNormal",
    "identity": "Identity",
    "variance_scaling": "VarianceScaling",
}

SEEDLESS_INITIALIZERS = ("zeros", "ones", "identity")

MATRIX_INITIALIZERS = ("identity", "orthogonal")  # Keras refuses them for 1-D weights (GRU's bias is 2-D)

INIT_KEYS = {
    "kernel_init": "kernel_initializer",
    "recurrent_init": "recurrent_initializer",
    "bias_init": "bias_initializer",
}

SIZE_KEYS = ("batch", "timesteps", "features")

DEFAULT_ACTIVATION = {name: kind.activation for name, kind in KINDS.items()}

DEFAULT_RECURRENT_ACTIVATION = {
    name: kind.recurrent_activation for name, kind in KINDS.items() if kind.recurrent_activation
}  # SimpleRNN has none

BOUNDED_GATE_ACTIVATIONS = ("sigmoid", "hard_sigmoid")  # gates in [0, 1]: the facts that need it hold

INITIAL_STATE_KINDS = ("zeros", "random")  # --initial-state values other than a .npy file

# the true/false options that are never unset (reset_after and unit_forget_bias are resolved per layer)
FLAG_KEYS = tuple(option.name for option in LAYER_OPTIONS if option.kind == "flag" and option.default is not None)

INPUT_KINDS = ("random", "arange", "ones", "zeros")  # --input values other than a file

INT_LIMITS = {  # key -> (minimum, maximum); the maximum only stops absurd values early,
    "units": (1, 1_000_000),  # the memory estimate is the real guard.
    "timesteps": (1, 10_000_000),
    "features": (1, 1_000_000),
    "batch": (1, 10_000_000),
    "seed": (0, 2**32 - 1),
}

DTYPE = "float32"

BYTES_PER_FLOAT = 4


def canonical_layer(name: Any) -> str:
    """'LSTM', 'SimpleRNN', 'simple_rnn' -> 'lstm', 'simplernn', 'simplernn'."""
    if isinstance(name, str):
        canonical = LAYER_ALIASES.get(name.strip().lower())
        if canonical:
            return canonical
    raise SpecError(
        "layer",
        f"{name!r} is not one of {', '.join(ALL_LAYERS)} (case-insensitive; simple_rnn, conv_lstm2d ... accepted)",
    )


BACKENDS = ("tensorflow", "jax", "torch")  # Keras 3's backends rnnshape runs on (--backend)


def canonical_backend(name: Any) -> str | None:
    """--backend: None (TensorFlow, in this process), or tensorflow, jax, torch."""
    if name is None:
        return None
    if isinstance(name, str) and name.strip().lower() in BACKENDS:
        return name.strip().lower()
    raise UsageError(f"Invalid value for --backend: {name!r} is not one of {', '.join(BACKENDS)}")


def canonical_merge_mode(mode: Any) -> str:
    if isinstance(mode, str) and mode.strip().lower() in MERGE_MODES:
        return mode.strip().lower()
    raise SpecError("merge_mode", f"{mode!r} is not one of {', '.join(MERGE_MODES)}")


@dataclass(frozen=True)
class TensorSpec:
    """One tensor the layer returns: its name (docs/cli.md), shape, labelled axes and meaning."""

    name: str
    shape: tuple[int, ...]
    axes: tuple[str, ...]
    meaning: str
    dtype: str = DTYPE


@dataclass(frozen=True)
class WeightSpec:
    name: str
    shape: tuple[int, ...]
    role: str


def _product(values: Any) -> int:
    total = 1
    for value in values:
        total *= int(value)
    return total


def _tuple_text(values: tuple[int, ...]) -> str:
    """A kernel size or strides as Keras takes them: 3 when equal on every axis, else (3, 2)."""
    if len(set(values)) == 1:
        return str(values[0])
    return "(" + ", ".join(str(v) for v in values) + ")"


def conv_output_size(size: int, kernel: int, stride: int, padding: str) -> int:
    """Keras' convolution arithmetic (operation_utils.compute_conv_output_shape, dilation 1)."""
    if padding == "same":
        return (size - 1) // stride + 1
    return (size - kernel) // stride + 1
