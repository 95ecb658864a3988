"""GRU reset_after everywhere (issue 17, item 1): the parameter counts of the widely quoted
answers (2,040 and 1,536, right for reset_after=False), the bias shape, the equation in the
h-versus-c table, compare --vary reset-after, check files, stack tokens and the API, each
against a GRU built directly with Keras."""

import numpy as np
import pytest

import rnnshape
from rnnshape.runner.session import load_keras

# every test here runs Keras: the slow tier (the fast tier is pytest -m "not slow")
pytestmark = pytest.mark.slow


def keras_gru(units, timesteps, features, **options):
    keras = load_keras()
    layer = keras.layers.GRU(units, **options)
    layer.build((1, timesteps, features))
    return layer


@pytest.mark.parametrize("reset_after, expected", [(False, 2040), (True, 2100)])
def test_the_quoted_2040_is_reset_after_false(invoke_json, reset_after, expected):
    flag = "--reset-after" if reset_after else "--no-reset-after"
    result, doc = invoke_json(["inspect", "--layer", "gru", "--units", "20", "--features", "13", flag])
    assert result.exit_code == 0
    data = doc["data"]
    layer = keras_gru(20, 3, 13, reset_after=reset_after)
    assert data["params"]["total"] == layer.count_params() == expected
    assert data["params"]["keras_count_params"] == expected
    bias = [w for w in data["params"]["weights"] if w["name"].endswith("/bias")][0]
    assert tuple(bias["shape"]) == tuple(layer.cell.bias.shape) == ((2, 60) if reset_after else (60,))
    assert data["config"]["reset_after"] is reset_after
    assert ("reset_after=False" in data["keras_call"]) is (not reset_after)
    candidate = [row for row in data["h_vs_c"] if row["state"] == "h~"][0]
    # The table explains the gap: both counts, and the equation of this mode.
    assert "2040" in candidate["what"] and "2100" in candidate["what"]
    assert ("r_t * (U_h h_{t-1} + b'_h)" in candidate["equation"]) is reset_after
    assert ("U_h (r_t * h_{t-1})" in candidate["equation"]) is (not reset_after)


def test_the_quoted_1536_is_a_reset_after_false_stack(invoke_json):
    keras = load_keras()
    args = ["stack", "--timesteps", "64", "--features", "15"]
    _, default = invoke_json(args + ["gru:16:seq", "td:15"])
    _, original = invoke_json(args + ["gru:16:seq:noreset", "td:15"])
    assert [layer["params"] for layer in default["data"]["layers"]][0] == 1584
    assert [layer["params"] for layer in original["data"]["layers"]][0] == 1536
    model = keras.Sequential(
        [
            keras.Input((64, 15)),
            keras.layers.GRU(16, return_sequences=True, reset_after=False),
            keras.layers.TimeDistributed(keras.layers.Dense(15)),
        ]
    )
    assert original["data"]["params"]["total"] == model.count_params()
    assert "reset_after=False" in original["data"]["layers"][0]["keras_call"]


def test_noreset_is_refused_on_other_layers(invoke):
    result = invoke(["stack", "lstm:4:noreset"])
    assert result.exit_code == 2 and "'noreset'" in result.stderr and "only to gru" in result.stderr


def test_reset_after_is_refused_on_other_layers_naming_the_option(invoke):
    result = invoke(["inspect", "--layer", "lstm", "--no-reset-after", "--static"])
    assert result.exit_code == 2
    assert "--reset-after" in result.stderr and "only with --layer gru" in result.stderr


def test_both_modes_compute_what_keras_computes(invoke_json):
    keras = load_keras()
    for flag, reset_after in (("--reset-after", True), ("--no-reset-after", False)):
        _, doc = invoke_json(
            [
                "inspect",
                "--layer",
                "gru",
                "--units",
                "3",
                "--timesteps",
                "5",
                "--return-sequences",
                "--values",
                "--kernel-init",
                "glorot_uniform",
                "--recurrent-init",
                "orthogonal",
                "--bias-init",
                "0.1",
                "--seed",
                "3",
                flag,
            ]
        )
        data = doc["data"]
        layer = keras.layers.GRU(
            3,
            return_sequences=True,
            reset_after=reset_after,
            kernel_initializer=keras.initializers.GlorotUniform(seed=3),
            recurrent_initializer=keras.initializers.Orthogonal(seed=3),
            bias_initializer=keras.initializers.Constant(0.1),
        )
        x = np.asarray(data["input"]["values"], np.float32)
        expected = np.asarray(layer(x))
        got = np.asarray(data["outputs"][0]["values"], np.float32)
        assert np.max(np.abs(got - expected)) <= 1e-6


def test_compare_varies_reset_after_on_gru_rows_only(invoke_json):
    _, doc = invoke_json(
        [
            "compare",
            "--layer",
            "simplernn",
            "--layer",
            "gru",
            "--vary",
            "reset-after",
            "--units",
            "20",
            "--features",
            "13",
            "--static",
        ]
    )
    rows = doc["data"]["rows"]
    assert [(r["config"]["layer"], r["config"]["reset_after"]) for r in rows][:4] == [("simplernn", None)] * 4
    gru = {
        (r["config"]["return_sequences"], r["config"]["return_state"], r["config"]["reset_after"]): r["params"]["total"]
        for r in rows
        if r["config"]["layer"] == "gru"
    }
    assert set(gru.values()) == {2040, 2100} and len(gru) == 8
    change = [c for c in doc["data"]["changes"] if c["dimension"] == "reset_after"]
    assert [c["effect"] for c in change] == ["params 2040 -> 2100"]


def test_check_files_take_reset_after(tmp_path, invoke_json):
    contract = tmp_path / "gru.toml"
    contract.write_text(
        '[[case]]\nname = "tf1 gru"\nlayer = "gru"\nunits = 20\nfeatures = 13\nreset_after = false\n'
        "[case.expect]\noutput = [1, 20]\n"
    )
    result, doc = invoke_json(["check", str(contract)])
    assert result.exit_code == 0
    case = doc["data"]["cases"][0]
    assert case["config"]["reset_after"] is False


def test_the_python_api_and_trace_take_reset_after():
    result = rnnshape.inspect("gru", units=20, features=13, reset_after=False, static=True)
    assert result.to_dict()["params"]["total"] == 2040
    traced = rnnshape.trace("gru", units=2, timesteps=3, reset_after=False)
    assert traced.ok and traced.to_dict()["config"]["reset_after"] is False
    assert traced.to_dict()["keras_call"] == "keras.layers.GRU(2, reset_after=False)"
