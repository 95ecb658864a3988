"""rnnshape trace through the CLI in-process: JSON layout, the printed numbers against the
equations, agreement with inspect, reading order, masking, options and exit codes."""

import json
import math
import os
import re
from pathlib import Path

import numpy as np
import pytest

from rnnshape.measure import cells

# every test here runs Keras: the slow tier (the fast tier is pytest -m "not slow")
pytestmark = pytest.mark.slow

GOLDEN = Path(__file__).parent / "golden"
DATA_KEYS = {
    "config",
    "keras_call",
    "input",
    "activations",
    "equations",
    "weights_layout",
    "gates",
    "directions",
    "steps",
    "checks",
    "max_abs_diff",
    "tolerance",
    "agrees",
    "notes",
    "versions",
    "run",
}
STEP_KEYS = {"direction", "step", "t", "x", "gates", "h", "masked", "returned_as"}


def sigmoid(v):
    return 1 / (1 + math.exp(-v))


def assert_equations_hold(layer, steps, reset_after=True, tol=1e-9):
    """The JSON numbers satisfy the cell's update equations (the gate values are taken as
    printed; the Keras agreement of the gates themselves is measured by the command)."""
    h_prev = [0.0] * len(steps[0]["h"])
    c_prev = [0.0] * len(h_prev)
    for step in steps:
        if step["masked"]:
            assert step["gates"] is None and step["h"] == h_prev
            if layer == "lstm":
                assert step["c"] == c_prev
            continue
        g = step["gates"]
        for u, h in enumerate(step["h"]):
            if layer == "lstm":
                c = g["f"][u] * c_prev[u] + g["i"][u] * g["g"][u]
                assert abs(step["c"][u] - c) <= tol
                assert abs(h - g["o"][u] * math.tanh(step["c"][u])) <= tol
                assert all(0 < g[name][u] < 1 for name in "ifo") and -1 < g["g"][u] < 1
            elif layer == "gru":
                assert abs(h - (g["z"][u] * h_prev[u] + (1 - g["z"][u]) * g["h_tilde"][u])) <= tol
                assert 0 < g["z"][u] < 1 and 0 < g["r"][u] < 1
            else:
                assert g == {} and abs(h - math.tanh(step["pre_activation"][u])) <= tol
        h_prev = step["h"]
        c_prev = step.get("c", c_prev)


def test_json_layout_and_equations_for_every_layer(invoke_json):
    for layer, extra in (("lstm", []), ("gru", []), ("gru", ["--no-reset-after"]), ("simplernn", [])):
        result, doc = invoke_json(
            [
                "trace",
                "--layer",
                layer,
                "--units",
                "3",
                "--timesteps",
                "5",
                "--batch",
                "2",
                "--sample",
                "1",
                "--return-sequences",
                "--return-state",
                *extra,
            ]
        )
        assert result.exit_code == 0 and doc["ok"] and doc["command"] == "trace" and doc["errors"] == []
        data = doc["data"]
        assert set(data) == DATA_KEYS
        assert data["config"]["sample"] == 1 and data["config"]["steps"] is None
        assert data["config"]["reset_after"] == ({"gru": "--no-reset-after" not in extra}.get(layer))
        assert data["agrees"] is True and data["max_abs_diff"] < 1e-5 and data["tolerance"] == 1e-4
        assert [d["direction"] for d in data["directions"]] == ["forward"]
        steps = data["steps"]
        assert [s["t"] for s in steps] == [1, 2, 3, 4, 5] == [s["step"] for s in steps]
        extra_keys = {"lstm": {"c"}, "gru": set(), "simplernn": {"pre_activation"}}[layer]
        assert all(set(s) == STEP_KEYS | extra_keys for s in steps)
        assert all(set(s["gates"]) == set(cells.GATE_NAMES[layer]) for s in steps)
        assert all(len(s["h"]) == 3 and len(s["x"]) == 2 for s in steps)
        assert_equations_hold(layer, steps)
        assert steps[-1]["returned_as"]["h"] == ["output[1, 4]", "state_h[1]"]
        assert data["directions"][0]["final"]["h"] == steps[-1]["h"]
    assert data["keras_call"] == "keras.layers.SimpleRNN(3, return_sequences=True, return_state=True)"


