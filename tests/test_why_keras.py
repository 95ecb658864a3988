"""`rnnshape why` against Keras itself: every current kind of the catalogue is PRODUCED here by a
real Keras 3 call making the mistake (three or more variants, varying layer names and numbers),
the recogniser is tested on that exact message, and the first fix of each kind is built by
rnnshape with Keras and runs (exit 0). A Keras upgrade that changes a message fails here."""

from __future__ import annotations

import json
import os

import pytest

from rnnshape.rules.why import recognise

# every test here runs Keras: the slow tier (the fast tier is pytest -m "not slow")
pytestmark = pytest.mark.slow

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _mistakes(keras, np):
    """kind -> [zero-argument calls that make the mistake], each raising Keras' own error."""
    L = keras.layers

    def seq(*layers):
        return lambda: keras.Sequential(list(layers))

    def stateful(units, built, fed, t, f, cls=L.LSTM):
        def call():
            model = keras.Sequential([keras.Input((t, f), batch_size=built), cls(units, stateful=True)])
            model.predict(np.zeros((fed, t, f)), verbose=0)

        return call

    def no_batch(units, t, f, cls=L.LSTM):
        return lambda: keras.Sequential([keras.Input((t, f)), cls(units, stateful=True)]).predict(
            np.zeros((2, t, f)), verbose=0
        )

    def states(cls, units, count, size, batch=2, t=5, f=3):
        return lambda: cls(units)(
            np.zeros((batch, t, f), "float32"), initial_state=[np.zeros((batch, size), "float32")] * count
        )

    def fit(loss, t, head, y_shape, f=3):
        def call():
            model = keras.Sequential([keras.Input((t, f)), L.LSTM(4, return_sequences=True), L.Dense(head)])
            model.compile("adam", loss)
            model.fit(np.zeros((8, t, f)), np.zeros(y_shape), verbose=0, epochs=1)

        return call

    def data(t, f, x_shape, how="fit"):
        def call():
            model = keras.Sequential([keras.Input((t, f)), L.LSTM(4), L.Dense(1)])
            model.compile("adam", "mse")
            if how == "fit":
                model.fit(np.zeros(x_shape), np.zeros((x_shape[0], 1)), verbose=0)
            else:
                model.predict(np.zeros(x_shape), verbose=0)

        return call

    return {
        "no_timesteps_axis": [
            seq(keras.Input((10,)), L.LSTM(4, name="lstm")),
            seq(keras.Input((24,)), L.GRU(3, name="gru")),
            seq(keras.Input((7,)), L.SimpleRNN(5, name="encoder")),
        ],
        "stacked_without_return_sequences": [
            seq(keras.Input((5, 3)), L.LSTM(8), L.LSTM(4)),
            seq(keras.Input((9, 2)), L.GRU(6), L.GRU(2)),
            seq(keras.Input((4, 1)), L.SimpleRNN(12), L.SimpleRNN(3)),
        ],
        "input_shape_includes_batch": [
            seq(keras.Input((32, 10, 3)), L.LSTM(4)),
            seq(L.GRU(2, input_shape=(16, 7, 2))),
            seq(keras.Input((64, 5, 1)), L.SimpleRNN(3, name="rnn")),
        ],
        "repeat_vector_on_sequence": [
            seq(keras.Input((10, 3)), L.LSTM(6, return_sequences=True), L.RepeatVector(10)),
            seq(keras.Input((5, 2)), L.GRU(4, return_sequences=True), L.RepeatVector(3)),
            seq(keras.Input((7, 1)), L.RepeatVector(2, name="repeat")),
        ],
        "convlstm_input_rank": [
            seq(keras.Input((10, 32, 32)), L.ConvLSTM2D(4, 3)),
            seq(keras.Input((6, 20)), L.ConvLSTM1D(2, 3)),
            seq(keras.Input((5, 8, 8, 8)), L.ConvLSTM3D(2, 3)),
        ],
        "stateful_batch_size": [
            stateful(4, 4, 3, 5, 3),
            stateful(2, 8, 5, 7, 1, L.GRU),
            stateful(3, 16, 1, 4, 2, L.SimpleRNN),
        ],
        "stateful_needs_batch_size": [no_batch(4, 5, 3), no_batch(2, 9, 1, L.GRU), no_batch(6, 3, 4, L.SimpleRNN)],
        "initial_state_count": [
            states(keras.layers.LSTM, 4, 1, 4),
            states(keras.layers.LSTM, 6, 3, 6, batch=3),
            states(keras.layers.LSTM, 2, 1, 2, t=8, f=1),
        ],
        "initial_state_shape": [
            states(keras.layers.LSTM, 4, 2, 6),
            states(keras.layers.GRU, 3, 1, 5),
            states(keras.layers.SimpleRNN, 2, 1, 7, batch=4),
        ],
        "target_mismatch": [
            fit("binary_crossentropy", 10, 1, (8, 1)),
            fit("categorical_crossentropy", 6, 5, (8, 5)),
            fit("sparse_categorical_crossentropy", 4, 3, (8,)),
        ],
        "reshape_size": [
            seq(keras.Input((30,)), L.Reshape((7, 4))),
            seq(keras.Input((10, 3)), L.Flatten(), L.Reshape((4, 8))),
            seq(keras.Input((12,)), L.Reshape((5, 2))),
        ],
        "fit_input_shape": [data(5, 3, (8, 15)), data(4, 2, (6, 8), "predict"), data(6, 2, (5, 9))],
        "bidirectional_go_backwards": [
            lambda: L.Bidirectional(L.LSTM(4, go_backwards=True)),
            lambda: L.Bidirectional(L.GRU(3), backward_layer=L.GRU(3)),
            lambda: L.Bidirectional(L.SimpleRNN(2, go_backwards=True, name="back")),
        ],
        "time_distributed_2d": [
            seq(keras.Input((8,)), L.TimeDistributed(L.Dense(1))),
            seq(keras.Input((5, 2)), L.LSTM(6), L.TimeDistributed(L.Dense(3))),
            seq(keras.Input((4, 1)), L.GRU(11), L.TimeDistributed(L.Dense(2), name="head")),
        ],
    }


