"""rnnshape stateful: real stateful Keras layers fed consecutive chunks, measured against one pass."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import run_process

from rnnshape.measure import stateful as measured_stateful
from rnnshape.rules import stateful as chunking
from rnnshape.rules.spec import make_spec
from rnnshape.runner import layer as layer_runner
from rnnshape.runner import stateful as stateful_runner

# every test here runs Keras: the slow tier (the fast tier is pytest -m "not slow")
pytestmark = pytest.mark.slow

GOLDEN = Path(__file__).parent / "golden"
SPLITS = [(2, 4), (1, 1, 4), (3, 3), (5, 1), (1, 2, 1, 2)]


def _run(spec, split):
    bounds = chunking.chunk_bounds(split)
    orders = None
    if len(bounds) > 1 and any(d.reversed for d in chunking.directions(spec)):
        orders = [chunking.read_order(bounds, d.reversed) for d in chunking.directions(spec)]
    return stateful_runner.run_stateful(spec, bounds, orders, chunking.shuffle_rows(spec.batch))


@pytest.mark.parametrize("layer", ["lstm", "gru", "simplernn"])
def test_chunked_stateful_equals_one_pass_for_several_splits(layer):
    spec = make_spec(layer=layer, units=3, timesteps=6, batch=2, stateful=True, return_sequences=True)
    # The one pass comes from inspect's own runner: a non-stateful layer on the same x and weights.
    one = layer_runner.run(
        make_spec(layer=layer, units=3, timesteps=6, batch=2, return_sequences=True, return_state=True)
    )
    finals = [one.outputs["state_h"]] + ([one.outputs["state_c"]] if layer == "lstm" else [])
    for split in SPLITS:
        run = _run(spec, split)
        np.testing.assert_array_equal(run.x, one.input)
        chunked = np.concatenate([call.outputs[0] for call in run.chunks], axis=1)
        assert chunked.shape == (2, 6, 3)
        np.testing.assert_allclose(chunked, one.outputs["output"], atol=1e-5, rtol=0)
        for variable, final in zip(run.chunks[-1].final, finals):
            np.testing.assert_allclose(variable, final, atol=1e-5, rtol=0)
        checks = measured_stateful.analyze(spec, chunking.chunk_bounds(split), run).checks
        assert checks and all(c.holds for c in checks), [c for c in checks if not c.holds]


def test_without_return_sequences_each_chunk_gives_the_one_pass_output_at_its_last_step():
    spec = make_spec(layer="gru", units=3, timesteps=6, batch=2, stateful=True)
    one = layer_runner.run(make_spec(layer="gru", units=3, timesteps=6, batch=2, return_sequences=True))
    run = _run(spec, (1, 3, 2))
    for call, last in zip(run.chunks, (0, 3, 5)):
        assert call.outputs[0].shape == (2, 3)
        np.testing.assert_allclose(call.outputs[0], one.outputs["output"][:, last], atol=1e-5, rtol=0)


@pytest.mark.parametrize("layer", ["lstm", "simplernn"])
def test_states_carry_row_by_row_and_reset_to_zeros(layer):
    spec = make_spec(layer=layer, units=3, timesteps=6, batch=3, stateful=True)
    run = _run(spec, (2, 2, 2))
    assert all(np.all(v == 0) for v in run.chunks[0].initial)
    for previous, call in zip(run.chunks, run.chunks[1:]):
        for carried, final in zip(call.initial, previous.final):
            np.testing.assert_array_equal(carried, final)  # row i continues row i, nothing else
            assert np.max(np.abs(carried)) > 1e-3
            assert not np.allclose(carried[0], carried[1])  # distinct samples, distinct rows
    assert [v.shape for v in run.after_reset] == [(3, 3)] * (2 if layer == "lstm" else 1)
    assert all(np.all(v == 0) for v in run.after_reset)
    # After the reset the last chunk starts over: a fresh non-stateful layer on that chunk alone.
    np.testing.assert_allclose(run.rerun.outputs[0], run.fresh_last[0], atol=1e-6, rtol=0)
    assert np.max(np.abs(run.rerun.outputs[0] - run.chunks[-1].outputs[0])) > 1e-4
    # Rows fed in another order continue the wrong samples.
    assert run.shuffled is not None
    assert np.max(np.abs(run.shuffled.outputs[0] - run.chunks[1].outputs[0][::-1])) > 1e-4


def test_cli_json_chunks_reset_and_single_pass(invoke_json):
    layer_args = ["--layer", "lstm", "--units", "3", "--timesteps", "6", "--batch", "2", "--return-sequences"]
    result, doc = invoke_json(["stateful", *layer_args, "--split", "2,4"])
    assert result.exit_code == 0 and doc["ok"] and doc["command"] == "stateful"
    data = doc["data"]
    assert data["split"] == [2, 4] and data["split_source"] == "--split"
    assert data["config"]["stateful"] is True
    assert data["keras_call"] == "keras.layers.LSTM(3, return_sequences=True, stateful=True)"
    assert data["keras_input"] == "keras.Input(batch_shape=(2, None, 2))"  # chunks of 2 and 4 steps
    assert [c["steps"] for c in data["chunks"]] == [[0, 1], [2, 3, 4, 5]]
    assert all({"steps", "initial_state", "final_state", "output"} <= set(c) for c in data["chunks"])
    first, second = data["chunks"]
    assert first["initial_state"] == {"state_h": [[0.0] * 3] * 2, "state_c": [[0.0] * 3] * 2}
    assert second["initial_state"] == first["final_state"]
    assert data["after_reset"] == {"state_h": [[0.0] * 3] * 2, "state_c": [[0.0] * 3] * 2}
    assert data["single_pass"]["equal"] is True and data["single_pass"]["output_max_abs_diff"] <= 1e-5
    assert data["batch_size_error"]["raised"] and data["batch_size_error"]["type"] == "ValueError"
    assert data["api"] == {
        "layer.reset_state": True,
        "layer.reset_states": True,
        "keras.Model.reset_state": False,
        "keras.Model.reset_states": False,
    }
    # The same x and weights as inspect: the chunks, concatenated, are inspect's output.
    _, inspected = invoke_json(["inspect", *layer_args, "--values"])
    assert data["input"]["values"] == inspected["data"]["input"]["values"]
    chunked = np.concatenate([np.asarray(c["output"]) for c in data["chunks"]], axis=1)
    np.testing.assert_allclose(chunked, inspected["data"]["outputs"][0]["values"], atol=1e-5, rtol=0)


def _keras_model(keras_input, layer_args):
    """The model a reader builds from rnnshape's advice, with Keras directly."""
    import keras

    batch_shape = eval(keras_input.removeprefix("keras.Input(batch_shape=").removesuffix(")"))  # a literal tuple
    layer_class = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "simplernn": keras.layers.SimpleRNN}
    layer = layer_class[layer_args["layer"]](3, stateful=True, return_sequences=True)
    if layer_args.get("bidirectional"):
        layer = keras.layers.Bidirectional(layer)
    inputs = keras.Input(batch_shape=batch_shape)
    return keras.Model(inputs, layer(inputs)), layer


