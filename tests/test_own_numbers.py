"""--kernel-init/--recurrent-init/--bias-init and --input: exactly Keras' numbers, users' files
read safely. The golden numbers come from Keras' own test suite (keras/src/layers/rnn/*_test.py,
test_correctness), which is installed with keras; a test checks they are still there."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import measured

from rnnshape.rules.spec import make_spec
from rnnshape.runner import layer as layer_runner
from rnnshape.runner import session as session_runner

# every test here runs Keras: the slow tier (the fast tier is pytest -m "not slow")
pytestmark = pytest.mark.slow


def keras_rnn_tests() -> Path:
    """Keras' own test files, found without importing Keras (and TensorFlow); called by the tests,
    not at collection, so that the fast tier collects where Keras is not installed."""
    return Path(importlib.util.find_spec("keras").origin).parent / "src" / "layers" / "rnn"


# (layer, units, input shape, go_backwards, expected output, test file)
KERAS_GOLDEN = [
    ("lstm", 3, (3, 6, 4), False, [[0.6288687] * 3, [0.86899155] * 3, [0.9460773] * 3], "lstm_test.py"),
    ("lstm", 3, (3, 6, 4), True, [[0.35622165] * 3, [0.74789524] * 3, [0.8872726] * 3], "lstm_test.py"),
    ("gru", 3, (3, 6, 4), False, [[0.5217289] * 3, [0.6371659] * 3, [0.39384964] * 3], "gru_test.py"),
    ("gru", 3, (3, 6, 4), True, [[0.24406259] * 3, [0.611516] * 3, [0.3928808] * 3], "gru_test.py"),
    ("simplernn", 4, (2, 3, 4), False, [[0.405432] * 4, [0.73605347] * 4], "simple_rnn_test.py"),
]


@pytest.mark.parametrize("layer,units,shape,backwards,expected,source", KERAS_GOLDEN)
def test_reproduces_keras_own_golden_outputs_through_the_cli(
    invoke_json, layer, units, shape, backwards, expected, source
):
    batch, timesteps, features = shape
    args = [
        "inspect",
        "--layer",
        layer,
        "--units",
        str(units),
        "--batch",
        str(batch),
        "--timesteps",
        str(timesteps),
        "--features",
        str(features),
        "--kernel-init",
        "0.01",
        "--recurrent-init",
        "0.02",
        "--bias-init",
        "0.03",
        "--input",
        "arange",
        "--values",
    ] + (["--go-backwards"] if backwards else [])
    result, doc = invoke_json(args)
    assert result.exit_code == 0
    np.testing.assert_allclose(doc["data"]["outputs"][0]["values"], expected, atol=1e-5, rtol=1e-5)
    assert "kernel_initializer=keras.initializers.Constant(0.01)" in doc["data"]["keras_call"]
    assert doc["data"]["config"]["kernel_init"] == 0.01 and doc["data"]["config"]["input"] == "arange"
    assert any("identical weights" in c["claim"] and c["holds"] for c in doc["data"]["checks"])
    # the number is really Keras' own: it is in the installed test file
    assert str(expected[0][0]) in (keras_rnn_tests() / source).read_text()


def test_named_initializers_are_seeded_keras_initializers():
    import keras

    spec = make_spec(
        layer="gru",
        units=3,
        kernel_init="glorot_uniform",
        recurrent_init="orthogonal",
        bias_init="zeros",
        seed=5,
        return_sequences=True,
    )
    assert spec.keras_call() == (
        "keras.layers.GRU(3, return_sequences=True, "
        "kernel_initializer=keras.initializers.GlorotUniform(seed=5), "
        'recurrent_initializer=keras.initializers.Orthogonal(seed=5), bias_initializer="zeros")'
    )
    ours = layer_runner.run(spec)
    with session_runner.quiet_native_stderr():
        layer = keras.layers.GRU(
            3,
            return_sequences=True,
            kernel_initializer=keras.initializers.GlorotUniform(seed=5),
            recurrent_initializer=keras.initializers.Orthogonal(seed=5),
            bias_initializer="zeros",
        )
        direct = np.asarray(layer(ours.input))
    np.testing.assert_allclose(ours.outputs["output"], direct, atol=1e-6)


def test_partial_initializers_keep_rnnshape_weights_for_the_rest():
    own = layer_runner.run(make_spec(layer="lstm", units=2))
    mixed = layer_runner.run(make_spec(layer="lstm", units=2, bias_init=0.0))
    assert not np.allclose(own.outputs["output"], mixed.outputs["output"])  # the bias changed
    assert measured(mixed) and all(c.holds for c in measured(mixed))


def test_npy_file_fixes_the_sizes_and_is_recorded(invoke_json, tmp_path):
    data = np.linspace(-1, 1, 2 * 5 * 3, dtype=np.float32).reshape(2, 5, 3)
    path = tmp_path / "my_batch.npy"
    np.save(path, data)
    result, doc = invoke_json(
        ["inspect", "--layer", "lstm", "--units", "8", "--input", str(path), "--return-state", "--values"]
    )
    assert result.exit_code == 0
    config = doc["data"]["config"]
    assert (config["batch"], config["timesteps"], config["features"]) == (2, 5, 3)
    import hashlib

    assert config["input_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    np.testing.assert_allclose(doc["data"]["input"]["values"], data)
    assert doc["data"]["outputs"][0]["shape"] == [2, 8]


def test_2d_and_1d_data_become_the_shape_keras_wants_with_a_note(invoke_json, tmp_path):
    csv = tmp_path / "series.csv"
    csv.write_text("1,2\n3,4\n5,6\n7,8\n")
    _, doc = invoke_json(["inspect", "--input", str(csv), "--static"])
    assert doc["data"]["input"]["shape"] == [1, 4, 2]
    assert "batch of one" in doc["data"]["input"]["notes"][0]
    series = tmp_path / "series.npy"
    np.save(series, np.arange(7.0))
    _, doc = invoke_json(["inspect", "--input", str(series), "--static"])
    assert doc["data"]["input"]["shape"] == [1, 7, 1]
    assert "(1, 7, 1)" in doc["data"]["input"]["notes"][0]


def _write(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, np.ndarray):
        np.save(path, content, allow_pickle=True)
    else:
        path.write_text(content)
    return str(path)


@pytest.mark.parametrize(
    "make,needle",
    [
        (lambda d: _write(d, "nan.npy", np.array([[1.0, np.nan]])), "NaN"),
        (lambda d: _write(d, "inf.csv", "1,2\ninf,3\n"), "NaN or infinite"),
        (lambda d: _write(d, "objects.npy", np.array([{"a": 1}], dtype=object)), "never loads pickles"),
        (lambda d: _write(d, "words.csv", "a,b\nc,d\n"), "not a numeric CSV"),
        (lambda d: _write(d, "broken.npy", "not numpy at all"), "not a readable .npy"),
        (lambda d: str(d / "missing.npy"), "cannot read"),
        (lambda d: _write(d, "data.txt", "1,2"), "--input"),
    ],
)
def test_bad_input_files_exit_2(invoke, tmp_path, make, needle):
    result = invoke(["inspect", "--input", make(tmp_path)])
    assert result.exit_code == 2, result.stderr
    assert needle in result.stderr and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_sizes_that_contradict_the_file_name_both(invoke, tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((2, 5, 3), np.float32))
    result = invoke(["inspect", "--input", str(path), "--timesteps", "4"])
    assert result.exit_code == 2
    assert "--timesteps" in result.stderr and "timesteps 5" in result.stderr and str(path) in result.stderr


@pytest.mark.parametrize("value", ["glorot", "nan", "inf", ""])
def test_bad_initializer_exit_2(invoke, value):
    result = invoke(["inspect", "--kernel-init", value])
    assert result.exit_code == 2 and "--kernel-init" in result.stderr


def test_constant_note_sits_next_to_the_values(invoke):
    result = invoke(
        ["inspect", "--units", "3", "--kernel-init", "0.1", "--recurrent-init", "0.1", "--bias-init", "0.1", "--values"]
    )
    assert "the columns below repeat the same number" in result.stdout
    json_doc = json.loads(invoke(["inspect", "--kernel-init", "0.1", "--json"]).stdout)
    assert json_doc["data"]["input"]["notes"] == []  # only one initializer is constant: no such note


def test_a_pinned_sha256_must_match_the_file(tmp_path):
    from rnnshape.api._common import make_layer_spec
    from rnnshape.errors import SpecError

    path = tmp_path / "x.npy"
    np.save(path, np.ones((1, 2, 3), np.float32))
    spec = make_layer_spec(input=str(path))
    assert make_layer_spec(input=str(path), input_sha256=spec.input_sha256) == spec  # config round-trips
    with pytest.raises(SpecError, match="does not match"):
        make_layer_spec(input=str(path), input_sha256="0" * 64)
