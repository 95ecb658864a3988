"""rnnshape generate: every measured claim against independent Keras code written here (the
answer's loop with model.predict, the initial_state loop, the grown sequence), --input FILE,
--head, the refusals, determinism across processes, and the jax backend."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def seeded_weights(seed: int, shapes: list[tuple[int, ...]], stream: int) -> list[np.ndarray]:
    """rnnshape's documented weights: uniform in [-0.5, 0.5), numpy's generator seeded [seed, stream]
    (0: the recurrent layer in Keras' weight order, 3: the head's kernel then bias)."""
    rng = np.random.default_rng([seed, stream])
    return [rng.uniform(-0.5, 0.5, size=shape).astype(np.float32) for shape in shapes]


def answer_model(kind: str, units: int, batch: int, features: int, seed: int, head: bool):
    """The answer's model, written here: keras.Input(batch_shape=(batch, None, features)), the
    stateful layer (return_sequences), an optional Dense(features) head, the seeded weights."""
    import keras

    inputs = keras.Input(batch_shape=(batch, None, features))
    layer = getattr(keras.layers, kind)(units, stateful=True, return_sequences=True)
    out = layer(inputs)
    dense = None
    if head:
        dense = keras.layers.Dense(features)
        out = dense(out)
    model = keras.Model(inputs, out)
    layer.set_weights(seeded_weights(seed, [tuple(w.shape) for w in layer.weights], 0))
    if dense is not None:
        dense.set_weights(seeded_weights(seed, [(units, features), (features,)], 3))
    return model, layer, dense


def predict_loop(model, layer, known, steps, *, reset_first=True, reset_between=False):
    """The answer's loop with model.predict, one step per call."""
    if reset_first:
        layer.reset_state()
    warm = model.predict(known, batch_size=known.shape[0], verbose=0)
    if reset_between:
        layer.reset_state()
    step = warm[:, -1:]
    out = []
    for _ in range(steps):
        step = model.predict(step, batch_size=known.shape[0], verbose=0)
        out.append(step)
    return warm, np.concatenate(out, axis=1)


def test_generate_measures_each_claim_against_an_independent_predict_loop(invoke_json):
    import keras

    args = [
        "generate",
        "--layer",
        "lstm",
        "--features",
        "3",
        "--timesteps",
        "4",
        "--batch",
        "2",
        "--steps",
        "6",
        "--seed",
        "7",
        "--values",
    ]
    result, document = invoke_json(args)
    assert result.exit_code == 0, result.stderr
    data = document["data"]
    known = np.asarray(data["known"]["values"], np.float32)
    assert known.shape == (2, 4, 3) and data["generated"]["shape"] == [2, 6, 3]
    generated = np.asarray(data["generated"]["values"], np.float32)

    model, layer, _ = answer_model("LSTM", 3, 2, 3, 7, head=False)
    warm, mine = predict_loop(model, layer, known, 6)
    assert np.max(np.abs(mine - generated)) <= 1e-5
    assert np.max(np.abs(warm - np.asarray(data["warm_up"]["output"]))) <= 1e-5
    assert np.allclose(np.asarray(data["generated"]["inputs"])[:, 0], warm[:, -1], atol=1e-6)

    # reset between warm-up and forecast: measured difference = the one this loop gives
    _, between = predict_loop(model, layer, known, 6, reset_between=True)
    assert np.max(np.abs(between - np.asarray(data["reset_between"]["values"]))) <= 1e-5
    measured = data["measured"]
    expected = np.max(np.abs(between - mine), axis=(0, 2))
    assert np.allclose(measured["reset_between"]["per_step"], expected, atol=1e-5)
    assert measured["reset_between"]["differs"] and measured["reset_between"]["max_abs_diff"] > 1e-3

    # forgetting the first reset: after a run left unreset, the loop again without reset_state()
    predict_loop(model, layer, known, 6)  # left unreset
    _, forgot = predict_loop(model, layer, known, 6, reset_first=False)
    assert np.max(np.abs(forgot - np.asarray(data["no_first_reset"]["values"]))) <= 1e-5
    assert (
        abs(
            measured["no_first_reset"]["max_abs_diff"]
            - max(np.max(np.abs(forgot - mine)), measured["no_first_reset"]["warm_up_max_abs_diff"])
        )
        <= 1e-5
    )
    assert measured["no_first_reset"]["differs"]

    # the initial_state loop of a non-stateful layer with return_state=True, written here
    plain = keras.layers.LSTM(3, return_sequences=True, return_state=True)
    plain.build((2, 4, 3))
    plain.set_weights(layer.get_weights())
    seq, h, c = plain(known)
    step, manual = seq[:, -1:], []
    for _ in range(6):
        step, h, c = plain(step, initial_state=[h, c])
        manual.append(np.asarray(step))
    assert np.max(np.abs(np.concatenate(manual, axis=1) - generated)) <= 1e-5
    assert measured["initial_state_loop"]["equal"] and measured["initial_state_loop"]["max_abs_diff"] <= 1e-5
    assert measured["whole_sequence"]["equal"]
    assert all(check["holds"] for check in data["checks"]), data["checks"]
    assert np.max(np.abs(np.asarray(data["final_state"]["state_h"]) - np.asarray(h))) <= 1e-5