@pytest.mark.parametrize(
    "layer,bidirectional", [("lstm", False), ("gru", False), ("simplernn", False), ("lstm", True), ("gru", True)]
)
@pytest.mark.parametrize(
    "split,declared", [("3,3", "(2, 3, 2)"), ("2,4", "(2, None, 2)"), ("1,2,3", "(2, None, 2)"), ("6", "(2, 6, 2)")]
)
def test_recommended_model_input_accepts_every_chunk(invoke_json, layer, bidirectional, split, declared):
    args = [
        "stateful",
        "--layer",
        layer,
        "--units",
        "3",
        "--timesteps",
        "6",
        "--batch",
        "2",
        "--split",
        split,
        "--return-sequences",
    ] + (["--bidirectional"] if bidirectional else [])
    result, doc = invoke_json(args)
    data = doc["data"]
    assert result.exit_code == 0 and data["keras_input"] == f"keras.Input(batch_shape={declared})"
    # Built here with Keras directly from the printed advice, with the run's weights: every chunk is accepted,
    # and the model continues the state exactly like the layer of the command.
    model, keras_layer = _keras_model(data["keras_input"], {"layer": layer, "bidirectional": bidirectional})
    reference = layer_runner.prepare(
        make_spec(
            layer=layer,
            units=3,
            timesteps=6,
            batch=2,
            stateful=True,
            return_sequences=True,
            bidirectional=bidirectional,
        )
    )
    keras_layer.set_weights(reference.weights)
    x = np.asarray(data["input"]["values"], dtype=np.float32)
    for chunk in data["chunks"]:
        steps = chunk["steps"]
        out = np.asarray(model(x[:, steps[0] : steps[-1] + 1]))
        np.testing.assert_allclose(out, chunk["output"], atol=1e-5, rtol=0)
    # ...and the command measured the same thing itself, among its facts.
    fact = next(c for c in data["checks"] if c["claim"].startswith("in a model: keras.Model built from"))
    assert f"keras.Input(batch_shape={declared})" in fact["claim"]
    assert fact["holds"] and fact["max_abs_diff"] <= 1e-5
    assert "batch_shape=(batch, None, features)" in " ".join(data["rules"])


