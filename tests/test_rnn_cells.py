"""--layer rnn --cells lstm:4,gru:3 (issue 17, item 7): keras.layers.RNN with a list of cells.
Keras 3.15 returns the states nested, one list per cell ([h, c] for an LSTM cell, [h] for GRU and
SimpleRNN cells); rnnshape flattens them and names them state_I_h / state_I_c in that order. --static against real Keras on random cell lists, and an
oracle that builds each layer directly with Keras (names, shapes, parameters, values)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnshape
from rnnshape.rules.spec import make_spec
from rnnshape.runner import build as build_runner
from rnnshape.runner import layer as layer_runner
from rnnshape.runner.session import load_keras

# every test here runs Keras: the slow tier (the fast tier is pytest -m "not slow")
pytestmark = pytest.mark.slow

CELL_CLASSES = {"lstm": "LSTMCell", "gru": "GRUCell", "simplernn": "SimpleRNNCell"}


@st.composite
def cell_options(draw):
    cells = draw(st.lists(st.tuples(st.sampled_from(sorted(CELL_CLASSES)), st.integers(1, 5)), min_size=1, max_size=4))
    return dict(
        layer="rnn",
        cells=",".join(f"{kind}:{n}" for kind, n in cells),
        features=draw(st.integers(1, 4)),
        timesteps=draw(st.integers(1, 4)),
        batch=draw(st.integers(1, 3)),
        return_sequences=draw(st.booleans()),
        return_state=draw(st.booleans()),
        go_backwards=draw(st.booleans()),
        unroll=draw(st.booleans()) or None,
    )


def test_keras_returns_the_states_nested_cell_by_cell():
    # The structure rnnshape flattens and names: measured on Keras itself.
    keras = load_keras()
    layer = keras.layers.RNN([keras.layers.LSTMCell(4), keras.layers.GRUCell(3)], return_state=True)
    out = layer(np.zeros((2, 5, 6), np.float32))
    assert isinstance(out, (list, tuple)) and len(out) == 3
    assert tuple(out[0].shape) == (2, 3)
    assert isinstance(out[1], (list, tuple)) and [tuple(t.shape) for t in out[1]] == [(2, 4), (2, 4)]
    assert isinstance(out[2], (list, tuple)) and [tuple(t.shape) for t in out[2]] == [(2, 3)]
    # compute_output_shape nests differently: the GRU cell's state shape bare, not in a list
    assert layer.compute_output_shape((2, 5, 6)) == ((2, 3), [(2, 4), (2, 4)], (2, 3))
    spec = make_spec(layer="rnn", cells="lstm:4,gru:3", features=6, timesteps=5, batch=2, return_state=True)
    assert spec.output_names() == ["output", "state_0_h", "state_0_c", "state_1_h"]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(st.lists(cell_options(), min_size=10, max_size=10))
def test_static_model_equals_keras_on_random_cell_lists(batch):
    # 8 examples x 10 = 80 random cell lists.
    specs = [make_spec(**options) for options in batch]
    for spec in [spec for spec in specs if spec.keras_refusal()]:  # rnnshape's refusal is Keras' failure
        with pytest.raises(IndexError):
            layer_runner.keras_shapes([spec])
    specs = [spec for spec in specs if not spec.keras_refusal()]
    for spec, keras_says in zip(specs, layer_runner.keras_shapes(specs)):
        outputs = spec.outputs()
        assert keras_says["shapes"] == [t.shape for t in outputs], spec.keras_call()
        assert keras_says["symbolic"] == [t.shape for t in outputs], spec.keras_call()
        assert keras_says["count_params"] == spec.param_total(), spec.keras_call()
        assert keras_says["weights"] == [(w.name, w.shape) for w in spec.weights()], spec.keras_call()
        assert sum(cell["total"] for cell in spec.cell_params()) == spec.param_total()


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(st.lists(cell_options(), min_size=10, max_size=10), st.integers(0, 1000))
def test_oracle_rnn_of_cells_built_directly_with_keras(batch, seed):
    # 2 examples x 10 = 20 layers through the API (the --json data) against keras.layers.RNN built
    # directly with the same seeded initializers and the same input.
    keras = load_keras()
    for options in batch:
        options = dict(options, seed=seed)
        result = rnnshape.inspect(
            **options, kernel_init="glorot_uniform", recurrent_init="orthogonal", bias_init=0.1, values=True
        )
        data = result.to_dict()
        assert result.ok and all(check["holds"] for check in data["checks"]), data["checks"]
        cells = [(kind, int(n)) for kind, n in (word.split(":") for word in options["cells"].split(","))]
        init = dict(
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
            recurrent_initializer=keras.initializers.Orthogonal(seed=seed),
            bias_initializer=keras.initializers.Constant(0.1),
        )
        layer = keras.layers.RNN(
            [getattr(keras.layers, CELL_CLASSES[kind])(n, **init) for kind, n in cells],
            return_sequences=options["return_sequences"],
            return_state=options["return_state"],
            go_backwards=options["go_backwards"],
            unroll=bool(options["unroll"]),
        )
        x = np.asarray(data["input"]["values"], np.float32)
        assert x.shape == (options["batch"], options["timesteps"], options["features"])
        raw = build_runner.flatten(layer(x))
        names = ["output"]
        if options["return_state"]:
            names += [f"state_{i}_{s}" for i, (kind, _) in enumerate(cells) for s in ("hc" if kind == "lstm" else "h")]
        assert [out["name"] for out in data["outputs"]] == names
        for out, tensor in zip(data["outputs"], raw):
            assert out["shape"] == list(tensor.shape)
            np.testing.assert_allclose(np.asarray(out["values"]), np.asarray(tensor), atol=1e-5, err_msg=str(options))
        assert data["params"]["total"] == data["params"]["keras_count_params"] == layer.count_params()
        per_cell = [sum(int(np.prod(w.shape)) for w in cell.weights) for cell in layer.cell.cells]
        assert [cell["total"] for cell in data["params"]["cells"]] == per_cell


def test_the_issue_example_names_and_per_cell_parameters(invoke_json):
    result, doc = invoke_json(
        [
            "inspect",
            "--layer",
            "rnn",
            "--cells",
            "lstm:4,gru:3",
            "--features",
            "6",
            "--return-sequences",
            "--return-state",
        ]
    )
    assert result.exit_code == 0
    data = doc["data"]
    assert [(o["name"], o["shape"]) for o in data["outputs"]] == [
        ("output", [1, 3, 3]),
        ("state_0_h", [1, 4]),
        ("state_0_c", [1, 4]),
        ("state_1_h", [1, 3]),
    ]
    # LSTMCell(4) on 6 features: 4 * (4 * (4 + 6) + 4) = 176; GRUCell(3) on 4: 3 * (3 * (3 + 4) + 2 * 3) = 81
    assert [cell["total"] for cell in data["params"]["cells"]] == [176, 81]
    assert data["params"]["total"] == data["params"]["keras_count_params"] == 257
    assert data["keras_call"] == (
        "keras.layers.RNN([keras.layers.LSTMCell(4), keras.layers.GRUCell(3)], "
        "return_sequences=True, return_state=True)"
    )
    claims = [c["claim"] for c in data["checks"] if c["holds"]]
    assert any("equals state_1_h, the LAST cell's h" in claim for claim in claims)
    assert any(
        "chain of layers, LSTM(4, return_sequences=True) -> GRU(3, return_sequences=True)" in claim for claim in claims
    )
    assert [row["state"] for row in data["h_vs_c"]] == ["h0", "c0", "h1"]


@pytest.mark.parametrize(
    "args, option",
    [
        (["inspect", "--layer", "rnn"], "--cells"),
        (["inspect", "--layer", "rnn", "--cells", "lstm:4", "--units", "3"], "--units"),
        (["inspect", "--layer", "lstm", "--cells", "lstm:4"], "--cells"),
        (["inspect", "--layer", "rnn", "--cells", "lstm:4,dense:3"], "--cells"),
        (["inspect", "--layer", "rnn", "--cells", "lstm:4", "--bidirectional"], "--bidirectional"),
        (["inspect", "--layer", "rnn", "--cells", "lstm:4", "--stateful"], "--stateful"),
        (["compare", "--layer", "lstm", "--cells", "gru:3"], "--cells"),
        (["trace", "--layer", "rnn"], "--layer"),
        (["inspect", "--layer", "rnn", "--cells", "lstm:4", "--diagram", "--static"], "--diagram"),
    ],
)
def test_refusals_exit_2_naming_the_option(invoke, args, option):
    result = invoke(args)
    assert result.exit_code == 2, result.output
    assert option in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_one_lstm_cell_unrolled_fails_in_keras_and_static_refuses_it(invoke):
    keras = load_keras()
    x = np.zeros((1, 3, 2), np.float32)
    with pytest.raises(IndexError):  # measured: Keras 3's unrolled StackedRNNCells([LSTMCell])
        keras.layers.RNN([keras.layers.LSTMCell(2)], unroll=True)(x)
    keras.layers.RNN([keras.layers.LSTMCell(2), keras.layers.LSTMCell(2)], unroll=True)(x)  # two cells: fine
    keras.layers.RNN(keras.layers.LSTMCell(2), unroll=True)(x)  # the cell alone: fine
    keras.layers.RNN([keras.layers.LSTMCell(2)], unroll=True)(x[:, :1])  # one step: fine
    result = invoke(["inspect", "--layer", "rnn", "--cells", "lstm:2", "--unroll", "--static"])
    assert result.exit_code == 2 and "drop --unroll" in result.stderr
