"""One layer run (inspect, compare): its outputs as arrays and the probe runs (twins with the same
weights) that measure/ judges; Keras' own static shapes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnnshape.errors import BackendError
from rnnshape.rules import progress
from rnnshape.rules.catalogue import INIT_KEYS, SEEDLESS_INITIALIZERS
from rnnshape.rules.kinds import KINDS
from rnnshape.rules.layer import LayerSpec
from rnnshape.rules.limits import MAX_UNMASKED_LENGTHS
from rnnshape.runner.build import (
    _as_list,
    _flat_shapes,
    build_layer,
    flatten,
    initial_states,
    set_deterministic_weights,
)
from rnnshape.runner.numbers import deterministic_input, input_mask
from rnnshape.runner.session import call_layer, first_keras_line, keras_failures, load_keras, quiet_native_stderr


def draws_weights(spec: LayerSpec) -> bool:
    """Whether Keras draws some of this layer's weights (a seeded initializer the user named):
    each backend draws other numbers from the same seed."""
    return any(
        isinstance(getattr(spec, key), str) and getattr(spec, key) not in SEEDLESS_INITIALIZERS for key in INIT_KEYS
    )


def drawn_weights(specs: list[LayerSpec]) -> list[list[np.ndarray]]:
    """Each spec's weights as this process (TensorFlow) draws them, for run_many(weights=) on
    every backend: a named initializer draws other numbers on jax and torch from the same seed."""
    load_keras()
    with quiet_native_stderr():
        return [prepare(spec).weights for spec in specs]


# ---- results -----------------------------------------------------------------------------
@dataclass
class RunResult:
    """Plain results of one run: nothing here holds a TensorFlow object."""

    spec: LayerSpec
    input: np.ndarray
    outputs: dict[str, np.ndarray]  # in Keras order
    symbolic_shapes: dict[str, tuple[int, ...]]  # layer.compute_output_shape
    weights: list[tuple[str, tuple[int, ...]]]  # (path, shape) in Keras order
    count_params: int
    probe: Probe  # what layers sharing its weights return: the material of the measured facts


def run(spec: LayerSpec) -> RunResult:
    """Build and run one configuration (with its probes)."""
    return run_many([spec])[0]


def run_many(specs: list[LayerSpec], weights: list[list[np.ndarray]] | None = None) -> list[RunResult]:
    """Every configuration in this process, with one TensorFlow import. ``weights`` (one list
    per spec, as drawn_weights gives): set on each layer instead of drawing them here, so that
    several backends run the same numbers."""
    load_keras()
    results = []
    with quiet_native_stderr():
        for index, spec in enumerate(specs):
            progress.configuration(index, len(specs), spec.keras_call())
            with keras_failures(spec.keras_call(), lambda exc, spec=spec: _failure_words(spec, exc)):
                results.append(_run_prepared(spec, prepare(spec, weights=None if weights is None else weights[index])))
    return results


def _failure_words(spec: LayerSpec, exc: BaseException) -> str:
    """Keras' failure in words: its type and first line, and a known failure explained after it."""
    words = f"{type(exc).__name__}: {first_keras_line(exc)}"
    if spec.bidirectional and spec.stateful and spec.return_state and isinstance(exc, TypeError):
        words += (
            " (Keras' Bidirectional.compute_mask fails when stateful=True and return_state=True: drop --return-state)"
        )
    return words


@dataclass
class Prepared:
    """A built layer with the run's weights set, and the run's input and mask."""

    layer: Any
    weights: list[np.ndarray]
    x: np.ndarray
    mask: np.ndarray | None
    states: list[np.ndarray] | None = None  # initial_state, when given

    def call_arguments(self, spec: LayerSpec, rows: Any = None) -> dict[str, Any]:
        """mask, initial_state and training as the spec calls the layer (``rows``: those samples)."""
        kwargs: dict[str, Any] = {}
        if self.mask is not None:
            kwargs["mask"] = self.mask if rows is None else self.mask[rows]
        if self.states is not None:
            kwargs["initial_state"] = [s if rows is None else s[rows] for s in self.states]
        if spec.training:
            kwargs["training"] = True
        return kwargs


