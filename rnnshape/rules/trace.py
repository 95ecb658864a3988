"""rnnshape trace, the pure part: the options (--steps, --sample, --reset-after), the
equations and weight layouts as Keras defines them, and which steps a table shows. The
recomputation and its checks against Keras are in measure.trace.
"""

from __future__ import annotations

import re
from typing import Any

from rnnshape.errors import SpecError

# Terminal elision: sequences longer than this show the first and last SHOWN_EDGE steps read.
MAX_STEPS_SHOWN = 12
SHOWN_EDGE = 5


# ---- options ----------------------------------------------------------------------------------
_STEPS = re.compile(r"^\s*[0-9]+\s*(-\s*[0-9]+\s*)?(,\s*[0-9]+\s*(-\s*[0-9]+\s*)?)*$")


def parse_steps(text: str, timesteps: int) -> tuple[int, ...]:
    """'1-3,10' -> (1, 2, 3, 10): timesteps t as in x_t (1-based), sorted, each once."""
    if not _STEPS.match(text or "") or len(text) > 10_000:
        raise SpecError("steps", f"{text!r} is not a list of timesteps and ranges such as 1-3,10")
    chosen: set[int] = set()
    for part in text.replace(" ", "").split(","):
        low, _, high = part.partition("-")
        first, last = int(low), int(high or low)
        if first > last:
            raise SpecError("steps", f"the range {part} runs backwards: write it as {last}-{first}")
        if first < 1 or last > timesteps:
            raise SpecError("steps", f"{part} is outside 1..{timesteps} (timesteps are counted from 1, as in x_1)")
        chosen.update(range(first, last + 1))
    return tuple(sorted(chosen))


def check_sample(sample: int, batch: int) -> None:
    if not 0 <= sample < batch:
        raise SpecError("sample", f"{sample} is not in 0..{batch - 1} (samples are counted from 0; --batch is {batch})")


def equations(
    layer: str, activation: str | None, recurrent_activation: str | None, reset_after: bool | None
) -> list[dict[str, str]]:
    """The cell's equations as Keras computes them, with the layer's activations filled in."""
    a, ra = activation or "linear", recurrent_activation or "linear"
    if layer == "lstm":
        rows = [
            (f"i_t = {ra}(x_t W_i + h_(t-1) U_i + b_i)", "input gate"),
            (f"f_t = {ra}(x_t W_f + h_(t-1) U_f + b_f)", "forget gate"),
            (f"g_t = {a}(x_t W_c + h_(t-1) U_c + b_c)", "candidate (Keras' 'c' block)"),
            (f"o_t = {ra}(x_t W_o + h_(t-1) U_o + b_o)", "output gate"),
            ("c_t = f_t * c_(t-1) + i_t * g_t", "cell state: the memory; never a step's output"),
            (f"h_t = o_t * {a}(c_t)", "hidden state: the step's output"),
            ("h_0 = 0, c_0 = 0", "the initial states"),
        ]
    elif layer == "gru":
        if reset_after:
            rows = [
                (f"z_t = {ra}(x_t W_z + b_z + h_(t-1) U_z + b'_z)", "update gate"),
                (f"r_t = {ra}(x_t W_r + b_r + h_(t-1) U_r + b'_r)", "reset gate"),
                (f"h~_t = {a}(x_t W_h + b_h + r_t * (h_(t-1) U_h + b'_h))", "candidate: reset AFTER U_h"),
            ]
        else:
            rows = [
                (f"z_t = {ra}(x_t W_z + h_(t-1) U_z + b_z)", "update gate"),
                (f"r_t = {ra}(x_t W_r + h_(t-1) U_r + b_r)", "reset gate"),
                (f"h~_t = {a}(x_t W_h + (r_t * h_(t-1)) U_h + b_h)", "candidate: reset BEFORE U_h"),
            ]
        rows += [
            ("h_t = z_t * h_(t-1) + (1 - z_t) * h~_t", "hidden state: the step's output"),
            ("h_0 = 0", "the initial state"),
        ]
    else:
        rows = [
            (f"h_t = {a}(x_t W + h_(t-1) U + b)", "hidden state: the step's output"),
            ("h_0 = 0", "the initial state"),
        ]
    return [{"equation": e, "what": w} for e, w in rows]


