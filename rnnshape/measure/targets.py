"""Targets against a model's output, judged by what Keras' loss really does: the one rule used by
`model --y`, `why --model --y` and `rnnshape.explain(..., y=...)`.

Keras 3 reconciles the ranks of y and the prediction before a loss compares them (losses/loss.py
`squeeze_or_expand_to_same_rank`: y (N,) against (N, 1) is expanded, y (B, T) against (B, T, 1)
has the prediction's trailing 1 dropped); the sparse losses take one integer label per prediction
row. Rather than reason about it, the rule measures it: the loss (the one recorded in the file,
the one the live model was compiled with, or a named assumption) on y as given and on y reshaped
to the shape the loss expects. Equal: Keras pairs each target with its prediction, nothing is
broadcast. Different, or y holding another number of targets than the predictions: the
broadcast, named with the sizes and the loss. Integer labels for a categorical loss, or one-hot
rows for a sparse one, is its own diagnosis: the label encoding."""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnshape.rules.network import diagnosis, is_time_axis_head
from rnnshape.rules.targets import assumed_loss, encoding_problem, is_sparse, loss_label, per_element_words, sizes_text
from rnnshape.rules.words import shape_text

TOLERANCE = 1e-6  # relative: the same pairs summed in another order


def loss_choice(recorded: Any, source: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The loss to judge with: ``recorded`` (a compile config's loss, or a live model's) with
    ``source`` ("recorded in the file's compile config", "compiled on the live model"), else the
    assumption for this model's output activation, said as such."""
    if recorded is not None:
        return {"identifier": recorded, "source": source, "assumed": False}
    identifier, why = assumed_loss(rows)
    return {"identifier": identifier, "source": why, "assumed": True}


def _integers(y: np.ndarray) -> bool:
    if y.dtype.kind in "iub":
        return True
    return bool(y.dtype.kind == "f" and y.size and np.all(np.isfinite(y)) and np.all(y == np.round(y)))


def _one_hot(y: np.ndarray) -> bool:
    return bool(y.size and y.shape[-1] > 1 and np.all((y == 0) | (y == 1)) and np.all(y.sum(axis=-1) == 1))


def judge(y: np.ndarray, prediction: np.ndarray, choice: dict[str, Any], probe: Any) -> dict[str, Any]:
    """The verdict as data: ``probe(identifier, y, prediction, reshaped)`` is the runner's
    loss_probe (Keras computes; this module judges)."""
    y = np.asarray(y)
    pred_shape, y_shape = [int(d) for d in prediction.shape], [int(d) for d in y.shape]
    first = probe(choice["identifier"], y, prediction, None)
    name = first["name"] or loss_label(choice["identifier"])
    expected = pred_shape[:-1] if is_sparse(name) and len(pred_shape) >= 2 else pred_shape
    reshaped = tuple(expected) if y.size == int(np.prod(expected)) and y_shape != expected else None
    measured = (
        probe(choice["identifier"], y, prediction, reshaped) if reshaped is not None and not first["error"] else first
    )
    classes = pred_shape[-1] if len(pred_shape) >= 2 else 1
    encoding = encoding_problem(
        name,
        y_shape,
        pred_shape,
        _integers(y),
        int(np.nanmax(y)) if y.size and _integers(y) else None,
        int(np.nanmin(y)) if y.size and _integers(y) else None,
        _one_hot(y) if y.ndim else False,
    )
    data: dict[str, Any] = {
        "prediction_shape": pred_shape,
        "y_shape": y_shape,
        "loss": name,
        "loss_source": choice["source"],
        "loss_assumed": choice["assumed"],
        "expected_y_shape": expected,
        "loss_as_given": first["given"],
        "loss_elements_shape": first["elements"],
        "paired_shape": first["paired"],
        "reshaped_to": list(reshaped) if reshaped else None,
        "loss_reshaped": measured["reshaped"],
        "keras_message": first["error"],
    }
    if encoding is not None:
        verdict = "labels"
    elif first["error"]:
        verdict = "refused"
    elif y_shape == expected:
        verdict = "agree"
    elif reshaped is not None and _same(first["given"], measured["reshaped"]):
        verdict = "agree"
    else:
        verdict = "broadcast"
    data["verdict"] = verdict
    data["agree"] = verdict == "agree"
    data["classes"] = classes
    data["encoding"] = encoding
    return data


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return False
    return bool(abs(a - b) <= TOLERANCE * max(1.0, abs(a), abs(b)))


def verdict_text(data: dict[str, Any], y_label: str = "--y") -> str:
    """One sentence of what was measured, with the loss named and where it came from."""
    y, pred, loss = data["y_shape"], data["prediction_shape"], data["loss"]
    source = f"{loss} ({data['loss_source']})"
    if data["verdict"] == "labels":
        return (
            f"measured: the targets {y_label} {shape_text(y)} against the predictions {shape_text(pred)}: "
            f"{data['encoding']['text']} (the loss: {source})"
        )
    if data["verdict"] == "refused":
        return (
            f"measured: the targets {y_label} {shape_text(y)} do not match the model's predictions "
            f"{shape_text(pred)}; Keras' {source} refuses them: {data['keras_message']}"
        )
    if data["verdict"] == "agree":
        if y == data["expected_y_shape"]:
            return f"measured: {y_label} {shape_text(y)} is the shape {source} takes for predictions {shape_text(pred)}"
        return (
            f"measured: Keras' {source} gives the same loss on {y_label} {shape_text(y)} as given and reshaped "
            f"to {shape_text(data['reshaped_to'])} ({data['loss_as_given']:.6g} both ways): Keras reconciles "
            "the ranks itself, nothing is broadcast"
        )
    spread = per_element_words(y, pred, data["paired_shape"], is_sparse(loss))
    if data["reshaped_to"] is not None:
        return (
            f"measured: the targets {y_label} {shape_text(y)} and the predictions {shape_text(pred)} hold as "
            f"many numbers, yet Keras' {source} gives {data['loss_as_given']:.6g} on y as given and "
            f"{data['loss_reshaped']:.6g} on y reshaped to {shape_text(data['reshaped_to'])}: {spread}, so fit "
            "trains silently on the wrong pairs"
        )
    return (
        f"measured: {sizes_text(y, data['expected_y_shape'], is_sparse(loss), y_label)}, and Keras' {source} accepts them "
        f"without error: {spread}, so fit trains "
        "silently on the wrong question"
    )


def target_diagnosis(rows: list[dict[str, Any]], data: dict[str, Any], y_label: str = "--y") -> dict[str, Any] | None:
    """The model view's diagnosis (kind target_shape or target_labels), None when they agree."""
    if data["agree"]:
        return None
    pred_shape = data["prediction_shape"]
    head = next((row for row in rows if is_time_axis_head(rows, row)), None)
    source = is_time_axis_head(rows, head) if head is not None else None
    text = verdict_text(data, y_label)
    layer = head["path"] if head is not None else "(model output)"
    if data["verdict"] == "labels":
        return diagnosis("target_labels", "(model output)", "problem", text, data["encoding"]["fix"], basis="measured")
    if source is not None and len(data["y_shape"]) < len(pred_shape):
        fix = (
            f"set return_sequences=False on {source['path']} so that {head['path']} predicts one value per "
            f"sequence {shape_text([pred_shape[0], *pred_shape[2:]])}, or give targets of shape "
            f"{shape_text(data['expected_y_shape'])}"
        )
    else:
        fix = f"give targets of shape {shape_text(data['expected_y_shape'])}, or change the model's output layer"
    return diagnosis("target_shape", layer, "problem", text, fix, basis="measured")


def stand_in_prediction(output_shape: tuple, y_shape: tuple, input_shape: tuple, activation: str | None) -> np.ndarray:
    """A seeded array of the model's output shape for why --model (no --x): the batch and any
    unknown axis from y where it has one, else from the input's; probabilities for a softmax."""
    dims = []
    squeezed = len(y_shape) == len(output_shape) - 1  # y without the output's last axis: its 1, or the classes
    for axis, d in enumerate(output_shape):
        if d is None and axis == 0 and y_shape:
            d = y_shape[0]
        if d is None and 0 < axis < len(input_shape):
            d = input_shape[axis]
        if d is None and axis < len(y_shape) and (len(y_shape) == len(output_shape) or squeezed):
            d = y_shape[axis]
        dims.append(int(d) if d is not None else 2)
    values = np.random.default_rng(0).uniform(0.05, 0.95, dims).astype(np.float32)
    if activation == "softmax" and dims:
        values = values / values.sum(axis=-1, keepdims=True)
    return values