def prepare(spec: LayerSpec, weights: list[np.ndarray] | None = None, **overrides: Any) -> Prepared:
    """The layer and input every command uses for ``spec``: the same options and seed give
    the same weights and the same input in inspect, compare, trace and stateful.
    ``overrides`` change constructor flags (see build_layer) but never the numbers; ``weights``
    replace the layer's (drawn once for several backends)."""
    layer = build_layer(spec, **overrides)
    set_deterministic_weights(layer, spec)
    if weights is not None:
        layer.set_weights(weights)
    return Prepared(layer, layer.get_weights(), deterministic_input(spec), input_mask(spec), initial_states(spec))


def _run_prepared(spec: LayerSpec, prepared: Prepared) -> RunResult:
    """Run a prepared layer and its probes (twins built from ``spec``, its cell options included,
    so that they compute what the layer computes)."""
    layer, x = prepared.layer, prepared.x
    raw = flatten(call_layer(layer, x, **prepared.call_arguments(spec)))
    names = spec.output_names()
    if len(raw) != len(names):
        raise BackendError(
            f"Keras returned {len(raw)} tensors where rnnshape expects {len(names)} "
            f"({', '.join(names)}) for {spec.keras_call()}"
        )
    outputs = {name: np.asarray(t) for name, t in zip(names, raw)}
    symbolic = _flat_shapes(layer.compute_output_shape(spec.input_shape))
    symbolic_shapes = {name: tuple(int(d) for d in s) for name, s in zip(names, symbolic)}
    probe = _probe(spec, prepared, raw)
    return RunResult(
        spec=spec,
        input=x,
        outputs=outputs,
        symbolic_shapes=symbolic_shapes,
        weights=[(w.path, tuple(int(d) for d in w.shape)) for w in layer.weights],
        count_params=int(layer.count_params()),
        probe=probe,
    )


def keras_shapes(specs: list[LayerSpec]) -> list[dict[str, Any]]:
    """Only what Keras says about each configuration: eager output shapes and dtypes (in order),
    symbolic compute_output_shape, count_params. For checking the pure model at scale."""
    load_keras()
    answers = []
    with quiet_native_stderr():
        for spec in specs:
            layer = build_layer(spec)
            x = np.zeros(spec.input_shape, np.float32)
            raw = flatten(layer(x))
            symbolic = _flat_shapes(layer.compute_output_shape(spec.input_shape))
            answers.append(
                {
                    "shapes": [tuple(int(d) for d in t.shape) for t in raw],
                    "dtypes": [str(np.asarray(t).dtype) for t in raw],
                    "symbolic": [tuple(int(d) for d in s) for s in symbolic],
                    "count_params": int(layer.count_params()),
                    "weights": [(w.path, tuple(int(d) for d in w.shape)) for w in layer.weights],
                }
            )
    return answers


def _state_names(spec: LayerSpec) -> list[str]:
    """The state names of spec with return_state=True (the probe twins always return states)."""
    return dataclasses.replace(spec, return_state=True).state_names()


def _unmasked_runs(spec: LayerSpec, twin: Any, prepared: Prepared) -> list[UnmaskedRun]:
    """The probe twin (return_sequences and return_state) without a mask on each padded
    sample's valid steps only, x[rows, :length], one call per distinct length."""
    runs = []
    lengths = np.asarray(spec.lengths)
    for length in sorted({int(n) for n in lengths if n < spec.timesteps})[:MAX_UNMASKED_LENGTHS]:
        rows = np.flatnonzero(lengths == length)
        kwargs = prepared.call_arguments(spec, rows)
        kwargs.pop("mask", None)
        outputs = [np.asarray(t) for t in _as_list(call_layer(twin, prepared.x[rows, :length], **kwargs))]
        names = (["forward_output", "backward_output"] if spec.bidirectional else ["output"]) + _state_names(spec)
        runs.append(UnmaskedRun(rows, length, dict(zip(names, outputs))))
    return runs


def _twin(spec: LayerSpec, prepared: Prepared, **overrides: Any) -> Any:
    """A layer with the inspected layer's weights, built with other flags."""
    twin = build_layer(spec, **overrides)
    twin.set_weights(prepared.weights)
    return twin


