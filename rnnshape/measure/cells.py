"""The cell equations of Keras' recurrent layers, in numpy (float64), step by step.

Everything here follows the installed Keras source (keras/src/layers/rnn/lstm.py, gru.py,
simple_rnn.py) so that the numbers can be checked against the real layer:

- the fused kernels hold the gates side by side on their last axis: LSTM i, f, c, o (the
  candidate "c" block is called g here), GRU z, r, h (the candidate h~);
- LSTM:      i = ra(x W_i + h U_i + b_i), f = ra(...), g = a(...), o = ra(...),
             c_t = f * c_{t-1} + i * g,   h_t = o * a(c_t)
- GRU, reset_after=True (Keras' default; bias (2, 3*units): input row, recurrent row):
             h~ = a(x W_h + b_h + r * (h U_h + b'_h))
- GRU, reset_after=False (bias (3*units,)):
             h~ = a(x W_h + (r * h) U_h + b_h)
             and in both modes h_t = z * h_{t-1} + (1 - z) * h~   (Keras' convention)
- SimpleRNN: h_t = a(x W + h U + b)
where a is the layer's ``activation`` and ra its ``recurrent_activation``.

Under a mask, a masked step leaves every state as it was (Keras computes the step and keeps
the previous state). No TensorFlow here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

Array = np.ndarray


def _sigmoid(x: Array) -> Array:
    # exp of a large positive number overflows; split by sign as stable implementations do.
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


def _hard_sigmoid(x: Array) -> Array:
    return np.clip(x + 3.0, 0.0, 6.0) / 6.0  # Keras 3: relu6(x + 3) / 6


# Keras activation names (as in the layer's get_config()) -> numpy functions.
ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "hard_sigmoid": _hard_sigmoid,
    "relu": lambda x: np.maximum(x, 0.0),
    "relu6": lambda x: np.clip(x, 0.0, 6.0),
    "linear": lambda x: x,
    "softsign": lambda x: x / (np.abs(x) + 1.0),
    "softplus": lambda x: np.logaddexp(0.0, x),
    "exponential": np.exp,
}


def activation(name: str | None) -> Callable[[Array], Array]:
    """The numpy function for a Keras activation name; None means linear, as in Keras."""
    if name is None:
        return ACTIVATIONS["linear"]
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"activation {name!r} is not one rnnshape can recompute (known: {', '.join(sorted(ACTIVATIONS))})"
        ) from None


GATE_NAMES = {"lstm": ("i", "f", "g", "o"), "gru": ("z", "r", "h_tilde"), "simplernn": ()}
GATE_MEANINGS = {
    "i": "input gate: how much of the candidate g enters c",
    "f": "forget gate: how much of c_{t-1} is kept",
    "g": "candidate cell value (Keras' 'c' block of the kernel)",
    "o": "output gate: how much of a(c_t) becomes h_t",
    "z": "update gate: how much of h_{t-1} is kept",
    "r": "reset gate: how much of h_{t-1} feeds the candidate",
    "h_tilde": "candidate hidden state h~",
}


@dataclass(frozen=True)
class CellWeights:
    """One cell's weights as Keras stores them (layer.cell.kernel, recurrent_kernel, bias)."""

    kernel: Array  # (features, gates * units)
    recurrent_kernel: Array  # (units, gates * units)
    bias: Array | None  # LSTM/SimpleRNN (gates*units,); GRU (2, 3*units) or (3*units,)

    @property
    def units(self) -> int:
        return int(self.recurrent_kernel.shape[0])


def _f64(a: Array | None) -> Array | None:
    return None if a is None else np.asarray(a, dtype=np.float64)


def lstm_step(x: Array, h: Array, c: Array, w: CellWeights, act: Callable, ract: Callable) -> dict[str, Array]:
    u = w.units
    z = x @ w.kernel + h @ w.recurrent_kernel
    if w.bias is not None:
        z = z + w.bias
    i = ract(z[:, :u])
    f = ract(z[:, u : 2 * u])
    g = act(z[:, 2 * u : 3 * u])
    o = ract(z[:, 3 * u :])
    c_new = f * c + i * g
    return {"i": i, "f": f, "g": g, "o": o, "c": c_new, "h": o * act(c_new)}


