"""inspect --lengths: padding under a mask, measured on real LSTM, GRU and SimpleRNN layers."""

import numpy as np
import pytest
from conftest import measured

from rnnshape.measure.inspect import measure
from rnnshape.measure.masking import masked_steps
from rnnshape.rules.spec import make_spec
from rnnshape.runner import layer as layer_runner
from rnnshape.runner.layer import Probe, UnmaskedRun

# every test here runs Keras: the slow tier (the fast tier is pytest -m "not slow")
pytestmark = pytest.mark.slow

LAYERS = ["lstm", "gru", "simplernn"]


@pytest.mark.parametrize("layer", LAYERS)
def test_masked_states_equal_outputs_at_the_last_valid_step(invoke_json, layer):
    result, doc = invoke_json(
        [
            "inspect",
            "--layer",
            layer,
            "--units",
            "3",
            "--timesteps",
            "5",
            "--batch",
            "3",
            "--lengths",
            "3,5,1",
            "--return-sequences",
            "--return-state",
            "--values",
        ]
    )
    assert result.exit_code == 0
    values = {o["name"]: np.asarray(o["values"]) for o in doc["data"]["outputs"]}
    output, state_h = values["output"], values["state_h"]
    for i, length in enumerate((3, 5, 1)):
        np.testing.assert_allclose(state_h[i], output[i, length - 1], atol=1e-6, rtol=0)
        for step in range(length, 5):  # masked steps repeat the last valid output
            np.testing.assert_allclose(output[i, step], output[i, length - 1], atol=1e-6, rtol=0)
    assert doc["data"]["input"]["values"][0][3] == [0.0, 0.0]  # the padding is zeros
    assert all(c["holds"] for c in doc["data"]["checks"])
    rows = doc["data"]["masking"]
    assert [(r["sample"], r["length"], r["masked_output_steps"]) for r in rows] == [
        (0, 3, [3, 4]),
        (2, 1, [1, 2, 3, 4]),
    ]
    assert all(r["holds"] and r["output_there"].startswith("a repeat of output[") for r in rows)


def test_masked_final_states_equal_an_unmasked_run_on_the_valid_steps():
    specs = [
        make_spec(layer=layer, units=3, timesteps=5, batch=2, lengths=(2, 5), return_state=True) for layer in LAYERS
    ]
    for spec, result in zip(specs, layer_runner.run_many(specs)):
        # Independently of measure/masking.py: the same layer, no mask, on sample 0's two valid steps only.
        prepared = layer_runner.prepare(spec)
        short = [np.asarray(t) for t in prepared.layer(prepared.x[:1, :2])]
        for name, value in zip(spec.output_names(), short):
            np.testing.assert_allclose(result.outputs[name][0], value[0], atol=1e-6, rtol=0)
        claim = next(c for c in measured(result) if "unmasked run on its valid steps" in c.claim)
        assert claim.holds and claim.max_abs_diff <= 1e-6


def test_outputs_at_masked_steps_go_backwards_and_bidirectional_are_zeros():
    backwards = make_spec(
        layer="gru",
        units=2,
        timesteps=4,
        batch=2,
        lengths=(1, 4),
        go_backwards=True,
        return_sequences=True,
        return_state=True,
    )
    bidirectional = make_spec(
        layer="lstm",
        units=2,
        timesteps=4,
        batch=2,
        lengths=(1, 4),
        bidirectional=True,
        return_sequences=True,
        return_state=True,
    )
    plain_b, bidi = layer_runner.run_many([backwards, bidirectional])
    out = plain_b.outputs["output"]
    assert np.all(out[0, :3] == 0)  # the padding is read first: nothing valid has been read yet
    assert np.max(np.abs(out[0, 3])) > 1e-3 and np.max(np.abs(out[1])) > 1e-3
    np.testing.assert_array_equal(out[0, -1], plain_b.outputs["state_h"][0])
    assert np.all(bidi.outputs["output"][0, 1:] == 0)  # Bidirectional: zeros at masked steps
    assert np.max(np.abs(bidi.outputs["output"][0, 0])) > 1e-3
    for result in (plain_b, bidi):
        assert all(c.holds for c in measured(result))
        rows = masked_steps(result.spec, result.outputs)
        assert len(rows) == 1 and rows[0]["holds"] and rows[0]["output_there"].startswith("zeros")
    assert masked_steps(backwards, plain_b.outputs)[0]["masked_output_steps"] == [0, 1, 2]


