"""inspect through the CLI in-process: JSON contract, golden table, expectations, usage errors."""

import json
from pathlib import Path

import pytest
from conftest import COMMANDS

# every test here runs Keras: the slow tier (the fast tier is pytest -m "not slow")
pytestmark = pytest.mark.slow

GOLDEN = Path(__file__).parent / "golden"

ENVELOPE_KEYS = {"schema", "command", "ok", "exit_code", "data", "errors"}
DATA_KEYS = {
    "config",
    "keras_call",
    "call",
    "keras_input",
    "input",
    "outputs",
    "params",
    "checks",
    "versions",
    "h_vs_c",
    "static",
    "run",
}
CONFIG_KEYS = {
    "layer",
    "units",
    "timesteps",
    "features",
    "batch",
    "return_sequences",
    "return_state",
    "stateful",
    "go_backwards",
    "bidirectional",
    "merge_mode",
    "reset_after",
    "activation",
    "recurrent_activation",
    "use_bias",
    "unit_forget_bias",
    "dropout",
    "recurrent_dropout",
    "training",
    "unroll",
    "initial_state",
    "initial_state_sha256",
    "seed",
    "lengths",
    "kernel_init",
    "recurrent_init",
    "bias_init",
    "input",
    "input_sha256",
    "use_cudnn",
}


def test_json_contract_key_sets(invoke_json):
    result, doc = invoke_json(
        [
            "inspect",
            "--layer",
            "gru",
            "--units",
            "4",
            "--timesteps",
            "5",
            "--features",
            "3",
            "--batch",
            "2",
            "--return-sequences",
            "--return-state",
        ]
    )
    assert result.exit_code == 0
    assert set(doc) == ENVELOPE_KEYS
    assert (doc["schema"], doc["command"], doc["ok"], doc["exit_code"], doc["errors"]) == (
        "rnnshape/v1",
        "inspect",
        True,
        0,
        [],
    )
    data = doc["data"]
    assert set(data) == DATA_KEYS
    assert set(data["config"]) == CONFIG_KEYS
    assert data["config"]["layer"] == "gru" and data["config"]["merge_mode"] is None
    assert data["keras_call"] == "keras.layers.GRU(4, return_sequences=True, return_state=True)"
    assert data["input"] == {
        "shape": [2, 5, 3],
        "axes": ["batch", "timesteps", "features"],
        "dtype": "float32",
        "source": "random",
        "notes": [],
    }
    assert [(o["name"], o["shape"]) for o in data["outputs"]] == [("output", [2, 5, 4]), ("state_h", [2, 4])]
    assert all(set(o) == {"name", "shape", "axes", "dtype", "meaning"} for o in data["outputs"])
    assert set(data["params"]) == {"total", "formula", "weights", "keras_count_params"}
    assert data["params"]["total"] == data["params"]["keras_count_params"] == 3 * (4 * 7 + 8)
    assert all(set(c) == {"claim", "holds", "max_abs_diff", "kind"} for c in data["checks"])
    assert {"rnnshape", "keras", "backend", "tensorflow"} <= set(data["versions"])


def test_json_is_sorted_and_identical_run_after_run(invoke):
    args = [
        "inspect",
        "--layer",
        "lstm",
        "--bidirectional",
        "--return-sequences",
        "--return-state",
        "--values",
        "--json",
    ]
    first, second = invoke(args).stdout, invoke(args).stdout
    assert first == second
    doc = json.loads(first)
    assert first.strip() == json.dumps(doc, sort_keys=True, indent=2)


def test_values_are_full_in_json(invoke_json):
    _, doc = invoke_json(
        ["inspect", "--layer", "simplernn", "--units", "2", "--timesteps", "40", "--return-sequences", "--values"]
    )
    output = doc["data"]["outputs"][0]
    assert len(output["values"][0]) == 40 and len(output["values"][0][0]) == 2
    assert len(doc["data"]["input"]["values"][0]) == 40


def test_human_table_golden(invoke):
    result = invoke(["inspect", "--layer", "lstm", "--units", "6", "--return-state"])
    assert result.exit_code == 0
    assert result.stderr == ""
    golden = GOLDEN / "inspect_lstm_6_return_state.txt"
    # Regenerate on purpose with: RNNSHAPE_UPDATE_GOLDEN=1 pytest tests/test_cli_inspect.py
    import os

    if os.environ.get("RNNSHAPE_UPDATE_GOLDEN"):
        golden.write_text(result.stdout)
    assert result.stdout == golden.read_text()


