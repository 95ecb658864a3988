"""Measured facts about one run: claims about the returned tensors, each checked with numpy
and reported with its measured max absolute difference. No TensorFlow here: the runner hands
over plain arrays (the layer's outputs and those of probe layers that share its weights).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from rnnshape.errors import UsageError
from rnnshape.measure.checks import EQUAL_TOLERANCE, Check
from rnnshape.measure.checks import differ as _differ
from rnnshape.measure.checks import equal as _equal
from rnnshape.rules.catalogue import BOUNDED_GATE_ACTIVATIONS, INPUT_KINDS
from rnnshape.rules.expectations import ShapeComparison
from rnnshape.rules.layer import LayerSpec
from rnnshape.versions import versions

if TYPE_CHECKING:
    from rnnshape.runner.layer import Probe
from rnnshape.measure.cell_options import _identical_units, _one_call, _stacked_cells, cell_option_checks
from rnnshape.measure.masking import _last_valid_index, _masking, _padded, _padded_text, masked_steps


def measure(spec: LayerSpec, out: dict[str, np.ndarray], probe: Probe) -> list[Check]:
    """Every fact this configuration allows, measured on this run's arrays."""
    if spec.training and (spec.dropout or spec.recurrent_dropout):
        return _one_call(spec, out) + cell_option_checks(spec, out, probe)
    if spec.cells is not None:
        return _stacked_cells(spec, out, probe) + cell_option_checks(spec, out, probe)
    if spec.bidirectional:
        checks = _bidirectional(spec, out, probe)
    else:
        checks = _plain(spec, out, probe)
    if spec.stateful and probe.state_variables:
        finals = [out[n] for n in spec.state_names()] if spec.return_state else _probe_finals(spec, probe)
        names = spec.state_names() or _probe_state_labels(spec)
        for name, variable, final in zip(names, probe.state_variables, finals):
            checks.append(
                _equal(
                    f"stateful: the layer's state variable now holds {name}, the initial state of the next batch",
                    variable,
                    final,
                )
            )
    if spec.lengths is not None:
        checks.extend(_masking(spec, out, probe))
    if spec.constant_weights:
        checks.append(_identical_units(spec, out))
    checks.extend(cell_option_checks(spec, out, probe))
    return checks


def _probe_finals(spec: LayerSpec, probe: Probe) -> list[np.ndarray]:
    if spec.bidirectional:
        return []
    return [probe.h, probe.c] if spec.has_cell_state else [probe.h]


def _final_label(spec: LayerSpec, kind: str = "h") -> str:
    """The final state's name under the one numbering (the state after reading x_t is h_t)."""
    if spec.go_backwards:
        return f"{kind}_1"
    if spec.lengths is not None:
        return f"{kind} after each sample's last valid step"
    return f"{kind}_T"


def _probe_state_labels(spec: LayerSpec) -> list[str]:
    if spec.bidirectional:
        return []
    return [_final_label(spec, "h"), _final_label(spec, "c")] if spec.has_cell_state else [_final_label(spec)]