@pytest.fixture(scope="session")
def keras_messages():
    """kind -> the messages Keras 3 printed for each variant (TensorFlow imported once)."""
    from rnnshape.runner import session as session_runner

    keras = session_runner.load_keras()
    import numpy as np

    messages: dict[str, list[str]] = {}
    with session_runner.quiet_native_stderr():
        for kind, calls in _mistakes(keras, np).items():
            for call in calls:
                try:
                    call()
                except Exception as exc:  # the mistake's own error, whatever its class
                    messages.setdefault(kind, []).append(str(exc))
                else:
                    messages.setdefault(kind, []).append("")
    return messages


KINDS = [
    "no_timesteps_axis",
    "stacked_without_return_sequences",
    "input_shape_includes_batch",
    "repeat_vector_on_sequence",
    "convlstm_input_rank",
    "stateful_batch_size",
    "stateful_needs_batch_size",
    "initial_state_count",
    "initial_state_shape",
    "target_mismatch",
    "reshape_size",
    "fit_input_shape",
    "bidirectional_go_backwards",
    "time_distributed_2d",
]


@pytest.mark.parametrize("kind", KINDS)
def test_keras_makes_the_mistake_and_why_recognises_its_exact_message(keras_messages, kind):
    messages = keras_messages[kind]
    assert len(messages) >= 3
    assert all(messages), f"Keras raised nothing for one variant of {kind}"
    for message in messages:
        diagnosis = recognise(message)
        assert diagnosis.kind == kind, message
        assert diagnosis.causes and diagnosis.fixes
        assert diagnosis.wording.startswith("Keras 3"), diagnosis.wording


def test_at_least_twelve_current_kinds(keras_messages):
    assert len(KINDS) >= 12 and set(KINDS) <= set(keras_messages)


@pytest.mark.parametrize("kind", KINDS)
def test_the_first_fix_of_each_kind_builds_with_keras(keras_messages, kind, invoke):
    result = invoke(["why", keras_messages[kind][0], "--keras", "--json"])
    document = json.loads(result.stdout)
    # the default builds every fix by rnnshape's rules: the same shapes, without TensorFlow's import
    by_rules = json.loads(invoke(["why", keras_messages[kind][0], "--json"]).stdout)["data"]
    assert by_rules["static"] is True and document["data"]["static"] is False
    assert [fix["built"].get("output_shape") for fix in by_rules["fixes"]] == [
        fix["built"].get("output_shape") for fix in document["data"]["fixes"]
    ]
    assert result.exit_code == 0, document["errors"]
    first = document["data"]["fixes"][0]
    assert document["data"]["kind"] == kind
    assert first["built"]["exit_code"] == 0 and first["built"]["compatible"] and first["built"]["checks_hold"]
    assert first["built"]["static"] is False
    assert first["built"]["output_shape"] is not None
    # the stack line is a real command: run it as shown, it builds too
    words = first["command"].split()[1:]
    again = invoke(words + ["--json"])
    assert again.exit_code == 0
    rerun = json.loads(again.stdout)["data"]
    shown = rerun["outputs"][0]["shape"] if words[0] == "inspect" else rerun["output"]["shape"]  # ConvLSTM: the layer
    assert shown == first["built"]["output_shape"]


