"""stack, patterns and window as the user runs them: a real subprocess (stderr, exit code) and
which commands stay free of TensorFlow."""


from conftest import run_in_fresh_interpreter, run_process


def test_incompatible_stack_in_a_real_process_exit_1_one_stderr_line():
    proc = run_process(["stack", "--timesteps", "5", "--features", "2", "lstm:8", "lstm:4"])
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1  # the one error line; no TensorFlow log line
    assert proc.stderr.startswith("rnnshape stack: error: token 2 'lstm:4' is incompatible: Keras: ")
    assert "fix: add :seq to token 1 -> lstm:8:seq" in proc.stderr
    assert "Incompatible stack: token 2 'lstm:4'" in proc.stdout and "\x1b[" not in proc.stdout


def test_help_static_and_usage_errors_do_not_import_tensorflow():
    _, heavy = run_in_fresh_interpreter([
        ["stack", "--help"], ["patterns", "--help"], ["window", "--help"],
        ["stack", "lstm:8", "lstm:4", "--static", "--json"], ["stack", "conv:3"],
        ["patterns", "--static", "--json"], ["window", "--static", "--json"], ["window", "--look-back", "0"]])
    assert heavy == []