def _plain(spec: LayerSpec, out: dict[str, np.ndarray], probe: Probe) -> list[Check]:
    checks: list[Check] = []
    output = out["output"]
    if spec.return_sequences:
        if spec.return_state:
            if spec.go_backwards:
                claim = (
                    "go_backwards: output runs in reversed time order, so its LAST element output[:, -1] equals state_h"
                )
            else:
                claim = "the last step of output, output[:, -1], equals state_h"
            checks.append(_equal(claim, output[:, -1], out["state_h"]))
        else:
            checks.append(
                _equal(
                    "the last step of output, output[:, -1], equals the final hidden "
                    f"state {_final_label(spec)} (probe with return_state=True)",
                    output[:, -1],
                    probe.h,
                )
            )
    else:
        if spec.return_state:
            checks.append(
                _equal(
                    f"output equals state_h (without return_sequences both are {_final_label(spec)})",
                    output,
                    out["state_h"],
                )
            )
        checks.append(
            _equal(
                "output equals the last step of the full sequence "
                "(probe with the same weights and return_sequences=True)",
                output,
                probe.seq[:, -1],
            )
        )
    a = spec.activation
    if spec.has_cell_state and spec.return_state:
        checks.append(
            _differ(
                f"state_c differs from state_h (c is the cell state, h = o * {a}(c))", out["state_c"], out["state_h"]
            )
        )
    if spec.has_cell_state and spec.return_state and spec.recurrent_activation in BOUNDED_GATE_ACTIVATIONS:
        # h = o * a(c) with 0 <= o <= 1; the reported figure is how far the bound is exceeded.
        from rnnshape.measure.cells import activation

        bound = np.abs(activation(a)(np.asarray(out["state_c"], np.float64)))
        excess = float(max(0.0, np.max(np.abs(out["state_h"]) - bound)))
        checks.append(
            Check(
                f"|state_h| <= |{a}(state_c)| element-wise, as h = o * {a}(c) with 0 <= o <= 1 "
                f"({spec.recurrent_activation} gates)",
                excess <= EQUAL_TOLERANCE,
                excess,
                "bound",
            )
        )
    if spec.go_backwards and probe.reversed_input_seq is not None:
        checks.append(
            _equal(
                "go_backwards=True gives the same h sequence as go_backwards=False "
                "reading the time-reversed input x[:, ::-1]",
                probe.seq,
                probe.reversed_input_seq,
            )
        )
    return checks


def _bidirectional(spec: LayerSpec, out: dict[str, np.ndarray], probe: Probe) -> list[Check]:
    checks: list[Check] = []
    u, seq, mode = spec.units, spec.return_sequences, spec.merge_mode
    fwd, bwd = probe.forward_seq, probe.backward_seq  # (B, T, U), both in time order
    # The backward layer ends at the FIRST step. Under a mask the forward layer ends at each
    # sample's last valid step, and Bidirectional zeroes the masked steps of the sequences.
    last = _last_valid_index(spec)
    rows = np.arange(spec.batch)
    fwd_final, bwd_final = fwd[rows, last], bwd[:, 0]
    masked = spec.lengths is not None
    lo, hi = ("..., :filters", "..., filters:") if spec.conv else (":units", "units:")
    at_last = "the LAST valid step" if masked else "the LAST step"
    last_index = "i, length_i - 1" if masked else ":, -1"
    if spec.return_state:
        if mode == "concat":
            if seq:
                checks.append(
                    _equal(
                        f"forward_state_h equals the forward half of output at {at_last}, output[{last_index}, {lo}]",
                        out["output"][rows, last][..., :u],
                        out["forward_state_h"],
                    )
                )
                checks.append(
                    _equal(
                        f"backward_state_h equals the backward half of output at the FIRST step, output[:, 0, {hi}]",
                        out["output"][:, 0][..., u:],
                        out["backward_state_h"],
                    )
                )
            else:
                checks.append(
                    _equal(f"forward_state_h equals output[:, {lo}]", out["output"][..., :u], out["forward_state_h"])
                )
                checks.append(
                    _equal(f"backward_state_h equals output[:, {hi}]", out["output"][..., u:], out["backward_state_h"])
                )
        elif mode == "none":
            if seq:
                checks.append(
                    _equal(
                        f"forward_state_h equals forward_output at {at_last}",
                        out["forward_output"][rows, last],
                        out["forward_state_h"],
                    )
                )
                checks.append(
                    _equal(
                        "backward_state_h equals backward_output at the FIRST step "
                        "(the backward layer's sequence is flipped back to time order)",
                        out["backward_output"][:, 0],
                        out["backward_state_h"],
                    )
                )
            else:
                checks.append(
                    _equal("forward_state_h equals forward_output", out["forward_output"], out["forward_state_h"])
                )
                checks.append(
                    _equal("backward_state_h equals backward_output", out["backward_output"], out["backward_state_h"])
                )
        else:
            checks.append(
                _equal(f"forward_state_h equals the forward layer's h at {at_last}", fwd_final, out["forward_state_h"])
            )
            checks.append(
                _equal(
                    "backward_state_h equals the backward layer's h at the FIRST step",
                    bwd_final,
                    out["backward_state_h"],
                )
            )
        if spec.has_cell_state:
            checks.append(
                _differ("forward_state_c differs from forward_state_h", out["forward_state_c"], out["forward_state_h"])
            )
    a, b = (fwd, bwd) if seq else (fwd_final, bwd_final)
    if mode in ("concat", "sum", "mul", "ave"):
        merged = {
            "concat": lambda: np.concatenate([a, b], axis=-1),
            "sum": lambda: a + b,
            "mul": lambda: a * b,
            "ave": lambda: (a + b) / 2,
        }[mode]()
        formula = {
            "concat": "concat([forward, backward], axis=-1)",
            "sum": "forward + backward",
            "mul": "forward * backward",
            "ave": "(forward + backward) / 2",
        }[mode]
        checks.append(
            _equal(f"output equals {formula} (each direction measured alone, same weights)", out["output"], merged)
        )
    else:
        checks.append(
            _equal(
                "forward_output and backward_output equal the two directions measured alone",
                np.stack([out["forward_output"], out["backward_output"]]),
                np.stack([a, b]),
            )
        )
    return checks


