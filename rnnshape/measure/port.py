"""The facts of rnnshape port: the weights converted by the rules of rnnshape.rules.port, and each
returned tensor of the Keras layer against its torch.nn expression, measured."""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnshape.measure.checks import EQUAL_TOLERANCE, Check, differ, equal
from rnnshape.rules.port import Port


def to_torch(port: Port, keras_weights: list[np.ndarray]) -> dict[str, np.ndarray]:
    """The torch state_dict (numpy arrays, torch's key order) from the Keras weights."""
    rows = port.block_index()
    state = {}
    for rule in port.weight_rules():
        source = np.asarray(keras_weights[rule["keras_index"]], np.float32)
        if rule["transpose"]:
            value = source[:, rows].T
        elif rule["row"] is not None:
            value = source[rule["row"]][rows]
        elif rule["zeros"]:
            value = np.zeros(len(rows), np.float32)
        else:
            value = source[rows]
        state[rule["torch"]] = np.ascontiguousarray(value, np.float32)
    return state


def to_keras(port: Port, state: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The Keras weights (every layer's set_weights() list, concatenated) from a torch state_dict."""
    rows = port.block_index()
    weights = []
    for rule in port.keras_rules():
        sources = [np.asarray(state[name], np.float32) for name in rule["torch"]]
        if rule["transpose"]:
            value = sources[0][rows].T
        elif rule["stack_rows"]:
            value = np.stack([sources[0][rows], sources[1][rows]])
        else:
            value = sources[0][rows] + sources[1][rows]
        weights.append(np.ascontiguousarray(value, np.float32))
    return weights


def read_part(part: dict[str, Any], torch_outputs: dict[str, np.ndarray], units: int) -> np.ndarray:
    value = torch_outputs[part["tensor"]]
    if "index" in part:
        return value[part["index"]]
    if part.get("last_step"):
        return value[:, -1]
    if part.get("half") == "forward":
        return value[..., :units]
    if part.get("half") == "backward":
        return value[..., units:]
    return value


def read_across(rule: dict[str, Any], torch_outputs: dict[str, np.ndarray], units: int) -> np.ndarray:
    """The Keras tensor of ``rule`` computed from torch's output, h_n and c_n."""
    values = [read_part(p, torch_outputs, units) for p in rule["parts"]]
    combine = rule["combine"]
    if combine in (None, "none"):
        return values[0]
    a, b = values
    return {
        "concat": lambda: np.concatenate([a, b], axis=-1),
        "sum": lambda: a + b,
        "mul": lambda: a * b,
        "ave": lambda: (a + b) / 2,
    }[combine]()


def compare_outputs(
    port: Port, keras_outputs: dict[str, np.ndarray], torch_outputs: dict[str, np.ndarray]
) -> tuple[list[dict[str, Any]], list[Check]]:
    """Per Keras output: its torch expression, both shapes and the measured max |difference|."""
    rows, checks = [], []
    for rule in port.output_rules():
        ours = keras_outputs[rule["keras"]]
        theirs = read_across(rule, torch_outputs, port.spec.units)
        claim = f"Keras {rule['keras']} == torch {rule['torch']}"
        if rule["expect"] == "differ":
            claim = f"Keras {rule['keras']} != torch {rule['torch']} ({rule['why']})"
        if ours.shape != theirs.shape:
            check = Check(
                claim + f" (shapes {list(ours.shape)} and {list(theirs.shape)})",
                rule["expect"] == "differ",
                float("inf"),
                rule["expect"],
            )
        else:
            check = (equal if rule["expect"] == "equal" else differ)(claim, ours, theirs)
        if rule["expect"] == "equal":  # the other rows show a common mistake, measured, never an error
            checks.append(check)
        rows.append(
            {
                "keras": rule["keras"],
                "keras_shape": list(ours.shape),
                "torch": rule["torch"],
                "torch_shape": list(theirs.shape),
                "expect": rule["expect"],
                "max_abs_diff": check.max_abs_diff,
                "holds": check.holds,
                **({"why": rule["why"]} if "why" in rule else {}),
            }
        )
    return rows, checks


def weight_checks(port: Port, keras_weights: list[tuple[str, np.ndarray]]) -> list[Check]:
    """The Keras weights the run holds are those the rules name (paths and shapes, in order)."""
    expected = port.keras_weight_paths()
    got = [(path, tuple(array.shape)) for path, array in keras_weights]
    same_shapes = [s for _, s in expected] == [s for _, s in got]
    return [
        Check(
            f"the Keras layer holds {len(expected)} weights in the order and shapes the mapping reads",
            same_shapes,
            0.0 if same_shapes else float("inf"),
            "equal",
        )
    ]


def tolerance() -> float:
    return EQUAL_TOLERANCE
