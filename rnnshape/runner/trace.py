"""trace: the weights of each direction and Keras' own numbers to check the recomputation against."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnshape.errors import BackendError
from rnnshape.rules import progress
from rnnshape.rules.layer import LayerSpec
from rnnshape.runner.build import _as_list, build_layer
from rnnshape.runner.layer import prepare
from rnnshape.runner.session import call_layer, keras_failures, load_keras, quiet_native_stderr


# ---- trace: the weights of each direction and Keras' own numbers to check against ------------
@dataclass
class DirectionRun:
    """One recurrent direction of a traced layer: its cell weights and options as Keras holds
    them, and what Keras computes with them (from a twin layer with the same weights that
    returns every step: ``seq`` is h at each step in reading order, ``h``/``c`` the final states)."""

    keras_name: str  # the (sub)layer's name, e.g. "lstm", "forward_lstm", "backward_lstm"
    go_backwards: bool
    kernel: np.ndarray
    recurrent_kernel: np.ndarray
    bias: np.ndarray | None
    activation: str | None
    recurrent_activation: str | None  # None for SimpleRNN, which has none
    reset_after: bool | None  # GRU only
    seq: np.ndarray
    h: np.ndarray
    c: np.ndarray | None


@dataclass
class TraceRun:
    spec: LayerSpec
    input: np.ndarray
    mask: np.ndarray | None
    outputs: dict[str, np.ndarray]  # the real layer's returned tensors, in Keras order
    directions: list[DirectionRun]
    keras_options: dict[str, Any]  # cell options given to the constructor (e.g. reset_after)


def trace_many(specs: list[LayerSpec], options: list[dict[str, Any]] | None = None) -> list[TraceRun]:
    """For each spec (with its cell ``options``, e.g. {"reset_after": False}), the real layer's
    outputs and, per direction, its weights and every step as Keras computes it."""
    options = options if options is not None else [{} for _ in specs]
    load_keras()
    results = []
    with quiet_native_stderr():
        for index, (spec, opts) in enumerate(zip(specs, options)):
            progress.configuration(index, len(specs), spec.keras_call())
            with keras_failures(spec.keras_call()):
                results.append(_trace_one(spec, dict(opts)))
    return results


def _trace_one(spec: LayerSpec, options: dict[str, Any]) -> TraceRun:
    prepared = prepare(spec, **options)
    layer, x, mask = prepared.layer, prepared.x, prepared.mask
    kwargs = {"mask": mask} if mask is not None else {}
    raw = _as_list(call_layer(layer, x, **kwargs))
    names = spec.output_names()
    if len(raw) != len(names):
        raise BackendError(
            f"Keras returned {len(raw)} tensors where rnnshape expects {len(names)} "
            f"({', '.join(names)}) for {spec.keras_call()}"
        )
    outputs = {name: np.asarray(t) for name, t in zip(names, raw)}
    sublayers = [layer.forward_layer, layer.backward_layer] if spec.bidirectional else [layer]
    directions = []
    for sub in sublayers:
        cell = sub.cell
        config = cell.get_config()
        twin = build_layer(
            spec,
            bidirectional=False,
            go_backwards=bool(sub.go_backwards),
            return_sequences=True,
            return_state=True,
            stateful=False,
            **options,
        )
        twin.set_weights(sub.get_weights())
        seq, *states = _as_list(call_layer(twin, x, **kwargs))
        directions.append(
            DirectionRun(
                keras_name=sub.name,
                go_backwards=bool(sub.go_backwards),
                kernel=np.asarray(cell.kernel.numpy()),
                recurrent_kernel=np.asarray(cell.recurrent_kernel.numpy()),
                bias=np.asarray(cell.bias.numpy()) if cell.bias is not None else None,
                activation=_activation_name(config.get("activation")),
                recurrent_activation=_activation_name(config.get("recurrent_activation")),
                reset_after=config.get("reset_after"),
                seq=np.asarray(seq),
                h=np.asarray(states[0]),
                c=np.asarray(states[1]) if spec.has_cell_state else None,
            )
        )
    return TraceRun(spec, x, mask, outputs, directions, options)


def _activation_name(serialized: Any) -> str | None:
    """get_config() gives a built-in activation as its name; anything else is reported as is."""
    if serialized is None or isinstance(serialized, str):
        return serialized
    if isinstance(serialized, dict):
        return str(serialized.get("config", serialized.get("class_name")))
    return str(serialized)
