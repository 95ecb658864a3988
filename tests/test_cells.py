"""rnnshape.cells against real Keras layers: the numpy recomputation equals what Keras
computes, step by step, for LSTM, GRU (both reset_after modes) and SimpleRNN."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnshape.measure import cells
from rnnshape.measure import trace as tracing
from rnnshape.rules.spec import make_spec
from rnnshape.runner import session as session_runner
from rnnshape.runner import trace as trace_runner

# every test here runs Keras: the slow tier (the fast tier is pytest -m "not slow")
pytestmark = pytest.mark.slow

AGREEMENT = 1e-5


@pytest.fixture(scope="module", autouse=True)
def keras_loaded():
    """Import TensorFlow before hypothesis runs (its import changes the recursion limit)."""
    session_runner.load_keras()


@st.composite
def traced_configs(draw):
    """A layer configuration with its cell options: several layers, sizes, seeds, directions."""
    layer = draw(st.sampled_from(["lstm", "gru", "simplernn"]))
    timesteps = draw(st.integers(1, 6))
    batch = draw(st.integers(1, 3))
    bidirectional = draw(st.booleans())
    options = dict(
        layer=layer,
        units=draw(st.integers(1, 6)),
        timesteps=timesteps,
        features=draw(st.integers(1, 4)),
        batch=batch,
        seed=draw(st.integers(0, 2**32 - 1)),
        bidirectional=bidirectional,
        go_backwards=False if bidirectional else draw(st.booleans()),
        return_sequences=draw(st.booleans()),
        return_state=draw(st.booleans()),
    )
    if draw(st.booleans()):
        options["lengths"] = tuple(draw(st.lists(st.integers(1, timesteps), min_size=batch, max_size=batch)))
    cell_options = {"reset_after": draw(st.booleans())} if layer == "gru" else {}
    return make_spec(**options), cell_options


def _agreement(run):
    traces = tracing.recompute(run)
    per_step = max(float(np.max(np.abs(tr.h - d.seq))) for d, tr in zip(run.directions, traces))
    return traces, per_step, tracing.measure(run, traces)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(st.lists(traced_configs(), min_size=4, max_size=4))
def test_recomputation_equals_keras_at_every_step(configs):
    runs = trace_runner.trace_many([spec for spec, _ in configs], [opts for _, opts in configs])
    for run in runs:
        traces, per_step, checks = _agreement(run)
        assert per_step <= AGREEMENT, (run.spec, run.keras_options)
        for d, tr in zip(run.directions, traces):
            if tr.c is not None:
                assert np.max(np.abs(tr.c[:, -1] - d.c)) <= AGREEMENT
        equal = [c for c in checks if c.kind == "equal"]
        assert equal and all(c.max_abs_diff <= AGREEMENT for c in equal), [c.to_dict() for c in equal]


def test_every_layer_and_both_gru_modes_at_larger_sizes():
    specs, options = [], []
    for seed in (0, 7, 12345):
        for layer, opts in (
            ("lstm", {}),
            ("gru", {"reset_after": True}),
            ("gru", {"reset_after": False}),
            ("simplernn", {}),
        ):
            specs.append(
                make_spec(
                    layer=layer,
                    units=16,
                    timesteps=20,
                    features=5,
                    batch=3,
                    seed=seed,
                    return_sequences=True,
                    return_state=True,
                )
            )
            options.append(opts)
    runs = trace_runner.trace_many(specs, options)
    assert [run.directions[0].reset_after for run in runs[:4]] == [None, True, False, None]
    assert [run.directions[0].bias.shape for run in runs[:4]] == [(64,), (2, 48), (48,), (16,)]
    for run in runs:
        _, per_step, _ = _agreement(run)
        assert per_step <= AGREEMENT


def test_the_two_gru_modes_are_different_computations():
    """reset_after matters: recomputing with the other convention does not match Keras."""
    spec = make_spec(layer="gru", units=4, timesteps=6, seed=3)
    for run in trace_runner.trace_many([spec, spec], [{"reset_after": True}, {"reset_after": False}]):
        d = run.directions[0]
        bias = d.bias if not d.reset_after else d.bias[0] + d.bias[1]  # any bias of the other shape
        wrong = cells.run(
            "gru", run.input, cells.CellWeights(d.kernel, d.recurrent_kernel, bias), reset_after=not d.reset_after
        )
        assert np.max(np.abs(wrong.h - d.seq)) > 1e-3


def test_layer_activations_are_respected():
    """Non-default activation / recurrent_activation given to the Keras constructor are read from
    the layer and used by the recomputation."""
    cases = [
        ("lstm", {"activation": "relu", "recurrent_activation": "hard_sigmoid"}),
        ("gru", {"activation": "softsign", "recurrent_activation": "hard_sigmoid", "reset_after": False}),
        ("gru", {"activation": "linear", "recurrent_activation": "sigmoid"}),
        ("simplernn", {"activation": "relu"}),
    ]
    specs = [make_spec(layer=layer, units=3, timesteps=5, seed=11) for layer, _ in cases]
    runs = trace_runner.trace_many(specs, [opts for _, opts in cases])
    for run, (_, opts) in zip(runs, cases):
        d = run.directions[0]
        assert d.activation == opts["activation"]
        assert d.recurrent_activation == opts.get("recurrent_activation")
        _, per_step, _ = _agreement(run)
        assert per_step <= AGREEMENT
        # With the defaults instead, the numbers are different: the activations matter.
        default = cells.run(
            run.spec.layer,
            run.input,
            cells.CellWeights(d.kernel, d.recurrent_kernel, d.bias),
            reset_after=bool(d.reset_after),
        )
        assert np.max(np.abs(default.h - d.seq)) > 1e-3


def test_numpy_activations_equal_keras_activations():
    keras = session_runner.load_keras()
    x = np.linspace(-8, 8, 161, dtype=np.float32)
    for name, function in cells.ACTIVATIONS.items():
        with session_runner.quiet_native_stderr():
            expected = np.asarray(keras.activations.get(name)(x))
        assert np.max(np.abs(function(x.astype(np.float64)) - expected)) <= 1e-5 * max(
            1.0, float(np.max(np.abs(expected)))
        ), name


def test_unknown_activation_is_refused():
    with pytest.raises(ValueError, match="gelu"):
        cells.activation("gelu")


def test_masked_steps_keep_the_state():
    rng = np.random.default_rng(0)
    w = cells.CellWeights(rng.normal(size=(2, 12)), rng.normal(size=(3, 12)), rng.normal(size=12))
    x = rng.normal(size=(2, 4, 2))
    mask = np.array([[True, True, False, False], [True, True, True, True]])
    tr = cells.run("lstm", x, w, mask=mask)
    assert tr.masked.tolist() == (~mask).tolist()
    np.testing.assert_array_equal(tr.h[0, 2], tr.h[0, 1])
    np.testing.assert_array_equal(tr.c[0, 3], tr.c[0, 1])
    assert np.max(np.abs(tr.h[1, 2] - tr.h[1, 1])) > 0
    back = cells.run("lstm", x, w, mask=mask, go_backwards=True)
    assert back.order.tolist() == [3, 2, 1, 0]
    np.testing.assert_array_equal(back.h[0, :2], 0.0)  # the padding is read first: nothing changes
