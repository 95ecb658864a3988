"""The pure model of a Keras recurrent layer: LayerSpec, a validated configuration, with its output
names and shapes, what Keras calls it and what it refuses. Its meanings (rules/meanings.py), its
parameters (rules/parameters.py) and its cost (rules/cost.py) are the mixins it is made of; make_spec
(rules/spec.py) builds one from options. No TensorFlow, no rich: everything here is a rule of Keras,
checked against real Keras by the tests.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from rnnshape.rules.catalogue import (
    CELL_CLASS,
    CELLS_LAYER,
    CONV_LAYERS,
    DEFAULT_ACTIVATION,
    DEFAULT_RECURRENT_ACTIVATION,
    INIT_KEYS,
    INITIALIZERS,
    KERAS_CLASS,
    SEEDLESS_INITIALIZERS,
    SPATIAL_AXES,
    _tuple_text,
    conv_output_size,
)
from rnnshape.rules.cost import LayerCost
from rnnshape.rules.meanings import LayerMeanings
from rnnshape.rules.options import LSTM_FAMILY
from rnnshape.rules.parameters import LayerParameters
from rnnshape.rules.words import shape_text


@dataclass(frozen=True)
class LayerSpec(LayerMeanings, LayerParameters, LayerCost):
    """A fully resolved, validated layer configuration."""

    layer: str = "lstm"
    units: int = 4
    timesteps: int = 3
    features: int = 2
    batch: int = 1
    return_sequences: bool = False
    return_state: bool = False
    stateful: bool = False
    go_backwards: bool = False
    bidirectional: bool = False
    merge_mode: str | None = None  # resolved: "concat" when bidirectional, None otherwise
    reset_after: bool | None = None  # GRU only, resolved: True (Keras' default) unless given; None otherwise
    activation: str = "tanh"
    recurrent_activation: str | None = None  # resolved "sigmoid" for LSTM and GRU; SimpleRNN has none
    use_bias: bool = True
    unit_forget_bias: bool | None = None  # LSTM only, resolved True (Keras' default)
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    training: bool = False  # the call's training argument: dropout acts only then
    unroll: bool = False
    initial_state: str | None = None  # zeros, random, or a .npy file: one array per state, Keras' order
    initial_state_sha256: str | None = None
    seed: int = 0
    lengths: tuple[int, ...] | None = None
    kernel_init: float | str | None = None  # None: rnnshape's own seeded weights
    recurrent_init: float | str | None = None
    bias_init: float | str | None = None
    input: str = "random"  # random, arange, ones, zeros, or a .npy/.csv path
    input_sha256: str | None = None
    use_cudnn: str | None = None  # LSTM and GRU: auto, true or false (resolved: auto)
    # ConvLSTM only (None otherwise): there ``units`` holds the filters and ``features`` the channels.
    spatial: tuple[int, ...] | None = None  # the map of each step: (rows,), (rows, cols), (depth, rows, cols)
    kernel_size: tuple[int, ...] | None = None
    strides: tuple[int, ...] | None = None
    padding: str | None = None  # of the input convolution; the recurrent one is always "same"
    cells: tuple[tuple[str, int], ...] | None = None  # --layer rnn only: (kind, units) per cell, first to last

    # ---- identity -------------------------------------------------------------------
    @property
    def keras_class(self) -> str:
        return KERAS_CLASS[self.layer]

    @property
    def conv(self) -> bool:
        """ConvLSTM1D/2D/3D: inputs, outputs and states are feature maps."""
        return self.layer in CONV_LAYERS

    @property
    def has_cell_state(self) -> bool:
        return self.layer in LSTM_FAMILY

    @property
    def size_word(self) -> str:
        """What ``units`` counts: units, or a ConvLSTM's filters."""
        return "filters" if self.conv else "units"

    @property
    def input_shape(self) -> tuple[int, ...]:
        if self.conv:
            return (self.batch, self.timesteps, *self.spatial, self.features)
        return (self.batch, self.timesteps, self.features)

    @property
    def input_axes(self) -> tuple[str, ...]:
        if self.conv:
            return ("batch", "timesteps", *SPATIAL_AXES[self.layer], "channels")
        return ("batch", "timesteps", "features")

    @property
    def out_spatial(self) -> tuple[int, ...]:
        """ConvLSTM: the map of h and c, by Keras' convolution arithmetic on the input map
        (padding and strides of the input convolution; the recurrent one keeps the size)."""
        return tuple(
            conv_output_size(n, k, s, self.padding) for n, k, s in zip(self.spatial, self.kernel_size, self.strides)
        )

    @property
    def state_shape(self) -> tuple[int, ...]:
        """One state without the batch axis: (units,), or a ConvLSTM's (rows', cols', filters)."""
        return (*self.out_spatial, self.units) if self.conv else (self.units,)

    @property
    def state_axes(self) -> tuple[str, ...]:
        if self.conv:
            return tuple(f"{axis}'" for axis in SPATIAL_AXES[self.layer]) + ("filters",)
        return ("units",)

    @property
    def kernel_area(self) -> int:
        area = 1
        for k in self.kernel_size or ():
            area *= k
        return area

    def config(self) -> dict[str, Any]:
        """Every resolved option, keyed as in docs/cli.md and check files (a ConvLSTM's units
        and features are its filters and channels)."""
        out = dataclasses.asdict(self)
        out["lengths"] = list(self.lengths) if self.lengths is not None else None
        for key in ("spatial", "kernel_size", "strides", "padding"):
            out.pop(key)
        cells = out.pop("cells")
        if self.layer == CELLS_LAYER:
            out = {
                "layer": out.pop("layer"),
                "cells": ",".join(f"{kind}:{n}" for kind, n in cells),
                **{key: value for key, value in out.items() if key != "units"},
            }
        if self.conv:
            rest = {key: out.pop(key) for key in list(out) if list(out).index(key) > list(out).index("layer")}
            conv = {
                "filters": self.units,
                "kernel_size": list(self.kernel_size),
                "strides": list(self.strides),
                "padding": self.padding,
                **dict(zip(SPATIAL_AXES[self.layer], self.spatial)),
                "channels": self.features,
            }
            rest.pop("units")
            rest.pop("features")
            out.update(conv)
            out.update(rest)
        return out

    @property
    def constant_weights(self) -> bool:
        """Every weight from a constant: then every unit computes the same number."""
        return all(
            isinstance(getattr(self, key), float) or getattr(self, key) in ("zeros", "ones") for key in INIT_KEYS
        )

    def initializer_call(self, key: str) -> str | None:
        """The Python for one chosen initializer, as a user would paste it."""
        value = getattr(self, key)
        if value is None:
            return None
        if isinstance(value, float):
            return f"keras.initializers.Constant({value!r})"
        if value in SEEDLESS_INITIALIZERS:
            return f'"{value}"'
        return f"keras.initializers.{INITIALIZERS[value]}(seed={self.seed})"

    # ---- names and shapes -----------------------------------------------------------
    def state_names(self) -> list[str]:
        """Names of the returned states, in Keras order (empty without return_state)."""
        if not self.return_state:
            return []
        if self.cells is not None:  # Keras returns cell i's states as a list, [h, c] (LSTM) or [h]: flattened
            return [
                f"state_{i}_{s}"
                for i, (kind, _) in enumerate(self.cells)
                for s in (("h", "c") if kind == "lstm" else ("h",))
            ]
        own = ["state_h", "state_c"] if self.has_cell_state else ["state_h"]
        if not self.bidirectional:
            return own
        return [f"{direction}_{name}" for direction in ("forward", "backward") for name in own]

    def output_names(self) -> list[str]:
        return [t.name for t in self.outputs()]

    def keras_refusal_flags(self) -> tuple[str, ...]:
        """The flags that together make keras_refusal() true (empty when Keras can build it)."""
        if self.bidirectional and self.go_backwards:
            return ("bidirectional", "go_backwards")
        if self.bidirectional and self.stateful and self.return_state:
            return ("bidirectional", "stateful", "return_state")
        if self._one_lstm_cell_unrolled():
            return ("unroll",)
        return ()

    def _one_lstm_cell_unrolled(self) -> bool:
        one_lstm_cell = self.cells is not None and [kind for kind, _ in self.cells] == ["lstm"]
        return bool(self.unroll) and one_lstm_cell and self.timesteps > 1

    def keras_refusal(self) -> str | None:
        """Why Keras (the installed version) cannot build or run this configuration, or None.
        The pure model refuses to answer for these (exit 2) instead of guessing."""
        if self.bidirectional and self.go_backwards:
            # keras/src/layers/rnn/bidirectional.py: the backward copy gets go_backwards=True too.
            return (
                "Keras refuses it: Bidirectional builds its backward copy with go_backwards=True, "
                "so both directions would read backwards (ValueError; rule of Keras)"
            )
        if self.bidirectional and self.stateful and self.return_state:
            # Bidirectional.compute_mask multiplies a generator (state_mask * 2): a TypeError.
            return (
                "Keras 3 fails on Bidirectional(stateful=True, return_state=True): "
                "Bidirectional.compute_mask raises TypeError"
            )
        if self._one_lstm_cell_unrolled():
            # measured on Keras 3.15: StackedRNNCells([LSTMCell]) unrolled hands the cell one state, not two
            return (
                "Keras 3 fails to unroll keras.layers.RNN of a list holding one LSTMCell: LSTMCell.call "
                "raises IndexError from the second step on (measured; two cells, or the cell alone, unroll fine): "
                "drop --unroll"
            )
        return None

    # ---- the Python a user would write ----------------------------------------------
    def keras_call(self) -> str:
        """keras.layers.LSTM(4, return_sequences=True, ...): the layer's constructor call, with the
        arguments that differ from Keras' defaults, in a fixed order (wrapped in Bidirectional)."""
        args = [
            *self._units_args(),
            *self._conv_args(),
            *self._setting_args(),
            *self._initializer_args(),
            *self._dropout_args(),
            *(f"{name}={_python(value)}" for name, value in self.plain_arguments().items()),
        ]
        call = f"keras.layers.{self.keras_class}({', '.join(args)})"
        if self.bidirectional:
            call = f"keras.layers.Bidirectional({call}{self._merge_mode_arg()})"
        return call

    def plain_arguments(self) -> dict[str, Any]:
        """The option table's plain constructor arguments (rules/options.PLAIN) that differ from
        Keras' defaults, as Keras takes them ("true" -> True)."""
        from rnnshape.rules.options import PLAIN

        return {
            option.name: {"true": True, "false": False}.get(value, value)
            for option in PLAIN
            if (value := getattr(self, option.name)) is not None and value != option.keras_default
        }

    def _units_args(self) -> list[str]:
        """The first argument: units, or for --cells the list of cells (the initializers are the cells')."""
        if self.cells is None:
            return [str(self.units)]
        inits = "".join(
            f", {keyword}={self.initializer_call(key)}"
            for key, keyword in INIT_KEYS.items()
            if self.initializer_call(key) is not None
        )
        return ["[" + ", ".join(f"keras.layers.{CELL_CLASS[kind]}({n}{inits})" for kind, n in self.cells) + "]"]

    def _conv_args(self) -> list[str]:
        """ConvLSTM: the kernel size, then strides and padding when not Keras' defaults."""
        if not self.conv:
            return []
        args = [_tuple_text(self.kernel_size)]
        if set(self.strides) != {1}:
            args.append(f"strides={_tuple_text(self.strides)}")
        if self.padding != "valid":
            args.append(f'padding="{self.padding}"')
        return args

    def _setting_args(self) -> list[str]:
        """The flags, activations and bias settings that differ from Keras' defaults."""
        args = [
            f"{key}=True"
            for key in ("return_sequences", "return_state", "stateful", "go_backwards")
            if getattr(self, key)
        ]
        if self.reset_after is False:
            args.append("reset_after=False")
        if self.activation != DEFAULT_ACTIVATION[self.layer]:
            args.append(f'activation="{self.activation}"')
        if self.recurrent_activation not in (None, DEFAULT_RECURRENT_ACTIVATION.get(self.layer)):
            args.append(f'recurrent_activation="{self.recurrent_activation}"')
        if not self.use_bias:
            args.append("use_bias=False")
        if self.unit_forget_bias is False:
            args.append("unit_forget_bias=False")
        return args

    def _initializer_args(self) -> list[str]:
        """The layer's initializers (none here with --cells: they are the cells' arguments)."""
        if self.cells is not None:
            return []
        calls = ((keyword, self.initializer_call(key)) for key, keyword in INIT_KEYS.items())
        return [f"{keyword}={init}" for keyword, init in calls if init is not None]

    def _dropout_args(self) -> list[str]:
        """dropout and recurrent_dropout when given, with the masks' seed, then unroll."""
        args = [f"{key}={getattr(self, key)!r}" for key in ("dropout", "recurrent_dropout") if getattr(self, key)]
        if self.dropout or self.recurrent_dropout:
            args.append(f"seed={self.seed}")  # the dropout masks' seed: the same masks run after run
        if self.unroll:
            args.append("unroll=True")
        return args

    def _merge_mode_arg(self) -> str:
        """Bidirectional's merge_mode argument ("" for Keras' default, concat)."""
        if self.merge_mode == "none":
            return ", merge_mode=None"
        if self.merge_mode != "concat":
            return f', merge_mode="{self.merge_mode}"'
        return ""

    def call_text(self) -> str:
        """How the layer is called: layer(x), plus the mask, initial_state and training given."""
        args = ["x"]
        if self.lengths is not None:
            args.append("mask=mask")
        if self.initial_state is not None:
            args.append(f"initial_state=[{', '.join(name for name, _ in self.initial_state_shapes())}]")
        if self.training:
            args.append("training=True")
        return f"layer({', '.join(args)})"

    def initial_state_shapes(self) -> list[tuple[str, tuple[int, int]]]:
        """The states initial_state takes, named and in Keras' order (forward then backward)."""
        own = ["h0", "c0"] if self.has_cell_state else ["h0"]
        if self.bidirectional:
            own = [f"{d}_{name}" for d in ("forward", "backward") for name in own]
        return [(name, (self.batch, *self.state_shape)) for name in own]

    def keras_input(self) -> str:
        """The Input a model would start from; stateful layers need the batch size fixed."""
        if self.stateful:
            return f"keras.Input(batch_shape={shape_text(self.input_shape)})"
        return f"keras.Input(shape={shape_text(self.input_shape[1:])})"


def _python(value: Any) -> str:
    """A constructor argument as Python source: True, 0.5, "text"."""
    return f'"{value}"' if isinstance(value, str) else repr(value)