def test_masking_claims_fail_when_the_numbers_disagree():
    spec = make_spec(layer="gru", units=2, timesteps=3, batch=1, lengths=(2,), return_sequences=True, return_state=True)
    output = np.array([[[0.1, 0.2], [0.3, 0.4], [0.9, 0.9]]], np.float32)  # step 2 computed, not repeated
    state = output[:, 1]
    probe = Probe(
        seq=output,
        h=state,
        states={"state_h": state},
        unmasked=[UnmaskedRun(np.array([0]), 2, {"output": output[:, :2] + 0.5, "state_h": state})],
    )
    checks = {c.claim: c for c in measure(spec, {"output": output, "state_h": state}, probe)}
    repeat = next(c for k, c in checks.items() if "repeats the last valid output" in k)
    unmasked = next(c for k, c in checks.items() if k.startswith("masking: the outputs at the valid steps"))
    assert not repeat.holds and repeat.max_abs_diff == pytest.approx(0.6, abs=1e-6)
    assert not unmasked.holds and unmasked.max_abs_diff == pytest.approx(0.5, abs=1e-6)
    row = masked_steps(spec, {"output": output, "state_h": state})[0]
    assert not row["holds"]


@pytest.mark.parametrize(
    "lengths,needle",
    [
        ("3", "gives 1 lengths for a batch of 2"),
        ("3,4,5", "gives 3 lengths for a batch of 2"),
        ("0,5", "0 is not a valid length: each must be in 1..5"),
        ("3,6", "6 is not a valid length: each must be in 1..5"),
        ("3,-1", "comma-separated list"),
    ],
)
def test_lengths_that_do_not_fit_exit_2(invoke, lengths, needle):
    result = invoke(["inspect", "--timesteps", "5", "--batch", "2", "--lengths", lengths])
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Invalid value for --lengths" in lines[0] and needle in lines[0]


def test_masked_meanings_and_words_name_the_valid_steps_from_1(invoke, invoke_json):
    args = [
        "inspect",
        "--layer",
        "lstm",
        "--units",
        "2",
        "--timesteps",
        "4",
        "--batch",
        "2",
        "--lengths",
        "2,4",
        "--return-state",
        "--return-sequences",
    ]
    result, doc = invoke_json(args)
    data = doc["data"]
    meanings = {o["name"]: o["meaning"] for o in data["outputs"]}
    for name in ("state_h", "state_c"):
        assert "after each sample's last valid step (steps 2, 4)" in meanings[name] and "_T" not in meanings[name]
    # The run agrees with the words: sample 0's state_h is its output at step 2 (index 1), sample 1's at step 4.
    fact = next(c for c in data["checks"] if "equals its output at its last VALID step" in c["claim"])
    assert fact["holds"]
    # Steps in words count from 1 (sample 0 is padded at steps 3..4); JSON indices stay 0-based.
    repeat = next(c for c in data["checks"] if c["claim"].startswith("masking: at masked steps"))
    assert "(sample 0: steps 3..4)" in repeat["claim"] and repeat["holds"]
    assert data["masking"][0]["masked_output_steps"] == [2, 3]
    assert data["masking"][0]["output_there"] == "a repeat of output[0, 1], the output at the last valid step (step 2)"
    text = " ".join(invoke(args).stdout.split())
    assert "output[0, 2:4]" in text and "steps 3..4" in text and "steps 2..3" not in text


def test_input_file_under_lengths_says_its_padded_values_became_zeros(invoke, invoke_json, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("1,2\n3,4\n5,6\n7,8\n")  # (timesteps, features) = (4, 2), a batch of one
    args = ["inspect", "--layer", "gru", "--units", "2", "--timesteps", "4", "--input", str(path), "--lengths", "2"]
    result, doc = invoke_json(args)
    assert result.exit_code == 0
    data = doc["data"]
    note = next(n for n in data["input"]["notes"] if n.startswith("--lengths"))
    assert "padded steps (sample 0: steps 3..4) were replaced by zeros (4 of them were not zero)" in note
    assert data["input"]["shape"] == [1, 4, 2]
    text = " ".join(invoke(args).stdout.split())
    assert "note: --lengths: the file's values at the padded steps" in text
    # The note tells the truth: the values the layer ran on are zeros there.
    from rnnshape.api._common import make_layer_spec

    prepared = layer_runner.prepare(make_layer_spec(layer="gru", units=2, timesteps=4, input=str(path), lengths="2"))
    assert prepared.x[0, 2:].tolist() == [[0.0, 0.0], [0.0, 0.0]] and prepared.x[0, :2].tolist() == [[1, 2], [3, 4]]
    traced = invoke_json(
        ["trace", "--layer", "gru", "--units", "2", "--timesteps", "4", "--input", str(path), "--lengths", "2"]
    )[1]
    assert any("were replaced by zeros" in n for n in traced["data"]["notes"])
    # Without --lengths nothing is replaced and nothing is said.
    plain = invoke_json(args[:-2])[1]
    assert not any(n.startswith("--lengths") for n in plain["data"]["input"]["notes"])