def layer_data(spec: LayerSpec, result: Any = None, *, values: bool = False) -> dict[str, Any]:
    """The inspect object for one configuration, its facts measured. ``result`` is the runner's
    RunResult, or None for --static (names, shapes and parameters from the pure model only)."""
    if result is None and spec.keras_refusal():
        raise UsageError(
            f"--static cannot answer for {spec.keras_call()}: {spec.keras_refusal()}; "
            "drop --static to see what Keras itself says"
        )
    outputs = []
    for tensor in spec.outputs():
        shape = list(result.outputs[tensor.name].shape) if result is not None else list(tensor.shape)
        entry = {
            "name": tensor.name,
            "shape": shape,
            "axes": list(tensor.axes),
            "dtype": str(result.outputs[tensor.name].dtype) if result is not None else tensor.dtype,
            "meaning": tensor.meaning,
        }
        if values and result is not None:
            entry["values"] = result.outputs[tensor.name].tolist()
        outputs.append(entry)
    if result is not None:
        weights = [{"name": name, "shape": list(shape)} for name, shape in result.weights]
    else:
        weights = [{"name": w.name, "shape": list(w.shape)} for w in spec.weights()]
    params: dict[str, Any] = {"total": spec.param_total(), "formula": spec.param_formula(), "weights": weights}
    if spec.cells is not None:
        params["cells"] = spec.cell_params()
    data: dict[str, Any] = {
        "config": spec.config(),
        "keras_call": spec.keras_call(),
        "call": spec.call_text(),
        "keras_input": spec.keras_input(),
        "input": {
            "shape": list(spec.input_shape),
            "axes": list(spec.input_axes),
            "dtype": "float32",
            "source": spec.input,
            "notes": input_notes(spec),
        },
        "outputs": outputs,
        "params": params,
        "h_vs_c": spec.h_vs_c(),
        "static": result is None,
        "versions": versions(),
    }
    if spec.initial_state is not None:
        data["initial_state"] = {
            "source": spec.initial_state,
            "names": [name for name, _ in spec.initial_state_shapes()],
            "shapes": [list(shape) for _, shape in spec.initial_state_shapes()],
        }
        if values and result is not None and result.probe.initial_states is not None:
            data["initial_state"]["values"] = [s.tolist() for s in result.probe.initial_states]
    voided, notes = voided_facts(spec), option_notes(spec)
    if voided:
        data["voided_facts"] = voided
    if notes:
        data["notes"] = notes
    if result is not None:
        params["keras_count_params"] = result.count_params
        data["checks"] = [c.to_dict() for c in measure(spec, result.outputs, result.probe)]
        if spec.lengths is not None:
            data["masking"] = masked_steps(spec, result.outputs)
        if values:
            data["input"]["values"] = result.input.tolist()
    else:
        data["checks"] = []
        data["not_measured"] = "values and measured checks need a real run: drop --static"
    return data


