"""stack and patterns through the CLI in-process, with real Keras models: shapes, parameters,
the diagnosis of incompatible stacks, hints, JSON contract, golden text, exit codes."""

import itertools
import json
import os
from pathlib import Path

import pytest

from rnnshape.rules.patterns import PATTERNS
from rnnshape.rules.stack import parse_tokens, plan_stack
from rnnshape.runner import stack as stack_runner

# every test here runs Keras: the slow tier (the fast tier is pytest -m "not slow")
pytestmark = pytest.mark.slow

GOLDEN = Path(__file__).parent / "golden"
LAYER_KEYS = {
    "index",
    "spec",
    "keras_call",
    "input_shape",
    "input_axes",
    "output_shape",
    "output_axes",
    "params",
    "param_formula",
    "status",
}
DATA_KEYS = {
    "checks",
    "command",
    "compatible",
    "config",
    "diagnosis",
    "hints",
    "input",
    "layers",
    "notes",
    "output",
    "params",
    "static",
    "versions",
    "run",
}


@pytest.mark.parametrize(
    "spec,shapes,total",
    [
        ("lstm:32:seq lstm:16 dense:1", [[1, 5, 32], [1, 16], [1, 1]], 4480 + 3136 + 17),
        ("lstm:8:seq lstm:4:seq td:1", [[1, 5, 8], [1, 5, 4], [1, 5, 1]], 352 + 208 + 5),
        ("repeat:4 lstm:3:seq", [[1, 4, 2], [1, 4, 3]], 72),
    ],
)
def test_issue_examples_build_real_models(invoke_json, spec, shapes, total):
    result, doc = invoke_json(["stack", "--timesteps", "5", "--features", "2", *spec.split()])
    assert result.exit_code == 0 and doc["ok"] is True
    data = doc["data"]
    assert set(data) == DATA_KEYS and all(set(layer) == LAYER_KEYS for layer in data["layers"])
    assert [layer["output_shape"] for layer in data["layers"]] == shapes
    assert [layer["spec"] for layer in data["layers"]] == spec.split()
    assert data["params"] == {"total": total, "keras_count_params": total}
    assert data["output"]["shape"] == shapes[-1]
    assert all(check["holds"] for check in data["checks"])


def test_input_shapes_chain_and_repeat_first_takes_a_vector(invoke_json):
    _, doc = invoke_json(["stack", "--timesteps", "5", "--features", "2", "--batch", "3", "repeat:4", "lstm:3:seq"])
    data = doc["data"]
    assert data["input"]["shape"] == [3, 2] and data["input"]["keras_input"] == "keras.Input(shape=(2,), batch_size=3)"
    assert [layer["input_shape"] for layer in data["layers"]] == [[3, 2], [3, 4, 2]]
    assert data["config"]["timesteps"] is None
    assert data["notes"] == [
        "--timesteps 5 does not apply: the first token repeat:4 takes the input as "
        "[batch, features] and makes its own timesteps"
    ]


def test_the_classic_mistake_exits_1_with_keras_message_why_and_fix(invoke_json):
    result, doc = invoke_json(["stack", "--timesteps", "5", "--features", "2", "lstm:8", "lstm:4"])
    assert result.exit_code == 1 and doc["ok"] is False and doc["exit_code"] == 1
    diagnosis = doc["data"]["diagnosis"]
    assert "expected ndim=3, found ndim=2" in diagnosis["keras_message"] and "'lstm_2'" in diagnosis["keras_message"]
    assert diagnosis["index"] == 2 and diagnosis["spec"] == "lstm:4"
    assert "because token 1 'lstm:8' has return_sequences=False" in diagnosis["why"]
    assert "add :seq to token 1 -> lstm:8:seq, i.e. return_sequences=True" in diagnosis["fix"]
    assert diagnosis["fixed_command"] == "rnnshape stack --timesteps 5 --features 2 lstm:8:seq lstm:4"
    assert diagnosis["fixed_output_shape"] == [1, 4]  # the repaired stack, built with Keras
    assert [layer["status"] for layer in doc["data"]["layers"]] == ["built", "incompatible"]
    (error,) = doc["errors"]
    assert error["type"] == "incompatible_stack"
    for part in (diagnosis["keras_message"], diagnosis["why"], "fix: add :seq to token 1 -> lstm:8:seq"):
        assert part in error["message"]


