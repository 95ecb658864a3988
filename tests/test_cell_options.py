"""Every option of Keras' recurrent layers (issue 17, items 2-5): activations, use_bias,
unit_forget_bias, dropout with training, unroll and initial_state. An oracle builds each
configuration directly with Keras, with the same seeded initializers and the same initial
states, and compares names, shapes, parameter counts and values with rnnshape's result; the
measured facts must hold (or be named as voided), and bad values exit 2 naming the option."""

import random

import numpy as np
import pytest
from conftest import run_process

import rnnshape
from rnnshape.rules.options import ACTIVATIONS
from rnnshape.runner.session import load_keras

# every test here runs Keras: the slow tier (the fast tier is pytest -m "not slow")
pytestmark = pytest.mark.slow

KERAS_CLASS = {"lstm": "LSTM", "gru": "GRU", "simplernn": "SimpleRNN"}
SEED = 4


def random_options(rng: random.Random) -> dict:
    layer = rng.choice(["lstm", "gru", "simplernn"])
    bidirectional = rng.random() < 0.3
    options = dict(
        layer=layer,
        units=rng.randint(1, 4),
        timesteps=rng.randint(1, 4),
        features=rng.randint(1, 3),
        batch=rng.randint(1, 3),
        return_sequences=rng.random() < 0.5,
        return_state=rng.random() < 0.6,
        go_backwards=not bidirectional and rng.random() < 0.3,
        bidirectional=bidirectional,
        activation=rng.choice(["tanh", "relu", "softsign", "linear", "sigmoid"]),
        use_bias=rng.random() < 0.7,
        unroll=rng.random() < 0.3,
        dropout=rng.choice([0.0, 0.0, 0.3]),
        recurrent_dropout=rng.choice([0.0, 0.0, 0.2]),
        initial_state=rng.choice([None, None, "zeros", "random"]),
        kernel_init="glorot_uniform",
        recurrent_init="orthogonal",
        bias_init=0.1,
        seed=SEED,
    )
    if layer != "simplernn":
        options["recurrent_activation"] = rng.choice(["sigmoid", "hard_sigmoid", "tanh"])
    if layer == "lstm":
        options["unit_forget_bias"] = rng.random() < 0.5
    if layer == "gru":
        options["reset_after"] = rng.random() < 0.5
    return options


def keras_layer(keras, options: dict):
    """The layer a user would write for these options, with the same seeded initializers."""
    kwargs = dict(
        return_sequences=options["return_sequences"],
        return_state=options["return_state"],
        go_backwards=options["go_backwards"],
        activation=options["activation"],
        use_bias=options["use_bias"],
        unroll=options["unroll"],
        kernel_initializer=keras.initializers.GlorotUniform(seed=SEED),
        recurrent_initializer=keras.initializers.Orthogonal(seed=SEED),
        bias_initializer=keras.initializers.Constant(0.1),
    )
    for key in ("recurrent_activation", "unit_forget_bias", "reset_after"):
        if key in options:
            kwargs[key] = options[key]
    if options["dropout"] or options["recurrent_dropout"]:
        kwargs.update(dropout=options["dropout"], recurrent_dropout=options["recurrent_dropout"], seed=SEED)
    layer = getattr(keras.layers, KERAS_CLASS[options["layer"]])(options["units"], **kwargs)
    if options["bidirectional"]:
        layer = keras.layers.Bidirectional(layer)
    return layer


CONFIGURATIONS = [random_options(random.Random(index)) for index in range(160)]


@pytest.fixture(scope="module")
def keras():
    return load_keras()


@pytest.mark.parametrize("chunk", range(8))
def test_oracle_random_configurations(keras, chunk):
    """160 random configurations (20 per chunk): names, shapes, parameters and values equal a
    Keras layer built directly; every measured fact holds."""
    for options in CONFIGURATIONS[chunk::8]:
        result = rnnshape.inspect(values=True, **options)
        data = result.to_dict()
        layer = keras_layer(keras, options)
        x = np.asarray(data["input"]["values"], np.float32)
        call = {}
        if options["initial_state"] is not None:
            call["initial_state"] = [np.asarray(s, np.float32) for s in data["initial_state"]["values"]]
        expected = layer(x, **call)
        expected = expected if isinstance(expected, (list, tuple)) else [expected]
        assert [o["shape"] for o in data["outputs"]] == [list(e.shape) for e in expected], options
        assert data["params"]["total"] == layer.count_params() == data["params"]["keras_count_params"], options
        weights = [list(w.shape) for w in layer.weights]
        assert [w["shape"] for w in data["params"]["weights"]] == weights, options
        for out, want in zip(data["outputs"], expected):
            # training is False here: dropout does nothing, so the numbers must be Keras' own.
            assert np.max(np.abs(np.asarray(out["values"]) - np.asarray(want)), initial=0.0) <= 1e-6, options
        failed = [c["claim"] for c in data["checks"] if not c["holds"]]
        assert not failed, (options, failed)
        static = rnnshape.inspect(static=True, **options).to_dict()
        assert static["params"]["total"] == layer.count_params(), options
        assert [o["shape"] for o in static["outputs"]] == [o["shape"] for o in data["outputs"]], options


