"""rnnshape stateful --fit/--windows/--save-load against Keras loops written by hand here: the
answer's fit loop with a callback of our own, the windows fed one by one, a model saved and loaded."""

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import run_process

import rnnshape
from rnnshape.rules.spec import make_spec
from rnnshape.runner import layer as layer_runner
from rnnshape.runner import numbers as numbers_runner
from rnnshape.runner import session as session_runner

pytestmark = pytest.mark.slow

ATOL = 1e-6


def _keras():
    return session_runner.load_keras()


def _weights(**options):
    """The inspect layer's weights and input for these options (the numbers rnnshape uses)."""
    prepared = layer_runner.prepare(make_spec(stateful=True, **options))
    return prepared.weights, prepared.x


def _hand_fit(options, epochs, chunk, shuffle, reset, samples=None):
    """The answer's loop, written here: keras.Input(batch_shape), a stateful LSTM, a Dense head, fit one
    epoch at a time; a callback of our own reads the state variables before and after every batch."""
    keras = _keras()
    weights, x = _weights(**options)
    series, steps, features = x.shape
    X = np.stack([x[i, k * chunk : (k + 1) * chunk] for k in range(steps // chunk) for i in range(series)])
    y = X.mean(axis=1)
    inputs = keras.Input(batch_shape=(series, chunk, features))
    lstm = keras.layers.LSTM(options["units"], stateful=True)
    dense = keras.layers.Dense(features)
    model = keras.Model(inputs, dense(lstm(inputs)))
    lstm.set_weights(weights)
    dense.set_weights(
        numbers_runner.deterministic_weights(options.get("seed", 0) + 1, [(options["units"], features), (features,)])
    )
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="mse")
    lstm.reset_state()
    record = []

    class Spy(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            self.before = [np.array(v) for v in lstm.states]
            self.weights = lstm.get_weights()

        def on_train_batch_end(self, batch, logs=None):
            record.append((self.before, [np.array(v) for v in lstm.states], self.weights))

    keras.utils.set_random_seed(options.get("seed", 0))
    for _ in range(epochs):
        if reset:
            lstm.reset_state()
        model.fit(X[:samples], y[:samples], epochs=1, batch_size=series, shuffle=shuffle, verbose=0, callbacks=[Spy()])
    return X, record, model, lstm


def _which_sample(weights, entering, X, leaving, units, only=None):
    """Our own search: the sample whose forward pass from ``entering`` gives ``leaving`` (``only``:
    the one sample to try per row)."""
    keras = _keras()
    layer = keras.layers.LSTM(units, return_state=True)
    layer.build((1,) + X.shape[1:])
    layer.set_weights(weights)
    found = []
    for row in range(entering[0].shape[0]):
        diffs = []
        for j in range(X.shape[0]) if only is None else [only[row]]:
            _out, h, c = layer(X[j : j + 1], initial_state=[entering[0][row : row + 1], entering[1][row : row + 1]])
            diffs.append(
                max(np.abs(np.asarray(h)[0] - leaving[0][row]).max(), np.abs(np.asarray(c)[0] - leaving[1][row]).max())
            )
        best = int(np.argmin(diffs))
        found.append((best if only is None else only[row], float(min(diffs))))
    return found


OPTIONS = dict(layer="lstm", units=3, timesteps=24, batch=2, features=2, seed=0)


@pytest.mark.parametrize("shuffle,reset", [(False, True), (True, False)])
def test_fit_states_equal_a_hand_written_fit_loop_with_our_own_callback(shuffle, reset):
    result = rnnshape.stateful(**OPTIONS, split="6,6,6,6", fit=2, shuffle=shuffle, reset=reset)
    data = result.to_dict()
    assert data["loop"] == "fit" and data["fit"]["chunk"] == 6 and data["fit"]["samples"] == 8
    X, record, _model, _lstm = _hand_fit(OPTIONS, 2, 6, shuffle, reset)
    assert len(record) == len(data["batches"]) == 8
    for (before, after, _w), batch in zip(record, data["batches"]):
        for ours, name in zip((before, after), ("entering_state", "leaving_state")):
            np.testing.assert_allclose(ours[0], batch[name]["state_h"], atol=ATOL, rtol=0)
            np.testing.assert_allclose(ours[1], batch[name]["state_c"], atol=ATOL, rtol=0)
    # Our own reading of the claims.
    for k in range(1, len(record)):
        if reset and k == 4:
            assert all(np.all(s == 0) for s in record[k][0])  # epoch 2 starts from zeros after reset_state()
        else:
            np.testing.assert_array_equal(record[k][0][0], record[k - 1][1][0])  # entering k+1 == leaving k
    if not reset:
        assert np.abs(record[4][0][0]).max() > 1e-3  # epoch 2 starts from epoch 1's last state
    wrong = 0
    previous = [None, None]
    for index, ((before, after, weights), batch) in enumerate(zip(record, data["batches"])):
        if reset and index % 4 == 0:
            previous = [None, None]
        expected = None if shuffle else [2 * (index % 4), 2 * (index % 4) + 1]
        found = _which_sample(weights, before, X, after, 3, expected)
        for row, (sample, diff) in enumerate(found):
            assert diff < 1e-5  # the leaving state is a forward pass from the entering one
            assert batch["rows"][row]["sample"] == sample
            series, chunk = sample % 2, sample // 2
            wrong += (chunk != 0) if previous[row] is None else (previous[row] != (series, chunk - 1))
            previous[row] = (series, chunk)
    checks = {c["claim"]: c for c in data["checks"]}
    assert all(c["holds"] for c in data["checks"]), [c for c in data["checks"] if not c["holds"]]
    if shuffle:
        assert data["wrong_history_rows"] == wrong > 0
        assert any("shuffle=True" in claim for claim in checks)
    else:
        assert data["wrong_history_rows"] == wrong == 0
        assert any("after layer.reset_state() every later epoch starts from zeros" in claim for claim in checks)
        # A batch_size that does not divide the samples: our own fit on 7 samples.
        _X, record7, model7, lstm7 = _hand_fit(OPTIONS, 1, 6, False, True, samples=7)
        partial = data["partial_batch"]
        assert partial["samples"] == 7 and partial["last_batch_samples"] == 1
        assert partial["raised"] is False and partial["batches_seen"] == len(record7) == 4
        lstm7.reset_state()
        assert partial["predict_rows"] == model7.predict(X[:7], batch_size=2, verbose=0).shape[0] == 8
        # the lone last sample was read from both rows' states
        before, after, weights = record7[-1]
        found = _which_sample(weights, before, X[6:7], after, 3)
        assert [s for s, _d in found] == [0, 0] and max(d for _s, d in found) < 1e-5


def test_windows_fed_statefully_against_our_own_loop():
    options = dict(layer="lstm", units=3, timesteps=8, batch=1, features=2, seed=3)
    data = rnnshape.stateful(**options, windows=3).to_dict()
    keras = _keras()
    weights, x = _weights(**options)
    layer = keras.layers.LSTM(3, stateful=True)
    layer.build((1, 3, 2))
    layer.set_weights(weights)
    whole = keras.layers.LSTM(3, return_sequences=True, return_state=True)
    whole.build((1, 8, 2))
    whole.set_weights(weights)
    h_seq = np.asarray(whole(x)[0])
    assert len(data["windows"]) == 6
    for k, entry in enumerate(data["windows"]):
        np.testing.assert_allclose(np.asarray(layer.states[0]), entry["entering_state"]["state_h"], atol=ATOL, rtol=0)
        if k:
            # the state entering window k+1 has read windows 1..k: one pass over them concatenated
            order = [t for w in range(k) for t in range(w, w + 3)]
            read = np.asarray(whole(x[:, order])[0])[:, -1]
            np.testing.assert_allclose(np.asarray(layer.states[0]), read, atol=1e-5, rtol=0)
            assert entry["steps_read_again"] == 2
            right = h_seq[:, k - 1]
            assert (
                abs(np.abs(np.asarray(layer.states[0]) - right).max() - entry["entering_h_vs_one_pass_max_abs_diff"])
                < 1e-6
            )
        out = np.asarray(layer(x[:, k : k + 3]))
        diff = np.abs(out - h_seq[:, k + 2]).max()
        assert abs(diff - entry["output_vs_one_pass_max_abs_diff"]) < 1e-6
        assert (diff > 1e-3) == (k > 0)
    layer.reset_state()
    for j, entry in enumerate(data["chunks"]):
        out = np.asarray(layer(x[:, 3 * j : 3 * j + 3]))
        np.testing.assert_allclose(out, h_seq[:, min(8, 3 * j + 3) - 1], atol=1e-5, rtol=0)
        assert entry["output_vs_one_pass_max_abs_diff"] < 1e-5
    assert all(c["holds"] for c in data["checks"])


def test_save_load_against_our_own_save_and_load(tmp_path):
    options = dict(layer="gru", units=3, timesteps=6, batch=2, features=2, seed=1)
    data = rnnshape.stateful(**options, save_load=True).to_dict()
    keras = _keras()
    weights, x = _weights(**options)
    inputs = keras.Input(batch_shape=(2, 3, 2))
    layer = keras.layers.GRU(3, stateful=True)
    model = keras.Model(inputs, layer(inputs))
    layer.set_weights(weights)
    model(x[:, :3])
    saved = np.array(layer.states[0])
    np.testing.assert_allclose(saved, data["before_save"]["state_h"], atol=ATOL, rtol=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    after = np.array(loaded.layers[-1].states[0])
    assert np.all(after == 0) and np.abs(saved).max() > 1e-3
    assert data["state_restored"] is False and np.all(np.asarray(data["after_load"]["state_h"]) == 0)
    np.testing.assert_allclose(np.asarray(loaded(x[:, 3:])), data["loaded_output"], atol=ATOL, rtol=0)
    with pytest.raises(ValueError) as raised:
        loaded.predict(np.concatenate([x[:, :3], x[:1, :3]]), batch_size=3, verbose=0)
    other = data["other_batch_predict"]
    assert other["raised"] and other["type"] == "ValueError" and other["batch"] == 3
    assert "Expected batch size: 2" in other["message"] and "Expected batch size: 2" in str(raised.value)
    assert all(c["holds"] for c in data["checks"])


def test_cli_json_equals_the_api_in_another_process():
    """One process's --json against the API in this one: the same numbers run after run (the
    refusals of --backend jax/torch are in test_stateful_loops_rules.py, without TensorFlow)."""
    args = ["stateful", "--fit", "2", "--timesteps", "12", "--split", "4,4,4", "--units", "3", "--shuffle", "--json"]
    proc = run_process(args, timeout=300)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    api = rnnshape.stateful(units=3, timesteps=12, split="4,4,4", fit=2, shuffle=True).to_dict()
    assert json.loads(proc.stdout)["data"] == json.loads(json.dumps(api))


FIT_ON_BACKEND = """
import numpy as np, keras
X = np.random.default_rng(0).uniform(-1, 1, (4, 5, 2)).astype("float32")
inputs = keras.Input(batch_shape=(2, 5, 2))
lstm = keras.layers.LSTM(3, stateful=True)
model = keras.Model(inputs, keras.layers.Dense(2)(lstm(inputs)))
model.compile(optimizer="sgd", loss="mse")
seen = []
class Spy(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        self.model.jax_state_sync() if hasattr(self.model, "jax_state_sync") else None
        seen.append(float(np.abs(keras.ops.convert_to_numpy(lstm.states[0])).max()))
try:
    model.fit(X, X.mean(axis=1), epochs=1, batch_size=2, shuffle=False, verbose=0, callbacks=[Spy()])
    print("STATES", max(seen), len(seen))
except Exception as exc:
    print("RAISED", type(exc).__name__, str(exc).splitlines()[0])
"""


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_the_fit_refusals_are_what_keras_does_on_that_backend(backend):
    """--fit refuses jax and torch (exit 2, above): a hand-written stateful fit shows why."""
    pytest.importorskip(backend)
    proc = subprocess.run(
        [sys.executable, "-c", FIT_ON_BACKEND],
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "KERAS_BACKEND": backend},
    )
    last = proc.stdout.strip().splitlines()[-1]
    if backend == "torch":
        assert last.startswith("RAISED RuntimeError") and "inplace operation" in last
    else:
        assert last == "STATES 0.0 2"  # the state variables stay zeros through fit


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_windows_and_save_load_on_another_backend_agree_with_tensorflow(backend):
    pytest.importorskip(backend)
    options = dict(layer="simplernn", units=3, timesteps=6, batch=2, features=2, seed=2)
    ours = rnnshape.stateful(**options, windows=3).to_dict()
    theirs = rnnshape.stateful(**options, windows=3, backend=backend).to_dict()
    assert theirs["backend"]["backend"] == backend
    for a, b in zip(ours["windows"], theirs["windows"]):
        np.testing.assert_allclose(a["output"], b["output"], atol=1e-5, rtol=0)
        np.testing.assert_allclose(a["entering_state"]["state_h"], b["entering_state"]["state_h"], atol=1e-5, rtol=0)
    saved = rnnshape.stateful(**options, save_load=True, backend=backend).to_dict()
    assert saved["state_restored"] is False and np.all(np.asarray(saved["after_load"]["state_h"]) == 0)
    assert (
        saved["other_batch_predict"]["raised"] and "Expected batch size: 2" in saved["other_batch_predict"]["message"]
    )
    assert all(c["holds"] for c in theirs["checks"] + saved["checks"])
