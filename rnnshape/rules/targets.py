"""The words and rules of judging targets against a model's output (pure: no numpy). The
measurement itself is measure/targets.py: Keras' loss computed on y as given and reshaped."""

from __future__ import annotations

from math import prod
from typing import Any

from rnnshape.rules.words import shape_text

DEFAULT_LOSS = "mean_squared_error"


def loss_label(identifier: Any) -> str:
    """A loss identifier as a user wrote it: a string, a saved config's class or function name."""
    if isinstance(identifier, str):
        return identifier
    if isinstance(identifier, dict):
        config = identifier.get("config")
        if identifier.get("class_name") == "function" and isinstance(config, str):
            return config
        return str(identifier.get("class_name") or identifier)
    return str(getattr(identifier, "name", None) or getattr(identifier, "__name__", None) or identifier)


def is_sparse(name: str) -> bool:
    return "sparse" in name.lower()


def is_categorical(name: str) -> bool:
    lowered = name.lower()
    return "categorical" in lowered and "sparse" not in lowered


def output_activation(rows: list[dict[str, Any]]) -> str | None:
    """The activation of the layer that produces the model's output (a Dense or TimeDistributed
    Dense, an Activation or Softmax layer), or None."""
    for row in reversed(rows):
        if row.get("class") == "Softmax":
            return "softmax"
        if row.get("class") in ("InputLayer", "Dropout", "Reshape", "Flatten"):
            continue
        activation = (row.get("config") or {}).get("activation")
        return activation if isinstance(activation, str) else None
    return None


def assumed_loss(rows: list[dict[str, Any]]) -> tuple[str, str]:
    """(the loss identifier, the words of the assumption) for a model saved without a loss."""
    activation = output_activation(rows)
    if activation == "softmax":
        return "crossentropy", (
            "assumed: no loss recorded; for a softmax output, 'crossentropy' as Keras resolves "
            "it (sparse for integer labels, categorical for one-hot rows)"
        )
    if activation == "sigmoid":
        return "binary_crossentropy", "assumed: no loss recorded; binary_crossentropy for a sigmoid output"
    return DEFAULT_LOSS, "assumed: no loss recorded"


def encoding_problem(
    loss: str,
    y_shape: list[int],
    pred_shape: list[int],
    integers: bool,
    high: int | None,
    low: int | None,
    one_hot: bool,
) -> dict[str, str] | None:
    """Labels encoded for the other kind of crossentropy: integer labels with a categorical loss,
    one-hot rows with a sparse loss (rule of Keras: categorical losses take one probability row
    per prediction row, the sparse losses one integer class index)."""
    if len(pred_shape) < 2 or pred_shape[-1] < 2:
        return None
    classes = pred_shape[-1]
    rows = list(pred_shape[:-1])
    if (
        is_categorical(loss)
        and integers
        and high is not None
        and low is not None
        and 0 <= low
        and high < classes
        and high >= 1
        and (y_shape == rows or y_shape == rows + [1])
    ):
        return {
            "kind": "integer_labels",
            "text": (
                f"y holds integer class labels ({low} to {high}), one per prediction row, but {loss} takes "
                f"one-hot rows of {classes} classes"
            ),
            "fix": (
                f"compile with loss='sparse_categorical_crossentropy' (integer labels), or one-hot encode y: "
                f"keras.utils.to_categorical(y, {classes})"
            ),
        }
    if is_sparse(loss) and one_hot and y_shape == list(pred_shape):
        return {
            "kind": "one_hot_labels",
            "text": (
                f"y holds one-hot rows of {classes} classes, but {loss} takes one integer class label per "
                f"prediction row, shape {shape_text(rows)}"
            ),
            "fix": "compile with loss='categorical_crossentropy', or give the labels: y.argmax(axis=-1)",
        }
    return None


def per_element_words(y: list[int], pred: list[int], paired: list[int] | None, sparse: bool) -> str:
    """What the broadcast pairs, in words (``paired``: the shape Keras compares after it reconciled
    the ranks, from numpy's broadcasting rule, which Keras' losses follow)."""
    per_sample_y = prod(y[1:]) if len(y) > 1 else 1
    rows = pred[:-1] if sparse else pred
    per_sample_pred = prod(rows[1:]) if len(rows) > 1 else 1
    if len(pred) >= 3 and y and pred[0] == y[0] and per_sample_y < per_sample_pred and len(y) < len(pred):
        return (
            f"each sample's {per_sample_y} target{'s' if per_sample_y != 1 else ''} "
            f"{'are' if per_sample_y != 1 else 'is'} compared with every one of its {pred[1]} predicted steps"
        )
    if paired is not None:
        return (
            f"Keras broadcasts them to {shape_text(paired)}: {prod(paired)} comparisons instead of "
            f"{prod(rows)}, each target against several predictions"
        )
    return "Keras broadcasts the targets against the predictions"


def sizes_text(y: list[int], expected: list[int], sparse: bool, label: str = "y") -> str:
    count = prod(expected)
    what = ("label" if sparse else "target") + ("s" if count != 1 else "")
    return (
        f"the targets {label} {shape_text(y)} hold {prod(y)} value{'s' if prod(y) != 1 else ''}, the loss takes "
        f"{count} {what} {shape_text(expected)} for these predictions"
    )


def target_diagnosis_for_why(model_name: str, output_text: str, verdict: dict[str, Any], measured: str) -> Any:
    """why --model --y when the problem is not a sequence output against 2-D targets (that one
    keeps rules.why's diagnosis and its stacks): the label encoding, a refusal, or another broadcast."""
    from rnnshape.rules.why_diagnosis import Cause, Diagnosis, ShapeWord

    y, expected = verdict["y_shape"], verdict["expected_y_shape"]
    shapes = (
        ShapeWord(
            "output",
            tuple(verdict["prediction_shape"]),
            tuple(f"axis {i}" if i else "samples" for i in range(len(verdict["prediction_shape"]))),
            "the model's predictions (a seeded stand-in of the output's shape)",
        ),
        ShapeWord("y", tuple(y), tuple(f"axis {i}" if i else "samples" for i in range(len(y))), "the targets"),
    )
    if verdict["verdict"] == "labels":
        kind, title = "target_labels", f"labels encoded for another loss than {verdict['loss']}"
        causes = (Cause(f"{verdict['encoding']['text']}; fix: {verdict['encoding']['fix']}"),)
    elif verdict["verdict"] == "refused":
        kind, title = "target_refused", f"Keras' {verdict['loss']} refuses these targets"
        causes = (
            Cause(
                f"the loss takes targets of shape {shape_text(expected)}: give y that shape, or change the "
                "model's output layer"
            ),
        )
    else:
        kind, title = "target_broadcast", "targets broadcast against the predictions (no error)"
        causes = (
            Cause(
                f"the loss takes targets of shape {shape_text(expected)}; y {shape_text(y)} is broadcast: "
                "give y that shape, or change the model's output layer so that it predicts what y holds"
            ),
        )
    return Diagnosis(
        kind,
        title,
        "Keras reconciles a loss's ranks (losses/loss.py squeeze_or_expand_to_same_rank) "
        "and broadcasts the rest (rule of numpy broadcasting, which Keras' losses follow)",
        f"model {model_name!r} returns {output_text}; y is {shape_text(y)}",
        "the loaded model",
        None,
        shapes,
        causes,
        (),
        evidence=measured,
    )