def test_the_keras_call_names_every_option():
    data = rnnshape.inspect(
        "lstm",
        units=3,
        activation="relu",
        recurrent_activation="hard_sigmoid",
        use_bias=False,
        unit_forget_bias=False,
        dropout=0.25,
        recurrent_dropout=0.1,
        unroll=True,
        initial_state="random",
        training=True,
        static=True,
    ).to_dict()
    assert data["keras_call"] == (
        'keras.layers.LSTM(3, activation="relu", recurrent_activation="hard_sigmoid", '
        "use_bias=False, unit_forget_bias=False, dropout=0.25, recurrent_dropout=0.1, "
        "seed=0, unroll=True)"
    )
    assert data["call"] == "layer(x, initial_state=[h0, c0], training=True)"
    assert data["params"]["formula"] == "4 * (units * (units + features)) = 4 * (3 * (3 + 2)) = 60"
    assert [w["name"].rsplit("/", 1)[-1] for w in data["params"]["weights"]] == ["kernel", "recurrent_kernel"]
    assert data["h_vs_c"][0]["equation"] == "h_t = o_t * relu(c_t)"


def test_dropout_in_training_differs_and_at_inference_does_nothing():
    common = dict(units=3, timesteps=4, return_sequences=True, return_state=True, dropout=0.4, recurrent_dropout=0.3)
    trained = rnnshape.inspect("gru", training=True, **common).to_dict()
    inference = rnnshape.inspect("gru", **common).to_dict()
    by_claim = {c["claim"].split(":")[0]: c for c in trained["checks"] + inference["checks"]}
    assert by_claim["training=True"]["holds"] and by_claim["training=True"]["max_abs_diff"] > 1e-3
    assert (
        by_claim["training=False (inference)"]["holds"]
        and by_claim["training=False (inference)"]["max_abs_diff"] == 0.0
    )
    assert any("new dropout masks" in fact for fact in trained["voided_facts"])
    assert any("implementation=1" in note for note in inference["notes"])


def test_dropout_in_training_is_reproducible_run_after_run():
    args = ["inspect", "--layer", "lstm", "--units", "3", "--dropout", "0.3", "--training", "--values", "--json"]
    first, second = run_process(args), run_process(args)
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout


def test_initial_state_from_a_file_is_validated_and_used(tmp_path):
    states = np.full((2, 1, 3), 0.5, np.float32)  # h0, c0 for LSTM(3), batch 1
    np.save(tmp_path / "states.npy", states)
    result = rnnshape.inspect(
        "lstm", units=3, initial_state=str(tmp_path / "states.npy"), return_state=True, values=True
    )
    data = result.to_dict()
    assert data["initial_state"]["values"] == states.tolist()
    claims = {c["claim"]: c for c in data["checks"]}
    first = [c for claim, c in claims.items() if claim.startswith("the first step starts from the given")]
    assert first and first[0]["holds"] and first[0]["max_abs_diff"] < 1e-6
    np.save(tmp_path / "wrong.npy", np.zeros((1, 1, 3), np.float32))
    bad = run_process(["inspect", "--layer", "lstm", "--units", "3", "--initial-state", str(tmp_path / "wrong.npy")])
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "--initial-state" in bad.stderr and "[h0 (1, 3), c0 (1, 3)]" in bad.stderr and "(2, 1, 3)" in bad.stderr


def test_the_first_step_is_recomputed_from_the_given_state_for_every_layer():
    for layer in ("lstm", "gru", "simplernn"):
        for back in (False, True):
            data = rnnshape.inspect(
                layer,
                units=2,
                timesteps=3,
                batch=2,
                go_backwards=back,
                initial_state="random",
                lengths="2,3",
                return_sequences=True,
            ).to_dict()
            first = [c for c in data["checks"] if c["claim"].startswith("the first step starts")]
            assert len(first) == 1 and first[0]["holds"], (layer, back, first)
            differs = [c for c in data["checks"] if c["claim"].startswith("the given initial_state changes")]
            assert differs[0]["holds"] and differs[0]["max_abs_diff"] > 1e-3


def test_unit_forget_bias_sets_the_forget_block_to_one_as_keras_code_does():
    on = rnnshape.inspect("lstm", units=3, bias_init=0.25).to_dict()
    off = rnnshape.inspect("lstm", units=3, bias_init=0.25, unit_forget_bias=False).to_dict()
    claim_on = [c for c in on["checks"] if c["claim"].startswith("unit_forget_bias=True")][0]
    claim_off = [c for c in off["checks"] if c["claim"].startswith("unit_forget_bias=False")][0]
    assert claim_on["holds"] and claim_off["holds"]