def test_no_reset_after_is_in_the_call_and_the_equations(invoke_json):
    _, doc = invoke_json(["trace", "--layer", "gru", "--no-reset-after"])
    data = doc["data"]
    assert data["keras_call"] == "keras.layers.GRU(4, reset_after=False)"
    assert "(r_t * h_(t-1)) U_h" in data["equations"][2]["equation"]
    assert "bias (3*units,)" in data["weights_layout"]
    _, default = invoke_json(["trace", "--layer", "gru"])
    assert "r_t * (h_(t-1) U_h + b'_h)" in default["data"]["equations"][2]["equation"]
    # Different computations on the same input: the steps differ.
    assert default["data"]["steps"][-1]["h"] != data["steps"][-1]["h"]


def test_last_h_equals_inspects_state_h(invoke_json):
    for args in (
        ["--layer", "lstm", "--units", "5", "--timesteps", "7", "--batch", "3", "--seed", "4"],
        ["--layer", "gru", "--units", "2", "--timesteps", "4", "--features", "3", "--go-backwards"],
        ["--layer", "simplernn", "--batch", "2", "--lengths", "2,3"],
        ["--layer", "lstm", "--bidirectional", "--units", "3", "--batch", "2"],
    ):
        sample = 1 if "--batch" in args else 0
        _, inspected = invoke_json(["inspect", *args, "--return-state", "--values"])
        _, traced = invoke_json(["trace", *args, "--return-state", "--sample", str(sample)])
        outputs = {o["name"]: np.asarray(o["values"]) for o in inspected["data"]["outputs"]}
        for direction in traced["data"]["directions"]:
            prefix = f"{direction['direction']}_" if "--bidirectional" in args else ""
            assert np.max(np.abs(outputs[f"{prefix}state_h"][sample] - direction["final"]["h"])) <= 1e-5, args
            if "c" in direction["final"]:
                assert np.max(np.abs(outputs[f"{prefix}state_c"][sample] - direction["final"]["c"])) <= 1e-5
            # The same input as inspect, read step by step.
            x = np.asarray(inspected["data"]["input"]["values"])
            for step in (s for s in traced["data"]["steps"] if s["direction"] == direction["direction"]):
                assert np.array_equal(np.float32(step["x"]), x[sample, step["t"] - 1])


def test_go_backwards_reads_x_T_first(invoke_json):
    _, doc = invoke_json(["trace", "--layer", "gru", "--timesteps", "4", "--go-backwards", "--return-sequences"])
    data = doc["data"]
    direction = data["directions"][0]
    assert direction["direction"] == "backward" and direction["go_backwards"] is True
    assert direction["reading_order"] == [4, 3, 2, 1] and "x_4 -> x_1" in direction["reads"]
    steps = data["steps"]
    assert [(s["step"], s["t"]) for s in steps] == [(1, 4), (2, 3), (3, 2), (4, 1)]
    # output is in reading order: output[:, 0] is the step that read x_T.
    assert [s["returned_as"]["h"] for s in steps] == [
        ["output[0, 0]"],
        ["output[0, 1]"],
        ["output[0, 2]"],
        ["output[0, 3]"],
    ]
    # States are named by the step just read: the last row read x_1, so the final h is h_1 (as in the diagram).
    assert "the final h is h_1" in direction["reads"] and steps[-1]["t"] == 1
    other_way = next(c for c in data["checks"] if "reading the other way" in c["claim"])
    assert other_way["holds"] is True and other_way["kind"] == "differ" and other_way["max_abs_diff"] > 1e-3


def test_bidirectional_traces_both_directions(invoke_json):
    _, doc = invoke_json(
        [
            "trace",
            "--layer",
            "lstm",
            "--units",
            "2",
            "--timesteps",
            "3",
            "--bidirectional",
            "--return-sequences",
            "--return-state",
        ]
    )
    data = doc["data"]
    assert [(d["direction"], d["keras_layer"], d["reading_order"]) for d in data["directions"]] == [
        ("forward", "forward_lstm", [1, 2, 3]),
        ("backward", "backward_lstm", [3, 2, 1]),
    ]
    backward = [s for s in data["steps"] if s["direction"] == "backward"]
    assert [s["t"] for s in backward] == [3, 2, 1]
    # Bidirectional flips the backward sequence back to time order: it lands at index t - 1.
    assert backward[0]["returned_as"]["h"] == ["output[0, 2, 2:]"]
    assert backward[-1]["returned_as"] == {
        "h": ["output[0, 0, 2:]", "backward_state_h[0]"],
        "c": ["backward_state_c[0]"],
    }
    forward = [s for s in data["steps"] if s["direction"] == "forward"]
    assert forward[-1]["returned_as"]["h"] == ["output[0, 2, :2]", "forward_state_h[0]"]
    claims = [c["claim"] for c in data["checks"]]
    assert sum("recomputed h at every step" in c for c in claims) == 2
    assert all(c["holds"] for c in data["checks"])
    for direction in ("forward", "backward"):
        assert_equations_hold("lstm", [s for s in data["steps"] if s["direction"] == direction])