def _probe(spec: LayerSpec, prepared: Prepared, raw: list[Any] | None = None) -> Probe:
    """Run layers that share the weights, to measure what the returned tensors are (``raw``:
    the call's own tensors, used as the probe's when the twin would be the same call)."""
    probe = Probe()
    layer, x = prepared.layer, prepared.x
    kwargs = prepared.call_arguments(spec)
    if spec.cells is not None:
        return _probe_cells(spec, prepared, probe, raw)
    if spec.stateful:
        targets = [layer.forward_layer, layer.backward_layer] if spec.bidirectional else [layer]
        probe.state_variables = [np.asarray(v.numpy()) for t in targets for v in t.states]
    _cell_option_probes(spec, prepared, probe)
    if fresh_dropout_masks(spec):
        return probe  # measure.inspect keeps to the facts of this one call
    if spec.bidirectional:
        twin = _twin(spec, prepared, return_sequences=True, return_state=True, stateful=False, merge_mode="none")
        fwd, bwd, *states = _as_list(call_layer(twin, x, **kwargs))
        probe.forward_seq, probe.backward_seq = np.asarray(fwd), np.asarray(bwd)
        probe.states = {name: np.asarray(s) for name, s in zip(_state_names(spec), states)}
        if prepared.mask is not None:
            probe.unmasked = _unmasked_runs(spec, twin, prepared)
        return probe
    if raw is not None and spec.probe_is_the_call():
        twin, (seq, *states) = layer, raw
    else:
        twin = _twin(spec, prepared, return_sequences=True, return_state=True, stateful=False)
        seq, *states = _as_list(call_layer(twin, x, **kwargs))
    probe.seq, probe.h = np.asarray(seq), np.asarray(states[0])
    if spec.has_cell_state:
        probe.c = np.asarray(states[1])
    probe.states = {name: np.asarray(s) for name, s in zip(_state_names(spec), states)}
    if prepared.mask is not None:
        probe.unmasked = _unmasked_runs(spec, twin, prepared)
    if spec.go_backwards and prepared.mask is None:
        forward = _twin(spec, prepared, return_sequences=True, return_state=False, stateful=False, go_backwards=False)
        probe.reversed_input_seq = np.asarray(call_layer(forward, x[:, ::-1], **kwargs))
    return probe


def _probe_cells(spec: LayerSpec, prepared: Prepared, probe: Probe, raw: list[Any] | None = None) -> Probe:
    """--layer rnn: the same cells returning every step and every state, and the same weights as a
    chain of ordinary layers (LSTM, GRU, SimpleRNN, each returning its sequence to the next)."""
    keras = load_keras()
    x = prepared.x
    if raw is not None and spec.probe_is_the_call():
        seq, *states = raw
    else:
        twin = _twin(spec, prepared, return_sequences=True, return_state=True, stateful=False)
        seq, *states = flatten(call_layer(twin, x))
    probe.seq = np.asarray(seq)
    probe.states = {name: np.asarray(s) for name, s in zip(_state_names(spec), states)}
    if spec.unroll:
        rolled = _twin(spec, prepared, unroll=False)
        probe.rolled = [np.asarray(t) for t in flatten(call_layer(rolled, x))]
    weights = list(prepared.weights)
    tensor, finals = x, []
    for index, (kind, units) in enumerate(spec.cells):
        cls = getattr(keras.layers, KINDS[kind].keras_class)
        single = cls(units, return_sequences=True, return_state=True, go_backwards=spec.go_backwards and index == 0)
        single.build(tensor.shape)
        count = len(single.weights)
        single.set_weights(weights[:count])
        weights = weights[count:]
        out, *own = flatten(call_layer(single, tensor))
        finals.extend(np.asarray(s) for s in own)
        # go_backwards: the first layer returns its sequence in reading order and the next ones read it
        # as given, as the stacked cells do at each step
        tensor = np.asarray(out)
    probe.chain_seq = tensor
    probe.chain_states = finals
    return probe


def fresh_dropout_masks(spec: LayerSpec) -> bool:
    """With dropout in training, every call draws new masks (seeded per process, not per layer:
    measured with Keras 3.15), so a twin layer's numbers are not comparable."""
    return bool(spec.training and (spec.dropout or spec.recurrent_dropout))


