"""rnnshape model FILE and rnnshape.explain on real Keras models the tests build (model_zoo.py):
every layer's shapes and parameters against Keras' own, the captured recurrent outputs against a
direct Keras run, the diagnoses, --y, --layer, --json, --diagram, and the safety of loading."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import model_zoo
import numpy as np
import pytest
from conftest import run_process

# every test here runs Keras: the slow tier (the fast tier is pytest -m "not slow")
pytestmark = pytest.mark.slow

TOLERANCE = 1e-6


@pytest.fixture(scope="session")
def zoo(tmp_path_factory):
    """Every test architecture saved once per session, with its data."""
    folder = tmp_path_factory.mktemp("zoo")
    made = model_zoo.build_all(folder)
    made["_folder"] = folder
    return made


def _keras():
    from rnnshape.runner import session as session_runner

    return session_runner.load_keras()


def _scope_and_layer(model, path):
    scope = model
    parts = path.split("/")
    for part in parts[:-1]:
        scope = scope.get_layer(part)
    return scope, scope.get_layer(parts[-1])


def _as_list(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]


@pytest.mark.parametrize("name", [n for n in model_zoo.ARCHITECTURES])
def test_layers_and_captures_agree_with_keras(zoo, name):
    import rnnshape
    from rnnshape.runner import model as model_runner

    keras = _keras()
    made = zoo[name]
    result = rnnshape.model(made["path"], x=made["x"])
    assert result.ok and result.exit_code == 0
    model = keras.saving.load_model(made["path"], safe_mode=True, compile=False)
    assert result.data["model"]["params"] == model.count_params()
    rows = result.layers
    assert [r["path"] for r in rows if r["depth"] == 0] == [
        layer.name for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)
    ]
    for row in rows:
        _, layer = _scope_and_layer(model, row["path"])
        keras_shapes = [list(t.shape) for t in _as_list(layer.output)]
        assert row["output_shapes"] == keras_shapes, row["path"]
        assert row["params"] == layer.count_params(), row["path"]
    # every recurrent layer captured, its outputs as a direct Keras run gives them
    xs = [np.load(p) for p in made["x"]]
    paths = [r["path"] for r in rows if r["recurrent"]]
    assert paths
    run = model_runner.run_model(model, xs, paths)
    assert [c.path for c in run.captures] == paths
    # a graph, as model.predict runs it, with the eager call's numbers
    assert run.mode == "compiled"
    eager = _as_list(model(xs if len(xs) > 1 else xs[0], training=False))
    for own, reference in zip(run.predictions, eager):
        assert np.max(np.abs(own - np.asarray(reference))) <= TOLERANCE
    for capture in run.captures:
        scope, layer = _scope_and_layer(model, capture.path)
        scope_x = xs if scope is model else [keras.Model(model.inputs, _scope_input(model, scope))(xs[0])]
        direct = _as_list(keras.Model(scope.inputs, layer.output)(scope_x if len(scope_x) > 1 else scope_x[0]))
        assert len(direct) == len(capture.outputs)
        for own, reference in zip(capture.outputs, direct):
            assert np.max(np.abs(own - np.asarray(reference))) <= TOLERANCE, capture.path
        # the probe copy (return_sequences, return_state) computes what the layer computes
        row = next(r for r in rows if r["path"] == capture.path)
        if not row["recurrent"]["bidirectional"]:
            seq = capture.probe[0]
            main = np.asarray(direct[0])
            expected = seq if row["recurrent"]["config"].get("return_sequences") else seq[:, -1]
            assert np.max(np.abs(expected - main)) <= TOLERANCE, capture.path
    assert result.data["checks"] and all(c["holds"] for c in result.data["checks"])


def _scope_input(model, scope):
    """The tensor of the outer model that feeds a nested model (its first call)."""
    node = scope._inbound_nodes[0]
    return node.input_tensors[0]


def test_recurrent_layers_named_as_inspect_names_them(zoo):
    import rnnshape

    bi = rnnshape.model(zoo["bi_gru_encoder"]["path"]).recurrent[0]["recurrent"]
    assert [r["name"] for r in bi["returns"]] == ["output", "forward_state_h", "backward_state_h"]
    assert [r["shape"] for r in bi["returns"]] == [[None, 6], [None, 3], [None, 3]]
    enc = rnnshape.model(zoo["encoder_decoder"]["path"])
    encoder, decoder = enc.recurrent
    assert [r["name"] for r in encoder["recurrent"]["returns"]] == ["output", "state_h", "state_c"]
    assert [r["used"] for r in encoder["recurrent"]["returns"]] == [False, True, True]
    assert decoder["recurrent"]["initial_state"] is True
    conv = rnnshape.model(zoo["conv_lstm"]["path"])
    assert [d["kind"] for d in conv.diagnoses] == ["unused_states"]
    assert "state_h, state_c" in conv.diagnoses[0]["text"]


def test_diagnoses(zoo):
    import rnnshape

    silent = rnnshape.model(zoo["silent_broadcast"]["path"])
    assert [d["kind"] for d in silent.diagnoses] == ["time_axis_head"]
    assert "return_sequences=False on lstm" in silent.diagnoses[0]["fix"]
    mask = rnnshape.model(zoo["embedding_mask"]["path"]).diagnoses
    assert [d["kind"] for d in mask] == ["mask"]
    assert "recurrent layers that use it" in mask[0]["text"] and "stops at lstm" in mask[0]["text"]
    seq = rnnshape.model(zoo["sequential_bi"]["path"]).diagnoses
    assert {d["kind"] for d in seq} == {"mask", "bidirectional_merge"}
    assert rnnshape.model(zoo["stacked_lstm"]["path"]).diagnoses == []


def test_silent_broadcast_with_y_is_exit_1_with_the_fix(zoo, invoke):
    folder = zoo["_folder"]
    np.save(folder / "y_flat.npy", np.zeros((3, 1), np.float32))
    np.save(folder / "y_steps.npy", np.zeros((3, 5, 1), np.float32))
    made = zoo["silent_broadcast"]
    bad = invoke(["model", made["path"], "--x", made["x"][0], "--y", str(folder / "y_flat.npy")])
    assert bad.exit_code == 1
    assert "accepts them without error" in bad.stderr and "set return_sequences=False on lstm" in bad.stderr
    good = invoke(["model", made["path"], "--x", made["x"][0], "--y", str(folder / "y_steps.npy")])
    assert good.exit_code == 0, good.stderr
    assert "agree" in good.stdout


def test_json_is_one_document(zoo, invoke):
    made = zoo["encoder_decoder"]
    result = invoke(["model", made["path"], "--x", made["x"][0], "--x", made["x"][1], "--json"])
    doc = json.loads(result.stdout)
    assert result.exit_code == 0 and doc["command"] == "model" and doc["ok"] is True
    data = doc["data"]
    assert [c["path"] for c in data["data"]["captured"]] == ["encoder", "decoder"]
    assert data["data"]["captured"][1]["initial_state"] is True
    assert data["data"]["prediction_shapes"] == [[3, 4, 3]]


def test_layer_view_with_the_models_weights(zoo, invoke):
    import rnnshape

    made = zoo["nested"]
    result = rnnshape.model(made["path"], x=made["x"], layer="encoder/gru")
    view = result.data["inspect"]
    assert view["layer_path"] == "encoder/gru" and view["config"]["layer"] == "gru"
    assert view["params"]["keras_count_params"] == 63 and all(c["holds"] for c in view["checks"])
    text = invoke(["model", made["path"], "--layer", "lstm"]).stdout
    assert "the inspect view with the model's own weights" in text and "h versus c" in text
    refused = invoke(["model", made["path"], "--layer", "head"])
    assert refused.exit_code == 2 and "--layer" in refused.stderr and "Dense" in refused.stderr


def test_diagram_draws_the_model(zoo, invoke):
    out = invoke(["model", zoo["stacked_lstm"]["path"], "--diagram", "--ascii"]).stdout
    assert (
        "top to bottom" in out
        and "(batch, 5, 4): h at every step" in out
        and "(batch, 3): the last step's h only" in out
    )


def test_bad_x_and_size_guard(zoo, invoke):
    folder = zoo["_folder"]
    made = zoo["stacked_lstm"]
    np.save(folder / "wrong.npy", np.zeros((2, 4, 2), np.float32))
    wrong = invoke(["model", made["path"], "--x", str(folder / "wrong.npy")])
    assert wrong.exit_code == 2 and "takes (batch, 5, 2)" in wrong.stderr
    np.save(folder / "big.npy", np.zeros((60000, 5, 2), np.float32))
    big = invoke(["model", made["path"], "--x", str(folder / "big.npy"), "--max-memory", "1"])
    assert big.exit_code == 2 and "--max-memory" in big.stderr


def test_legacy_h5_loads(zoo, tmp_path):
    import rnnshape

    keras = _keras()
    model = keras.saving.load_model(zoo["stacked_lstm"]["path"], compile=False)
    path = tmp_path / "legacy.h5"
    model.save(path)
    result = rnnshape.model(str(path))
    assert result.data["source"]["format"] == "h5"
    assert [r["output_shapes"] for r in result.layers] == [[[None, 5, 4]], [[None, 3]], [[None, 1]]]


def test_explain_a_live_model_and_layer():
    import rnnshape

    keras = _keras()
    inp = keras.Input((4, 2))
    model = keras.Model(inp, keras.layers.Dense(1)(keras.layers.GRU(3, name="gru")(inp)))
    x = np.random.default_rng(0).uniform(-1, 1, (2, 4, 2)).astype(np.float32)
    result = rnnshape.explain(model, x)
    assert result.data["source"]["kind"] == "live model"
    assert [r["output_shapes"] for r in result.layers] == [[[None, 3]], [[None, 1]]]
    assert all(c["holds"] for c in result.data["checks"])
    alone = rnnshape.explain(keras.layers.LSTM(2, return_state=True), x)
    assert [r["name"] for r in alone.recurrent[0]["recurrent"]["returns"]] == ["output", "state_h", "state_c"]
    with pytest.raises(rnnshape.UsageError):
        rnnshape.explain("model.keras")


# ---- safety: a model file is data, not code ---------------------------------------------------
BUILD_LAMBDA = textwrap.dedent("""
    import os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import keras
    marker = sys.argv[2]
    inp = keras.Input((3, 2))
    out = keras.layers.Lambda(lambda t: (open(marker, "w").write("ran"), t)[1], name="evil")(inp)
    keras.Model(inp, keras.layers.LSTM(2)(out)).save(sys.argv[1])