def test_masked_steps_keep_the_state_as_keras_does(invoke_json):
    _, doc = invoke_json(
        [
            "trace",
            "--layer",
            "lstm",
            "--units",
            "2",
            "--timesteps",
            "4",
            "--batch",
            "2",
            "--lengths",
            "2,4",
            "--return-sequences",
            "--return-state",
        ]
    )
    data = doc["data"]
    steps = data["steps"]
    assert [s["masked"] for s in steps] == [False, False, True, True]
    assert steps[3]["h"] == steps[1]["h"] and steps[3]["c"] == steps[1]["c"]
    assert_equations_hold("lstm", steps)
    assert data["agrees"] is True
    assert any("valid steps" in note for note in data["notes"])


def test_steps_option_selects_rows_and_long_sequences_are_elided(invoke, invoke_json):
    _, doc = invoke_json(["trace", "--layer", "simplernn", "--units", "2", "--timesteps", "20", "--steps", "1-3,20"])
    assert [s["t"] for s in doc["data"]["steps"]] == [1, 2, 3, 20]
    assert doc["data"]["config"]["steps"] == [1, 2, 3, 20]
    _, full = invoke_json(["trace", "--layer", "simplernn", "--units", "2", "--timesteps", "20"])
    assert len(full["data"]["steps"]) == 20
    text = invoke(["trace", "--layer", "simplernn", "--units", "2", "--timesteps", "20"]).stdout
    assert "note: showing 10 of 20 steps" in text
    rows = [int(line.split()[0]) for line in text.splitlines() if re.match(r"^\s+\d+\s+-?\d\.\d{4}\s+0\s", line)]
    assert rows == [1, 2, 3, 4, 5, 16, 17, 18, 19, 20]
    chosen = invoke(["trace", "--layer", "simplernn", "--units", "2", "--timesteps", "20", "--steps", "2,19"]).stdout
    rows = [int(line.split()[0]) for line in chosen.splitlines() if re.match(r"^\s+\d+\s+-?\d\.\d{4}\s+0\s", line)]
    assert rows == [2, 19] and "showing 10" not in chosen


def test_printed_table_numbers_satisfy_the_lstm_equations(invoke):
    """Parse the human table (4 decimals) and check c_t = f c_(t-1) + i g and h_t = o tanh(c_t)
    within the rounding of the printed digits."""
    text = invoke(["trace", "--layer", "lstm", "--units", "3", "--timesteps", "6", "--seed", "9"]).stdout
    values = []
    for line in text.splitlines():
        numbers = re.findall(r"(?<![\w\[,])-?\d+\.\d{4}(?![\d])", line)
        if len(numbers) >= 6:
            values.append([float(n) for n in numbers[-6:]])  # i f g o c h of one unit
    assert len(values) == 6 * 3
    c_prev = [0.0] * 3
    for step in range(6):
        rows = values[step * 3 : (step + 1) * 3]
        for u, (i, f, g, o, c, h) in enumerate(rows):
            assert abs(c - (f * c_prev[u] + i * g)) <= 3e-4
            assert abs(h - o * math.tanh(c)) <= 2e-4
        c_prev = [row[4] for row in rows]
    assert "the recomputation agrees with Keras" in text


def test_human_table_golden(invoke):
    cases = {
        "trace_lstm_3_4_2.txt": ["trace", "--layer", "lstm", "--units", "3", "--timesteps", "4", "--features", "2"],
        "trace_gru_bidirectional_masked.txt": [
            "trace",
            "--layer",
            "gru",
            "--units",
            "2",
            "--timesteps",
            "4",
            "--batch",
            "2",
            "--lengths",
            "3,4",
            "--bidirectional",
            "--return-sequences",
            "--return-state",
        ],
    }
    for name, args in cases.items():
        result = invoke(args)
        assert result.exit_code == 0 and result.stderr == ""
        golden = GOLDEN / name
        # Regenerate on purpose with: RNNSHAPE_UPDATE_GOLDEN=1 pytest tests/test_cli_trace.py
        if os.environ.get("RNNSHAPE_UPDATE_GOLDEN"):
            golden.write_text(result.stdout)
        assert result.stdout == golden.read_text(), name


