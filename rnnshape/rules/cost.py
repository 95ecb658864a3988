"""What a run costs, estimated before anything runs (the size guard, rules/limits.py, and the choice
between an eager and a compiled run): the constants measured on a 2-core CPU (their calibration:
docs/performance.md) and the estimates of one layer. Pure.
"""

from __future__ import annotations

from typing import Any

from rnnshape.rules.catalogue import BYTES_PER_FLOAT, GATES, _product

DEFAULT_MAX_MEMORY_MB = 4096

# A rough cost of Keras' work, only to refuse in advance runs that would take minutes: eager
# Keras reads a sequence one step at a time at ~1.4 ms per step and direction whatever the
# sizes (measured on a 2-core CPU, Keras 3.15 on TensorFlow 2.21), plus the arithmetic, plus
# drawing and setting the weights. The arithmetic rate was measured on the scale example
# (LSTM 1024 units, 1000 steps, batch 32: about 5e10 multiply-adds per second on 2 cores, AVX-512);
# 4e10 keeps the estimate a little above the real run.
SECONDS_PER_STEP = 0.0015

FLOPS_PER_SECOND = 4e10

SECONDS_PER_WEIGHT = 2.5e-8  # drawing and setting a weight (was 4e-8 before builds skipped the initializers)


# Compiled (tf.function around the layer call, Keras' own while loop in a graph): 20-45 us per
# step and direction by layer, 2e-8 s per batch x units value of each step, plus tracing the call
# once per layer and direction (~0.1 s); and per configuration, building the layers and measuring
# the facts (~0.15 s). Calibrated with tests/benchmarks/estimates.py (estimate/measured within 2x
# for timesteps 3-200,000, units 1-1,024, batch 1-256) on the machine of docs/performance.md.
COMPILED_SECONDS_PER_STEP = {"lstm": 2.2e-5, "gru": 2.8e-5, "simplernn": 1.2e-5}

COMPILED_SECONDS_PER_VALUE = 2e-8

TRACE_SECONDS = 0.08

SECONDS_PER_RUN = 0.2  # once per command: the first layer built and called in the process

SECONDS_PER_CONFIGURATION = 0.03


# Memory: what any run holds beyond the import (TensorFlow's buffers, the traced graphs), and
# what a compiled loop keeps per step and direction (two passes).
BYTES_PER_RUN = 16 * 2**20

COMPILED_BYTES_PER_STEP = 384

COMPILED_BYTES_PER_TRACE = 4 * 2**20  # the traced graphs of one configuration (two passes)

RUN_MODES = ("eager", "compiled")

DEFAULT_MAX_SECONDS = 60


# Numbers shown (--values, stateful's states) become Python floats in lists and JSON text.
SECONDS_PER_SHOWN_VALUE = 3e-6

BYTES_PER_SHOWN_VALUE = 96


def pass_seconds(
    layer: str, units: int, features: int, batch: int, timesteps: int, directions: int = 1, compiled: bool = False
) -> float:
    """The estimated seconds of one pass of a recurrent layer over a sequence: eager (one Python
    step per timestep), or ``compiled`` (tracing once, then a graph's steps). Compiled, the two
    directions of a Bidirectional layer are two independent loops of one graph, which TensorFlow
    runs concurrently (measured: GRU(128) on (64, 1000, 8), 0.14 s a call alone and 0.14 s
    Bidirectional): one direction's steps and arithmetic, both directions traced."""
    if compiled and directions > 1:
        return pass_seconds(layer, units, features, batch, timesteps, 1, True) + (directions - 1) * TRACE_SECONDS
    flops = directions * batch * timesteps * 2 * GATES[layer] * units * (units + features)
    return step_seconds(directions, timesteps, compiled, layer, batch * units) + flops / FLOPS_PER_SECOND


def step_seconds(directions: int, timesteps: int, compiled: bool, layer: str = "lstm", values: int = 1) -> float:
    """The cost of reading a sequence step by step, apart from the arithmetic (``values``: batch
    x units of one step)."""
    if compiled:
        per_step = COMPILED_SECONDS_PER_STEP.get(layer, COMPILED_SECONDS_PER_STEP["lstm"])
        return directions * (TRACE_SECONDS + timesteps * (per_step + values * COMPILED_SECONDS_PER_VALUE))
    return directions * timesteps * SECONDS_PER_STEP


def choose_mode(eager: float, compiled: float, eager_only: str | None = None) -> tuple[str, str]:
    """("eager" or "compiled", why) for a run estimated at ``eager`` and ``compiled`` seconds;
    ``eager_only`` names a reason that keeps the run eager whatever the estimate."""
    if eager_only:
        return "eager", eager_only
    if compiled < eager:
        return "compiled", f"estimated {_seconds_text(compiled)} compiled against {_seconds_text(eager)} eager"
    return "eager", f"estimated {_seconds_text(eager)} eager against {_seconds_text(compiled)} compiled (tracing)"