def test_model_input_with_all_timesteps_is_refused_and_the_fact_fails():
    # Today's old advice, keras.Input(batch_shape=(batch, timesteps, features)), refuses shorter chunks:
    # the runner records Keras' message, and the measured fact does not hold.
    spec = make_spec(layer="lstm", units=3, timesteps=6, batch=2, stateful=True)
    bounds = chunking.chunk_bounds((2, 4))
    run = stateful_runner.run_stateful(spec, bounds, model_batch_shape=(2, 6, 2))
    assert run.model.refused[0] == 1 and "expected shape=(None, 6, 2), found shape=(2, 2, 2)" in run.model.refused[2]
    fact = measured_stateful.model_check(spec, run)
    assert not fact.holds and "refused chunk 1" in fact.claim
    good = stateful_runner.run_stateful(spec, bounds, model_batch_shape=chunking.input_batch_shape(spec, (2, 4)))
    assert good.model.refused is None and measured_stateful.model_check(spec, good).holds


def test_chunks_and_reading_orders_are_counted_from_1_in_words(invoke, invoke_json):
    args = [
        "stateful",
        "--layer",
        "gru",
        "--units",
        "2",
        "--timesteps",
        "6",
        "--batch",
        "2",
        "--split",
        "2,4",
        "--go-backwards",
        "--diagram",
    ]
    text = " ".join(invoke(args).stdout.split())
    assert "chunk 1 = steps 1..2, chunk 2 = steps 3..6" in text
    assert "gru reads each chunk backwards (go_backwards=True): steps 2 1 | 6 5 4 3" in text
    assert "Chunk 1: steps 1..2, layer(x[:, 0:2])" in text  # the slice keeps Python's 0-based index
    assert "│ 2 → 1 │" in text and "leaves batch 1 after reading x_1 and enters batch 2 at x_6" in text
    data = invoke_json(args)[1]["data"]
    assert [c["steps"] for c in data["chunks"]] == [[0, 1], [2, 3, 4, 5]]  # JSON: 0-based
    assert data["reading"][0]["order"] == [1, 0, 5, 4, 3, 2]
    last = invoke_json(["stateful", "--layer", "gru", "--timesteps", "6", "--split", "2,4"])[1]["data"]
    assert any("at that chunk's last step (steps 2, 6;" in c["claim"] for c in last["checks"])


def test_default_split_is_two_halves(invoke_json):
    _, doc = invoke_json(["stateful", "--layer", "gru", "--timesteps", "5"])
    assert doc["data"]["split"] == [2, 3] and doc["data"]["split_source"].startswith("default: two halves")


def test_batch_size_error_is_keras_message_not_a_crash(invoke):
    result = invoke(["stateful", "--layer", "simplernn", "--batch", "2", "--timesteps", "4"])
    assert result.exit_code == 0 and result.stderr == ""
    text = " ".join(result.stdout.split())
    assert "layer(x with 3 samples) raised ValueError: If an RNN is stateful, the batch size of the input" in text
    assert "Expected batch size: 2 - Received batch size: 3" in text
    assert "\x1b[" not in result.stdout and "Arguments received" not in result.stdout


