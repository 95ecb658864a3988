"""The real-world corpus (tests/real_models.py): models rebuilt from public projects, saved by
Keras 3 with the loss each project compiled with, and the targets of the shapes each project
used. rnnshape's shapes against Keras' own predictions, its target verdicts against the loss
Keras itself computes (the live compiled model's compute_loss) on y as given and reshaped, and
the three entry points (model, why --model, explain) giving the same verdict."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import run_process
from tests.real_models import CORPUS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from rnnshape.runner import session as session_runner

    keras = session_runner.load_keras()
    folder = tmp_path_factory.mktemp("real_models")
    built = {}
    with session_runner.quiet_native_stderr():
        for index, entry in enumerate(CORPUS):
            keras.utils.set_random_seed(index)
            model = entry.build(keras)
            xs, y = entry.data(np.random.default_rng(index))
            path = folder / f"{entry.name}.keras"
            model.save(path)
            x_paths = []
            for position, x in enumerate(xs):
                np.save(folder / f"{entry.name}_x{position}.npy", x)
                x_paths.append(str(folder / f"{entry.name}_x{position}.npy"))
            np.save(folder / f"{entry.name}_y.npy", y)
            prediction = model.predict(xs if len(xs) > 1 else xs[0], batch_size=len(xs[0]), verbose=0)
            built[entry.name] = {
                "entry": entry,
                "model": model,
                "path": str(path),
                "x": x_paths,
                "xs": xs,
                "y": y,
                "y_path": str(folder / f"{entry.name}_y.npy"),
                "prediction": np.asarray(prediction),
            }
    return built


def _keras_loss(model, y, prediction):
    """Keras' own loss through the compiled model (CompileLoss, as fit computes it), or None when
    Keras refuses the targets."""
    try:
        return float(np.asarray(model.compute_loss(x=None, y=np.asarray(y, np.float32), y_pred=prediction)))
    except Exception:
        return None


def _expected_verdict(made) -> str:
    """The verdict from Keras alone: the loss on y as given against y reshaped to the shape the
    compiled loss takes (one label per row for a sparse loss, else the prediction's shape)."""
    model, y, prediction = made["model"], made["y"], made["prediction"]
    given = _keras_loss(model, y, prediction)
    if made["entry"].verdict == "labels":  # the labels the user meant: one-hot rows of the classes
        meant = np.eye(prediction.shape[-1], dtype=np.float32)[np.asarray(y).reshape(prediction.shape[:-1])]
        return "labels" if given is None or not np.isclose(given, _keras_loss(model, meant, prediction)) else "agree"
    if given is None:
        return "refused"
    if np.size(y) != prediction.size:
        return "broadcast"
    again = _keras_loss(model, np.reshape(y, prediction.shape), prediction)
    return "agree" if np.isclose(given, again, rtol=1e-6) else "broadcast"


@pytest.mark.parametrize("name", [entry.name for entry in CORPUS])
def test_shapes_and_target_verdicts_agree_with_keras(corpus, name):
    import rnnshape
    from rnnshape.rules.why_diagnosis import NoShapeError

    made = corpus[name]
    entry = made["entry"]
    result = rnnshape.model(made["path"], x=made["x"], y=made["y_path"])
    data = result.data
    assert data["data"]["prediction_shapes"] == [list(made["prediction"].shape)]
    assert data["model"]["output_shapes"][0][1:] == list(made["model"].outputs[0].shape[1:])
    verdict = data["data"]["y"]
    assert verdict["verdict"] == entry.verdict == _expected_verdict(made), verdict
    assert verdict["loss_assumed"] is False and "compile config" in verdict["loss_source"]
    assert result.exit_code == (0 if entry.verdict == "agree" else 1)
    kinds = [d["kind"] for d in data["diagnoses"]]
    if entry.verdict == "agree":  # the project's own targets: no warning left about them
        assert not {"target_shape", "target_labels", "time_axis_head", "unused_states"} & set(kinds), kinds
    else:
        assert kinds[0] == ("target_labels" if entry.verdict == "labels" else "target_shape")
        assert verdict["loss"] in data["diagnoses"][0]["text"]
    # the same rule from why --model --y (no data run) and explain (the live compiled model)
    try:
        why = rnnshape.why(model=made["path"], y=made["y_path"])
        why_verdict = {"target_labels": "labels", "target_refused": "refused"}.get(why.data["kind"], "broadcast")
    except NoShapeError:
        why_verdict = "agree"
    assert why_verdict == entry.verdict
    live = rnnshape.explain(made["model"], made["xs"] if len(made["xs"]) > 1 else made["xs"][0], made["y"])
    assert live.data["data"]["y"]["verdict"] == entry.verdict
    assert live.data["data"]["y"]["loss_source"] == "compiled on the live model"


def test_recurrent_activations_are_named_when_not_the_defaults(corpus):
    import rnnshape

    flags = {
        row["path"]: row["recurrent"]["flags"] for row in rnnshape.model(corpus["jena_stacked_gru"]["path"]).recurrent
    }
    first, second = flags.values()
    assert not any("activation" in f for f in first)
    assert any(f.startswith("activation='relu'") for f in second)


def test_the_users_view_of_a_real_broadcast_and_a_real_agreement(corpus, invoke):
    bad = corpus["stateful_batches"]
    proc = run_process(["model", bad["path"], "--x", bad["x"][0], "--y", bad["y_path"]])
    assert proc.returncode == 1, proc.stderr
    error = proc.stderr.strip().splitlines()
    assert len(error) == 1 and "(1, 3, 1)" in error[0] and "mean_squared_error" in error[0]
    assert "the targets --y (1, 3, 1) hold 3 values, the loss takes 1 target (1, 1)" in error[0]
    good = corpus["anomaly_forecast"]
    result = invoke(["model", good["path"], "--x", good["x"][0], "--y", good["y_path"], "--json"])
    assert result.exit_code == 0 and result.stderr == ""
    y = json.loads(result.stdout)["data"]["data"]["y"]
    assert y["verdict"] == "agree" and y["reshaped_to"] == [8, 1] and y["loss_as_given"] == y["loss_reshaped"]
