"""The tool's names, shapes and parameter counts equal real Keras: its symbolic
compute_output_shape, the eager result and count_params (keras' own lstm_test.py habit)."""

import itertools

import numpy as np
import pytest
from conftest import measured

from rnnshape.rules.catalogue import LAYERS
from rnnshape.rules.spec import make_spec
from rnnshape.runner import layer as layer_runner

# every test here runs Keras: the slow tier (the fast tier is pytest -m "not slow")
pytestmark = pytest.mark.slow

FLAGS = list(itertools.product([False, True], [False, True]))  # return_sequences x return_state
WRAPS = [(False, None), (True, "concat"), (True, "sum"), (True, "mul"), (True, "ave"), (True, "none")]


def _grid():
    for layer, (seq, state), (bi, mode) in itertools.product(LAYERS, FLAGS, WRAPS):
        yield make_spec(
            layer=layer,
            units=3,
            timesteps=4,
            features=2,
            batch=2,
            return_sequences=seq,
            return_state=state,
            bidirectional=bi,
            merge_mode=mode,
        )


@pytest.fixture(scope="module")
def results():
    specs = list(_grid())
    return list(zip(specs, layer_runner.run_many(specs)))


def test_grid_covers_every_layer_flag_and_merge_mode(results):
    assert len(results) == 3 * 4 * 6


def test_names_and_shapes_equal_keras(results):
    for spec, result in results:
        expected = {t.name: t.shape for t in spec.outputs()}
        eager = {name: tuple(array.shape) for name, array in result.outputs.items()}
        assert list(eager) == list(expected), spec
        assert eager == expected, spec
        assert result.symbolic_shapes == expected, spec
        assert all(array.dtype == np.float32 for array in result.outputs.values())


def test_parameter_count_and_weights_equal_keras(results):
    for spec, result in results:
        assert spec.param_total() == result.count_params, spec
        assert [(w.name, w.shape) for w in spec.weights()] == result.weights, spec


def test_every_measured_fact_holds(results):
    for spec, result in results:
        assert measured(result), spec
        failing = [c.claim for c in measured(result) if not c.holds]
        assert not failing, (spec, failing)


def test_go_backwards_and_stateful_agree_too():
    specs = [
        make_spec(layer=layer, go_backwards=True, return_sequences=True, return_state=True, stateful=stateful, batch=3)
        for layer in LAYERS
        for stateful in (False, True)
    ]
    for spec, result in zip(specs, layer_runner.run_many(specs)):
        assert {n: a.shape for n, a in result.outputs.items()} == {t.name: t.shape for t in spec.outputs()}
        claims = {c.claim: c for c in measured(result)}
        assert all(c.holds for c in claims.values()), claims
        assert any("reversed time order" in claim for claim in claims)
        assert any(claim.startswith("stateful:") for claim in claims) == spec.stateful
