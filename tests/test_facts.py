"""Measured facts are computed from real runs, and fail when the numbers say otherwise."""

import numpy as np
import pytest
from conftest import measured

from rnnshape.measure.inspect import measure
from rnnshape.rules.spec import make_spec
from rnnshape.runner import layer as layer_runner
from rnnshape.runner.layer import Probe

# every test here runs Keras: the slow tier (the fast tier is pytest -m "not slow")
pytestmark = pytest.mark.slow


def _claims(result):
    return {c.claim: c for c in measured(result)}


def test_last_step_of_sequence_is_state_h_exactly():
    result = layer_runner.run(make_spec(layer="lstm", units=5, return_sequences=True, return_state=True))
    np.testing.assert_array_equal(result.outputs["output"][:, -1], result.outputs["state_h"])
    check = _claims(result)["the last step of output, output[:, -1], equals state_h"]
    assert check.holds and check.max_abs_diff == 0.0


def test_cell_state_differs_from_hidden_state_by_the_measured_amount():
    result = layer_runner.run(make_spec(layer="lstm", units=5, return_state=True))
    check = next(c for c in measured(result) if c.claim.startswith("state_c differs"))
    expected = float(np.max(np.abs(result.outputs["state_c"].astype(np.float64) - result.outputs["state_h"])))
    assert check.holds and check.max_abs_diff == expected > 1e-3


def test_bidirectional_backward_state_sits_at_the_first_step():
    result = layer_runner.run(
        make_spec(layer="gru", units=3, timesteps=5, bidirectional=True, return_sequences=True, return_state=True)
    )
    out = result.outputs
    np.testing.assert_array_equal(out["output"][:, 0, 3:], out["backward_state_h"])
    assert np.max(np.abs(out["output"][:, -1, 3:] - out["backward_state_h"])) > 1e-3  # not the last step
    assert any("FIRST step" in c.claim and c.holds for c in measured(result))


def test_a_claim_fails_when_the_numbers_disagree():
    spec = make_spec(layer="gru", units=2, return_sequences=True, return_state=True)
    output = np.zeros((1, 3, 2), np.float32)
    wrong_state = np.ones((1, 2), np.float32)
    checks = measure(spec, {"output": output, "state_h": wrong_state}, Probe(seq=output, h=wrong_state))
    first = checks[0]
    assert not first.holds and first.max_abs_diff == 1.0


def test_masked_state_is_the_output_at_the_last_valid_step():
    spec = make_spec(
        layer="lstm", units=3, timesteps=5, batch=2, lengths=(3, 5), return_sequences=True, return_state=True
    )
    result = layer_runner.run(spec)
    out = result.outputs
    np.testing.assert_allclose(out["state_h"][0], out["output"][0, 2], atol=1e-6)
    np.testing.assert_allclose(out["output"][0, 3], out["output"][0, 2], atol=1e-6)  # repeated, not computed
    assert all(c.holds for c in measured(result))


def test_same_seed_same_numbers_other_seed_other_numbers():
    spec = make_spec(layer="simplernn", return_sequences=True)
    a, b = layer_runner.run(spec), layer_runner.run(spec)
    c = layer_runner.run(make_spec(layer="simplernn", return_sequences=True, seed=1))
    np.testing.assert_array_equal(a.outputs["output"], b.outputs["output"])
    assert not np.allclose(a.outputs["output"], c.outputs["output"])