def test_no_timesteps_shows_both_readings_with_their_shapes(keras_messages):
    import rnnshape

    result = rnnshape.why(keras_messages["no_timesteps_axis"][0])
    assert result.data["shapes"][0]["shape"] == [None, 10]
    assert result.data["shapes"][0]["axes"] == ["batch", "10"]
    assert len(result.data["readings"]) == 2
    built = [fix["built"]["input_shape"] for fix in result.fixes[:2]]
    assert built == [[1, 10, 1], [1, 1, 10]]
    assert result.exit_code == 0


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory):
    from rnnshape.runner import session as session_runner

    keras = session_runner.load_keras()
    import numpy as np

    folder = tmp_path_factory.mktemp("why_models")
    with session_runner.quiet_native_stderr():
        L = keras.layers
        broadcast = keras.Sequential(
            [keras.Input((10, 3)), L.LSTM(6, return_sequences=True), L.Dense(1)], name="seq_head"
        )
        broadcast.save(folder / "seq.keras")
        fine = keras.Sequential([keras.Input((10, 3)), L.LSTM(6), L.Dense(1)], name="fine")
        fine.save(folder / "fine.keras")
        # Keras raises nothing when this model is fit on a 2-D y: the silent one, measured
        broadcast.compile("adam", "mse")
        broadcast.fit(np.zeros((4, 10, 3)), np.zeros((4, 1)), verbose=0, epochs=1)
    np.save(folder / "y.npy", np.zeros((4, 1)))
    return folder


def test_the_silent_broadcast_of_a_saved_model(saved_models, invoke):
    result = invoke(["why", "--model", str(saved_models / "seq.keras"), "--y", str(saved_models / "y.npy"), "--json"])
    document = json.loads(result.stdout)
    assert result.exit_code == 0, document["errors"]
    data = document["data"]
    assert data["kind"] == "sequence_output_2d_target"
    assert [s["shape"] for s in data["shapes"]] == [[None, 10, 1], [4, 1]]
    assert data["fixes"][0]["tokens"] == ["lstm:6", "dense:1"]
    assert data["fixes"][0]["built"]["output_shape"] == [1, 1]
    assert data["fixes"][1]["built"]["output_shape"] == [1, 10, 1]


def test_a_model_that_matches_its_target_is_no_error(saved_models, invoke):
    result = invoke(["why", "--model", str(saved_models / "fine.keras"), "--y", str(saved_models / "y.npy")])
    assert result.exit_code == 1
    assert "no Keras shape error found" in result.stderr and "(None, 1)" in result.stderr


def test_a_file_keras_cannot_load_is_a_usage_error(tmp_path, saved_models, invoke):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a zip")
    result = invoke(["why", "--model", str(bad), "--y", str(saved_models / "y.npy")])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "--model" in result.stderr


