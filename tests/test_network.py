"""The pure rules of rnnshape model (rules/network.py, the size guard of --x runs), without
TensorFlow: what a saved config gets refused for, and the names of returned tensors."""

from __future__ import annotations

import pytest

from rnnshape.errors import UsageError
from rnnshape.rules.limits import Limits, check_model_run, model_run_estimate
from rnnshape.rules.network import recurrent_kind, refused_objects, tensor_names


def _layer(class_name, name, module="keras.layers", registered_name=None, **config):
    return {
        "module": module,
        "class_name": class_name,
        "config": {"name": name, **config},
        "registered_name": registered_name,
    }


def _model(*layers):
    return {
        "module": "keras",
        "class_name": "Functional",
        "config": {"name": "m", "layers": list(layers)},
        "registered_name": "Functional",
    }


def test_keras_classes_only_are_accepted():
    assert refused_objects(_model(_layer("LSTM", "lstm"), _layer("Dense", "head"))) == []


def test_lambda_is_refused_naming_the_layer():
    function = {"class_name": "__lambda__", "config": {"value": "code"}}
    reasons = refused_objects(_model(_layer("Lambda", "evil", function=function)))
    assert len(reasons) == 1 and "'evil'" in reasons[0] and "Lambda" in reasons[0]


def test_custom_class_refused_unless_registered():
    config = _model(_layer("Doubler", "twice", module=None, registered_name="mine>Doubler"))
    reasons = refused_objects(config)
    assert len(reasons) == 1 and "'twice'" in reasons[0] and "mine>Doubler" in reasons[0]
    assert refused_objects(config, frozenset({"mine>Doubler"})) == []


def test_legacy_h5_configs_without_module_are_keras_classes():
    assert (
        refused_objects(
            {"class_name": "Sequential", "config": {"layers": [{"class_name": "LSTM", "config": {"name": "lstm"}}]}}
        )
        == []
    )


def test_tensor_names_are_inspects():
    assert recurrent_kind("Bidirectional", "GRU") == "gru" and recurrent_kind("ConvLSTM2D") == "convlstm"
    names = [n for n, _ in tensor_names("lstm", {"units": 3, "return_state": True}, True, "concat")]
    assert names == ["output", "forward_state_h", "forward_state_c", "backward_state_h", "backward_state_c"]
    assert [n for n, _ in tensor_names("gru", {"units": 3}, True, None)] == ["forward_output", "backward_output"]
    assert [n for n, _ in tensor_names("convlstm", {"return_state": True})] == ["output", "state_h", "state_c"]


def test_size_guard_of_x_runs():
    rows = [
        {
            "output_shapes": [[None, 5, 4]],
            "params": 112,
            "input_shapes": [[None, 5, 2]],
            "recurrent": {"bidirectional": False},
        }
    ]
    small, _ = model_run_estimate(rows, 3, 5)
    big, _ = model_run_estimate(rows, 300_000, 5)
    assert big > 1000 * small
    check_model_run(rows, 3, 5, Limits(1, 60), "x")
    with pytest.raises(UsageError, match="--max-memory"):
        check_model_run(rows, 300_000, 5, Limits(1, 60), "x")