def test_go_backwards_reads_each_chunk_backwards(invoke_json):
    _, doc = invoke_json(
        [
            "stateful",
            "--layer",
            "gru",
            "--units",
            "3",
            "--timesteps",
            "6",
            "--batch",
            "2",
            "--split",
            "2,4",
            "--go-backwards",
            "--return-sequences",
        ]
    )
    data = doc["data"]
    assert data["reading"] == [{"layer": "gru", "go_backwards": True, "order": [1, 0, 5, 4, 3, 2]}]
    assert data["single_pass"]["equal"] is False and data["single_pass"]["final_state_max_abs_diff"] > 1e-3
    assert data["single_pass"]["as_read"]["equal"] is True
    assert all(c["holds"] for c in data["checks"])
    one_chunk = invoke_json(["stateful", "--layer", "gru", "--timesteps", "6", "--split", "6", "--go-backwards"])[1]
    assert one_chunk["data"]["single_pass"]["equal"] is True  # a single chunk is one go_backwards pass


def test_bidirectional_forward_continues_backward_does_not(invoke_json):
    _, doc = invoke_json(
        [
            "stateful",
            "--layer",
            "lstm",
            "--units",
            "2",
            "--timesteps",
            "5",
            "--batch",
            "2",
            "--split",
            "2,3",
            "--bidirectional",
            "--return-sequences",
        ]
    )
    data = doc["data"]
    assert data["state_names"] == ["forward_state_h", "forward_state_c", "backward_state_h", "backward_state_c"]
    claims = {c["claim"]: c for c in data["checks"]}
    forward = next(c for k, c in claims.items() if k.startswith("the forward layer's final state"))
    backward = next(c for k, c in claims.items() if k.startswith("the backward layer's final state"))
    assert forward["max_abs_diff"] <= 1e-5 and backward["max_abs_diff"] > 1e-3
    assert data["single_pass"]["as_read"]["equal"] is True
    assert all(c["holds"] for c in data["checks"])


def test_bidirectional_with_return_state_is_keras_failure_exit_3(invoke):
    result = invoke(["stateful", "--bidirectional", "--return-state"])
    assert result.exit_code == 3
    assert "TypeError" in result.stderr and "drop --return-state" in result.stderr


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--split", "2,2"], "adds up to 4, but --timesteps is 3"),
        (["--split", "0,3"], "at least 1"),
        (["--split", "1,x"], "comma-separated"),
        (["--timesteps", "202", "--split", ",".join(["2"] * 101)], "100 allowed"),
        (["--batch", "2", "--lengths", "1,3"], "--lengths"),
    ],
)
def test_bad_split_is_one_line_exit_2(invoke, args, needle):
    result = invoke(["stateful", *args])
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnnshape stateful: error: Invalid value for --")
    assert needle in lines[0] and ("--split" in lines[0] or "--lengths" in lines[0])


def test_json_identical_run_after_run(invoke):
    args = ["stateful", "--layer", "gru", "--batch", "2", "--timesteps", "4", "--split", "1,3", "--json"]
    assert invoke(args).stdout == invoke(args).stdout


def test_human_golden(invoke):
    result = invoke(
        ["stateful", "--layer", "lstm", "--units", "3", "--timesteps", "6", "--batch", "2", "--split", "2,4"]
    )
    assert result.exit_code == 0 and result.stderr == ""
    golden = GOLDEN / "stateful_lstm_3_split_2_4.txt"
    # Regenerate on purpose with: RNNSHAPE_UPDATE_GOLDEN=1 pytest tests/test_stateful.py
    if os.environ.get("RNNSHAPE_UPDATE_GOLDEN"):
        golden.write_text(result.stdout)
    assert result.stdout == golden.read_text()


def test_real_process_stderr_stays_empty():
    proc = run_process(["stateful", "--layer", "gru", "--batch", "2", "--timesteps", "4", "--json"])
    assert proc.returncode == 0 and proc.stderr == ""  # not even while Keras raises the batch-size error
    doc = json.loads(proc.stdout)
    assert doc["data"]["batch_size_error"]["raised"] is True
