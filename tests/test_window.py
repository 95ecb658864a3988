"""window: the counts, slicing equal to Keras' timeseries_dataset_from_array, the create_dataset
off-by-one measured, the CLI contract and its exit codes."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from rnnshape.measure.window import create_dataset, make_series, slice_windows
from rnnshape.rules.window import make_window_spec
from rnnshape.runner import window as window_runner

# every test here runs Keras: the slow tier (the fast tier is pytest -m "not slow")
pytestmark = pytest.mark.slow

GOLDEN = Path(__file__).parent / "golden"
CASES = [  # length, look_back, features, horizon, stride
    (10, 3, 1, 1, 1),
    (10, 3, 2, 2, 1),
    (12, 4, 3, 1, 3),
    (20, 5, 2, 3, 4),
    (4, 3, 1, 1, 1),
    (301, 7, 1, 1, 2),  # more than one of Keras' batches of 128
]


def test_windows_equal_keras_utility_on_small_series():
    for length, look_back, features, horizon, stride in CASES:
        spec = make_window_spec(length=length, look_back=look_back, features=features, horizon=horizon, stride=stride)
        series = make_series(spec)
        starts, x, y = slice_windows(series, spec)
        kx, ky = window_runner.keras_windows(series, look_back, horizon, stride)
        assert kx.shape == x.shape == spec.x_shape, spec
        assert ky.shape == y.shape == spec.y_shape, spec
        assert np.array_equal(kx, x) and np.array_equal(ky, y), spec
        assert spec.samples == (length - look_back - horizon) // stride + 1
        # the target is the value `horizon` steps after each window's last step
        assert np.array_equal(y[:, 0], starts + look_back - 1 + horizon)


def test_long_series_are_compared_on_their_first_and_last_windows(monkeypatch, invoke_json):
    monkeypatch.setattr("rnnshape.rules.window.KERAS_SEGMENT", 4)
    _, doc = invoke_json(["window", "--length", "40", "--look-back", "3", "--features", "2", "--stride", "3"])
    checks = doc["data"]["checks"]
    assert doc["data"]["samples"] == 13 and all(c["holds"] for c in checks)
    assert checks[0]["claim"] == "Keras makes 13 windows, the formula's 13"  # cardinality of the whole series
    assert "(on the first 4 and last 4 of 13 windows)" in checks[1]["claim"]


def test_create_dataset_loop_drops_the_last_window():
    spec = make_window_spec(length=100, look_back=3)
    series = make_series(spec)
    loop_x, loop_y = create_dataset(series, 3)
    _, x, y = slice_windows(series, spec)
    assert len(loop_x) == 96 and len(x) == 97
    assert np.array_equal(loop_x, x[:96, :, 0]) and np.array_equal(loop_y, y[:96, 0])
    assert x[-1, :, 0].tolist() == [96, 97, 98] and y[-1, 0] == 99


def test_cli_json_for_the_issue_example(invoke_json):
    result, doc = invoke_json(["window", "--length", "10", "--look-back", "3", "--features", "2", "--horizon", "2"])
    assert result.exit_code == 0 and doc["command"] == "window"
    data = doc["data"]
    assert data["x_shape"] == [6, 3, 2] and data["y_shape"] == [6, 2] and data["samples"] == 6
    assert data["formula"] == "samples = length - look_back - horizon + 1 = 10 - 3 - 2 + 1 = 6"
    first = data["windows"][0]
    assert first == {"sample": 0, "x_steps": [0, 2], "y_step": 4, "x": [[0, 10], [1, 11], [2, 12]], "y": [4, 14]}
    assert [w["sample"] for w in data["windows"]] == [0, 1, 2, 3, 4, 5]
    assert len(data["checks"]) == 3 and all(c["holds"] and c["max_abs_diff"] == 0.0 for c in data["checks"])
    assert data["keras_call"] == (
        "keras.utils.timeseries_dataset_from_array(series[:-2], targets=series[4:], "
        "sequence_length=3, sequence_stride=1, shuffle=False, batch_size=128)"
    )
    note = data["create_dataset"]
    assert (note["loop_windows"], note["correct_windows"], note["dropped"]) == (6, 7, 1)


def test_table_names_windows_by_index_expression(invoke):
    text = invoke(["window", "--length", "10", "--look-back", "3"]).stdout
    # series[t] = t, so the 0-based index expression and the values read alike; no bare "steps 0..2".
    assert "series[0:3]   series[3]   [[0], [1], [2]]   [3]" in text
    assert "the last window, X = series[6:9] -> y = series[9]" in " ".join(text.split())
    assert "steps 0..2" not in text


def test_stride_formula_and_static(invoke_json):
    _, real = invoke_json(["window", "--length", "20", "--look-back", "4", "--stride", "3"])
    _, static = invoke_json(["window", "--length", "20", "--look-back", "4", "--stride", "3", "--static"])
    assert real["data"]["formula"] == (
        "samples = floor((length - look_back - horizon) / stride) + 1 = floor((20 - 4 - 1) / 3) + 1 = 6"
    )
    assert [w["x_steps"] for w in real["data"]["windows"]][:2] == [[0, 3], [3, 6]]
    assert static["data"]["static"] is True and static["data"]["checks"] == []
    for key in ("x_shape", "y_shape", "windows", "create_dataset"):
        assert static["data"][key] == real["data"][key]


def test_human_golden(invoke):
    result = invoke(["window", "--length", "100", "--look-back", "3"])
    assert result.exit_code == 0 and result.stderr == ""
    golden = GOLDEN / "window_100_3.txt"
    # Regenerate on purpose with: RNNSHAPE_UPDATE_GOLDEN=1 pytest tests/test_window.py
    if os.environ.get("RNNSHAPE_UPDATE_GOLDEN"):
        golden.write_text(result.stdout)
    assert result.stdout == golden.read_text()


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--length", "3", "--look-back", "3"], "--length"),
        (["--look-back", "0"], "--look-back"),
        (["--horizon", "0"], "--horizon"),
        (["--stride", "0"], "--stride"),
        (["--length", "5", "--look-back", "2", "--stride", "4"], "--stride"),
        (["--length", "1000000", "--look-back", "100000"], "--max-memory"),
        (["--length", "1000001"], "--length"),
        (["--lenght", "5"], "--lenght"),
    ],
)
def test_bad_input_exit_2_one_line(invoke, args, needle):
    result = invoke(["window", *args])
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnnshape window: error: ") and needle in lines[0]
    doc = json.loads(invoke(["window", *args, "--json"]).stdout)
    assert doc["exit_code"] == 2 and doc["ok"] is False and doc["data"] is None


def test_a_stride_that_leaves_a_short_tail_is_run_on_the_whole_series(invoke_json):
    """length 5, look-back 3, stride 3: one window; Keras was given the series cut after it
    (3 steps of data, not more than the stride), refused it, and the run exited 3."""
    result, doc = invoke_json(["window", "--length", "5", "--look-back", "3", "--stride", "3"])
    assert result.exit_code == 0, doc["errors"]
    assert doc["data"]["samples"] == 1 and all(c["holds"] for c in doc["data"]["checks"])
