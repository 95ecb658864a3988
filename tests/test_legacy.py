"""Old full-model .h5 files (saved by tf-keras, the Keras 2 line) explained by rnnshape model:
models rebuilt from public projects (tests/legacy_corpus.py, saved by tf_keras in its own
process) compared with tf_keras' own shapes and predictions, the measured hard_sigmoid change,
a CuDNNLSTM, a Keras 2.0 GRU without reset_after, --save, and the user's view in a process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import run_process

pytestmark = pytest.mark.slow

TOLERANCE = 1e-5
CORPUS = ("stock_lstm", "flight_gru", "imdb_bilstm", "imdb_stacked_bilstm", "electricity_gru")
HARD_SIGMOID = ("stock_lstm", "flight_gru")  # saved with Keras 2.0-2.2's hard_sigmoid gates


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    pytest.importorskip("tf_keras")  # in the test extras (pip install -e ".[test]"); imported when run only
    folder = tmp_path_factory.mktemp("legacy")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).parent / "legacy_corpus.py"), str(folder)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return folder, json.loads((folder / "manifest.json").read_text())


def _rebuilt(path):
    from rnnshape.api.legacy import load_model
    from rnnshape.api.model import read_model_config

    return load_model(str(path), read_model_config(str(path)), check=False)[0]


def _predict(model, x):
    from rnnshape.runner.legacy import predict

    return predict(model, [x])[0]


def test_corpus_shapes_and_numbers_agree_with_tf_keras(corpus):
    import tf_keras

    import rnnshape

    folder, manifest = corpus
    for name in CORPUS:
        path = folder / f"{name}.h5"
        x = np.load(folder / f"{name}_x.npy")
        result = rnnshape.model(str(path), x=str(folder / f"{name}_x.npy"))
        assert result.exit_code == 0, (name, [str(e) for e in result.errors])
        legacy = result.data["source"]["legacy"]
        assert legacy["keras_version"] == tf_keras.__version__ and legacy["backend"] == "tensorflow"
        assert legacy["keras_major"] == 2 and legacy["input"] == "--x"
        # every layer's output shape as tf_keras computed it when it saved the file
        shapes = {row["name"]: row["output_shapes"][0] for row in result.layers}
        for layer, shape in manifest[name]["layers"].items():
            assert shapes[layer] == shape, (name, layer)
        # the rebuilt model's numbers against tf_keras' own predictions, made in the saving process
        expected = np.load(folder / f"{name}_pred.npy")
        assert np.max(np.abs(_predict(_rebuilt(path), x) - expected)) <= TOLERANCE, name
        check = legacy["tf_keras"]
        assert check["checked"] and check["holds"] and check["max_abs_diff"] <= TOLERANCE, name
        if name in HARD_SIGMOID:
            # Keras 3's hard_sigmoid on the same weights: a real difference, measured and restored
            assert legacy["meaning"]["max_abs_diff"] > 1e-4, name
            assert all(s.endswith(".recurrent_activation") for s in legacy["meaning"]["settings"])
            assert any(
                c["setting"] == "recurrent_activation" and c["kind"] == "meaning" and c["restored"]
                for c in legacy["changes"]
            )
        else:
            assert "meaning" not in legacy and legacy["scaled_weights"] == []


def test_cudnn_lstm_and_a_gru_without_reset_after(corpus, tmp_path):
    import h5py

    import rnnshape

    folder, _ = corpus
    # CuDNNLSTM: rebuilt as LSTM with the weights converted; tf_keras' LSTM loading the same file is the truth
    x = np.load(folder / "cudnn_lstm_x.npy")
    model = _rebuilt(folder / "cudnn_lstm.h5")
    assert np.max(np.abs(_predict(model, x) - np.load(folder / "cudnn_lstm_pred.npy"))) <= TOLERANCE
    result = rnnshape.model(str(folder / "cudnn_lstm.h5"))
    legacy = result.data["source"]["legacy"]
    assert result.exit_code == 0 and legacy["converted_weights"] == ["cu_dnnlstm"]
    assert legacy["tf_keras"]["checked"] is False and "GPU" in legacy["tf_keras"]["text"]
    assert [row["class"] for row in result.layers][:1] == ["LSTM"]
    # a Keras 2.0-2.1 GRU config had no reset_after (default False); Keras 3's default is True
    old = tmp_path / "gru_2_0.h5"
    shutil.copy(folder / "flight_gru.h5", old)
    with h5py.File(old, "r+") as h5:
        config = json.loads(h5.attrs["model_config"])
        for layer in config["config"]["layers"]:
            layer["config"].pop("reset_after", None)
        h5.attrs["model_config"] = json.dumps(config)
    x = np.load(folder / "flight_gru_x.npy")
    assert np.max(np.abs(_predict(_rebuilt(old), x) - np.load(folder / "flight_gru_pred.npy"))) <= TOLERANCE
    result = rnnshape.model(str(old))
    assert {c["layer"] for c in result.data["source"]["legacy"]["changes"] if c["setting"] == "reset_after"} == {
        "gru",
        "gru_1",
    }
    # an LSTM whose cell activation is hard_sigmoid (applied to c too): not restorable, Keras 3's meaning
    # kept and the difference from tf_keras' own load measured and said, not hidden and not a failure
    odd = tmp_path / "cell_hard_sigmoid.h5"
    shutil.copy(folder / "stock_lstm.h5", odd)
    with h5py.File(odd, "r+") as h5:
        config = json.loads(h5.attrs["model_config"])
        config["config"]["layers"][1]["config"]["activation"] = "hard_sigmoid"
        h5.attrs["model_config"] = json.dumps(config)
    result = rnnshape.model(str(odd), x=str(folder / "stock_lstm_x.npy"))
    check = result.data["source"]["legacy"]["tf_keras"]
    assert result.exit_code == 0 and check["expected_difference"] == ["lstm.activation"]
    assert check["max_abs_diff"] > 1e-4 and "Keras 3's meaning of lstm.activation is kept" in check["text"]


def test_the_users_view_save_and_refusals(corpus, tmp_path):
    folder, _ = corpus
    old, x = folder / "stock_lstm.h5", folder / "stock_lstm_x.npy"
    new = tmp_path / "converted" / "stock.keras"
    proc = run_process(["model", str(old), "--x", str(x), "--save", str(new)], env={"COLUMNS": "300"}, timeout=300)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert "rebuilt from a Keras 2 file: saved by Keras 2." in proc.stdout
    assert "measured: Keras 3's hard_sigmoid would change the model's outputs by up to" in proc.stdout
    assert "equal tf_keras" in proc.stdout and f"saved: {new}" in proc.stdout
    # the saved file is plain Keras 3 (built-in hard_sigmoid, scaled weights): tf_keras' numbers, no rnnshape needed
    script = (
        "import os, sys, numpy as np; os.environ['TF_CPP_MIN_LOG_LEVEL']='3'; import keras; "
        f"m = keras.saving.load_model({str(new)!r}); x = np.load({str(x)!r}); "
        f"print(float(np.max(np.abs(np.asarray(m(x)) - np.load({str(folder / 'stock_lstm_pred.npy')!r})))))"
    )
    checked = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert float(checked.stdout.strip().splitlines()[-1]) <= TOLERANCE, checked.stderr[-1000:]
    # never over the input: exit 2 naming both
    proc = run_process(["model", str(old), "--save", str(old)], timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "--save" in proc.stderr and proc.stderr.count(str(old)) == 2 and len(proc.stderr.splitlines()) == 1
    # --json: one document; without tf_keras the conversion is said to be unchecked
    script = (
        "import sys; sys.modules['tf_keras'] = None; from rnnshape.cli import main; "
        f"sys.argv = ['rnnshape', 'model', {str(folder / 'imdb_bilstm.h5')!r}, '--json']; main()"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    legacy = json.loads(proc.stdout)["data"]["source"]["legacy"]
    assert legacy["tf_keras"] == {
        "checked": False,
        "text": 'tf_keras is not installed (pip install "rnnshape[legacy]"): the conversion was not checked',
    }


def _keras1_file(path, rng):
    """A Keras 1 model file as Keras 1.2 wrote it (no keras_version attribute, Keras 1 names, one
    array per gate in the order i, c, f, o), made with h5py."""
    import h5py

    config = {
        "class_name": "Sequential",
        "config": [
            {
                "class_name": "LSTM",
                "config": {
                    "name": "lstm_1",
                    "output_dim": 4,
                    "input_dim": 3,
                    "input_length": 5,
                    "batch_input_shape": [None, 5, 3],
                    "input_dtype": "float32",
                    "init": "glorot_uniform",
                    "inner_init": "orthogonal",
                    "forget_bias_init": "one",
                    "activation": "tanh",
                    "inner_activation": "hard_sigmoid",
                    "W_regularizer": None,
                    "U_regularizer": None,
                    "b_regularizer": None,
                    "dropout_W": 0.0,
                    "dropout_U": 0.0,
                    "consume_less": "cpu",
                    "return_sequences": False,
                    "go_backwards": False,
                    "stateful": False,
                    "unroll": False,
                    "trainable": True,
                },
            },
            {
                "class_name": "Dense",
                "config": {
                    "name": "dense_1",
                    "output_dim": 1,
                    "input_dim": 4,
                    "init": "glorot_uniform",
                    "activation": "linear",
                    "bias": True,
                    "trainable": True,
                },
            },
        ],
    }
    gates = {g: [rng.normal(0, 0.6, s).astype("float32") for s in ((3, 4), (4, 4), (4,))] for g in "icfo"}
    dense = [rng.normal(0, 0.6, (4, 1)).astype("float32"), rng.normal(0, 0.6, (1,)).astype("float32")]
    with h5py.File(path, "w") as h5:
        h5.attrs["model_config"] = json.dumps(config).encode()
        group = h5.create_group("model_weights")
        group.attrs["layer_names"] = [b"lstm_1", b"dense_1"]
        lstm = group.create_group("lstm_1")
        names = []
        for g in "icfo":
            for part, array in zip("WUb", gates[g]):
                names.append(f"lstm_1_{part}_{g}".encode())
                lstm.create_dataset(names[-1].decode(), data=array)
        lstm.attrs["weight_names"] = names
        layer = group.create_group("dense_1")
        layer.attrs["weight_names"] = [b"dense_1_W", b"dense_1_b"]
        layer.create_dataset("dense_1_W", data=dense[0])
        layer.create_dataset("dense_1_b", data=dense[1])
    return gates, dense


def test_a_keras_1_file_computes_keras_1_numbers(tmp_path):
    import rnnshape

    rng = np.random.default_rng(3)
    path = tmp_path / "keras1.h5"
    gates, dense = _keras1_file(path, rng)
    x = rng.normal(0, 1, (2, 5, 3)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    # Keras 1's LSTM in float64 numpy: hard_sigmoid = clip(0.2 z + 0.5, 0, 1)
    hard = lambda z: np.clip(0.2 * z + 0.5, 0, 1)
    h = np.zeros((2, 4))
    c = np.zeros((2, 4))
    for t in range(5):
        z = {g: x[:, t] @ w + h @ u + b for g, (w, u, b) in gates.items()}
        c = hard(z["f"]) * c + hard(z["i"]) * np.tanh(z["c"])
        h = hard(z["o"]) * np.tanh(c)
    expected = h @ dense[0] + dense[1]
    assert np.max(np.abs(_predict(_rebuilt(path), x) - expected)) <= TOLERANCE
    result = rnnshape.model(str(path), x=str(tmp_path / "x.npy"))
    legacy = result.data["source"]["legacy"]
    assert result.exit_code == 0 and legacy["keras_major"] == 1 and legacy["keras_version"] is None
    assert legacy["converted_weights"] == ["lstm_1"] and legacy["scaled_weights"] == ["lstm_1.recurrent_activation"]
    assert {c["setting"] for c in legacy["changes"] if c["layer"] == "lstm_1"} >= {
        "output_dim",
        "inner_activation",
        "init",
        "consume_less",
        "recurrent_activation",
    }
    assert [row["output_shapes"][0] for row in result.layers] == [[None, 4], [None, 1]]
    assert legacy["tf_keras"]["checked"] is False  # tf_keras cannot read Keras 1 names: said, not hidden