def test_a_gate_activation_that_is_not_bounded_voids_the_h_bound():
    data = rnnshape.inspect("lstm", units=2, return_state=True, recurrent_activation="relu").to_dict()
    assert not any(c["claim"].startswith("|state_h| <=") for c in data["checks"])
    assert any("does not keep the output gate o in [0, 1]" in fact for fact in data["voided_facts"])


def test_unroll_with_a_mask_under_bidirectional_shows_keras_own_difference(keras):
    """Keras 3.15's unrolled loop puts the backward direction's zeros at the wrong steps; rnnshape
    says so and its unroll fact measures it (the numbers come from Keras itself)."""
    x = np.asarray(
        rnnshape.inspect("simplernn", units=2, timesteps=4, batch=2, values=True).to_dict()["input"]["values"],
        np.float32,
    )
    mask = np.array([[True, True, False, False], [True] * 4])
    outputs = []
    for unroll in (False, True):
        layer = keras.layers.Bidirectional(
            keras.layers.SimpleRNN(2, return_sequences=True, unroll=unroll, kernel_initializer="ones")
        )
        outputs.append(np.asarray(layer(x, mask=mask)))
    keras_differs = np.max(np.abs(outputs[0] - outputs[1])) > 1e-3
    data = rnnshape.inspect(
        "simplernn",
        units=2,
        timesteps=4,
        batch=2,
        bidirectional=True,
        return_sequences=True,
        unroll=True,
        lengths="2,4",
    ).to_dict()
    unroll_fact = [c for c in data["checks"] if c["claim"].startswith("unroll=True")][0]
    assert keras_differs and not unroll_fact["holds"]
    assert any("wrong positions" in note for note in data["notes"])


@pytest.mark.parametrize(
    "args, option",
    [
        (["--activation", "swish2"], "--activation"),
        (["--layer", "simplernn", "--recurrent-activation", "sigmoid"], "--recurrent-activation"),
        (["--layer", "gru", "--unit-forget-bias"], "--unit-forget-bias"),
        (["--dropout", "1"], "--dropout"),
        (["--recurrent-dropout", "-0.1"], "--recurrent-dropout"),
        (["--initial-state", "ones"], "--initial-state"),
        (["--stateful", "--initial-state", "random"], "--initial-state"),
        (["--layer", "simplernn", "--use-cudnn", "false"], "--use-cudnn"),
        (["--use-cudnn", "maybe"], "--use-cudnn"),
    ],
)
def test_bad_values_name_the_option(invoke, args, option):
    result = invoke(["inspect", "--static", *args])
    assert result.exit_code == 2, result.output
    assert option in result.stderr and "Traceback" not in result.stderr


def test_trace_and_stateful_refuse_what_they_cannot_measure(invoke):
    trace = invoke(["trace", "--initial-state", "random"])
    assert trace.exit_code == 2 and "--initial-state" in trace.stderr
    stateful = invoke(["stateful", "--dropout", "0.2", "--training"])
    assert stateful.exit_code == 2 and "--training" in stateful.stderr


def test_trace_recomputes_other_activations_and_no_bias(invoke_json):
    _, doc = invoke_json(
        [
            "trace",
            "--layer",
            "gru",
            "--units",
            "2",
            "--activation",
            "softsign",
            "--recurrent-activation",
            "hard_sigmoid",
            "--no-use-bias",
            "--no-reset-after",
        ]
    )
    data = doc["data"]
    assert doc["exit_code"] == 0 and data["max_abs_diff"] <= 1e-6
    assert data["activations"] == {"activation": "softsign", "recurrent_activation": "hard_sigmoid"}


def test_compare_varies_the_new_flags(invoke_json):
    _, doc = invoke_json(
        [
            "compare",
            "--layer",
            "lstm",
            "--layer",
            "gru",
            "--vary",
            "use-bias",
            "--vary",
            "unit-forget-bias",
            "--no-return-sequences",
            "--no-return-state",
            "--static",
        ]
    )
    rows = doc["data"]["rows"]
    assert [(r["config"]["layer"], r["config"]["use_bias"], r["config"]["unit_forget_bias"]) for r in rows] == [
        ("lstm", False, False),
        ("lstm", False, True),
        ("lstm", True, False),
        ("lstm", True, True),
        ("gru", False, None),
        ("gru", True, None),
    ]
    effects = {c["dimension"]: c["effect"] for c in doc["data"]["changes"]}
    assert effects["use_bias"].startswith("params")


def test_every_activation_name_is_a_keras_activation(keras):
    for name in ACTIVATIONS:
        assert keras.activations.get(name) is not None


