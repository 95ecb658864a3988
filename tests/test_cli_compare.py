"""compare through the CLI: rows equal inspect, the grid, what changes, static, errors, golden."""

import json
import os
from pathlib import Path

import pytest
from conftest import run_process

# every test here runs Keras: the slow tier (the fast tier is pytest -m "not slow")
pytestmark = pytest.mark.slow

GOLDEN = Path(__file__).parent / "golden"
FLAG_KEYS = ("return_sequences", "return_state", "stateful", "go_backwards", "bidirectional")


def _inspect_args(config):
    args = ["inspect", "--layer", config["layer"]]
    for key in ("units", "timesteps", "features", "batch", "seed"):
        args += [f"--{key}", str(config[key])]
    for key in FLAG_KEYS:
        args.append(("--" if config[key] else "--no-") + key.replace("_", "-"))
    if config["merge_mode"] is not None:
        args += ["--merge-mode", config["merge_mode"]]
    if config["reset_after"] is not None:
        args.append("--reset-after" if config["reset_after"] else "--no-reset-after")
    return args


def test_every_row_equals_the_inspect_result_of_its_configuration(invoke_json):
    result, doc = invoke_json(
        [
            "compare",
            "--layer",
            "lstm",
            "--layer",
            "gru",
            "--vary",
            "bidirectional",
            "--vary",
            "reset-after",
            "--units",
            "3",
            "--timesteps",
            "4",
            "--seed",
            "5",
            "--values",
        ]
    )
    assert result.exit_code == 0 and doc["command"] == "compare" and doc["ok"] is True
    rows = doc["data"]["rows"]
    assert len(rows) == 2 * 2 * 2 + 2 * 2 * 2 * 2  # reset_after doubles the GRU rows only
    assert [row["config"]["reset_after"] for row in rows if row["config"]["layer"] == "lstm"] == [None] * 8
    for row in rows:
        _, single = invoke_json(_inspect_args(row["config"]) + ["--values"])
        alone = {key: value for key, value in single["data"].items() if key != "run"}  # compare has one data.run
        assert row == alone, row["keras_call"]  # the same object, values and measured checks included


def test_default_grid_is_return_sequences_by_return_state_in_keras_order(invoke_json):
    result, doc = invoke_json(["compare", "--layer", "LSTM", "--units", "6"])
    assert result.exit_code == 0
    data = doc["data"]
    assert data["grid"] == {
        "layers": ["lstm"],
        "vary": ["return_sequences", "return_state"],
        "fixed": {
            "stateful": False,
            "go_backwards": False,
            "bidirectional": False,
            "merge_mode": None,
            "reset_after": None,
            "use_bias": None,
            "unit_forget_bias": None,
            "unroll": None,
            "training": None,
        },
        "skipped": [],
    }
    seen = [([o["name"] for o in row["outputs"]], [o["shape"] for o in row["outputs"]]) for row in data["rows"]]
    assert seen == [
        (["output"], [[1, 6]]),
        (["output", "state_h", "state_c"], [[1, 6], [1, 6], [1, 6]]),
        (["output"], [[1, 3, 6]]),
        (["output", "state_h", "state_c"], [[1, 3, 6], [1, 6], [1, 6]]),
    ]
    assert [row["keras_call"] for row in data["rows"]] == [
        "keras.layers.LSTM(6)",
        "keras.layers.LSTM(6, return_state=True)",
        "keras.layers.LSTM(6, return_sequences=True)",
        "keras.layers.LSTM(6, return_sequences=True, return_state=True)",
    ]
    effects = {entry["change"]: (entry["effect"], entry["rows"]) for entry in data["changes"]}
    assert effects == {
        "return_sequences off -> on": ("output gains the timesteps axis: rank 2 -> 3", [[0, 2], [1, 3]]),
        "return_state off -> on": ("+ state_h, state_c", [[0, 1], [2, 3]]),
    }
    assert all(check["holds"] for row in data["rows"] for check in row["checks"])


def test_three_layers_varying_stateful_make_24_rows_and_name_the_extra_state_c(invoke_json):
    result, doc = invoke_json(
        ["compare", "--layer", "lstm", "--layer", "gru", "--layer", "simplernn", "--vary", "stateful"]
    )
    assert result.exit_code == 0
    rows = doc["data"]["rows"]
    assert len(rows) == 24
    keys = {(r["config"]["layer"], *(r["config"][k] for k in FLAG_KEYS)) for r in rows}
    assert len(keys) == 24
    for row in rows:
        names = [o["name"] for o in row["outputs"]]
        assert ("state_c" in names) == (row["config"]["layer"] == "lstm" and row["config"]["return_state"])
        assert row["params"]["total"] == row["params"]["keras_count_params"]
        assert all(check["holds"] for check in row["checks"])
    stateful_rows = [r for r in rows if r["config"]["stateful"]]
    assert any(
        "stateful: the layer's state variable now holds" in c["claim"] for r in stateful_rows for c in r["checks"]
    )
    changes = doc["data"]["changes"]
    gru = [c for c in changes if c["change"] == "layer lstm -> gru"]
    assert {c["effect"] for c in gru} == {"params 112 -> 96", "- state_c; params 112 -> 96"}
    missing_c = next(c for c in gru if "state_c" in c["effect"])
    assert all(rows[a]["config"]["return_state"] for a, _ in missing_c["rows"])
    state = {tuple(c["layers"]): c["effect"] for c in changes if c["dimension"] == "return_state"}
    assert state == {("lstm",): "+ state_h, state_c", ("gru", "simplernn"): "+ state_h"}