def _provoked_with_their_cause(keras, np):
    """(what, call, expected kind, expected top cause): mistakes whose cause the message alone settles,
    including TensorFlow's runtime 'Incompatible shapes' that Keras 3 prints for a stateful model fed a
    last batch of another size inside fit/predict (rnn.py's batch check sees the static batch, None)."""
    L = keras.layers

    def stateful(cls, built, samples, how, batch_size):
        def call():
            model = keras.Sequential([keras.Input(batch_shape=(built, 5, 3)), cls(6, stateful=True), L.Dense(1)])
            model.compile("adam", "mse")
            if how == "fit":
                model.fit(
                    np.zeros((samples, 5, 3)), np.zeros((samples, 1)), batch_size=batch_size, verbose=0, shuffle=False
                )
            else:
                model.predict(np.zeros((samples, 5, 3)), batch_size=batch_size, verbose=0)

        return call

    def fit_y(y_shape, head=2):
        def call():
            model = keras.Sequential([keras.Input((7, 3)), L.LSTM(4), L.Dense(head)])
            model.compile("adam", "mse")
            model.fit(np.zeros((8, 7, 3)), np.zeros(y_shape), verbose=0)

        return call

    def concat():
        x = keras.Input((10, 3))
        L.Concatenate()([L.LSTM(4, return_sequences=True)(x), L.LSTM(3)(x)])

    return [
        (
            "stateful LSTM, fit, a last batch of 2",
            stateful(L.LSTM, 4, 10, "fit", 4),
            "incompatible_shapes",
            "last_batch_smaller",
        ),
        (
            "stateful LSTM, predict, a last batch of 2",
            stateful(L.LSTM, 4, 10, "predict", 4),
            "incompatible_shapes",
            "last_batch_smaller",
        ),
        (
            "stateful GRU built for 16, fit's default batch 32",
            stateful(L.GRU, 16, 40, "fit", None),
            "incompatible_shapes",
            "batch_size_differs",
        ),
        ("y with timesteps, a vector output", fit_y((8, 7, 2)), "incompatible_shapes", "target_has_timesteps"),
        ("y of 5 columns, a head of 3", fit_y((8, 5), head=3), "incompatible_shapes", "head_units_vs_target_width"),
        ("Concatenate of a sequence and a vector", concat, "concatenate_shapes", "concat_sequence_with_vector"),
        (
            "stacked LSTM without return_sequences",
            lambda: keras.Sequential([keras.Input((5, 3)), L.LSTM(8), L.LSTM(4)]),
            "stacked_without_return_sequences",
            "stacked_without_return_sequences",
        ),
        (
            "ConvLSTM2D fed 10 frames of 64 x 2 without channels",
            lambda: keras.Sequential([keras.Input((10, 64, 2)), L.ConvLSTM2D(4, 3)]),
            "convlstm_input_rank",
            "convlstm_missing_time",
        ),
    ]


@pytest.fixture(scope="module")
def provoked():
    from rnnshape.runner import session as session_runner

    keras = session_runner.load_keras()
    import numpy as np

    out = []
    with session_runner.quiet_native_stderr():
        for what, call, kind, cause in _provoked_with_their_cause(keras, np):
            try:
                call()
            except Exception as exc:  # the mistake's own error, whatever its class
                out.append((what, str(exc), kind, cause))
            else:
                out.append((what, "", kind, cause))
    return out


def test_errors_provoked_in_keras_3_get_the_right_top_cause(provoked):
    assert len(provoked) >= 5
    for what, message, kind, cause in provoked:
        assert message, f"Keras raised nothing: {what}"
        diagnosis = recognise(message)
        assert (diagnosis.kind, diagnosis.causes[0].id) == (kind, cause), (what, message[-300:])
        assert diagnosis.wording.startswith("Keras 3"), (what, diagnosis.wording)
    stateful_fit = recognise(provoked[0][1])
    assert stateful_fit.title == "a model built for batches of 4 fed a last batch of 2"
    assert [s.shape[0] for s in stateful_fit.shapes] == [2, 4]


def test_a_provoked_runtime_error_and_a_convlstm_fix_build_with_keras(provoked, invoke):
    for what, message, _kind, _ in (provoked[0], provoked[-1]):
        result = invoke(["why", message, "--keras", "--json"])
        document = json.loads(result.stdout)
        assert result.exit_code == 0, document["errors"]
        first = document["data"]["fixes"][0]
        assert first["built"]["exit_code"] == 0 and first["built"]["static"] is False, what
        assert document["data"]["causes"][0]["id"] == document["data"]["causes"][0]["id"].strip() != ""
    convlstm = json.loads(invoke(["why", provoked[-1][1], "--keras", "--json"]).stdout)["data"]
    # the first fix reads (10, 64, 2) as one frame of 10 x 64 with 2 channels: Keras builds it
    assert convlstm["fixes"][0]["built"]["input_shape"] == [1, 1, 10, 64, 2]
    assert convlstm["fixes"][0]["built"]["output_shape"] == [1, 8, 62, 8]
    # the other reading's map (64 x 2) is smaller than the kernel: inspect refuses it, exit 2, said in the fix
    assert convlstm["fixes"][1]["built"]["exit_code"] == 2 and "larger than" in convlstm["fixes"][1]["built"]["error"]
