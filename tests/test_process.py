"""The user's view: a real installed command in a real subprocess (stderr, exit codes, imports)."""

import json
import os

import pytest
from conftest import run_in_fresh_interpreter, run_process

# every test here runs Keras: the slow tier (the fast tier is pytest -m "not slow")
pytestmark = pytest.mark.slow


def test_successful_run_leaves_stderr_empty_and_stdout_one_json_document():
    proc = run_process(["inspect", "--layer", "lstm", "--units", "6", "--return-state", "--json"])
    assert proc.returncode == 0
    assert proc.stderr == ""  # no TensorFlow/absl line, not even the C++ ones printed at import
    doc = json.loads(proc.stdout)
    assert [o["shape"] for o in doc["data"]["outputs"]] == [[1, 6], [1, 6], [1, 6]]


def test_human_run_stderr_empty_and_output_named():
    proc = run_process(["inspect", "--layer", "gru", "--bidirectional", "--return-state"])
    assert proc.returncode == 0 and proc.stderr == ""
    assert "forward_state_h" in proc.stdout and "backward_state_h" in proc.stdout
    assert "\x1b[" not in proc.stdout  # no colour codes when piped


def test_two_processes_give_byte_identical_json():
    args = ["inspect", "--layer", "lstm", "--return-sequences", "--return-state", "--values", "--seed", "7", "--json"]
    first, second = run_process(args), run_process(args)
    assert first.returncode == 0 and first.stdout == second.stdout


def test_help_version_and_usage_errors_do_not_import_tensorflow():
    _, heavy = run_in_fresh_interpreter(
        [
            ["--help"],
            ["inspect", "--help"],
            ["--version"],
            ["inspect", "--units", "0"],
            ["inspect", "--layer", "nope"],
            ["inspect", "--static", "--json"],
        ]
    )
    assert heavy == []


def test_usage_error_is_exit_2_one_line_no_traceback():
    proc = run_process(["inspect", "--layer", "transformer"])
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "--layer" in proc.stderr and "lstm, gru, simplernn" in proc.stderr


def test_missing_tensorflow_is_exit_3_with_the_install_command(tmp_path):
    fake = tmp_path / "tensorflow"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('No module named tensorflow (simulated)')\n")
    keras = tmp_path / "keras"
    keras.mkdir()
    (keras / "__init__.py").write_text("import tensorflow\n")
    env = {"PYTHONPATH": str(tmp_path) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = run_process(["inspect", "--json"], env=env)
    assert proc.returncode == 3
    doc = json.loads(proc.stdout)
    assert doc["errors"][0]["type"] == "backend" and "pip install tensorflow" in doc["errors"][0]["message"]
    assert "Traceback" not in proc.stderr
    static = run_process(["inspect", "--static"], env=env)  # still works without TensorFlow
    assert static.returncode == 0 and "output" in static.stdout