def test_a_flag_given_explicitly_is_fixed_and_leaves_the_grid(invoke_json):
    result, doc = invoke_json(["compare", "--layer", "gru", "--layer", "simplernn", "--return-state", "--static"])
    assert result.exit_code == 0
    data = doc["data"]
    assert data["grid"]["vary"] == ["return_sequences"] and data["grid"]["fixed"]["return_state"] is True
    assert [(r["config"]["layer"], r["config"]["return_sequences"]) for r in data["rows"]] == [
        ("gru", False),
        ("gru", True),
        ("simplernn", False),
        ("simplernn", True),
    ]
    assert all(r["config"]["return_state"] and r["outputs"][-1]["name"] == "state_h" for r in data["rows"])


def test_static_rows_agree_with_the_real_run(invoke_json):
    args = ["compare", "--layer", "lstm", "--vary", "bidirectional", "--merge-mode", "none", "--vary", "go-backwards"]
    _, real = invoke_json(args)
    _, static = invoke_json(args + ["--static"])
    assert static["data"]["static"] is True and len(static["data"]["rows"]) == len(real["data"]["rows"]) == 12
    for s, r in zip(static["data"]["rows"], real["data"]["rows"]):
        assert s["outputs"] == r["outputs"] and s["keras_call"] == r["keras_call"]
        assert s["params"]["total"] == r["params"]["keras_count_params"]
    assert static["data"]["changes"] == real["data"]["changes"]
    bidirectional = [c["effect"] for c in real["data"]["changes"] if c["dimension"] == "bidirectional"]
    assert "- output; + forward_output, backward_output; params x2" in bidirectional


def test_combinations_keras_refuses_are_left_out_and_keras_does_refuse_them(invoke, invoke_json):
    _, doc = invoke_json(["compare", "--layer", "gru", "--vary", "bidirectional", "--vary", "go-backwards", "--static"])
    skipped = doc["data"]["grid"]["skipped"]
    assert len(doc["data"]["rows"]) == 12 and len(skipped) == 4
    assert not any(r["config"]["bidirectional"] and r["config"]["go_backwards"] for r in doc["data"]["rows"])
    assert skipped[0]["keras_call"] == "keras.layers.Bidirectional(keras.layers.GRU(4, go_backwards=True))"
    # The rule is Keras' own: building that layer fails in Keras, and inspect passes its message on.
    refused = invoke(["inspect", "--layer", "gru", "--bidirectional", "--go-backwards"])
    assert refused.exit_code == 3
    assert "should have different `go_backwards` value" in refused.stderr


def test_json_is_identical_run_after_run(invoke):
    args = ["compare", "--layer", "gru", "--vary", "go-backwards", "--seed", "3", "--json"]
    first, second = invoke(args).stdout, invoke(args).stdout
    assert first == second and json.loads(first)["data"]["rows"][0]["config"]["seed"] == 3


def test_human_table_golden(invoke):
    result = invoke(["compare", "--layer", "lstm", "--layer", "gru"])
    assert result.exit_code == 0 and result.stderr == ""
    golden = GOLDEN / "compare_lstm_gru.txt"
    # Regenerate on purpose with: RNNSHAPE_UPDATE_GOLDEN=1 pytest tests/test_cli_compare.py
    if os.environ.get("RNNSHAPE_UPDATE_GOLDEN"):
        golden.write_text(result.stdout)
    assert result.stdout == golden.read_text()


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--vary", "units"], "'--vary'"),
        (["--vary", "return-state", "--return-state"], "--vary"),
        (["--merge-mode", "sum"], "--merge-mode"),
        (["--static", "--values"], "--values"),
        (["--layer", "lstm", "--layer", "cnn"], "'--layer'"),
        (["--units", "0"], "--units"),
        (["--units", "100000", "--timesteps", "100000"], "--max-memory"),
    ],
)
def test_bad_input_is_one_line_exit_2(invoke, args, needle):
    result = invoke(["compare", *args])
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnnshape compare: error: ") and needle in lines[0]


def test_24_rows_in_one_real_process_with_clean_stderr():
    proc = run_process(
        ["compare", "--layer", "lstm", "--layer", "gru", "--layer", "simplernn", "--vary", "stateful", "--json"]
    )
    assert proc.returncode == 0 and proc.stderr == ""
    assert len(json.loads(proc.stdout)["data"]["rows"]) == 24