def test_head_gru_from_an_input_file_equals_the_grown_sequence_written_here(invoke_json, tmp_path):
    import keras

    known = np.round(np.random.default_rng(5).uniform(-1, 1, size=(2, 5, 3)), 2).astype(np.float32)
    path = tmp_path / "known.npy"
    np.save(path, known)
    result, document = invoke_json(
        ["generate", "--layer", "gru", "--units", "4", "--head", "--input", str(path), "--steps", "4", "--values"]
    )
    assert result.exit_code == 0, result.stderr
    data = document["data"]
    assert data["known"]["source"] == "file" and data["known"]["shape"] == [2, 5, 3]
    assert np.array_equal(np.asarray(data["known"]["values"], np.float32), known)
    assert data["head"]["keras_call"] == "keras.layers.Dense(3)"
    model, layer, dense = answer_model("GRU", 4, 2, 3, 0, head=True)
    _, mine = predict_loop(model, layer, known, 4)
    generated = np.asarray(data["generated"]["values"], np.float32)
    assert np.max(np.abs(mine - generated)) <= 1e-5
    # a non-stateful copy fed the known part plus every generated step, written here
    inputs = keras.Input(shape=(None, 3))
    twin = keras.layers.GRU(4, return_sequences=True)
    twin_dense = keras.layers.Dense(3)
    grown_model = keras.Model(inputs, twin_dense(twin(inputs)))
    twin.set_weights(layer.get_weights())
    twin_dense.set_weights(dense.get_weights())
    grown = np.concatenate([known, np.asarray(data["generated"]["inputs"], np.float32)], axis=1)
    out = grown_model.predict(grown, verbose=0)
    assert np.max(np.abs(out[:, 5:] - generated)) <= 1e-5
    # ... and grown one step per call, as a loop without state does (the sequence read again each time)
    sequence, step = known, out[:, 4:5]
    for i in range(4):
        sequence = np.concatenate([sequence, step], axis=1)
        step = grown_model.predict(sequence, verbose=0)[:, -1:]
        assert np.max(np.abs(step[:, 0] - generated[:, i])) <= 1e-5
    assert data["measured"]["whole_sequence"]["equal"]


def test_the_command_line_refuses_what_the_loop_cannot_run_in_one_line(invoke):
    cases = [
        (["--units", "3"], "--units"),
        (["--bidirectional"], "--bidirectional"),
        (["--layer", "convlstm2d"], "--layer"),
        (["--go-backwards"], "--go-backwards"),
        (["--return-state"], "--return-state"),
        (["--steps", "0"], "--steps"),
        (["--unroll"], "--unroll"),
        (["--steps", "100000", "--timesteps", "100000"], "--max-seconds"),
    ]
    for args, named in cases:
        result = invoke(["generate", *args])
        assert result.exit_code == 2, (args, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and named in lines[0] and "Traceback" not in result.output, (args, result.stderr)


def test_generate_json_is_byte_identical_across_processes_quiet_and_the_same_on_jax():
    env = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "COLUMNS": "100"}
    argv = [sys.executable, "-m", "rnnshape", "generate", "--layer", "simplernn", "--steps", "3", "--json", "--values"]
    runs = [subprocess.run(argv, capture_output=True, env=env, timeout=300) for _ in range(2)]
    for run in runs:
        assert run.returncode == 0 and run.stderr == b"", run.stderr[-2000:]
    assert runs[0].stdout == runs[1].stdout
    pytest.importorskip("jax")
    on_jax = subprocess.run(argv + ["--backend", "jax"], capture_output=True, env=env, timeout=300)
    assert on_jax.returncode == 0, on_jax.stderr[-2000:]
    tf_data, jax_data = json.loads(runs[0].stdout)["data"], json.loads(on_jax.stdout)["data"]
    assert jax_data["backend"]["backend"] == "jax"
    assert (
        np.max(np.abs(np.asarray(tf_data["generated"]["values"]) - np.asarray(jax_data["generated"]["values"]))) <= 1e-5
    )
    assert all(check["holds"] for check in jax_data["checks"])