def test_expect_passes_and_fails_with_a_clear_line(invoke):
    ok = invoke(["inspect", "--units", "6", "--expect", "output=1,6"])
    assert ok.exit_code == 0
    bad = invoke(["inspect", "--units", "6", "--expect", "output=1,4", "--expect", "state_h=1,6"])
    assert bad.exit_code == 1
    lines = bad.stderr.strip().splitlines()
    assert lines[0] == "rnnshape inspect: error: expected output (1, 4), got (1, 6)"
    assert "expected state_h (1, 6), got no such output (states are returned only with return_state=True" in lines[1]


def test_expect_missing_cell_state_on_gru_has_a_hint(invoke_json):
    result, doc = invoke_json(["inspect", "--layer", "gru", "--return-state", "--expect", "state_c=1,4"])
    assert result.exit_code == 1 and doc["ok"] is False and doc["exit_code"] == 1
    assert doc["data"]["expectations"][0]["actual"] is None
    assert "GRU has no cell state" in doc["errors"][0]["message"]
    assert doc["errors"][0]["type"] == "expectation_failed"


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--units", "0"], "--units"),
        (["--timesteps", "-2"], "--timesteps"),
        (["--layer", "transformer"], "'--layer'"),
        (["--units", "abc"], "'--units'"),
        (["--merge-mode", "sum"], "--merge-mode"),
        (["--expect", "output=1,x"], "--expect"),
        (["--bidirectional", "--merge-mode", "max"], "'--merge-mode'"),
        (["--batch", "2", "--lengths", "3"], "--lengths"),
        (["--units", "1000000", "--timesteps", "100000"], "--max-memory"),
        (["--static", "--values"], "--values"),
        (["--colour"], "--colour"),
    ],
)
def test_bad_input_is_one_line_exit_2(invoke, args, needle):
    result = invoke(["inspect", *args])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnnshape inspect: error: ") and needle in lines[0]
    assert "Traceback" not in result.stderr


def test_bad_input_under_json_is_one_document(invoke):
    result = invoke(["inspect", "--units", "0", "--json"])
    doc = json.loads(result.stdout)
    assert result.exit_code == 2 and doc["exit_code"] == 2 and doc["ok"] is False and doc["data"] is None
    assert doc["errors"][0]["type"] == "usage" and "--units" in doc["errors"][0]["message"]


def test_static_matches_the_real_run(invoke_json):
    args = [
        "inspect",
        "--layer",
        "lstm",
        "--bidirectional",
        "--merge-mode",
        "none",
        "--return-state",
        "--return-sequences",
    ]
    _, real = invoke_json(args)
    _, static = invoke_json(args + ["--static"])
    assert static["data"]["static"] is True and static["data"]["checks"] == []
    for key in ("outputs", "config", "keras_call"):
        assert static["data"][key] == real["data"][key]
    assert static["data"]["params"]["total"] == real["data"]["params"]["keras_count_params"]


def test_every_command_has_help_with_an_example(invoke):
    for name, command in COMMANDS.items():
        assert command.help and "Examples:" in command.help and f"rnnshape {name}" in command.help, name
    listed = invoke(["--help"]).stdout.split("Commands:")[1].split()
    assert set(COMMANDS) <= set(listed)


def test_go_backwards_table_diagram_and_json_name_the_final_state_h_1(invoke, invoke_json):
    args = ["inspect", "--layer", "lstm", "--units", "2", "--timesteps", "4", "--go-backwards", "--return-state"]
    text = invoke(args + ["--diagram", "--ascii"]).stdout
    assert "output (1, 2) = h_1: the last step read only" in text and "state_h (1, 2) <-h_1-" in text
    flat = " ".join(text.split())
    assert "output equals state_h (without return_sequences both are h_1)" in flat
    assert "h_T" not in flat
    _, doc = invoke_json(args)
    meanings = {o["name"]: o["meaning"] for o in doc["data"]["outputs"]}
    assert meanings["state_h"] == "final hidden state h_1 (after reading x_T back to x_1: its last read step is x_1)"
    assert meanings["state_c"].startswith("final cell state c_1 (after reading x_T back to x_1")
    assert all(c["holds"] for c in doc["data"]["checks"])
