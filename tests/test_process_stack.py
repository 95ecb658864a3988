"""stack, patterns and window as the user runs them: a real subprocess (stderr, exit code) and
which commands stay free of TensorFlow."""

import pytest
from conftest import run_in_fresh_interpreter, run_process

# every test here runs Keras: the slow tier (the fast tier is pytest -m "not slow")
pytestmark = pytest.mark.slow


def test_incompatible_stack_in_a_real_process_exit_1_one_stderr_line():
    proc = run_process(["stack", "--timesteps", "5", "--features", "2", "lstm:8", "lstm:4"])
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1  # the one error line; no TensorFlow log line
    # one account: the diagnosis on stdout, once; stderr's line names it instead of repeating it
    assert proc.stderr == (
        "rnnshape stack: error: token 2 'lstm:4' is incompatible (the diagnosis on standard "
        "output says why and how to fix it)\n"
    )
    assert "Incompatible stack: token 2 'lstm:4'" in proc.stdout and "\x1b[" not in proc.stdout
    assert proc.stdout.count("Keras says") == 1 and proc.stdout.count("add :seq to token 1 -> lstm:8:seq") == 1
    # the measured claim covers the layer Keras built, not the one it refused
    claim = " ".join(proc.stdout.split("Measured in this run")[1].split("Incompatible stack")[0].split())
    assert "every layer" not in claim
    assert "token 1's output shape (the one layer Keras built before refusing token 2)" in claim
    assert not [line for line in proc.stdout.splitlines() if line.endswith(" ")]


def test_help_static_and_usage_errors_do_not_import_tensorflow():
    _, heavy = run_in_fresh_interpreter(
        [
            ["stack", "--help"],
            ["patterns", "--help"],
            ["window", "--help"],
            ["stack", "lstm:8", "lstm:4", "--static", "--json"],
            ["stack", "conv:3"],
            ["patterns", "--static", "--json"],
            ["window", "--static", "--json"],
            ["window", "--look-back", "0"],
        ]
    )
    assert heavy == []