# ---- the options in stack tokens ----------------------------------------------------------------
@pytest.mark.parametrize(
    "tokens",
    [
        "lstm:4 repeat:3 lstm:4:seq:init td:2",
        "gru:3:bi repeat:2 gru:3:seq:bi:init:nobias td:1",
        "simplernn:2:seq:act-relu:unroll simplernn:2:init:seq dense:1",
        "gru:3:noreset:ract-hard_sigmoid repeat:4 gru:3:noreset:seq:init",
    ],
)
def test_stack_tokens_with_options_and_initial_state_build_as_keras_does(keras, invoke_json, tokens):
    """The same stack written with keras.layers directly: the encoder returns its states, the
    :init decoder is called with them; shapes and parameter counts agree, and the decoder's
    output differs from a zero start (measured)."""
    result, doc = invoke_json(["stack", "--timesteps", "3", "--features", "2", *tokens.split()])
    assert result.exit_code == 0, result.output
    data = doc["data"]
    from rnnshape.rules.stack import parse_tokens, state_provider

    parsed = parse_tokens([tokens])
    providers = {state_provider(parsed, t).index for t in parsed if t.init}
    x = inputs = keras.Input((3, 2), batch_size=1)
    states = {}
    for token in parsed:
        if token.kind == "repeat":
            x = keras.layers.RepeatVector(token.n)(x)
        elif token.kind == "dense":
            x = keras.layers.Dense(token.n)(x)
        elif token.kind == "td":
            x = keras.layers.TimeDistributed(keras.layers.Dense(token.n))(x)
        else:
            options = {k: v for k, v in token.layer_options().items() if k not in ("layer", "units", "bidirectional")}
            options = {k: v for k, v in options.items() if v is not None}
            options["return_sequences"], options["go_backwards"] = options["return_sequences"], options["go_backwards"]
            layer = getattr(keras.layers, KERAS_CLASS[token.kind])(
                token.n, return_state=token.index in providers, **options
            )
            if token.bi:
                layer = keras.layers.Bidirectional(layer)
            x = layer(x, initial_state=states[state_provider(parsed, token).index]) if token.init else layer(x)
            if token.index in providers:
                x, *states[token.index] = x
    model = keras.Model(inputs, x)
    assert data["params"]["total"] == data["params"]["keras_count_params"] == model.count_params()
    assert data["output"]["shape"] == list(model.output.shape)
    init_facts = [c for c in data["checks"] if "final states" in c["claim"]]
    assert init_facts and all(c["holds"] for c in init_facts)
    assert any(layer.get("initial_state_from") for layer in data["layers"])


@pytest.mark.parametrize(
    "tokens, words",
    [
        ("lstm:4:init", "there is none"),
        ("lstm:4 repeat:3 lstm:5:seq:init", "give both the same layer, units and bi"),
        ("gru:4 repeat:3 lstm:4:seq:init", "returns 1 of shape"),
        ("simplernn:2:ract-relu", "SimpleRNN has no gates"),
        ("lstm:2:act-gelu2", "is not one of"),
        ("dense:2:nobias", "applies only to"),
    ],
)
def test_bad_option_tokens_are_refused_with_the_reason(invoke, tokens, words):
    result = invoke(["stack", *tokens.split()])
    assert result.exit_code == 2 and words in result.stderr, result.stderr


def test_use_cudnn_reaches_keras_and_is_not_saved(keras, invoke):
    """--use-cudnn (a plain constructor argument of the option table): Keras gets it, the call
    shows it, false computes what auto computes on this CPU, true fails as Keras fails without
    cuDNN, and Keras' get_config() leaves it out (the note says so)."""
    auto = rnnshape.inspect("gru", units=3, return_state=True, values=True)
    off = rnnshape.inspect("gru", units=3, return_state=True, values=True, use_cudnn="false")
    assert off.data["keras_call"] == "keras.layers.GRU(3, return_state=True, use_cudnn=False)"
    assert auto.data["config"]["use_cudnn"] == "auto" and "use_cudnn" not in auto.data["keras_call"]
    for a, b in zip(auto.outputs, off.outputs):
        assert np.array_equal(np.asarray(a["values"]), np.asarray(b["values"]))
    layer = keras.layers.GRU(3, use_cudnn=False)
    assert layer.use_cudnn is False and "use_cudnn" not in layer.get_config()
    assert any("is not saved" in note for note in off.data["notes"])
    assert rnnshape.inspect("simplernn", static=True).data["config"]["use_cudnn"] is None
    import tensorflow as tf

    if not tf.config.list_physical_devices("GPU"):
        demanded = invoke(["inspect", "--layer", "lstm", "--use-cudnn", "true"])
        assert demanded.exit_code == 3
        assert "use_cudnn=True was specified" in demanded.stderr and "Traceback" not in demanded.stderr