def weights_layout(layer: str, reset_after: bool | None) -> str:
    """Where each gate's weights sit in Keras' fused kernels (rule of Keras)."""
    if layer == "lstm":
        return (
            "kernel W (features, 4*units) and recurrent_kernel U (units, 4*units) hold the gates side by "
            "side as [i | f | c | o]; bias (4*units,) the same"
        )
    if layer == "gru":
        bias = (
            "bias (2, 3*units): row 0 the input bias b, row 1 the recurrent bias b'"
            if reset_after
            else "bias (3*units,): one row"
        )
        return (
            "kernel W (features, 3*units) and recurrent_kernel U (units, 3*units) hold the gates side by "
            f"side as [z | r | h]; {bias}"
        )
    return "kernel W (features, units), recurrent_kernel U (units, units), bias b (units,)"


def reading_text(direction: str, timesteps: int) -> str:
    if direction == "forward":
        return f"reads x_1 -> x_{timesteps} (time order)"
    if timesteps == 1:
        return "reads x_1 (reversed: go_backwards=True, one step)"
    return (
        f"reads x_{timesteps} -> x_1 (reversed: go_backwards=True); h_t is h after reading x_t, so in "
        f"the equations h_(t-1), the state before the step, is h_(t+1) here (zeros before x_{timesteps}), "
        "and the final h is h_1"
    )


# ---- the data object ------------------------------------------------------------------------------
def shown_steps(timesteps: int, chosen: tuple[int, ...] | None) -> tuple[list[int] | None, str | None]:
    """Reading positions (0-based) the terminal shows when --steps is not given (None: all),
    and a note when steps are elided."""
    if chosen is not None or timesteps <= MAX_STEPS_SHOWN:
        return None, None
    positions = list(range(SHOWN_EDGE)) + list(range(timesteps - SHOWN_EDGE, timesteps))
    note = (
        f"showing {2 * SHOWN_EDGE} of {timesteps} steps (the first and last {SHOWN_EDGE} read); "
        f"choose others with --steps, e.g. --steps 1-3,{timesteps}; --json has every step"
    )
    return positions, note


# trace recomputes every step in float64 numpy (measure/trace.py), checks it (once more, read the
# other way) and writes every step into its data. Measured on 2 cores (tests/benchmarks/
# estimates.py; recompute, checks and data about equal shares): ~70 us of Python per step and
# direction, the cell's matrix products at ~7.5e9 float64 operations a second, and ~225 ns per
# value of h for an LSTM's gates and states (scaled by the gates for GRU and SimpleRNN); every
# step's gates, h and c kept for every sample (twice: the arrays and the view's data).
RECOMPUTE_SECONDS_PER_STEP = 7e-5
RECOMPUTE_FLOPS_PER_SECOND = 7.5e9
RECOMPUTE_SECONDS_PER_VALUE = 2.25e-7  # an LSTM's (4 gates + 4); GATES + 4 of 8 for the others
RECOMPUTE_BYTES_PER_STEP = 2048


def recompute_cost(spec: Any) -> tuple[int, float]:
    """(bytes, seconds) of trace's numpy recomputation of ``spec``, beyond the Keras run."""
    from rnnshape.rules.catalogue import GATES

    directions = 2 if spec.bidirectional else 1
    steps = directions * spec.timesteps
    values = steps * spec.batch * spec.units
    flops = values * 2 * GATES[spec.layer] * (spec.units + spec.features)
    seconds = (
        steps * RECOMPUTE_SECONDS_PER_STEP
        + flops / RECOMPUTE_FLOPS_PER_SECOND
        + values * RECOMPUTE_SECONDS_PER_VALUE * (GATES[spec.layer] + 4) / 8
    )
    return values * (GATES[spec.layer] + 4) * 8 * 2 + steps * RECOMPUTE_BYTES_PER_STEP, seconds