""")
BUILD_CUSTOM = textwrap.dedent("""
    import os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import keras
    @keras.saving.register_keras_serializable(package="mine")
    class Doubler(keras.layers.Layer):
        def call(self, x):
            return 2 * x
    inp = keras.Input((3, 2))
    keras.Model(inp, keras.layers.LSTM(2)(Doubler(name="doubler")(inp))).save(sys.argv[1])
""")


def test_lambda_layer_is_refused_and_never_runs(tmp_path):
    path, marker = tmp_path / "lambda.keras", tmp_path / "marker"
    subprocess.run(
        [sys.executable, "-c", BUILD_LAMBDA, str(path), str(marker)], check=True, capture_output=True, timeout=120
    )
    marker.unlink()  # building the model ran the lambda once; from here on nothing may run it
    proc = run_process(["model", str(path), "--x", str(_tiny_x(tmp_path))])
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == "" and len(proc.stderr.strip().splitlines()) == 1
    assert "'evil'" in proc.stderr and "Lambda" in proc.stderr and "nothing in it was run" in proc.stderr
    assert not marker.exists()
    y = tmp_path / "y.npy"
    np.save(y, np.zeros((1, 1), np.float32))
    for argv in (["why", "--model", str(path), "--y", str(y)], ["port", "--model", str(path), "--layer", "lstm"]):
        proc = run_process(argv)  # every command that loads a user's model refuses it the same way
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, (argv, proc.stderr)
        assert "'evil'" in proc.stderr and "nothing in it was run" in proc.stderr
        assert not marker.exists()


def _tiny_x(folder: Path) -> Path:
    path = folder / "tiny_x.npy"
    np.save(path, np.zeros((1, 3, 2), np.float32))
    return path


def test_unregistered_custom_class_is_refused(tmp_path, invoke):
    path = tmp_path / "custom.keras"
    subprocess.run([sys.executable, "-c", BUILD_CUSTOM, str(path)], check=True, capture_output=True, timeout=120)
    result = invoke(["model", str(path)])
    assert result.exit_code == 2
    assert "'doubler'" in result.stderr and "custom class" in result.stderr and "mine>Doubler" in result.stderr


def test_bad_files_are_exit_2_one_line(zoo, tmp_path, invoke):
    real = Path(zoo["stacked_lstm"]["path"]).read_bytes()
    cases = {
        "empty.keras": b"",
        "truncated.keras": real[: len(real) // 2],
        "garbage.keras": b"this is not a model",
        "weights.h5": None,
    }
    for name, content in cases.items():
        if content is not None:
            (tmp_path / name).write_bytes(content)
    with zipfile.ZipFile(tmp_path / "noconfig.keras", "w") as archive:
        archive.writestr("hello.txt", "hi")
    import h5py

    with h5py.File(tmp_path / "weights.h5", "w") as h5:
        h5.create_dataset("w", data=np.zeros(3))
    os.mkfifo(tmp_path / "fifo.keras")
    (tmp_path / "folder.keras").mkdir()
    expected = {
        "empty.keras": "empty",
        "truncated.keras": "truncated or corrupt",
        "garbage.keras": "not a Keras model",
        "noconfig.keras": "without config.json",
        "weights.h5": "without a model_config",
        "fifo.keras": "not a regular file",
        "folder.keras": "is a directory",
        "missing.keras": "cannot read",
    }
    for name, words in expected.items():
        result = invoke(["model", str(tmp_path / name)])
        assert result.exit_code == 2, (name, result.output)
        assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1, name
        assert words in result.stderr, (name, result.stderr)
    big = invoke(["model", zoo["stacked_lstm"]["path"], "--max-file-size", "100"])
    assert big.exit_code == 2 and "--max-file-size" in big.stderr


def test_stateful_model(tmp_path, invoke):
    import rnnshape

    keras = _keras()
    inp = keras.Input(batch_shape=(2, 4, 2))
    model = keras.Model(inp, keras.layers.Dense(1)(keras.layers.LSTM(3, stateful=True, name="lstm")(inp)))
    path = tmp_path / "stateful.keras"
    model.save(path)
    rng = np.random.default_rng(3)
    np.save(tmp_path / "x2.npy", rng.uniform(-1, 1, (2, 4, 2)).astype(np.float32))
    np.save(tmp_path / "x3.npy", rng.uniform(-1, 1, (3, 4, 2)).astype(np.float32))
    result = rnnshape.model(str(path), x=str(tmp_path / "x2.npy"))
    stateful = [d for d in result.diagnoses if d["kind"] == "stateful_batch"]
    assert len(stateful) == 1 and "fixed at 2" in stateful[0]["text"] and "reset_state" in stateful[0]["fix"]
    assert result.data["checks"] and all(c["holds"] for c in result.data["checks"])
    wrong = invoke(["model", str(path), "--x", str(tmp_path / "x3.npy")])
    assert wrong.exit_code == 2 and "--x" in wrong.stderr and "(2, 4, 2)" in wrong.stderr
    # explain leaves a live stateful model's states as they were
    live = keras.saving.load_model(path, compile=False)
    live.predict(np.load(tmp_path / "x2.npy"), verbose=0)
    states = [np.asarray(v.numpy()) for v in live.get_layer("lstm").states]
    rnnshape.explain(live, np.load(tmp_path / "x2.npy"))
    assert all(np.array_equal(a, np.asarray(v.numpy())) for a, v in zip(states, live.get_layer("lstm").states))


def test_a_real_process_prints_no_tensorflow_log(zoo):
    made = zoo["embedding_mask"]
    proc = run_process(["model", made["path"], "--x", made["x"][0], "--json"])
    assert proc.returncode == 0 and proc.stderr == ""
    assert json.loads(proc.stdout)["data"]["data"]["captured"][0]["mask"] == {
        "masked_steps": 6,
        "samples_with_masked_steps": 2,
    }


def test_layer_view_keeps_the_layers_own_cell_options_and_convlstm(tmp_path):
    """--layer builds the layer with the model's activation, use_bias and reset_after (it once
    took the defaults and failed on the weights: exit 3), and covers ConvLSTM layers."""
    import rnnshape

    keras = _keras()
    rng = np.random.default_rng(5)
    inp = keras.Input((4, 2))
    seq = keras.layers.LSTM(3, activation="relu", use_bias=False, return_sequences=True, name="enc")(inp)
    model = keras.Model(inp, keras.layers.GRU(2, reset_after=False, name="dec")(seq))
    model.save(tmp_path / "cells.keras")
    np.save(tmp_path / "x.npy", rng.uniform(-1, 1, (2, 4, 2)).astype(np.float32))
    for name, call in (
        ("enc", 'keras.layers.LSTM(3, return_sequences=True, activation="relu", use_bias=False)'),
        ("dec", "keras.layers.GRU(2, reset_after=False)"),
    ):
        result = rnnshape.model(str(tmp_path / "cells.keras"), x=str(tmp_path / "x.npy"), layer=name)
        view = result.data["inspect"]
        assert result.exit_code == 0 and view["keras_call"].startswith(call), view["keras_call"]
        assert all(c["holds"] for c in view["checks"])

    conv_in = keras.Input((3, 5, 5, 2))
    maps = keras.layers.ConvLSTM2D(4, 3, return_sequences=True, name="conv")(conv_in)
    both = keras.layers.Bidirectional(keras.layers.ConvLSTM2D(2, (2, 2), padding="same"), name="bi")(maps)
    keras.Model(conv_in, both).save(tmp_path / "conv.keras")
    np.save(tmp_path / "xc.npy", rng.uniform(-1, 1, (2, 3, 5, 5, 2)).astype(np.float32))
    for name, call, shape in (
        ("conv", "keras.layers.ConvLSTM2D(4, 3, return_sequences=True)", (2, 3, 3, 3, 4)),
        ("bi", 'keras.layers.Bidirectional(keras.layers.ConvLSTM2D(2, 2, padding="same"))', (2, 3, 3, 4)),
    ):
        result = rnnshape.model(str(tmp_path / "conv.keras"), x=str(tmp_path / "xc.npy"), layer=name)
        view = result.data["inspect"]
        assert result.exit_code == 0 and view["keras_call"].startswith(call), view["keras_call"]
        assert tuple(view["outputs"][0]["shape"]) == shape and all(c["holds"] for c in view["checks"])
