"""check through the CLI: a true contract passes, a false one fails with exit 1, JUnit reports,
malformed files are rejected with exit 2 naming the case and the key."""

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import run_process

# every test here runs Keras: the slow tier (the fast tier is pytest -m "not slow")
pytestmark = pytest.mark.slow

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "examples" / "shapes.toml"
GOLDEN = Path(__file__).parent / "golden"

FALSE_CONTRACT = """\
[[case]]
name = "encoder returns h and c"
layer = "lstm"
units = 6
return_state = true
[case.expect]
output = [1, 6]
state_h = [1, 6]
state_c = [1, 6]

[[case]]
name = "GRU encoder with a cell state"
layer = "gru"
units = 6
return_sequences = true
return_state = true
[case.expect]
output = [1, 6]
state_h = [1, 6]
state_c = [1, 6]

[[case]]
name = "bidirectional sum keeps units"
layer = "simplernn"
bidirectional = true
merge_mode = "sum"
[case.expect]
output = [1, 4]
"""


@pytest.fixture
def false_contract(tmp_path):
    path = tmp_path / "false.toml"
    path.write_text(FALSE_CONTRACT)
    return path


def _junit(path):
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    return root, suites[0]


def test_the_sample_contract_holds_and_its_junit_report_counts_every_case(invoke_json, tmp_path):
    report = tmp_path / "reports" / "nested" / "rnnshape.xml"  # folders are created
    result, doc = invoke_json(["check", str(SAMPLE), "--junit", str(report)])
    assert result.exit_code == 0 and doc["ok"] is True and doc["errors"] == []
    data = doc["data"]
    assert data["summary"] == {"cases": 6, "passed": 6, "failed": 0}
    first = data["cases"][0]
    assert first["name"] == "encoder returns h and c" and first["passed"] is True
    assert first["outputs"] == [
        {"name": "output", "shape": [1, 6]},
        {"name": "state_h", "shape": [1, 6]},
        {"name": "state_c", "shape": [1, 6]},
    ]
    assert (
        data["cases"][4]["keras_call"]
        == 'keras.layers.Bidirectional(keras.layers.GRU(4, return_state=True), merge_mode="sum")'
    )
    root, suite = _junit(report)
    assert root.get("tests") == suite.get("tests") == "6"
    assert root.get("failures") == suite.get("failures") == "0" and suite.get("errors") == "0"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [c["name"] for c in data["cases"]]
    assert not suite.findall(".//failure")
    assert {p.get("name") for p in suite.find("properties")} >= {"keras", "tensorflow", "rnnshape"}


def test_a_false_contract_fails_with_exit_1_expected_vs_actual_and_a_hint(invoke, false_contract, tmp_path):
    report = tmp_path / "junit.xml"
    result = invoke(["check", str(false_contract), "--junit", str(report)])
    assert result.exit_code == 1
    # stderr: one line per failed case, naming the case, the expected and the actual shape
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        'rnnshape check: error: case 2 "GRU encoder with a cell state" failed: '
        "output: expected (1, 6), got (1, 3, 6); state_c: expected (1, 6), got no such output "
        "(GRU has no cell state c (only LSTM does)"
    )
    assert "1 failed" in result.stdout and "2 of 3 cases hold" in result.stdout
    root, suite = _junit(report)
    assert (root.get("tests"), root.get("failures")) == ("3", "1")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "0")
    failures = suite.findall(".//failure")
    assert len(failures) == 1
    failed_case = suite.findall("testcase")[1]
    assert failed_case.get("name") == "GRU encoder with a cell state" and failed_case.find("failure") is not None
    assert "output: expected (1, 6), got (1, 3, 6)" in failures[0].get("message")
    assert "state_c: expected (1, 6), got no such output" in failures[0].text


def test_false_contract_json_lists_each_expectation(invoke_json, false_contract):
    result, doc = invoke_json(["check", str(false_contract)])
    assert result.exit_code == 1 and doc["exit_code"] == 1 and doc["ok"] is False
    assert [e["type"] for e in doc["errors"]] == ["expectation_failed"]
    case = doc["data"]["cases"][1]
    assert case["passed"] is False
    assert case["expectations"] == [
        {"name": "output", "expected": [1, 6], "actual": [1, 3, 6], "holds": False, "hint": ""},
        {"name": "state_h", "expected": [1, 6], "actual": [1, 6], "holds": True, "hint": ""},
        {
            "name": "state_c",
            "expected": [1, 6],
            "actual": None,
            "holds": False,
            "hint": "GRU has no cell state c (only LSTM does): its state is h; this layer returns output, state_h",
        },
    ]
    assert doc["data"]["summary"] == {"cases": 3, "passed": 2, "failed": 1}


def test_false_contract_table_golden(invoke, false_contract, monkeypatch):
    monkeypatch.chdir(false_contract.parent)  # the header names the file as given: its length sets the wrapping
    result = invoke(["check", false_contract.name])
    stdout = result.stdout.replace(false_contract.name, "false.toml")
    golden = GOLDEN / "check_false_contract.txt"
    # Regenerate on purpose with: RNNSHAPE_UPDATE_GOLDEN=1 pytest tests/test_cli_check.py
    if os.environ.get("RNNSHAPE_UPDATE_GOLDEN"):
        golden.write_text(stdout)
    assert stdout == golden.read_text()


