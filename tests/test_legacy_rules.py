"""The pure rules of old model files (rules/legacy.py): which Keras saved a file, and the
legacy model_config translated for Keras 3 with every change named. No TensorFlow."""

from __future__ import annotations

import pytest

from rnnshape.rules import legacy


def test_which_keras_saved_the_file():
    assert legacy.keras_major("2.21.0") == 2 and legacy.keras_major("2.2.4-tf") == 2
    assert legacy.keras_major(None) == 1 and legacy.keras_major("3.15.1") == 3
    assert legacy.saved_by("2.2.4", "theano") == "Keras 2.2.4 (backend theano)"
    assert legacy.saved_by(None, None).startswith("Keras 1 (the file has no keras_version attribute)")
    assert legacy.needs_rebuild("2.21.0") and legacy.needs_rebuild(None) and not legacy.needs_rebuild("3.0.0")


def test_keras_2_0_sequential_list_gru_default_and_hard_sigmoid():
    config = {
        "class_name": "Sequential",
        "config": [
            {
                "class_name": "GRU",
                "config": {
                    "name": "gru_1",
                    "units": 4,
                    "batch_input_shape": [None, 5, 3],
                    "dtype": "float32",
                    "recurrent_activation": "hard_sigmoid",
                    "implementation": 0,
                },
            },
            {"class_name": "Dense", "config": {"name": "dense_1", "units": 1, "activation": "hard_sigmoid"}},
            {"class_name": "Activation", "config": {"name": "act", "activation": "hard_sigmoid"}},
        ],
    }
    new, changes = legacy.translate(config, "2.0.8")
    layers = new["config"]["layers"]
    assert layers[0] == {
        "class_name": "InputLayer",
        "config": {"batch_shape": [None, 5, 3], "dtype": "float32", "name": "gru_1_input"},
    }
    gru = layers[1]["config"]
    assert gru["reset_after"] is False and gru["implementation"] == 1 and "batch_input_shape" not in gru
    assert config["config"][0]["config"]["batch_input_shape"] == [None, 5, 3]  # the input is not changed
    meaning = {(c["layer"], c["setting"]): c["restored"] for c in changes if c["kind"] == "meaning"}
    assert meaning == {
        ("gru_1", "recurrent_activation"): True,
        ("dense_1", "activation"): True,
        ("act", "activation"): False,
    }
    assert {c["setting"] for c in changes if c["layer"] == "gru_1"} >= {
        "reset_after",
        "implementation",
        "batch_input_shape",
    }


def test_keras_1_names_cudnn_and_bidirectional_inner_layers():
    config = {
        "class_name": "Sequential",
        "config": {
            "name": "s",
            "layers": [
                {
                    "class_name": "LSTM",
                    "config": {
                        "name": "lstm_1",
                        "output_dim": 8,
                        "inner_activation": "hard_sigmoid",
                        "init": "glorot_uniform",
                        "inner_init": "orthogonal",
                        "forget_bias_init": "one",
                        "consume_less": "gpu",
                        "dropout_W": 0.1,
                        "input_dim": 3,
                        "input_length": 5,
                    },
                },
                {
                    "class_name": "Bidirectional",
                    "config": {
                        "name": "bi",
                        "layer": {"class_name": "CuDNNGRU", "config": {"name": "cu", "units": 2, "time_major": False}},
                    },
                },
            ],
        },
    }
    new, changes = legacy.translate(config, None)
    assert new["config"]["layers"][0] == {
        "class_name": "InputLayer",
        "config": {"batch_shape": [None, 5, 3], "dtype": "float32", "name": "lstm_1_input"},
    }
    lstm = new["config"]["layers"][1]["config"]
    assert lstm == {
        "name": "lstm_1",
        "units": 8,
        "recurrent_activation": "hard_sigmoid",
        "kernel_initializer": "glorot_uniform",
        "recurrent_initializer": "orthogonal",
        "unit_forget_bias": True,
        "dropout": 0.1,
    }
    inner = new["config"]["layers"][2]["config"]["layer"]
    assert inner["class_name"] == "GRU" and inner["config"]["reset_after"] is True
    assert inner["config"]["recurrent_activation"] == "sigmoid" and "time_major" not in inner["config"]
    assert any(c["kind"] == "class" and c["layer"] == "cu" for c in changes)


def test_time_major_true_cannot_be_rebuilt():
    config = {
        "class_name": "Sequential",
        "config": {
            "name": "s",
            "layers": [{"class_name": "LSTM", "config": {"name": "lstm", "units": 2, "time_major": True}}],
        },
    }
    with pytest.raises(legacy.LegacyError, match="layer 'lstm' has time_major=True"):
        legacy.translate(config, "2.4.0")
