"""The facts of a user's model: its layers as data, the diagnoses (rules of Keras, from
rules.network), and with --x the measured facts of every recurrent layer on the user's data
(captured by the runner with probe copies). --y against the model's output: measure/targets.py."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from rnnshape.measure.checks import EQUAL_TOLERANCE, Check, flat, max_abs_diff
from rnnshape.measure.checks import equal as _equal
from rnnshape.rules.network import diagnose, flag_words, recurrent_kind, tensor_names

if TYPE_CHECKING:
    from rnnshape.runner.model import Capture, ModelRun, ModelWalk


def _shape(shape: Any) -> list[Any]:
    return [None if d is None else int(d) for d in shape]


def layer_rows(walk: ModelWalk) -> list[dict[str, Any]]:
    """Every layer in order as data; recurrent layers with their flags in words and their
    returned tensors named as inspect names them."""
    rows = []
    for index, layer in enumerate(walk.layers):
        row: dict[str, Any] = {
            "index": index,
            "path": layer.path,
            "name": layer.name,
            "class": layer.class_name,
            "depth": layer.depth,
            "container": layer.container,
            "input_shapes": [_shape(s) for s in layer.input_shapes],
            "output_shapes": [_shape(s) for s in layer.output_shapes],
            "params": layer.params,
            "config": dict(layer.config),
            "consumers": [list(c) for c in layer.consumers],
            "mask_in": layer.mask_in,
            "mask_out": layer.mask_out,
            "calls": layer.calls,
            "recurrent": None,
        }
        if layer.inner_class:
            row["inner_class"] = layer.inner_class
        kind = recurrent_kind(layer.class_name, layer.inner_class)
        if kind is not None:
            bidirectional = layer.class_name == "Bidirectional"
            merge_mode = layer.config.get("merge_mode") if bidirectional else None
            main = (2 if merge_mode is None else 1) if bidirectional else 1
            n_states = max(0, (len(layer.output_shapes) - main) // (2 if bidirectional else 1))
            names = tensor_names(kind, layer.config, bidirectional, merge_mode, n_states)
            returns = []
            for position, (name, meaning) in enumerate(names):
                shape = layer.output_shapes[position] if position < len(layer.output_shapes) else None
                used = layer.outputs_used[position] if position < len(layer.outputs_used) else True
                returns.append(
                    {
                        "name": name,
                        "shape": None if shape is None else _shape(shape),
                        "meaning": meaning,
                        "used": used,
                        "taken_by": row["consumers"][position] if position < len(row["consumers"]) else [],
                    }
                )
            row["recurrent"] = {
                "kind": kind,
                "bidirectional": bidirectional,
                "merge_mode": merge_mode,
                "config": {
                    k: v
                    for k, v in layer.config.items()
                    if k
                    in ("units", "filters", "return_sequences", "return_state", "stateful", "go_backwards", "unroll")
                },
                "flags": flag_words(layer.config, merge_mode, bidirectional),
                "returns": returns,
                "initial_state": layer.initial_state,
            }
        rows.append(row)
    return rows


def model_data(walk: ModelWalk, source: dict[str, Any]) -> dict[str, Any]:
    rows = layer_rows(walk)
    return {
        "source": source,
        "model": {
            "name": walk.name,
            "class": walk.class_name,
            "inputs": [{"name": n, "shape": _shape(s), "dtype": d} for n, s, d in walk.inputs],
            "output_shapes": [_shape(s) for s in walk.output_shapes],
            "params": walk.params,
        },
        "layers": rows,
        "diagnoses": diagnose(rows),
        "checks": [],
    }


# ---- measured on the user's data ----------------------------------------------------------
def capture_checks(row: dict[str, Any], capture: Capture) -> list[Check]:
    """What each returned tensor is, measured on the real data through the probe copy."""
    rec = row["recurrent"]
    path, seq_flag = row["path"], bool(rec["config"].get("return_sequences"))
    names = [r["name"] for r in rec["returns"]]
    checks: list[Check] = []
    outputs = dict(zip(names, capture.outputs))
    if rec["bidirectional"]:
        fwd, bwd, *states = capture.probe
        half = len(states) // 2
        fwd_h, bwd_h = states[0], states[half]
        if capture.mask is None:
            checks.append(
                _equal(
                    f"{path}: the forward layer's last step equals forward_state_h (probe with "
                    "return_state=True, same weights)",
                    fwd[:, -1],
                    fwd_h,
                )
            )
        else:
            mask = np.asarray(capture.mask, bool)
            rows = np.arange(mask.shape[0])
            last = mask.shape[1] - 1 - np.argmax(mask[:, ::-1], axis=1)  # each sample's last valid step
            checks.append(
                _equal(
                    f"{path}: the forward layer's h at each sample's last VALID step equals "
                    "forward_state_h (probe with return_state=True, same weights): the padding changes "
                    "no state",
                    fwd[rows, last],
                    fwd_h,
                )
            )
            if (~mask).any():
                zeros = float(np.max(np.abs(flat([fwd[~mask], bwd[~mask]]))))
                checks.append(
                    Check(
                        f"{path}: at the {int(np.count_nonzero(~mask))} masked steps both directions "
                        "return zeros (Bidirectional sets zero_output_for_mask=True with "
                        "return_sequences)",
                        zeros <= EQUAL_TOLERANCE,
                        zeros,
                        "equal",
                    )
                )
        checks.append(
            _equal(
                f"{path}: the backward layer's FIRST step (its sequence flipped back to time order) "
                "equals backward_state_h",
                bwd[:, 0],
                bwd_h,
            )
        )
        a, b = (fwd, bwd) if seq_flag else (fwd[:, -1], bwd[:, 0])
        mode = rec["merge_mode"]
        if mode is None:
            checks.append(
                _equal(
                    f"{path}: forward_output and backward_output equal the probe's two directions",
                    flat([outputs["forward_output"], outputs["backward_output"]]),
                    flat([a, b]),
                )
            )
        else:
            merged = {
                "concat": lambda: np.concatenate([a, b], axis=-1),
                "sum": lambda: a + b,
                "mul": lambda: a * b,
                "ave": lambda: (a + b) / 2,
            }[mode]()
            checks.append(
                _equal(
                    f"{path}: output equals the {mode} of the two directions measured alone", outputs["output"], merged
                )
            )
        for name, probe_state in zip([n for n in names if "state" in n], states):
            checks.append(_equal(f"{path}: {name} in the model equals the probe's", outputs[name], probe_state))
    else:
        seq, *states = capture.probe
        h = states[0]
        checks.append(
            _equal(
                f"{path}: the last step of the full sequence, output[:, -1], equals the final state "
                "state_h (probe with return_sequences=True and return_state=True, same weights)",
                seq[:, -1],
                h,
            )
        )
        own = outputs["output"]
        if seq_flag:
            checks.append(_equal(f"{path}: its output in the model equals the probe's sequence", own, seq))
        else:
            checks.append(_equal(f"{path}: its output in the model (last step only) equals state_h", own, h))
        for name, probe_state in zip([n for n in names if "state" in n], states):
            checks.append(_equal(f"{path}: {name} in the model equals the probe's", outputs[name], probe_state))
        if capture.mask is not None:
            checks.extend(_mask_checks(path, capture.mask, seq, rec["config"].get("go_backwards", False)))
    return checks


def _mask_checks(path: str, mask: np.ndarray, seq: np.ndarray, go_backwards: bool) -> list[Check]:
    """At a masked step Keras keeps the state: h there repeats h of the step before."""
    mask = np.asarray(mask, bool)
    order = mask[:, ::-1] if go_backwards else mask
    kept, previous = [], []
    for i, t in zip(*np.nonzero(~order[:, 1:])):
        kept.append(seq[i, t + 1])
        previous.append(seq[i, t])
    padded = int(np.count_nonzero(~mask.all(axis=1)))
    if not kept:
        return [
            Check(
                f"{path}: the mask masks no step after the first in this data (nothing to measure)", True, 0.0, "equal"
            )
        ]
    diff = max_abs_diff(flat(kept), flat(previous))
    return [
        Check(
            f"{path}: masked samples keep their state: at each of the {len(kept)} masked steps "
            f"({padded} samples with masked steps) h equals h of the step before",
            diff <= EQUAL_TOLERANCE,
            diff,
            "equal",
        )
    ]


def run_data(rows: list[dict[str, Any]], run: ModelRun, xs: list[Any]) -> tuple[list[dict[str, Any]], list[Check]]:
    """Per recurrent layer: what it received and returned on the data, and the measured checks."""
    by_path = {row["path"]: row for row in rows}
    captured, checks = [], []
    for capture in run.captures:
        row = by_path[capture.path]
        names = [r["name"] for r in row["recurrent"]["returns"]]
        entry: dict[str, Any] = {
            "path": capture.path,
            "input_shape": list(capture.input.shape),
            "outputs": [{"name": n, "shape": list(a.shape)} for n, a in zip(names, capture.outputs)],
            "final_states": [
                {"name": n, "shape": list(a.shape)}
                for n, a in zip(_state_labels(row), capture.probe[2 if row["recurrent"]["bidirectional"] else 1 :])
            ],
            "initial_state": capture.initial_state is not None,
        }
        if capture.mask is not None:
            mask = np.asarray(capture.mask, bool)
            entry["mask"] = {
                "masked_steps": int(np.count_nonzero(~mask)),
                "samples_with_masked_steps": int(np.count_nonzero(~mask.all(axis=1))),
            }
        found = capture_checks(row, capture)
        entry["checks"] = [c.to_dict() for c in found]
        captured.append(entry)
        checks += found
    return captured, checks


def _state_labels(row: dict[str, Any]) -> list[str]:
    rec = row["recurrent"]
    if rec["kind"] in ("lstm", "convlstm"):
        own = ["state_h", "state_c"]
    elif rec["kind"] in ("gru", "simplernn"):
        own = ["state_h"]
    else:
        own = [f"state_{i}" for i in range(8)]
    if rec["bidirectional"]:
        return [f"{d}_{n}" for d in ("forward", "backward") for n in own]
    return own