def test_classic_mistake_golden(invoke):
    result = invoke(["stack", "--timesteps", "5", "--features", "2", "lstm:8", "lstm:4"])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("rnnshape stack: error: token 2 'lstm:4'")
    _golden("stack_classic_mistake.txt", result.stdout)


def test_issue_example_golden(invoke):
    result = invoke(["stack", "--timesteps", "5", "--features", "2", "lstm:32:seq", "lstm:16", "dense:1"])
    assert result.exit_code == 0 and result.stderr == ""
    _golden("stack_lstm_32_16_dense.txt", result.stdout)


def _golden(name, text):
    golden = GOLDEN / name
    # Regenerate on purpose with: RNNSHAPE_UPDATE_GOLDEN=1 pytest tests/test_cli_stack.py
    if os.environ.get("RNNSHAPE_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


def test_repeat_on_a_sequence_and_td_on_a_vector(invoke_json):
    result, doc = invoke_json(["stack", "--features", "2", "gru:6:seq", "repeat:3"])
    assert result.exit_code == 1
    diagnosis = doc["data"]["diagnosis"]
    assert "expected ndim=2, found ndim=3" in diagnosis["keras_message"]
    assert diagnosis["fix"].startswith("remove :seq from token 1 -> gru:6")
    assert diagnosis["fixed_output_shape"] == [1, 3, 6]
    result, doc = invoke_json(["stack", "--features", "2", "simplernn:5", "td:2", "dense:1"])
    assert result.exit_code == 1
    diagnosis = doc["data"]["diagnosis"]
    assert "TimeDistributed" in diagnosis["keras_message"] and "at least 3 dimensions" in diagnosis["keras_message"]
    assert "or use dense:2 for one output per sample" in diagnosis["fix"]
    assert [layer["status"] for layer in doc["data"]["layers"]] == ["built", "incompatible", "not reached"]


def test_dense_on_a_sequence_runs_with_a_measured_hint(invoke_json):
    result, doc = invoke_json(["stack", "--timesteps", "4", "--features", "3", "lstm:6:seq", "dense:2"])
    assert result.exit_code == 0
    data = doc["data"]
    assert data["output"]["shape"] == [1, 4, 2]
    (hint,) = data["hints"]
    assert hint["index"] == 2 and "remove :seq from token 1 -> lstm:6" in hint["hint"]
    (same,) = [c for c in data["checks"] if "td:2" in c["claim"]]
    assert same["holds"] and same["max_abs_diff"] <= 1e-5  # Dense on 3-D == TimeDistributed(Dense), measured


@pytest.mark.parametrize(
    "args,needle",
    [
        (["lstm:8", "lstm:8:foo"], "token 2 'lstm:8:foo'"),
        (["conv:3"], "token 1 'conv:3'"),
        (["lstm:0"], "token 1 'lstm:0'"),
        (["lstm:4:bi:back"], "'bi' and 'back' cannot be combined"),
        ([], "Missing SPEC"),
        (["--features", "0", "lstm:4"], "--features"),
        (["--seed", "-1", "lstm:4"], "--seed"),
        (["--timesteps", "100000", "--batch", "100000", "lstm:1000"], "--max-memory"),
    ],
)
def test_bad_tokens_and_options_exit_2_one_line(invoke, args, needle):
    result = invoke(["stack", *args])
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnnshape stack: error: ") and needle in lines[0]
    doc = json.loads(invoke(["stack", *args, "--json"]).stdout)
    assert doc["exit_code"] == 2 and doc["data"] is None and needle in doc["errors"][0]["message"]


def test_static_equals_the_real_run_and_json_is_byte_identical(invoke):
    for spec in (["lstm:8:seq:bi", "gru:4", "dense:2"], ["lstm:3", "lstm:2"]):
        args = ["stack", "--timesteps", "6", "--features", "3", "--batch", "2", *spec, "--json"]
        real_text = invoke(args).stdout
        assert invoke(args).stdout == real_text
        real, static = json.loads(real_text)["data"], json.loads(invoke(args + ["--static"]).stdout)["data"]
        assert static["static"] is True and static["checks"] == []
        assert static["layers"] == real["layers"] and static["output"] == real["output"]
        if real["diagnosis"]:
            assert static["diagnosis"]["keras_message"] is None
            assert {k: v for k, v in static["diagnosis"].items() if k != "keras_message"} == {
                k: v for k, v in real["diagnosis"].items() if k != "keras_message"
            }


def test_pure_rules_agree_with_keras_on_every_pair():
    """Where Keras refuses and what every layer returns: rnnshape's rules against real models."""
    firsts = ["lstm:3", "gru:2:bi", "simplernn:2:seq:back", "td:2"]
    seconds = ["gru:2", "lstm:2:seq:bi", "dense:2", "td:2", "repeat:2"]
    plans = [plan_stack(parse_tokens([a, b]), 2, 4, 3) for a, b in itertools.product(firsts, seconds)]
    runs = stack_runner.run_stacks([(p, None) for p in plans], seed=1)
    refused = 0
    for p, run in zip(plans, runs):
        expected = p.problem.token.index if p.problem else None
        assert run.failed_index == expected, p.command()
        built = [layer for layer in p.layers if layer.status == "built"]
        assert [r.output_shape for r in run.layers] == [layer.output_shape for layer in built], p.command()
        assert [r.params for r in run.layers] == [layer.params for layer in built], p.command()
        refused += run.failed_index is not None
    # 2 vector makers x 3 sequence readers (gru, bidirectional lstm, td) + 2 sequence makers x repeat
    assert refused == 8


def test_every_pattern_is_built_for_real_with_the_options(invoke_json):
    result, doc = invoke_json(["patterns", "--units", "5", "--timesteps", "6", "--features", "3", "--batch", "2"])
    assert result.exit_code == 0
    patterns = {p["name"]: p for p in doc["data"]["patterns"]}
    assert list(patterns) == [p.name for p in PATTERNS]
    assert {name: (p["input"]["shape"], p["output"]["shape"]) for name, p in patterns.items()} == {
        "many-to-one": ([2, 6, 3], [2, 1]),
        "many-to-many": ([2, 6, 3], [2, 6, 1]),
        "one-to-many": ([2, 3], [2, 6, 1]),
        "encoder-decoder": ([2, 6, 3], [2, 6, 3]),
        "encoder-decoder (RepeatVector only)": ([2, 6, 3], [2, 6, 3]),
        "stacked": ([2, 6, 3], [2, 1]),
    }
    for p in patterns.values():
        assert p["params"]["total"] == p["params"]["keras_count_params"]
        assert p["checks"] and all(c["holds"] for c in p["checks"])
    assert patterns["encoder-decoder"]["spec"] == "lstm:5 repeat:6 lstm:5:seq:init td:3"
    assert patterns["encoder-decoder (RepeatVector only)"]["spec"] == "lstm:5 repeat:6 lstm:5:seq td:3"
    # the encoder's states start the decoder, built for real: measured against a zero start
    decoder = [c for c in patterns["encoder-decoder"]["checks"] if "final states" in c["claim"]]
    assert decoder and decoder[0]["holds"] and decoder[0]["max_abs_diff"] > 1e-4
    assert patterns["one-to-many"]["command"] == "rnnshape stack --features 3 --batch 2 repeat:6 lstm:5:seq td:1"


def test_pattern_commands_run_and_agree(invoke, invoke_json):
    _, doc = invoke_json(["patterns", "--timesteps", "4"])
    for pattern in doc["data"]["patterns"]:
        args = pattern["command"].split()[1:]
        result, stack = invoke_json(args)
        assert result.exit_code == 0, pattern["command"]
        assert stack["data"]["layers"] == pattern["layers"]
    human = invoke(["patterns", "--static"])
    assert human.exit_code == 0 and "encoder-decoder" in human.stdout and "not run" in human.stdout