def voided_facts(spec: LayerSpec) -> list[str]:
    """Facts rnnshape measures for the default options that the chosen options void: said, not
    printed as checks."""
    voided = []
    if spec.has_cell_state and spec.recurrent_activation not in BOUNDED_GATE_ACTIVATIONS:
        voided.append(
            f"|h| <= |{spec.activation}(c)|: recurrent_activation {spec.recurrent_activation} does not "
            "keep the output gate o in [0, 1]"
        )
    if spec.training and (spec.dropout or spec.recurrent_dropout):
        voided.append(
            "the facts that compare with other calls (probes, masking, Bidirectional halves, unroll, "
            "initial_state): with dropout in training every call draws new dropout masks (the same run "
            "after run, not from call to call)"
        )
    return voided


def option_notes(spec: LayerSpec) -> list[str]:
    """Rules of Keras about the chosen options, said once under the tables."""
    notes = []
    if spec.recurrent_dropout and not spec.conv:
        notes.append(
            "recurrent_dropout > 0 makes Keras compute the cell step by step (implementation=1) and "
            "never with the fused cuDNN kernel on a GPU (rule of Keras)"
        )
    if (spec.dropout or spec.recurrent_dropout) and not spec.training:
        notes.append(
            "dropout acts only when the layer is called with training=True (as model.fit does); "
            "add --training to see it"
        )
    if spec.unit_forget_bias is False and spec.use_bias and spec.bias_init is None:
        notes.append(
            "unit_forget_bias only sets the bias at initialization; rnnshape's own seeded weights replace "
            "it (give --bias-init to see Keras' initial bias)"
        )
    if spec.unroll:
        notes.append(
            "unroll=True builds one copy of the step per timestep: faster for short sequences, memory "
            "grows with timesteps (Keras: suitable for short sequences only)"
        )
    if spec.use_cudnn not in (None, "auto"):
        notes.append(
            f"use_cudnn={spec.use_cudnn.title()} is not saved: Keras leaves it out of get_config(), so a saved "
            "model loads with use_cudnn='auto' (rule of Keras, measured in tests/test_cell_options.py)"
        )
    if spec.bidirectional and spec.unroll and spec.lengths is not None and spec.return_sequences:
        notes.append(
            "Keras 3's unrolled loop zeroes the masked steps of the backward direction at the wrong "
            "positions (it applies the mask in time order to outputs in reading order: "
            "keras/src/backend/tensorflow/rnn.py, unroll with zero_output_for_mask); the facts above "
            "that say NO show it"
        )
    return notes


def input_notes(spec: LayerSpec) -> list[str]:
    """Why the input has the shape it has, and what makes its numbers special."""
    notes: list[str] = list(spec.conv_arithmetic())
    if spec.input not in INPUT_KINDS:
        from rnnshape.files import load_input_file

        notes = list(load_input_file(spec.input).notes)
    padding = padding_note(spec)
    if padding:
        notes.append(padding)
    if spec.constant_weights:
        notes.append(
            "constant initializers: every unit has identical weights, so every unit computes the "
            "same number (which is why tutorials print repeated columns)"
        )
    return notes


def padding_note(spec: LayerSpec) -> str | None:
    """With --input FILE and --lengths: the file's numbers past each length are replaced by zeros
    (rnnshape pads every input with zeros after each sample's length), counted on the file."""
    if spec.lengths is None or spec.input in INPUT_KINDS or not _padded(spec):
        return None
    from rnnshape.files import load_input_file

    array = load_input_file(spec.input).array
    replaced = sum(int(np.count_nonzero(array[i, n:])) for i, n in _padded(spec))
    return (
        f"--lengths: the file's values at the padded steps ({_padded_text(spec)}) were replaced by zeros "
        f"({replaced} of them were not zero): rnnshape pads every sample with zeros after its length, "
        "like keras.utils.pad_sequences(..., padding='post') with its default value 0 (rule of Keras), and "
        "the mask makes Keras skip those steps"
    )


def expectations_data(comparisons: list[ShapeComparison]) -> list[dict[str, Any]]:
    return [
        {
            "name": c.name,
            "expected": list(c.expected),
            "actual": list(c.actual) if c.actual is not None else None,
            "holds": c.holds,
            "hint": c.hint,
        }
        for c in comparisons
    ]
