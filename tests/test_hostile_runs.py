"""Hostile input, round three (issue 27), where Keras, torch or jax run: .pt state_dicts that are
sparse, meta, complex, non-finite or raw pickles; rnnshape.explain() under the CLI's rules (NaN,
float32 overflow, a broadcast view of 10 million samples refused before any copy); KERAS_BACKEND
in the environment; --initial-state random; compare on two backends with a named initializer; a
fact that cannot hold on all-zero numbers. Real processes where the user's view matters."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

import rnnshape
from rnnshape.errors import RnnshapeError, SpecError, UsageError

pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), **(env or {})}
    full.pop("RNNSHAPE_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "rnnshape", *args], capture_output=True, text=True, timeout=300, env=full
    )


# ---- 7-10. the values of a .pt state_dict ----------------------------------------------------
def test_pt_tensors_that_are_not_dense_real_finite_numbers_are_exit_2_of_one_line(tmp_path):
    torch = pytest.importorskip("torch")
    from rnnshape.runner.torch import read_state_dict

    state = torch.nn.LSTM(2, 3).state_dict()

    def saved(name, **replace):
        path = tmp_path / f"{name}.pt"
        torch.save({**state, **replace}, path)
        return path

    weight = state["weight_ih_l0"]
    nan = weight.clone()
    nan[1, 1] = float("nan")
    huge = weight.to(torch.float64).clone()
    huge[0, 0] = 1e300
    cases = {
        saved("sparse", weight_ih_l0=weight.to_sparse()): "sparse (layout sparse_coo)",
        saved("meta", weight_ih_l0=torch.empty(12, 2, device="meta")): "a meta tensor",
        saved("nan", weight_ih_l0=nan): "holds 1 NaN value(s) (the first at index (1, 1))",
        saved("huge", weight_ih_l0=huge): "holds 1e+300, beyond the largest float32 value 3.4028235e+38",
    }
    for path, words in cases.items():
        with pytest.raises(UsageError) as caught:
            read_state_dict(path.read_bytes(), str(path))
        assert words in str(caught.value) and "'weight_ih_l0'" in str(caught.value), str(caught.value)
    assert read_state_dict(saved("fine").read_bytes(), "fine.pt")["weight_ih_l0"].dtype == np.float32
    # in real processes: torch's own warnings (complex to real, weights_only on a raw pickle) never show
    complex_path = saved("complex", weight_ih_l0=weight.to(torch.complex64))
    raw_pickle = tmp_path / "raw.pt"
    raw_pickle.write_bytes(pickle.dumps({k: v.numpy() for k, v in state.items()}))
    for path, words in ((complex_path, "is complex (complex64)"), (raw_pickle, "is not a torch.save file")):
        proc = _cli("port", "--from", "torch", str(path), "--layer", "lstm")
        assert proc.returncode == 2 and proc.stdout == "", proc.stderr
        assert len(proc.stderr.splitlines()) == 1 and words in proc.stderr, proc.stderr


# ---- 11, 13, 14. explain() applies the rules of --x, sizes before copies -------------------------
def test_explain_refuses_what_the_cli_refuses_and_checks_sizes_before_any_copy():
    import keras

    model = keras.Sequential([keras.Input((4, 1)), keras.layers.LSTM(2, name="lstm")])
    x = np.zeros((3, 4, 1))
    x[1, 2, 0] = np.nan
    with pytest.raises(SpecError, match="NaN"):
        rnnshape.explain(model, x)
    with pytest.raises(SpecError, match="3.4028235e"):
        rnnshape.explain(model, np.full((3, 4, 1), 1e300))
    # 10 million samples as a broadcast view (40 MB as float32 if copied): refused by the size guard
    view = np.broadcast_to(np.zeros((1, 4, 1), np.float64), (10_000_000, 4, 1))
    tracemalloc.start()
    try:
        with pytest.raises(RnnshapeError, match="--max-memory"):
            rnnshape.explain(model, view, max_memory=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, peak  # the view was never copied (float32: 160 MB; float64: 320 MB)
    assert rnnshape.explain(model, np.zeros((3, 4, 1))).exit_code == 0


def test_a_nan_x_file_is_refused_by_the_cli_as_by_the_api(tmp_path):
    x = np.zeros((3, 4, 1))
    x[0, 0, 0] = np.inf
    np.save(tmp_path / "x.npy", x)
    import keras

    from rnnshape.files import load_data_array

    with pytest.raises(SpecError) as api:
        rnnshape.explain(keras.Sequential([keras.Input((4, 1)), keras.layers.LSTM(2)]), x)

    with pytest.raises(SpecError) as cli_rule:
        load_data_array(str(tmp_path / "x.npy"), "--x")
    assert api.value.problem.split("'", 2)[2] == cli_rule.value.problem.split("'", 2)[2]


# ---- 15. KERAS_BACKEND --------------------------------------------------------------------------
def test_keras_backend_in_the_environment_is_said_not_to_be_used():
    jax = _cli("inspect", "--units", "2", "--json", env={"KERAS_BACKEND": "jax"})
    assert jax.returncode == 0, jax.stderr
    data = json.loads(jax.stdout)["data"]  # options alone decide the run: TensorFlow's, as without it
    assert data["keras_call"] == "keras.layers.LSTM(2)" and "backend" not in data, sorted(data)
    assert jax.stderr.splitlines() == [
        "rnnshape inspect: note: KERAS_BACKEND=jax is not used: rnnshape runs Keras "
        "on TensorFlow unless --backend says otherwise (inspect, trace, stateful, "
        "compare)"
    ]


# ---- --initial-state random --------------------------------------------------------------------
def test_initial_state_random_is_drawn_from_its_own_stream():
    from rnnshape.rules.spec import make_spec
    from rnnshape.runner.build import initial_states
    from rnnshape.runner.numbers import deterministic_input

    for layer in ("lstm", "gru"):
        spec = make_spec(layer=layer, units=2, features=2, timesteps=3, batch=2, initial_state="random", seed=5)
        states = initial_states(spec)
        x = deterministic_input(spec)
        values = np.concatenate([s.ravel() for s in states])
        assert np.all(np.abs(values) <= 1.0) and len(set(values.tolist())) > 1
        firsts = x.reshape(-1)[: values.size]
        assert not np.array_equal(values, firsts), (values, firsts)  # was h0 = x_1, c0 = x_2
        for state in states:
            for row in x.reshape(-1, x.shape[-1]):
                assert not np.array_equal(state[0], row)
        assert all(np.array_equal(a, b) for a, b in zip(states, initial_states(spec)))  # deterministic


# ---- compare on two backends with a named initializer ------------------------------------------
def test_two_backends_with_a_named_initializer_compare_the_computation():
    pytest.importorskip("jax")
    from rnnshape.measure.backends import agreement
    from rnnshape.rules.spec import make_spec
    from rnnshape.runner import backend
    from rnnshape.runner import layer as layer_runner

    spec = make_spec(layer="lstm", units=3, kernel_init="glorot_uniform")
    # measured: each backend draws other numbers from the same seed
    drawn_apart = agreement(
        ["tensorflow", "jax"], [layer_runner.run_many([spec])[0], backend.run_many([spec], "jax")[0][0]]
    )
    assert not all(check.holds for check in drawn_apart[1])
    result = rnnshape.compare(["lstm"], units=3, kernel_init="glorot_uniform", backend=["tensorflow", "jax"])
    assert result.exit_code == 0, [e.message for e in result.errors]
    diffs = [e["max_abs_diff"] for row in result.data["rows"] for e in row["backends"]]
    assert diffs and max(diffs) <= 1e-5


# ---- a fact on all-zero numbers ----------------------------------------------------------------
def test_a_differs_fact_on_all_zero_numbers_says_why_it_cannot_hold():
    result = rnnshape.inspect("lstm", units=2, input_data="zeros", bias_init="zeros", return_state=True)
    checks = {c["claim"]: c for c in result.data["checks"]}
    degenerate = [c for claim, c in checks.items() if claim.startswith("state_c differs from state_h")]
    assert len(degenerate) == 1 and not degenerate[0]["holds"]
    assert "cannot hold in this run: both are all zeros" in degenerate[0]["claim"]
    normal = rnnshape.inspect("lstm", units=2, return_state=True)
    assert all("cannot hold" not in c["claim"] for c in normal.data["checks"])


def test_a_keras_failure_says_keras_reason_not_its_wrapper():
    """Keras wraps an error raised inside call() in "Exception encountered when calling
    GRU.call()."; the one line exit 3 prints is Keras' reason (measured on a real GRU that demands
    cuDNN on a machine without it)."""
    import numpy as np

    from rnnshape.errors import BackendError
    from rnnshape.runner.session import keras_failures, load_keras

    keras = load_keras()
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("a GPU with cuDNN runs the layer: no failure to word")
    with pytest.raises(BackendError) as caught, keras_failures("keras.layers.GRU(4, use_cudnn=True)"):
        keras.layers.GRU(4, use_cudnn=True)(np.ones((1, 3, 2), np.float32))
    message = str(caught.value)
    assert message.startswith("Keras failed running keras.layers.GRU(4, use_cudnn=True): ValueError: ")
    assert "use_cudnn=True was specified" in message and "Exception encountered" not in message
    assert "\n" not in message and "\x1b" not in message


def test_a_failed_layer_run_is_worded_with_keras_reason():
    """The same in inspect's own wording of a failed run (runner/layer.py _failure_words)."""
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("a GPU with cuDNN runs the layer: no failure to word")
    from rnnshape.rules.spec import make_spec
    from rnnshape.runner.layer import _failure_words
    from rnnshape.runner.session import load_keras

    keras = load_keras()
    try:
        keras.layers.LSTM(2, use_cudnn=True)(np.ones((1, 3, 2), np.float32))
    except ValueError as exc:
        words = _failure_words(make_spec(layer="lstm"), exc)
    assert words.startswith("ValueError: use_cudnn=True was specified"), words