def group_mode(items: list[tuple[Any, int]]) -> tuple[str, str, float]:
    """(mode, why, estimated seconds) of one run of several configurations ((spec, passes) each):
    compiled when the sum of the estimates says it pays; eager when one of them must be."""
    eager = sum(spec.estimated_seconds(passes, "eager") for spec, passes in items)
    compiled = sum(spec.estimated_seconds(passes, "compiled") for spec, passes in items)
    reasons = [reason for reason in (spec.eager_only() for spec, _ in items) if reason]
    mode, why = choose_mode(eager, compiled, reasons[0] if reasons else None)
    return mode, why, SECONDS_PER_RUN + (compiled if mode == "compiled" else eager)


def group_bytes(specs: list[Any]) -> int:
    """The memory of one run of several configurations (whose results are all kept)."""
    return BYTES_PER_RUN + sum(spec.estimated_bytes() - BYTES_PER_RUN for spec in specs)


def _seconds_text(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:,.0f} s"


class LayerCost:
    """LayerSpec's cost (a mixin: LayerSpec holds the fields)."""

    # ---- size -----------------------------------------------------------------------
    def estimated_bytes(self) -> int:
        """A generous estimate of the memory a run needs: weights, input, every step's
        gate activations and outputs (twice for Bidirectional and for the probe runs)."""
        b, t, g = self.batch, self.timesteps, GATES[self.layer]
        directions = 2 if self.bidirectional else 1
        floats = self.param_total() * 6  # drawn in float64, a float32 copy, the layer's and its twin's variables
        floats += _product(self.input_shape) * 2  # input and its reversed copy
        if self.run_mode(2)[0] == "compiled":  # the graph keeps the sequences only: loop, twin, numpy copies
            # (stateful: the chunks, the rerun, the fresh layer, the one pass and the model keep theirs)
            copies = 3 if not self.stateful else 24 if self.return_sequences else 6
            floats += directions * b * t * _product(self.state_shape) * copies
            return (
                BYTES_PER_RUN
                + floats * BYTES_PER_FLOAT
                + directions * (t * COMPILED_BYTES_PER_STEP + COMPILED_BYTES_PER_TRACE)
            )
        floats += directions * b * t * _product(self.state_shape) * (g + 4) * 3  # gates, h, c, outputs; probes
        return BYTES_PER_RUN + floats * BYTES_PER_FLOAT  # BYTES_PER_RUN: once per command (see group_bytes)

    def value_count(self) -> int:
        """The numbers --values shows: the input and every returned tensor."""
        count = _product(self.input_shape)
        for tensor in self.outputs():
            count += _product(tensor.shape)
        return count

    def estimated_seconds(self, passes: int, mode: str | None = None) -> float:
        """A rough estimate of ``passes`` passes over the sequence, each building the layer and
        setting its weights, in ``mode`` ("eager", "compiled"; None: the one run_mode chooses)."""
        if mode is None:
            mode = self.run_mode(passes)[0]
        compiled = mode == "compiled"
        directions = 2 if self.bidirectional else 1
        one = pass_seconds(self.layer, self.units, self.features, self.batch, self.timesteps, directions, compiled)
        if self.conv:  # every output position does a dense cell's work, kernel_area times over
            flops = (
                directions
                * self.batch
                * self.timesteps
                * _product(self.out_spatial)
                * 2
                * GATES[self.layer]
                * self.kernel_area
                * self.units
                * (self.units + self.features)
            )
            one = (
                step_seconds(directions, self.timesteps, compiled, "lstm", self.batch * _product(self.state_shape))
                + flops / FLOPS_PER_SECOND
            )
        return SECONDS_PER_CONFIGURATION + passes * (one + self.param_total() * SECONDS_PER_WEIGHT)

    def probe_is_the_call(self) -> bool:
        """The probe twin (return_sequences=True, return_state=True, not stateful, same weights
        and call) would be this very configuration: the runner takes the call's own tensors as
        the probe's instead of running it again. No fact then compares the twin with the call:
        each reads the call's own tensors (no Keras slicing stands in for a claim under test)."""
        return self.return_sequences and self.return_state and not self.stateful and not self.bidirectional

    def eager_only(self) -> str | None:
        """Why this configuration is run eagerly whatever its size, or None."""
        if self.training and (self.dropout or self.recurrent_dropout):
            return (
                "dropout with training=True: Keras draws the dropout masks inside the call and keeps them on "
                "the cell, so the run stays eager, as a user's call would draw them"
            )
        if self.unroll:
            return "unroll=True: Keras writes out every step in Python, so tracing a graph costs as much as the run"
        return None

    def run_mode(self, passes: int) -> tuple[str, str]:
        """("eager" or "compiled", why): compiled when the estimate says tracing pays."""
        return choose_mode(
            self.estimated_seconds(passes, "eager"), self.estimated_seconds(passes, "compiled"), self.eager_only()
        )