def test_static_gives_the_same_verdicts_as_the_real_run(invoke_json, false_contract):
    for path in (SAMPLE, false_contract):
        real = invoke_json(["check", str(path)])[1]["data"]
        static = invoke_json(["check", str(path), "--static"])[1]["data"]
        assert static["static"] is True
        assert static["cases"] == real["cases"] and static["summary"] == real["summary"]


CASE = '[[case]]\nname = "enc"\n'


@pytest.mark.parametrize(
    "text,needles",
    [
        (CASE + "unit = 4\n[case.expect]\noutput = [1, 4]\n", ['case 1 "enc"', "unknown key 'unit'"]),
        (CASE + 'units = "four"\n[case.expect]\noutput = [1, 4]\n', ['case 1 "enc"', "key 'units'", "'four'"]),
        (CASE + 'layer = "transformer"\n[case.expect]\noutput = [1, 4]\n', ['case 1 "enc"', "key 'layer'"]),
        (CASE + 'return_state = "yes"\n[case.expect]\noutput = [1, 4]\n', ['case 1 "enc"', "key 'return_state'"]),
        (CASE + "units = 0\n[case.expect]\noutput = [1, 4]\n", ['case 1 "enc"', "key 'units'", "1..1000000"]),
        (
            CASE
            + '[case.expect]\noutput = [1, 4]\n[[case]]\nname = "sum"\nmerge_mode = "sum"\n[case.expect]\noutput = [1, 4]\n',
            ['case 2 "sum"', "key 'merge_mode'"],
        ),
        (CASE + "batch = 2\nlengths = [4, 1]\n[case.expect]\noutput = [2, 4]\n", ['case 1 "enc"', "key 'lengths'"]),
        (
            CASE + '[case.expect]\noutput = "1,4"\n',
            ['case 1 "enc"', "key 'expect.output'", "list of positive integers"],
        ),
        (CASE + "[case.expect]\noutput = [1, 0]\n", ['case 1 "enc"', "key 'expect.output'"]),
        (CASE, ['case 1 "enc"', "key 'expect'", "missing"]),
        ("[[case]]\nunits = 3\n[case.expect]\noutput = [1, 3]\n", ["case 1:", "key 'name'"]),
        (
            CASE + "[case.expect]\noutput = [1, 4]\n" + CASE + "[case.expect]\noutput = [1, 4]\n",
            ['case 2 "enc"', "key 'name'", "already used by case 1"],
        ),
        (
            CASE + "units = 100000\ntimesteps = 100000\n[case.expect]\noutput = [1, 4]\n",
            ['case 1 "enc"', "--max-memory"],
        ),
        ('[[cases]]\nname = "enc"\n', ["unknown top-level key 'cases'"]),
        ("", ["no [[case]] tables"]),
        ("case = 3\n", ["array of tables"]),
        ('name = = "enc"\n', ["is not valid TOML", "line 1"]),
    ],
)
def test_malformed_files_exit_2_with_one_line_naming_the_case_and_key(invoke, tmp_path, text, needles):
    path = tmp_path / "contract.toml"
    path.write_text(text)
    report = tmp_path / "junit.xml"
    result = invoke(["check", str(path), "--junit", str(report)])
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"rnnshape check: error: {path}: "), lines
    for needle in needles:
        assert needle in lines[0]
    assert not report.exists()  # nothing ran, no report


def test_unreadable_files_and_bad_junit_paths_exit_2(invoke, invoke_json, tmp_path):
    missing = invoke(["check", str(tmp_path / "missing.toml")])
    assert missing.exit_code == 2 and "cannot read the contract file" in missing.stderr
    directory = invoke(["check", str(tmp_path)])
    assert directory.exit_code == 2 and "is a directory" in directory.stderr
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    assert invoke(["check", str(binary)]).exit_code == 2
    result, doc = invoke_json(["check", str(SAMPLE), "--junit", str(tmp_path)])
    assert result.exit_code == 2 and doc["data"] is None and "--junit" in doc["errors"][0]["message"]


def test_static_check_and_compare_do_not_import_tensorflow(tmp_path):
    from conftest import run_in_fresh_interpreter

    codes, heavy = run_in_fresh_interpreter(
        [
            ["check", str(SAMPLE), "--static", "--junit", str(tmp_path / "r.xml")],
            ["compare", "--layer", "lstm", "--vary", "bidirectional", "--static", "--json"],
            ["check", "--help"],
            ["compare", "--help"],
        ]
    )
    assert codes == [0, 0, 0, 0] and heavy == []
    _, suite = _junit(tmp_path / "r.xml")
    assert suite.get("tests") == "6"


def test_real_process_exit_1_clean_stderr_and_junit(false_contract, tmp_path):
    report = tmp_path / "out" / "rnnshape.xml"
    proc = run_process(["check", str(false_contract), "--junit", str(report), "--json"])
    assert proc.returncode == 1
    assert proc.stderr == ""  # --json: the failure is in the document; no TensorFlow line either
    doc = json.loads(proc.stdout)
    assert doc["data"]["summary"]["failed"] == 1 and doc["data"]["junit"] == str(report)
    _, suite = _junit(report)
    assert suite.get("failures") == "1"
