"""rnnshape port: Keras layers ported to torch.nn and torch state_dicts ported to Keras, on random
configurations, run in both frameworks; the --save files and the --code function checked in
fresh processes; a layer of a saved model; the refusals."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import rnnshape
from rnnshape.errors import UsageError

# every test here runs Keras: the slow tier (the fast tier is pytest -m "not slow")
pytestmark = pytest.mark.slow

torch = pytest.importorskip("torch")

TOLERANCE = 1e-5
KINDS = ("lstm", "gru", "simplernn")


def random_options(rng: random.Random) -> dict:
    kind = rng.choice(KINDS)
    bidirectional = rng.random() < 0.5
    options = dict(
        layer=kind,
        units=rng.randint(1, 7),
        features=rng.randint(1, 5),
        timesteps=rng.randint(1, 6),
        batch=rng.randint(1, 4),
        num_layers=rng.randint(1, 3),
        bidirectional=bidirectional,
        return_sequences=rng.random() < 0.5,
        return_state=rng.random() < 0.5,
        use_bias=rng.random() < 0.85,
        seed=rng.randint(0, 10_000),
    )
    if bidirectional:
        options["merge_mode"] = rng.choice(("concat", "sum", "mul", "ave", "none"))
    if kind == "simplernn" and rng.random() < 0.4:
        options["activation"] = "relu"
    return options


def expected_outputs(options: dict) -> int:
    states = {"lstm": 2, "gru": 1, "simplernn": 1}[options["layer"]] if options["return_state"] else 0
    directions = 2 if options["bidirectional"] else 1
    outputs = 2 if options.get("merge_mode") == "none" else 1
    return outputs + states * directions


def test_100_random_keras_layers_ported_to_torch_agree_within_1e_5():
    rng = random.Random(19)
    worst = 0.0
    for _ in range(100):
        options = random_options(rng)
        result = rnnshape.port(to="torch", **options)
        assert result.ok, (options, result.errors)
        diffs = result.differences
        assert len(diffs) == expected_outputs(options), (options, diffs)
        worst = max(worst, *diffs.values())
        assert all(np.isfinite(d) and d <= TOLERANCE for d in diffs.values()), (options, diffs)
        # the torch module holds exactly the tensors the mapping table lists
        module = getattr(torch.nn, {"lstm": "LSTM", "gru": "GRU", "simplernn": "RNN"}[options["layer"]])(
            options["features"],
            options["units"],
            options["num_layers"],
            bias=options["use_bias"],
            batch_first=True,
            bidirectional=options["bidirectional"],
        )
        table = [(row["torch"], tuple(row["torch_shape"])) for row in result.data["weights"]]
        assert table == [(name, tuple(t.shape)) for name, t in module.state_dict().items()]
    assert worst < TOLERANCE


def test_100_random_torch_state_dicts_ported_to_keras_agree_within_1e_5(tmp_path):
    """torch's own initialisation (not rnnshape's weights), saved with torch.save, read back."""
    rng = random.Random(91)
    torch.manual_seed(0)
    for i in range(100):
        options = random_options(rng)
        options.pop("merge_mode", None)
        kind = options["layer"]
        kwargs = dict(bias=options["use_bias"], batch_first=True, bidirectional=options["bidirectional"])
        if kind == "simplernn":
            kwargs["nonlinearity"] = options.get("activation", "tanh")
        module = getattr(torch.nn, {"lstm": "LSTM", "gru": "GRU", "simplernn": "RNN"}[kind])(
            options.pop("features"), options.pop("units"), options["num_layers"], **kwargs
        )
        path = tmp_path / f"m{i}.pt"
        torch.save(module.state_dict(), path)
        result = rnnshape.port(from_torch=str(path), **options)
        assert result.ok, (options, result.errors)
        assert all(d <= TOLERANCE for d in result.differences.values()), (options, result.differences)
        assert len(result.differences) == expected_outputs(options)


def test_the_saved_state_dict_loads_in_a_fresh_process_and_computes_keras_numbers(tmp_path):
    path = tmp_path / "gru.pt"
    options = dict(
        layer="gru", units=3, features=2, timesteps=4, batch=2, bidirectional=True, num_layers=2, return_sequences=True
    )
    result = rnnshape.port(to="torch", save=str(path), **options)
    assert result.ok and path.exists()
    keras_run = _keras_run(options)
    np.save(tmp_path / "x.npy", keras_run.input)
    script = textwrap.dedent(f"""
        import json, sys, numpy as np, torch
        module = {result.torch_call}
        module.load_state_dict(torch.load({str(path)!r}, weights_only=True))
        out, h_n = module(torch.from_numpy(np.load({str(tmp_path / "x.npy")!r})))
        print(json.dumps({{"output": out.detach().numpy().tolist(),
                          "modules": [m for m in ("tensorflow", "keras") if m in sys.modules]}}))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["modules"] == []  # torch alone, in a process that never saw Keras
    torch_output = np.asarray(report["output"], np.float32)
    assert torch_output.shape == (2, 4, 6)
    assert np.abs(torch_output - keras_run.outputs["output"]).max() <= TOLERANCE


