"""ConvLSTM1D/2D/3D (issue 17, item 6): --static against real Keras on random configurations,
an oracle that builds each layer directly with Keras (names, shapes, parameters and values),
the measured facts, compare, check files, the API, and the refusals (exit 2, naming the option)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnshape
from rnnshape.rules.catalogue import CONV_LAYERS, SPATIAL_AXES
from rnnshape.rules.options import MERGE_MODES
from rnnshape.rules.spec import make_spec
from rnnshape.runner import layer as layer_runner
from rnnshape.runner.session import load_keras

# every test here runs Keras: the slow tier (the fast tier is pytest -m "not slow")
pytestmark = pytest.mark.slow

CLASSES = {"convlstm1d": "ConvLSTM1D", "convlstm2d": "ConvLSTM2D", "convlstm3d": "ConvLSTM3D"}


@st.composite
def conv_options(draw, small=False):
    """Random ConvLSTM options as a user gives them (API keywords)."""
    layer = draw(st.sampled_from(CONV_LAYERS))
    axes = SPATIAL_AXES[layer]
    rank = len(axes)
    bidirectional = draw(st.booleans())
    padding = draw(st.sampled_from(["valid", "same"]))
    top = 4 if layer == "convlstm3d" or small else 7
    sizes = {axis: draw(st.integers(1, top)) for axis in axes}
    kernel = []
    for axis in axes:  # valid padding needs the kernel to fit in the map
        kernel.append(draw(st.integers(1, min(3, sizes[axis]) if padding == "valid" else 3)))
    per_axis = draw(st.booleans())
    strides = [draw(st.integers(1, 2)) for _ in axes] if per_axis else [draw(st.integers(1, 2))] * rank
    options = dict(
        layer=layer,
        filters=draw(st.integers(1, 4)),
        channels=draw(st.integers(1, 3)),
        kernel_size=",".join(map(str, kernel)) if per_axis else kernel[0] if len(set(kernel)) == 1 else kernel,
        strides=",".join(map(str, strides)) if per_axis else strides[0],
        padding=padding,
        timesteps=draw(st.integers(1, 3)),
        batch=draw(st.integers(1, 2)),
        return_sequences=draw(st.booleans()),
        return_state=draw(st.booleans()),
        stateful=draw(st.booleans()) and not bidirectional,
        go_backwards=draw(st.booleans()) and not bidirectional,  # Keras refuses Bidirectional(go_backwards)
        bidirectional=bidirectional,
        merge_mode=draw(st.sampled_from(MERGE_MODES)) if bidirectional else None,
        use_bias=draw(st.booleans()),
        **sizes,
    )
    return options


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(st.lists(conv_options(), min_size=10, max_size=10))
def test_static_model_equals_keras_on_random_convlstm_configurations(batch):
    # 12 examples x 10 configurations = 120 configurations, one TensorFlow import.
    specs = [make_spec(**options) for options in batch]
    for spec, keras_says in zip(specs, layer_runner.keras_shapes(specs)):
        outputs = spec.outputs()
        assert keras_says["shapes"] == [t.shape for t in outputs], spec.keras_call()
        assert keras_says["symbolic"] == [t.shape for t in outputs], spec.keras_call()
        assert keras_says["dtypes"] == [t.dtype for t in outputs], spec.keras_call()
        assert keras_says["count_params"] == spec.param_total(), spec.keras_call()
        assert keras_says["weights"] == [(w.name, w.shape) for w in spec.weights()], spec.keras_call()
        assert spec.param_formula().endswith(f"= {keras_says['count_params']}")


def keras_layer(keras, options):
    """The layer built directly with Keras from the user's options (not through rnnshape's runner)."""
    axes = SPATIAL_AXES[options["layer"]]

    def per_axis(value):
        if isinstance(value, str):
            return tuple(int(v) for v in value.split(","))
        return tuple(value) if isinstance(value, list) else (value,) * len(axes)

    cls = getattr(keras.layers, CLASSES[options["layer"]])
    layer = cls(
        options["filters"],
        per_axis(options["kernel_size"]),
        strides=per_axis(options["strides"]),
        padding=options["padding"],
        return_sequences=options["return_sequences"],
        return_state=options["return_state"],
        go_backwards=options["go_backwards"],
        stateful=options["stateful"],
        use_bias=options["use_bias"],
        kernel_initializer=keras.initializers.GlorotUniform(seed=options["seed"]),
        recurrent_initializer=keras.initializers.Orthogonal(seed=options["seed"]),
        bias_initializer=keras.initializers.Constant(0.1),
    )
    if options["bidirectional"]:
        mode = options["merge_mode"]
        layer = keras.layers.Bidirectional(layer, merge_mode=None if mode == "none" else mode)
    return layer


def expected_names(options):
    states = ["state_h", "state_c"] if options["return_state"] else []
    if not options["bidirectional"]:
        return ["output", *states]
    outputs = ["forward_output", "backward_output"] if options["merge_mode"] == "none" else ["output"]
    return outputs + [f"{d}_{s}" for d in ("forward", "backward") for s in states]


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(st.lists(conv_options(small=True), min_size=10, max_size=10), st.integers(0, 1000))
def test_oracle_convlstm_built_directly_with_keras(batch, seed):
    # 3 examples x 10 = 30 configurations through rnnshape's API (its --json data), each against the
    # same layer built directly with Keras with the same seeded initializers and the same input.
    keras = load_keras()
    for options in batch:
        options = dict(options, seed=seed)
        result = rnnshape.inspect(
            **options, kernel_init="glorot_uniform", recurrent_init="orthogonal", bias_init=0.1, values=True
        )
        data = result.to_dict()
        assert result.ok, data["checks"]
        assert all(check["holds"] for check in data["checks"])
        x = np.asarray(data["input"]["values"], np.float32)
        spatial = [options[axis] for axis in SPATIAL_AXES[options["layer"]]]
        assert list(x.shape) == [options["batch"], options["timesteps"], *spatial, options["channels"]]
        layer = keras_layer(keras, options)
        raw = layer(x)
        raw = list(raw) if isinstance(raw, (list, tuple)) else [raw]
        names = [out["name"] for out in data["outputs"]]
        assert names == expected_names(options)
        for out, tensor in zip(data["outputs"], raw):
            assert out["shape"] == list(tensor.shape), (options, out["name"])
            np.testing.assert_allclose(np.asarray(out["values"]), np.asarray(tensor), atol=1e-5, err_msg=str(options))
        assert data["params"]["total"] == data["params"]["keras_count_params"] == layer.count_params()
        ours = [(w["name"].split("/", 1)[1], w["shape"]) for w in data["params"]["weights"]]
        theirs = [(w.path.split("/", 1)[1], list(w.shape)) for w in layer.weights]
        assert [(name.split("/", 1)[1] if options["bidirectional"] else name, shape) for name, shape in ours] == [
            (name.split("/", 1)[1] if options["bidirectional"] else name, shape) for name, shape in theirs
        ]


def test_the_issue_example_its_formula_and_facts(invoke_json):
    result, doc = invoke_json(
        [
            "inspect",
            "--layer",
            "convlstm2d",
            "--filters",
            "8",
            "--kernel-size",
            "3",
            "--rows",
            "10",
            "--cols",
            "10",
            "--channels",
            "1",
            "--return-sequences",
            "--return-state",
        ]
    )
    assert result.exit_code == 0
    data = doc["data"]
    keras = load_keras()
    layer = keras.layers.ConvLSTM2D(8, 3, return_sequences=True, return_state=True)
    layer.build((1, 3, 10, 10, 1))
    # 4 * (kernel_area * (channels + filters) * filters + filters) = 4 * (9 * 9 * 8 + 8)
    assert data["params"]["total"] == layer.count_params() == 4 * (9 * (1 + 8) * 8 + 8) == 2624
    assert data["params"]["formula"].endswith("= 4 * (9 * (1 + 8) * 8 + 8) = 2624")
    assert data["input"]["axes"] == ["batch", "timesteps", "rows", "cols", "channels"]
    assert [(o["name"], o["shape"], o["axes"]) for o in data["outputs"]] == [
        ("output", [1, 3, 8, 8, 8], ["batch", "timesteps", "rows'", "cols'", "filters"]),
        ("state_h", [1, 8, 8, 8], ["batch", "rows'", "cols'", "filters"]),
        ("state_c", [1, 8, 8, 8], ["batch", "rows'", "cols'", "filters"]),
    ]
    claims = {c["claim"]: c for c in data["checks"]}
    assert claims["the last step of output, output[:, -1], equals state_h"]["max_abs_diff"] == 0.0
    assert any(c.startswith("state_c differs from state_h") and c_["max_abs_diff"] > 0 for c, c_ in claims.items())
    assert {row["state"] for row in data["h_vs_c"]} == {"h", "c", "gates"}
    assert data["config"]["filters"] == 8 and data["config"]["kernel_size"] == [3, 3] and "units" not in data["config"]


def test_strides_and_same_padding_follow_keras_arithmetic(invoke_json):
    result, doc = invoke_json(
        [
            "inspect",
            "--layer",
            "convlstm3d",
            "--filters",
            "2",
            "--depth",
            "4",
            "--rows",
            "7",
            "--cols",
            "5",
            "--kernel-size",
            "3,2,1",
            "--strides",
            "2",
            "--padding",
            "same",
            "--return-state",
            "--bidirectional",
        ]
    )
    assert result.exit_code == 0
    data = doc["data"]
    # same: ceil(n / s): 4 -> 2, 7 -> 4, 5 -> 3; concat doubles the filters
    assert data["outputs"][0]["shape"] == [1, 2, 4, 3, 4]
    assert data["outputs"][1]["shape"] == [1, 2, 4, 3, 2]
    assert "rows' = ceil(rows / strides) = ceil(7 / 2) = 4 (padding same)" in data["input"]["notes"]
    assert data["keras_call"] == (
        "keras.layers.Bidirectional(keras.layers.ConvLSTM3D(2, (3, 2, 1), strides=2, "
        'padding="same", return_state=True))'
    )
    assert all(c["holds"] for c in data["checks"])


def test_compare_and_check_files_take_convlstm(invoke_json, invoke, tmp_path):
    result, doc = invoke_json(
        [
            "compare",
            "--layer",
            "lstm",
            "--layer",
            "convlstm1d",
            "--filters",
            "3",
            "--rows",
            "6",
            "--vary",
            "go-backwards",
        ]
    )
    assert result.exit_code == 0
    rows = doc["data"]["rows"]
    assert len(rows) == 16
    conv = [row for row in rows if row["config"]["layer"] == "convlstm1d"]
    assert {tuple(o["shape"]) for row in conv for o in row["outputs"]} == {(1, 4, 3), (1, 3, 4, 3)}
    assert all(c["holds"] for row in rows for c in row["checks"])
    contract = tmp_path / "conv.toml"
    contract.write_text(
        '[[case]]\nname = "map"\nlayer = "convlstm2d"\nfilters = 8\nrows = 10\ncols = 10\n'
        "return_state = true\nexpect = { output = [1, 8, 8, 8], state_c = [1, 8, 8, 8] }\n"
        '[[case]]\nname = "wrong"\nlayer = "convlstm2d"\nfilters = 8\nrows = 10\ncols = 10\n'
        'padding = "same"\nexpect = { output = [1, 8, 8, 8] }\n'
    )
    checked = invoke(["check", str(contract), "--json"])
    assert checked.exit_code == 1
    import json

    cases = json.loads(checked.stdout)["data"]["cases"]
    assert [e["holds"] for case in cases for e in case["expectations"]] == [True, True, False]
    assert cases[1]["expectations"][0]["actual"] == [1, 10, 10, 8]  # padding same keeps 10 x 10
    assert cases[0]["config"]["filters"] == 8 and cases[0]["config"]["rows"] == 10


@pytest.mark.parametrize(
    "args, option",
    [
        (["inspect", "--layer", "lstm", "--filters", "3"], "--filters"),
        (["inspect", "--layer", "convlstm2d", "--units", "3"], "--units"),
        (["inspect", "--layer", "convlstm2d", "--features", "3"], "--features"),
        (["inspect", "--layer", "convlstm1d", "--cols", "3"], "--cols"),
        (["inspect", "--layer", "convlstm2d", "--depth", "3"], "--depth"),
        (["inspect", "--layer", "convlstm2d", "--kernel-size", "6", "--static"], "--kernel-size"),
        (["inspect", "--layer", "convlstm2d", "--kernel-size", "3,3,3"], "--kernel-size"),
        (["inspect", "--layer", "convlstm2d", "--strides", "0"], "--strides"),
        (["inspect", "--layer", "convlstm2d", "--padding", "full"], "--padding"),
        (["inspect", "--layer", "convlstm2d", "--lengths", "2"], "--lengths"),
        (["compare", "--layer", "convlstm2d", "--units", "3"], "--units"),
        (["compare", "--layer", "gru", "--channels", "3"], "--channels"),
        (["trace", "--layer", "convlstm2d"], "--layer"),
        (["stateful", "--layer", "convlstm3d"], "--layer"),
        (["stack", "convlstm2d:4"], "SPEC"),
    ],
)
def test_options_invalid_for_the_layer_exit_2_naming_the_option(invoke, args, option):
    result = invoke(args)
    assert result.exit_code == 2, result.output
    line = result.stderr.strip()
    assert option in line and "Traceback" not in line and len(line.splitlines()) == 1


def test_a_real_process_shows_the_map_and_nothing_from_tensorflow():
    from conftest import run_process

    proc = run_process(["inspect", "--layer", "convlstm1d", "--rows", "6", "--filters", "2", "--return-state"])
    assert proc.returncode == 0 and proc.stderr == ""
    assert (
        "[batch, rows', filters]" in proc.stdout and "keras.layers.ConvLSTM1D(2, 3, return_state=True)" in proc.stdout
    )
    refused = run_process(["trace", "--layer", "convlstm2d"])
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "not ConvLSTM2D" in refused.stderr