def gru_step(x: Array, h: Array, w: CellWeights, act: Callable, ract: Callable, reset_after: bool) -> dict[str, Array]:
    u = w.units
    if w.bias is None:
        input_bias = recurrent_bias = None
    elif reset_after:
        input_bias, recurrent_bias = w.bias[0], w.bias[1]
    else:
        input_bias, recurrent_bias = w.bias, None
    matrix_x = x @ w.kernel
    if input_bias is not None:
        matrix_x = matrix_x + input_bias
    if reset_after:
        matrix_inner = h @ w.recurrent_kernel
        if recurrent_bias is not None:
            matrix_inner = matrix_inner + recurrent_bias
    else:
        matrix_inner = h @ w.recurrent_kernel[:, : 2 * u]
    z = ract(matrix_x[:, :u] + matrix_inner[:, :u])
    r = ract(matrix_x[:, u : 2 * u] + matrix_inner[:, u : 2 * u])
    if reset_after:
        recurrent_h = r * matrix_inner[:, 2 * u :]
    else:
        recurrent_h = (r * h) @ w.recurrent_kernel[:, 2 * u :]
    h_tilde = act(matrix_x[:, 2 * u :] + recurrent_h)
    return {"z": z, "r": r, "h_tilde": h_tilde, "h": z * h + (1.0 - z) * h_tilde}


def simplernn_step(x: Array, h: Array, w: CellWeights, act: Callable) -> dict[str, Array]:
    pre = x @ w.kernel + h @ w.recurrent_kernel
    if w.bias is not None:
        pre = pre + w.bias
    return {"pre_activation": pre, "h": act(pre)}


@dataclass
class CellTrace:
    """Every step of one direction, for the whole batch, in READING order.

    ``order[k]`` is the time index (0-based) of the input read at reading step k; arrays are
    (batch, timesteps, units) with axis 1 in reading order. ``gates`` holds what the cell
    computed at each step (also at masked steps, where Keras computes it and discards it);
    ``h`` and ``c`` are the states after each step (carried over at masked steps).
    """

    layer: str
    order: Array
    gates: dict[str, Array]
    h: Array
    c: Array | None
    pre_activation: Array | None
    masked: Array  # (batch, timesteps) bool, True where the step was masked, reading order


def run(
    layer: str,
    x: Array,
    weights: CellWeights,
    *,
    activation_name: str | None = "tanh",
    recurrent_activation_name: str | None = "sigmoid",
    reset_after: bool = True,
    go_backwards: bool = False,
    mask: Array | None = None,
) -> CellTrace:
    """Run the cell over ``x`` (batch, timesteps, features) from zero initial states, reading
    x_T first when ``go_backwards``; ``mask`` (batch, timesteps), True = valid step."""
    if layer not in GATE_NAMES:
        raise ValueError(f"unknown layer {layer!r}")
    x = np.asarray(x, dtype=np.float64)
    w = CellWeights(_f64(weights.kernel), _f64(weights.recurrent_kernel), _f64(weights.bias))
    act = activation(activation_name)
    ract = activation(recurrent_activation_name) if layer != "simplernn" else None
    batch, timesteps, _ = x.shape
    units = w.units
    order = np.arange(timesteps)[::-1] if go_backwards else np.arange(timesteps)
    valid = np.ones((batch, timesteps), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    h = np.zeros((batch, units))
    c = np.zeros((batch, units)) if layer == "lstm" else None
    gate_seq = {name: np.zeros((batch, timesteps, units)) for name in GATE_NAMES[layer]}
    h_seq = np.zeros((batch, timesteps, units))
    c_seq = np.zeros((batch, timesteps, units)) if c is not None else None
    pre_seq = np.zeros((batch, timesteps, units)) if layer == "simplernn" else None
    masked = np.zeros((batch, timesteps), dtype=bool)
    for k, t in enumerate(order):
        x_t = x[:, t]
        if layer == "lstm":
            step = lstm_step(x_t, h, c, w, act, ract)
        elif layer == "gru":
            step = gru_step(x_t, h, w, act, ract, reset_after)
        else:
            step = simplernn_step(x_t, h, w, act)
        keep = valid[:, t][:, None]
        masked[:, k] = ~valid[:, t]
        h = np.where(keep, step["h"], h)
        if c is not None:
            c = np.where(keep, step["c"], c)
            c_seq[:, k] = c
        for name in gate_seq:
            gate_seq[name][:, k] = step[name]
        if pre_seq is not None:
            pre_seq[:, k] = step["pre_activation"]
        h_seq[:, k] = h
    return CellTrace(layer, order, gate_seq, h_seq, c_seq, pre_seq, masked)
