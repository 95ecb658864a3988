"""The pure rules of rnnshape port (no TensorFlow, no torch): the weight mapping against torch.nn's
documented layout, the refusals before anything heavy is imported, and `import rnnshape` light."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from rnnshape.errors import UsageError
from rnnshape.rules.port import Port, refuse_unportable
from rnnshape.rules.port_sources import check_state_dict, describe_state_dict
from rnnshape.rules.spec import make_spec


def test_gru_rows_take_keras_r_then_z_then_h_and_lstm_keeps_its_order():
    gru = Port(make_spec(layer="gru", units=2))
    assert gru.block_index() == [2, 3, 0, 1, 4, 5]  # torch (r, z, n) <- Keras columns of r, z, h
    assert Port(make_spec(layer="lstm", units=1)).block_index() == [0, 1, 2, 3]


def test_the_state_dict_names_and_shapes_of_a_bidirectional_stack():
    port = Port(make_spec(layer="lstm", units=3, features=5, bidirectional=True), num_layers=2)
    names = dict(port.torch_names())
    assert names["weight_ih_l0"] == (12, 5) and names["weight_ih_l1_reverse"] == (12, 6)
    assert names["bias_hh_l1_reverse"] == (12,) and len(names) == 16
    rules = {rule["torch"]: rule for rule in port.weight_rules()}
    assert rules["weight_hh_l1_reverse"]["keras"] == "bidirectional_1/backward_lstm_1/lstm_cell/recurrent_kernel"
    assert rules["bias_hh_l0"]["zeros"] and not rules["bias_ih_l0"]["zeros"]


def test_outputs_read_across():
    port = Port(make_spec(layer="lstm", units=3, bidirectional=True, return_state=True, timesteps=4))
    read = {rule["torch"]: rule["keras"] for rule in port.output_rules()}
    assert read == {
        "torch.cat([h_n[-2], h_n[-1]], dim=-1)": "output",
        "h_n[-2]": "forward_state_h",
        "c_n[-2]": "forward_state_c",
        "h_n[-1]": "backward_state_h",
        "c_n[-1]": "backward_state_c",
        "output[:, -1]": "output",
    }
    seq = Port(make_spec(layer="gru", units=3, bidirectional=True, merge_mode="ave", return_sequences=True))
    assert seq.output_rules()[0]["torch"] == "(output[..., :3] + output[..., 3:]) / 2"


@pytest.mark.parametrize(
    "options, words",
    [
        (dict(layer="gru", reset_after=False), "reset gate after the recurrent matmul"),
        (dict(layer="lstm", activation="relu"), "tanh only"),
        (dict(layer="simplernn", activation="softsign"), "tanh or relu"),
        (dict(layer="lstm", go_backwards=True, bidirectional=True), "no go_backwards"),
        (dict(layer="lstm", lengths="2", timesteps=3), "pack_padded_sequence"),
    ],
)
def test_what_torch_nn_cannot_compute_is_refused(options, words):
    with pytest.raises(UsageError, match=words):
        refuse_unportable(make_spec(**options), 1)


def test_a_state_dict_is_read_from_its_keys_and_checked():
    shapes = {"weight_ih_l0": (9, 2), "weight_hh_l0": (9, 3), "bias_ih_l0": (9,), "bias_hh_l0": (9,)}
    assert describe_state_dict(shapes) == {
        "num_layers": 1,
        "bidirectional": False,
        "bias": True,
        "gate_rows": 9,
        "input_size": 2,
        "hidden_size": 3,
    }
    check_state_dict(Port(make_spec(layer="gru", units=3)), shapes)
    with pytest.raises(UsageError, match="--layer gru"):
        check_state_dict(Port(make_spec(layer="lstm", units=3)), shapes)
    with pytest.raises(UsageError, match="proj_size"):
        describe_state_dict({**shapes, "weight_hr_l0": (3, 3)})


def test_import_rnnshape_and_refusals_import_neither_tensorflow_torch_nor_jax():
    pytest.importorskip("torch")  # without it, port says so first (exit 3), before any refusal
    script = (
        "import sys, json, rnnshape\n"
        "light = [m for m in ('tensorflow', 'keras', 'torch', 'jax') if m in sys.modules]\n"
        "from rnnshape.cli import cli\n"
        "codes = [cli.main(args, standalone_mode=False) for args in "
        "[['port', '--to', 'torch', '--layer', 'gru', '--no-reset-after'], ['port', '--help'], "
        "['port', '--to', 'torch', '--layer', 'lstm', '--activation', 'relu']]]\n"
        "print(json.dumps([light, codes, [m for m in ('tensorflow', 'keras', 'torch', 'jax') if m in sys.modules]]))"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    light, codes, heavy = json.loads(proc.stdout.strip().splitlines()[-1])
    assert light == [] and heavy == [] and codes == [2, 0, 2]


@pytest.mark.parametrize(
    "args, names",
    [
        (["--save", "{d}/w.pt", "--svg", "{d}/w.pt"], ("--save", "--svg")),
        (["--save", "{d}/./w.pt", "--html", "{d}/w.pt"], ("--save", "--html")),
        (["--from", "torch", "{d}/w.pt", "--svg", "{d}/w.pt"], ("--svg", "--from")),
    ],
)
def test_save_svg_and_html_may_not_name_the_same_file_or_an_input(invoke, tmp_path, args, names):
    """Refused before anything runs or is written: exit 2 naming both options."""
    source = tmp_path / "w.pt"
    if "--from" in args:
        source.write_bytes(b"not a state_dict, and left as it was")
    before = source.read_bytes() if source.exists() else None
    result = invoke(["port", *[a.format(d=tmp_path) for a in args]])
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert message.count("\n") == 0 and all(name in message for name in names), message
    assert (source.read_bytes() if source.exists() else None) == before


# ---- a layer of a saved model, decided from its saved config (no Keras) ----------------------
def _saved(class_name, **config):
    return {"module": "keras.layers", "class_name": class_name, "config": {"name": "x", "units": 4, **config}}


@pytest.mark.parametrize(
    "obj, words",
    [
        (_saved("LSTM", activation="relu"), "layer 'x' has activation='relu': torch.nn.LSTM has only tanh"),
        (_saved("GRU", recurrent_activation="hard_sigmoid"), "has recurrent_activation='hard_sigmoid'"),
        (_saved("GRU", reset_after=False), "has reset_after=False"),
        (_saved("SimpleRNN", activation="elu"), "has activation='elu': torch.nn.RNN's nonlinearity is tanh or relu"),
        (_saved("LSTM", stateful=True), "has stateful=True"),
        (
            _saved("LSTM", dtype={"module": "keras", "class_name": "DTypePolicy", "config": {"name": "mixed_float16"}}),
            "computes in float16",
        ),
        (_saved("ConvLSTM2D", filters=3), "is a ConvLSTM2D"),
        (
            _saved("RNN", cell={"class_name": "StackedRNNCells", "config": {"cells": []}}),
            "is keras.layers.RNN around StackedRNNCells",
        ),
        (
            _saved("RNN", cell={"class_name": "LSTMCell", "config": {"units": 4, "activation": "relu"}}),
            "layer 'x' has activation='relu': torch.nn.LSTM has only tanh",
        ),
        (_saved("Dense"), "is a Dense, not a recurrent layer"),
        (
            {
                "class_name": "Bidirectional",
                "config": {
                    "name": "x",
                    "layer": _saved("GRU"),
                    "backward_layer": _saved("GRU", units=3, go_backwards=True),
                },
            },
            "has a backward_layer with units=3 (forward: 4)",
        ),
        (
            {"class_name": "LSTM", "config": {"name": "x", "output_dim": 8, "inner_activation": "hard_sigmoid"}},
            "has recurrent_activation='hard_sigmoid'",
        ),  # a Keras 1 config
    ],
)
def test_a_saved_layer_torch_nn_cannot_compute_is_refused_naming_its_setting(obj, words):
    from rnnshape.rules.port_sources import saved_layer

    with pytest.raises(UsageError, match=re.escape(words)):
        saved_layer("x", obj, [])


def test_a_saved_layer_is_found_by_path_and_read_whole():
    from rnnshape.rules.port_sources import find_saved_layer, saved_layer

    inner = {
        "class_name": "Functional",
        "config": {
            "name": "encoder",
            "layers": [
                {"class_name": "InputLayer", "config": {"name": "in"}},
                {
                    "class_name": "Bidirectional",
                    "config": {
                        "name": "bi",
                        "merge_mode": None,
                        "layer": _saved(
                            "SimpleRNN", activation="relu", use_bias=False, return_sequences=True, dropout=0.25
                        ),
                    },
                },
            ],
        },
    }
    config = {"class_name": "Sequential", "config": {"name": "m", "layers": [inner, _saved("LSTM")]}}
    path, obj = find_saved_layer(config, "bi")
    layer = saved_layer(path, obj, [])
    assert path == "encoder/bi" and layer.kind == "simplernn" and layer.merge_mode == "none"
    assert layer.keras_call == (
        "keras.layers.Bidirectional(keras.layers.SimpleRNN(4, return_sequences=True, "
        'activation="relu", use_bias=False, dropout=0.25), merge_mode=None, name="bi")'
    )
    options = layer.spec_options()
    assert options["activation"] == "relu" and options["use_bias"] is False and options["bidirectional"]
    assert find_saved_layer(config, "x") is not None and find_saved_layer(config, "nope") is None


def test_what_a_state_dict_holds():
    from rnnshape.rules.port_sources import kind_of_state_dict, state_dict_options

    found = describe_state_dict(
        {
            "weight_ih_l0": (9, 2),
            "weight_hh_l0": (9, 3),
            "weight_ih_l0_reverse": (9, 2),
            "weight_hh_l0_reverse": (9, 3),
            "weight_ih_l1": (9, 6),
            "weight_hh_l1": (9, 3),
            "weight_ih_l1_reverse": (9, 6),
            "weight_hh_l1_reverse": (9, 3),
        }
    )
    assert kind_of_state_dict(found, "f.pt") == "gru"
    fixed = {key: value for key, (value, _, _) in state_dict_options(found, "f.pt").items()}
    assert fixed == {"num_layers": 2, "bidirectional": True, "use_bias": False, "units": 3, "features": 2}
    with pytest.raises(UsageError, match="neither 4"):
        kind_of_state_dict(describe_state_dict({"weight_ih_l0": (6, 2), "weight_hh_l0": (6, 3)}), "f.pt")


def test_an_rnn_around_one_cell_is_read_as_its_layer():
    from rnnshape.rules.port_sources import saved_layer

    obj = {
        "class_name": "RNN",
        "config": {
            "name": "r",
            "return_sequences": True,
            "go_backwards": True,
            "cell": {"class_name": "GRUCell", "config": {"name": "c", "units": 5, "use_bias": False}},
        },
    }
    layer = saved_layer("r", obj, [])
    assert layer.kind == "gru" and layer.spec_options()["go_backwards"] and not layer.spec_options()["use_bias"]
    assert layer.keras_call == (
        'keras.layers.RNN(keras.layers.GRUCell(5, use_bias=False), return_sequences=True, go_backwards=True, name="r")'
    )
