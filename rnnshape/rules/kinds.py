"""The catalogue of layer kinds: one frozen record per kind that --layer names.

What Keras calls each kind (the layer class, its default layer and cell names, the cell class),
its gates in Keras' order, whether it has a cell state c, its default activations and how torch.nn
names it. Every "lstm -> LSTM" map of the package is read from here (rules of Keras, checked
against real Keras by the tests). Pure: no Keras.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LayerKind:
    """One layer kind. ``gates``: Keras' fused gate blocks of the kernels, in Keras' order (LSTM
    i, f, c, o; GRU z, r, h; SimpleRNN one block); ``recurrent_activation``: None for a kind without
    gates; ``torch_class``: the torch.nn module of a port, None where torch has none."""

    name: str
    keras_class: str
    layer_name: str
    cell_name: str
    cell_class: str | None
    gates: tuple[str, ...]
    has_cell_state: bool
    activation: str = "tanh"
    recurrent_activation: str | None = "sigmoid"
    torch_class: str | None = None
    spatial_axes: tuple[str, ...] = ()


KINDS: dict[str, LayerKind] = {
    kind.name: kind
    for kind in (
        LayerKind("lstm", "LSTM", "lstm", "lstm_cell", "LSTMCell", ("i", "f", "c", "o"), True, torch_class="LSTM"),
        LayerKind("gru", "GRU", "gru", "gru_cell", "GRUCell", ("z", "r", "h"), False, torch_class="GRU"),
        LayerKind(
            "simplernn",
            "SimpleRNN",
            "simple_rnn",
            "simple_rnn_cell",
            "SimpleRNNCell",
            ("h",),
            False,
            recurrent_activation=None,
            torch_class="RNN",
        ),
        LayerKind(
            "convlstm1d",
            "ConvLSTM1D",
            "conv_lstm1d",
            "conv_lstm_cell",
            None,
            ("i", "f", "c", "o"),
            True,
            spatial_axes=("rows",),
        ),
        LayerKind(
            "convlstm2d",
            "ConvLSTM2D",
            "conv_lstm2d",
            "conv_lstm_cell",
            None,
            ("i", "f", "c", "o"),
            True,
            spatial_axes=("rows", "cols"),
        ),
        LayerKind(
            "convlstm3d",
            "ConvLSTM3D",
            "conv_lstm3d",
            "conv_lstm_cell",
            None,
            ("i", "f", "c", "o"),
            True,
            spatial_axes=("depth", "rows", "cols"),
        ),
        # keras.layers.RNN([cells...]): the cells' own kinds say the rest
        LayerKind(
            "rnn", "RNN", "rnn", "stacked_rnn_cells", None, ("i", "f", "c", "o"), False, recurrent_activation=None
        ),
    )
}

# Keras' class name -> the kind (a saved model's "LSTM" is --layer lstm).
BY_KERAS_CLASS: dict[str, str] = {kind.keras_class: kind.name for kind in KINDS.values()}
# The plain recurrent layers (one cell, no convolution): LSTM, GRU, SimpleRNN, by Keras' class name.
PLAIN = ("lstm", "gru", "simplernn")
PLAIN_BY_KERAS_CLASS: dict[str, str] = {KINDS[name].keras_class: name for name in PLAIN}