def test_the_code_function_run_in_a_fresh_process_gives_rnnshapes_conversion(tmp_path):
    for options in (
        dict(layer="gru", units=3, features=2, bidirectional=True, num_layers=2),
        dict(layer="lstm", units=2, features=3, num_layers=3, use_bias=False),
        dict(layer="simplernn", units=4, features=1, bidirectional=True, activation="relu"),
    ):
        save = tmp_path / f"{options['layer']}.pt"
        result = rnnshape.port(to="torch", code=True, save=str(save), **options)
        assert result.ok
        keras_weights = [array for _, array in _keras_run(options).weights]
        np.savez(tmp_path / "w.npz", *keras_weights)
        script = result.data["code"] + textwrap.dedent(f"""
            import json, sys, numpy as np, torch
            archive = np.load({str(tmp_path / "w.npz")!r})
            weights = [archive[f"arr_{{i}}"] for i in range(len(archive.files))]
            state = keras_to_torch(weights)
            saved = torch.load({str(save)!r}, weights_only=True)
            print(json.dumps({{"keys": list(state) == list(saved),
                              "diff": max(float(np.abs(state[k] - saved[k].numpy()).max()) for k in saved)}}))
        """)
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        report = json.loads(proc.stdout)
        assert report == {"keys": True, "diff": 0.0}, options


def _keras_run(options: dict):
    """The Keras layers, weights and input rnnshape builds for these options (port's Keras side)."""
    from rnnshape.api._common import make_layer_spec
    from rnnshape.runner.keras_port import run_stack

    options = dict(options)
    num_layers = options.pop("num_layers", 1)
    spec = make_layer_spec(**options)
    return run_stack(spec, num_layers)