def _cell_option_probes(spec: LayerSpec, prepared: Prepared, probe: Probe) -> None:
    """Twins that answer for dropout, unroll and initial_state: the same weights and input, the
    option taken away (stateful twins are not: their first call is what is compared)."""
    kwargs = prepared.call_arguments(spec)
    base = {"stateful": False}
    if spec.dropout or spec.recurrent_dropout:
        twin = _twin(spec, prepared, dropout=0.0, recurrent_dropout=0.0, **base)
        probe.without_dropout = [np.asarray(t) for t in _as_list(call_layer(twin, prepared.x, **kwargs))]
    if fresh_dropout_masks(spec):
        return  # every other twin would draw other dropout masks: nothing to compare with
    if spec.unroll:
        twin = _twin(spec, prepared, unroll=False, **base)
        probe.rolled = [np.asarray(t) for t in _as_list(call_layer(twin, prepared.x, **kwargs))]
    if prepared.states is not None:
        probe.initial_states = prepared.states
        zero_start = {k: v for k, v in kwargs.items() if k != "initial_state"}
        twin = _twin(spec, prepared, **base)
        probe.zero_start = [np.asarray(t) for t in _as_list(call_layer(twin, prepared.x, **zero_start))]
        if not spec.bidirectional and not spec.conv:
            first = _twin(spec, prepared, return_sequences=True, return_state=False, **base)
            probe.first_step = np.asarray(call_layer(first, prepared.x, **kwargs))[:, 0]
            probe.cell_weights = list(prepared.weights)
            t0 = -1 if spec.go_backwards else 0
            probe.first_input = prepared.x[:, t0]
            probe.first_valid = prepared.mask[:, t0] if prepared.mask is not None else None
    if spec.has_cell_state and spec.use_bias and spec.bias_init is not None and not spec.bidirectional:
        probe.initial_bias = np.asarray(prepared.layer.cell.bias.numpy())


@dataclass
class UnmaskedRun:
    """The probe layer without a mask on some samples' valid steps only, x[rows, :length]."""

    rows: np.ndarray
    length: int
    outputs: dict[str, np.ndarray]  # output (or forward_output, backward_output) and every state


@dataclass
class Probe:
    """Arrays from layers that share the inspected layer's weights.

    seq: h at every step in the order the layer reads the input (plain layers), h/c: final
    states. For Bidirectional, the forward/backward versions (backward flipped to time order).
    """

    seq: np.ndarray | None = None
    h: np.ndarray | None = None
    c: np.ndarray | None = None
    reversed_input_seq: np.ndarray | None = None  # go_backwards=False layer on x[:, ::-1]
    forward_seq: np.ndarray | None = None
    backward_seq: np.ndarray | None = None
    state_variables: list[np.ndarray] = field(default_factory=list)  # stateful: layer.states after the call
    states: dict[str, np.ndarray] = field(default_factory=dict)  # final states of the probe, by name
    unmasked: list[UnmaskedRun] = field(default_factory=list)  # with --lengths: runs on the valid steps only
    without_dropout: list[np.ndarray] | None = None  # the same call, dropout and recurrent_dropout 0
    rolled: list[np.ndarray] | None = None  # with unroll: the same call, unroll=False
    initial_states: list[np.ndarray] | None = None  # the initial_state given
    zero_start: list[np.ndarray] | None = None  # the same call without initial_state
    first_step: np.ndarray | None = None  # h after the first step read, from the given initial_state
    cell_weights: list[np.ndarray] | None = None  # kernel, recurrent_kernel[, bias] as Keras holds them
    first_input: np.ndarray | None = None  # the first step read: x[:, 0], or x[:, -1] with go_backwards
    first_valid: np.ndarray | None = None  # with a mask: is that step valid, per sample
    initial_bias: np.ndarray | None = None  # LSTM bias as --bias-init's Keras initializer drew it
    chain_seq: np.ndarray | None = None  # --layer rnn: the last of the cells as separate layers, every step
    chain_states: list[np.ndarray] | None = None  # --layer rnn: those layers' final states, in Keras' order
