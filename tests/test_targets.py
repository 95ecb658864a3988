"""The one rule for targets (measure/targets.py) on the cases of issue 26, each verdict checked
against Keras' own loss object computed on y as given and on y reshaped; and the smaller items:
explain's positional y, the 2-D --x reshape, a model saved without a loss."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow

RNG = np.random.default_rng(26)


def _probs(*shape):
    p = RNG.uniform(0.05, 0.95, shape).astype(np.float32)
    return p / p.sum(axis=-1, keepdims=True)


CASES = [  # (loss, y, prediction, verdict)
    ("mse", RNG.normal(size=8), RNG.normal(size=(8, 1)).astype(np.float32), "agree"),
    ("mse", RNG.normal(size=(4, 6)), RNG.normal(size=(4, 6, 1)).astype(np.float32), "agree"),
    ("sparse_categorical_crossentropy", RNG.integers(0, 5, (4, 6, 1)), _probs(4, 6, 5), "agree"),
    ("sparse_categorical_crossentropy", RNG.integers(0, 5, (4, 6)), _probs(4, 6, 5), "agree"),
    ("mse", RNG.normal(size=(4, 1)), RNG.normal(size=(4, 6, 1)).astype(np.float32), "broadcast"),
    ("mse", RNG.normal(size=(4, 6)), RNG.normal(size=(4, 1)).astype(np.float32), "broadcast"),
    ("mae", RNG.normal(size=(1, 8)), RNG.normal(size=(8, 1)).astype(np.float32), "broadcast"),
    ("categorical_crossentropy", RNG.integers(0, 5, (4, 6, 1)), _probs(4, 6, 5), "labels"),
    ("sparse_categorical_crossentropy", np.eye(5)[RNG.integers(0, 5, (4, 6))], _probs(4, 6, 5), "labels"),
]


def _keras(loss, y, prediction):
    from rnnshape.runner import session as session_runner

    keras = session_runner.load_keras()
    try:
        # the loss function's per-sample values, averaged as fit's sum_over_batch_size reduction does
        return float(np.mean(np.asarray(keras.losses.get(loss)(np.asarray(y, np.float32), prediction))))
    except Exception:
        return None


@pytest.mark.parametrize(
    "loss, y, prediction, verdict", CASES, ids=[f"{c[0]}-{c[1].shape}-{c[2].shape}" for c in CASES]
)
def test_the_rule_against_keras_computed_both_ways(loss, y, prediction, verdict):
    from rnnshape.measure.targets import judge, verdict_text
    from rnnshape.runner import model as model_runner

    data = judge(y, prediction, {"identifier": loss, "source": "recorded", "assumed": False}, model_runner.loss_probe)
    assert data["verdict"] == verdict, data
    expected = prediction.shape[:-1] if "sparse" in loss else prediction.shape
    given = _keras(loss, y, prediction)
    if verdict == "labels":  # Keras refuses them, or computes a loss other than the one of the meant labels
        if "sparse" in loss:  # one-hot rows: the labels meant are their argmax
            other = _keras(loss, np.argmax(y, axis=-1), prediction)
        else:  # integer labels: the one-hot rows meant
            other = _keras(loss, np.eye(prediction.shape[-1])[np.asarray(y).reshape(prediction.shape[:-1])], prediction)
        assert other is not None and (given is None or not np.isclose(given, other))
        assert data["encoding"]["fix"]
    elif np.size(y) == int(np.prod(expected)):
        same = np.isclose(given, _keras(loss, np.reshape(y, expected), prediction), rtol=1e-6)
        assert same == (verdict == "agree")
        assert data["loss_as_given"] == pytest.approx(given, rel=1e-6)
    else:
        assert verdict == "broadcast" and given is not None  # accepted although the sizes differ
        assert f"hold {np.size(y)} value" in verdict_text(data)
    assert data["loss"] in verdict_text(data)


def test_explain_takes_y_positionally_and_names_the_assumed_loss_of_an_uncompiled_model(tmp_path, invoke):
    import rnnshape
    from rnnshape.runner import session as session_runner

    keras = session_runner.load_keras()
    with session_runner.quiet_native_stderr():
        model = keras.Sequential(
            [
                keras.Input((60, 1)),
                keras.layers.LSTM(3, activation="relu", recurrent_activation="hard_sigmoid"),
                keras.layers.Dense(1),
            ]
        )
    x = RNG.normal(size=(5, 60, 1)).astype(np.float32)
    result = rnnshape.explain(model, x, RNG.normal(size=5), None)
    y = result.data["data"]["y"]
    assert y["verdict"] == "agree" and y["loss_assumed"] and y["loss"] == "mean_squared_error"
    assert y["loss_source"].startswith("assumed")
    flags = result.recurrent[0]["recurrent"]["flags"]
    assert "activation='relu'" in flags[-2] and "recurrent_activation='hard_sigmoid'" in flags[-1]
    path = tmp_path / "m.keras"
    model.save(path)
    np.save(tmp_path / "x2d.npy", x[..., 0])
    bad = invoke(["model", str(path), "--x", str(tmp_path / "x2d.npy")])
    assert bad.exit_code == 2 and "x.reshape(5, 60, 1)" in bad.stderr