def test_the_torch_to_keras_code_and_the_saved_weights_h5_load_in_keras(tmp_path):
    module = torch.nn.LSTM(3, 4, 2, batch_first=True, bidirectional=True)
    pt = tmp_path / "lstm.pt"
    torch.save(module.state_dict(), pt)
    h5 = tmp_path / "lstm.weights.h5"
    result = rnnshape.port(
        "lstm", from_torch=str(pt), num_layers=2, bidirectional=True, return_sequences=True, save=str(h5), code=True
    )
    assert result.ok and h5.exists()
    load = result.data["saved"]["load"]
    x = np.random.default_rng(0).uniform(-1, 1, (2, 5, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    script = result.data["code"] + textwrap.dedent(f"""
        import json, numpy as np, keras, torch
        {load}
        x = np.load({str(tmp_path / "x.npy")!r})
        module = {result.torch_call}
        module.load_state_dict(torch.load({str(pt)!r}, weights_only=True))
        expected = module(torch.from_numpy(x))[0].detach().numpy()
        state = {{k: v.numpy() for k, v in torch.load({str(pt)!r}, weights_only=True).items()}}
        by_code = torch_to_keras(state)
        print(json.dumps({{"h5": float(np.abs(model(x).numpy() - expected).max()),
                          "code": max(float(np.abs(a - b).max()) for a, b in zip(by_code, model.get_weights()))}}))
    """)
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=180,
        env={**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["h5"] <= TOLERANCE and report["code"] == 0.0


def test_a_layer_of_a_saved_model_is_ported_with_its_own_weights(tmp_path):
    from rnnshape.runner.session import load_keras

    keras = load_keras()
    inputs = keras.Input(shape=(5, 3))
    h = keras.layers.Bidirectional(keras.layers.GRU(4, return_sequences=True), name="encoder")(inputs)
    out = keras.layers.LSTM(2, name="decoder")(h)
    model = keras.Model(inputs, keras.layers.Dense(1)(out))
    path = tmp_path / "m.keras"
    model.save(path)
    save = tmp_path / "encoder.pt"
    result = rnnshape.port("encoder", to="torch", model=str(path), batch=2, save=str(save))
    assert result.ok, result.errors
    assert result.torch_call == "torch.nn.GRU(input_size=3, hidden_size=4, batch_first=True, bidirectional=True)"
    # the path Keras gives; Keras numbers the layer names it makes within one process (forward_gru_60)
    assert re.search(r"forward_gru(_\d+)?/gru_cell/kernel$", result.data["weights"][0]["keras"])
    assert result.differences["output"] <= TOLERANCE
    # the model's own weights, GRU's gate blocks z, r, h moved to torch's r, z, n
    kernel = model.get_layer("encoder").get_weights()[0]
    expected = np.concatenate([kernel[:, 4:8], kernel[:, 0:4], kernel[:, 8:12]], axis=1).T
    assert np.array_equal(torch.load(save, weights_only=True)["weight_ih_l0"].numpy(), expected)
    with pytest.raises(UsageError, match="not a layer of this model"):
        rnnshape.port("nope", to="torch", model=str(path))


@pytest.mark.parametrize(
    "args, words",
    [
        (["--layer", "gru", "--no-reset-after"], "torch.nn.GRU applies the reset gate after the recurrent matmul"),
        (["--layer", "lstm", "--activation", "relu"], "tanh only"),
        (["--layer", "lstm", "--recurrent-activation", "hard_sigmoid"], "sigmoid only"),
        (["--layer", "simplernn", "--activation", "sigmoid"], "tanh or relu"),
        (["--layer", "convlstm2d"], "LSTM, GRU and SimpleRNN"),
    ],
)
def test_what_torch_cannot_compute_is_refused_with_the_reason(invoke, args, words):
    result = invoke(["port", "--to", "torch", *args])
    assert result.exit_code == 2
    assert words in result.stderr and "Traceback" not in result.stderr


def test_a_state_dict_is_read_as_it_is_and_an_option_contradicting_it_refused(invoke, tmp_path):
    path = tmp_path / "gru.pt"
    torch.save(torch.nn.GRU(2, 3, 2, bidirectional=True).state_dict(), path)
    result = invoke(["port", "--from", "torch", str(path), "--layer", "lstm"])
    assert result.exit_code == 2 and "--layer gru" in result.stderr
    result = invoke(["port", "--from", "torch", str(path), "--layer", "gru"])  # its 2 layers, both directions
    assert result.exit_code == 0, result.stderr
    assert (
        "torch.nn.GRU(input_size=2, hidden_size=3, num_layers=2, batch_first=True, bidirectional=True)" in result.stdout
    )
    result = invoke(["port", "--from", "torch", str(path), "--num-layers", "1"])
    assert (
        result.exit_code == 2 and "--num-layers: 1 contradicts gru.pt, whose state_dict holds 2 layers" in result.stderr
    )
    (tmp_path / "code.pt").write_bytes(b"\x80\x04cos\nsystem\n.")  # a pickle calling code: refused unread
    result = invoke(["port", "--from", "torch", str(tmp_path / "code.pt"), "--layer", "gru"])
    assert result.exit_code == 2 and "weights_only=True" in result.stderr


def test_the_command_line_json_and_exit_code(tmp_path):
    from tests.conftest import run_process

    proc = run_process(
        ["port", "--to", "torch", "--layer", "lstm", "--units", "3", "--bidirectional", "--return-state", "--json"]
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    document = json.loads(proc.stdout)
    data = document["data"]
    assert data["torch"]["call"] == "torch.nn.LSTM(input_size=2, hidden_size=3, batch_first=True, bidirectional=True)"
    rows = {row["torch"]: row for row in data["outputs"]}
    assert rows["h_n[-2]"]["keras"] == "forward_state_h" and rows["c_n[-1]"]["keras"] == "backward_state_c"
    assert rows["output[:, -1]"]["expect"] == "differ" and rows["output[:, -1]"]["max_abs_diff"] > 0.01
    assert data["versions"]["torch"] == torch.__version__


def test_tensorflow_only_commands_never_import_torch():
    """inspect imports TensorFlow and Keras, never torch. (TensorFlow itself imports jax when it is
    installed: tensorflow/lite/python/util.py does `from jax import jit`; rnnshape never does,
    see test_layout.)"""
    script = (
        "import sys\nfrom rnnshape.cli import cli\n"
        "code = cli.main(['inspect', '--units', '2'], standalone_mode=False)\n"
        "print(code, [m for m in ('torch',) if m in sys.modules])"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "0 []"


def test_without_torch_port_exits_3_with_the_install_command(tmp_path):
    from tests.conftest import run_process

    fake = tmp_path / "torch"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('No module named torch (simulated)')\n")
    import os

    proc = run_process(
        ["port", "--to", "torch"], env={"PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    )
    assert proc.returncode == 3
    assert 'pip install "rnnshape[torch]"' in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