def test_json_is_identical_run_after_run(invoke):
    args = ["trace", "--layer", "gru", "--bidirectional", "--return-sequences", "--batch", "2", "--json"]
    first, second = invoke(args).stdout, invoke(args).stdout
    assert first == second and first.strip() == json.dumps(json.loads(first), sort_keys=True, indent=2)


def test_a_wrong_recomputation_exits_3(invoke, monkeypatch):
    """If the numpy cell did not compute what Keras computes, the command says so and exits 3."""
    monkeypatch.setitem(cells.ACTIVATIONS, "sigmoid", cells.ACTIVATIONS["hard_sigmoid"])
    result = invoke(["trace", "--layer", "lstm", "--json"])
    doc = json.loads(result.stdout)
    assert result.exit_code == 3 and doc["exit_code"] == 3 and doc["ok"] is False
    assert doc["data"]["agrees"] is False and doc["data"]["max_abs_diff"] > 1e-4
    assert doc["errors"][0]["type"] == "backend" and "differs from Keras" in doc["errors"][0]["message"]
    human = invoke(["trace", "--layer", "lstm"])
    assert human.exit_code == 3 and "DOES NOT agree" in human.stdout
    assert human.stderr.startswith("rnnshape trace: error: the numpy recomputation differs from Keras")


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--sample", "1"], "--sample"),
        (["--batch", "2", "--sample", "-1"], "--sample"),
        (["--steps", "0"], "--steps"),
        (["--timesteps", "4", "--steps", "2-5"], "--steps"),
        (["--steps", "3-1"], "--steps"),
        (["--steps", "a"], "--steps"),
        (["--layer", "lstm", "--no-reset-after"], "--no-reset-after"),
        (["--layer", "simplernn", "--reset-after"], "--reset-after"),
        (["--lengths", "5"], "--lengths"),
    ],
)
def test_bad_input_is_one_line_exit_2(invoke, args, needle):
    result = invoke(["trace", *args])
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnnshape trace: error: ") and needle in lines[0]


def test_keras_refusal_is_exit_3_with_keras_message(invoke_json):
    result, doc = invoke_json(["trace", "--bidirectional", "--go-backwards"])
    assert result.exit_code == 3 and doc["errors"][0]["type"] == "backend"
    assert "should have different `go_backwards` value" in doc["errors"][0]["message"]


def test_real_process_json_and_clean_stderr():
    from conftest import run_process

    proc = run_process(
        ["trace", "--layer", "gru", "--units", "2", "--timesteps", "5", "--batch", "2", "--sample", "1", "--json"]
    )
    assert proc.returncode == 0 and proc.stderr == ""
    doc = json.loads(proc.stdout)
    assert doc["command"] == "trace" and len(doc["data"]["steps"]) == 5 and doc["data"]["agrees"] is True


def test_help_and_usage_errors_do_not_import_tensorflow():
    from conftest import run_in_fresh_interpreter

    _, heavy = run_in_fresh_interpreter(
        [
            ["trace", "--help"],
            ["trace", "--sample", "3"],
            ["trace", "--steps", "9"],
            ["trace", "--layer", "lstm", "--no-reset-after"],
        ]
    )
    assert heavy == []


def test_large_values_agree_relatively_and_a_float32_overflow_is_exit_3(invoke):
    """Found by the property tests: an exponential activation grows h to ~1.6e8, where float32
    and numpy's float64 differ by ~600 (7 digits agree): that agrees; Keras' own inf/nan has no
    steps to recompute: exit 3, one line, nothing on stdout, no numpy warning."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = invoke(["trace", "--layer", "lstm", "--activation", "exponential", "--return-sequences", "--json"])
        doc = json.loads(result.stdout)
        assert result.exit_code == 0 and doc["data"]["agrees"], doc["errors"]
        assert doc["data"]["max_abs_diff"] > 1e-4  # absolutely off, relatively exact
        overflow = invoke(["trace", "--layer", "lstm", "--activation", "exponential", "--kernel-init", "0.5"])
    assert overflow.exit_code == 3 and overflow.stdout == ""
    assert overflow.stderr.count("\n") == 1 and "inf or nan" in overflow.stderr
