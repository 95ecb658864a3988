"""Robustness seen from outside: real processes for what only a process shows (imports,
signals, pipes, byte-identical output across processes), in-process for --debug.

Commands are discovered from rnnshape.cli.cli and run with the first example of their own
help text, so a command added later is covered too.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import textwrap
import time

import click
import pytest
from conftest import COMMANDS, _command

# every test here runs Keras: the slow tier (the fast tier is pytest -m "not slow")
pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILE_OPTIONS = ("--svg", "--html", "--junit")  # options that write files: left out of the examples


def first_example(name: str) -> list[str]:
    """The first 'rnnshape NAME ...' line of the command's help, as argv (without 'rnnshape'),
    without options that write files."""
    for line in COMMANDS[name].help.splitlines():
        line = line.strip()
        if line.startswith(f"rnnshape {name}"):
            words = shlex.split(line.split("  (")[0].rstrip("\\ "))[1:]
            argv: list[str] = []
            skip = False
            for word in words:
                if skip:
                    skip = False
                elif word in FILE_OPTIONS:
                    skip = True
                elif not word.startswith(tuple(o + "=" for o in FILE_OPTIONS)):
                    argv.append(word)
            return argv
    raise AssertionError(f"rnnshape {name} has no example in its help")


def example_arguments(name: str) -> list[str]:
    """The positional arguments (FILE, SPEC...) of the command's first example."""
    command = COMMANDS[name]
    context = command.make_context(name, first_example(name)[1:])
    values: list[str] = []
    for param in command.params:
        if isinstance(param, click.Argument):
            value = context.params[param.name]
            values += list(value) if isinstance(value, (list, tuple)) else [value]
    return values


def option_names(name: str) -> set[str]:
    return {p.name for p in COMMANDS[name].params if isinstance(p, click.Option)}


def python(script: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), **(env or {})}
    full_env.pop("RNNSHAPE_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=ROOT,
    )


# ---- help ---------------------------------------------------------------------------------------
def test_every_example_in_the_help_is_accepted_by_the_parser():
    """The examples are what the tests below run: each must parse (not run) cleanly."""
    for name in COMMANDS:
        argv = first_example(name)
        context = COMMANDS[name].make_context(name, list(argv[1:]), resilient_parsing=False)
        assert context.command.name == name


# ---- size guard ---------------------------------------------------------------------------------
# In-range sizes far too big for this machine, for every size option a command has.
HUGE_SIZES = {"units": "1000000", "timesteps": "1000000", "batch": "1000000", "features": "10000", "length": "1000000"}


def test_huge_configurations_are_refused_fast_and_before_tensorflow_is_imported(tmp_path):
    huge_case = tmp_path / "huge.toml"
    huge_case.write_text(
        '[[case]]\nname = "huge"\nunits = 100000\ntimesteps = 100000\n[case.expect]\noutput = [1, 4]\n'
    )
    lines = {}
    for name in COMMANDS:
        argv = [name, *example_arguments(name)]
        sizes = [word for key, value in HUGE_SIZES.items() if key in option_names(name) for word in (f"--{key}", value)]
        if name == "check":
            argv = ["check", str(huge_case)]
        elif not sizes:
            continue
        lines[name] = argv + sizes + ["--json"]
    assert {"inspect", "compare", "check", "trace", "stateful", "generate", "stack", "patterns", "window"} <= set(lines)
    proc = python(f"""
        import json, sys, time
        from rnnshape.cli import cli
        report = {{}}
        for name, argv in {lines!r}.items():
            started = time.perf_counter()
            code = cli.main(argv, standalone_mode=False)
            report[name] = [code, time.perf_counter() - started]
        report["heavy"] = sorted(m for m in ("tensorflow", "keras") if m in sys.modules)
        print("REPORT" + json.dumps(report))
    """)
    assert proc.returncode == 0, proc.stderr
    documents = proc.stdout.split("REPORT")
    report = json.loads(documents[-1])
    assert report.pop("heavy") == []
    decoder = json.JSONDecoder()
    text, position, errors = documents[0], 0, {}
    while position < len(text.strip()):
        document, end = decoder.raw_decode(text, position)
        errors[document["command"]] = document["errors"][0]["message"]
        position = end + 1
    for name, (code, seconds) in report.items():
        assert code == 2 and seconds < 0.5, (name, code, seconds, errors.get(name))
        message = errors[name]
        assert (
            ("MiB" in message and "--max-memory" in message)
            or (" s;" in message and "--max-seconds" in message)
            or ("would take about" in message and "--max-seconds" in message)
        ), (name, message)


def test_the_time_guard_counts_keras_steps_and_yields_to_max_seconds(invoke):
    # 3,000,000 steps: beyond the limit even compiled (40,000 steps now run compiled in about 2 s)
    static = invoke(["inspect", "--timesteps", "3000000", "--static", "--max-seconds", "1"])
    assert static.exit_code == 0  # --static runs no Keras: nothing to wait for
    refused = invoke(["inspect", "--timesteps", "3000000"])
    assert refused.exit_code == 2 and refused.stderr.count("\n") == 1
    assert "would take about 2 minutes" in refused.stderr and "raise --max-seconds S" in refused.stderr
    assert (
        invoke(["inspect", "--timesteps", "3000000", "--max-seconds", "1000", "--max-memory", "1", "--json"]).exit_code
        == 2
    )
    assert invoke(["inspect", "--timesteps", "40000", "--max-seconds", "1"]).exit_code == 2  # compiled: ~2 s
    small = invoke(["inspect", "--timesteps", "30", "--max-seconds", "1"])
    assert small.exit_code == 0


# ---- --debug ------------------------------------------------------------------------------------
# Keras 3 fails inside Bidirectional.compute_mask for this configuration: a real backend error.
KERAS_FAILURE = ["inspect", "--bidirectional", "--stateful", "--return-state"]


def test_debug_option_shows_the_traceback_like_the_environment_variable(invoke):
    plain = invoke(KERAS_FAILURE)
    assert plain.exit_code == 3 and plain.stderr.count("\n") == 1 and "Traceback" not in plain.stderr
    assert plain.stderr.startswith("rnnshape inspect: error: Keras failed running")
    with_option = invoke(["--debug", *KERAS_FAILURE])
    with_variable = invoke(KERAS_FAILURE, RNNSHAPE_DEBUG="1")
    for result in (with_option, with_variable):
        assert result.exit_code == 3 and "Traceback (most recent call last)" in result.stderr
        assert "TypeError" in result.stderr and result.stderr.rstrip().splitlines()[0].startswith("rnnshape inspect")
    assert (
        with_option.stderr.split("Traceback")[1].splitlines()[:3]
        == with_variable.stderr.split("Traceback")[1].splitlines()[:3]
    )
    again = invoke(KERAS_FAILURE)  # --debug lasts one run only
    assert "Traceback" not in again.stderr


def test_a_bug_of_ours_is_exit_3_one_line_and_its_traceback_with_debug(invoke, monkeypatch):
    import rnnshape.api.inspect

    def broken(*_args, **_kwargs):
        raise ZeroDivisionError("simulated bug")

    monkeypatch.setattr(rnnshape.api.inspect, "make_layer_spec", broken)
    result = invoke(["inspect", "--json"])
    doc = json.loads(result.stdout)
    assert result.exit_code == 3 and doc["exit_code"] == 3 and doc["errors"][0]["type"] == "internal"
    assert "internal error: ZeroDivisionError: simulated bug" in doc["errors"][0]["message"]
    human = invoke(["inspect"])
    assert human.exit_code == 3 and human.stderr.count("\n") == 1 and "--debug" in human.stderr
    debug = invoke(["--debug", "inspect"])
    assert debug.exit_code == 3 and "Traceback" in debug.stderr and "ZeroDivisionError" in debug.stderr

    def exhausted(*_args, **_kwargs):
        raise MemoryError()

    monkeypatch.setattr(rnnshape.api.inspect, "make_layer_spec", exhausted)
    out_of_memory = invoke(["inspect"])
    assert out_of_memory.exit_code == 3 and out_of_memory.stderr.startswith("rnnshape inspect: error: out of memory")


# ---- streams: closed pipes and Ctrl-C --------------------------------------------------------------
def test_a_closed_pipe_ends_quietly_with_exit_141():
    """`rnnshape compare | head -1` for real, then in one process (TensorFlow imported once) a
    stdout closed before each of: inspect with long output, inspect --json, stack."""
    shell = subprocess.run(
        ["bash", "-c", f"{shlex.join(_command())} compare | head -1; exit ${{PIPESTATUS[0]}}"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")},
    )
    assert shell.stdout.startswith("4 configurations") and shell.stdout.count("\n") == 1
    assert shell.stderr == "" and shell.returncode in (0, 141)  # 0 if everything fit in the pipe in time
    proc = python("""
        import os, sys
        from rnnshape.cli import cli
        codes = []
        for argv in (["inspect", "--values", "--batch", "500", "--return-sequences"], ["inspect", "--json"],
                     ["stack", "lstm:3:seq", "dense:1"]):
            read, write = os.pipe()
            os.close(read)
            os.dup2(write, 1)
            os.close(write)
            codes.append(cli.main(argv, standalone_mode=False))
        sys.stderr.write("CODES %s\\n" % codes)
    """)
    assert proc.returncode == 0
    assert proc.stderr == "CODES [141, 141, 141]\n"  # no BrokenPipeError, no traceback, nothing else


def _wait_for_tensorflow(process: subprocess.Popen, timeout: float = 60) -> None:
    """Until the process has started loading TensorFlow's shared library."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{process.pid}/maps") as maps:
                if "libtensorflow" in maps.read():
                    return
        except OSError:
            pass
        time.sleep(0.02)
    raise AssertionError("TensorFlow was never loaded")


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="needs /proc to see TensorFlow load")
def test_ctrl_c_exits_130_without_a_traceback_while_tensorflow_imports_and_runs():
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("RNNSHAPE_DEBUG", None)
    importing = subprocess.Popen(_command() + ["inspect"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    # dropout in training keeps the run eager (a compiled call returns to Python only when done)
    running = subprocess.Popen(
        _command() + ["inspect", "--timesteps", "5000", "--dropout", "0.2", "--training", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    _wait_for_tensorflow(importing)
    importing.send_signal(signal.SIGINT)
    _wait_for_tensorflow(running)
    time.sleep(6)  # the import takes a few seconds here; the run about 20 s more
    running.send_signal(signal.SIGINT)
    for process in (importing, running):
        out, err = process.communicate(timeout=60)
        assert process.returncode == 130, (process.args, process.returncode, err[-2000:])
        assert err == b"rnnshape: interrupted\n" and out == b"", err[-2000:]


# ---- determinism across processes -------------------------------------------------------------
def test_every_command_gives_byte_identical_json_in_two_processes():
    lines = {name: first_example(name) + ["--json"] for name in sorted(COMMANDS)}
    script = f"""
        from click.testing import CliRunner
        from rnnshape.cli import cli
        runner = CliRunner()
        for name, argv in {lines!r}.items():
            first = runner.invoke(cli, argv, catch_exceptions=False)
            again = runner.invoke(cli, argv, catch_exceptions=False)
            assert first.stdout == again.stdout, name  # and in one process, run after run
            print("=== " + name + " exit " + str(first.exit_code))
            print(first.stdout)
    """
    first, second = python(script), python(script)
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.stdout == second.stdout
    sections = first.stdout.split("=== ")[1:]
    assert [s.split()[0] for s in sections] == sorted(COMMANDS)
    for section in sections:
        header, _, body = section.partition("\n")
        assert header.endswith("exit 0"), header
        assert json.loads(body)["ok"] is True


# ---- TensorFlow absent ------------------------------------------------------------------------
def test_without_tensorflow_every_command_exits_3_with_the_install_command_and_static_help_work(tmp_path):
    fake = tmp_path / "fake"
    (fake / "tensorflow").mkdir(parents=True)
    (fake / "tensorflow" / "__init__.py").write_text("raise ImportError('No module named tensorflow (simulated)')\n")
    (fake / "keras").mkdir()
    (fake / "keras" / "__init__.py").write_text("import tensorflow\n")
    lines = {name: first_example(name) for name in sorted(COMMANDS)}
    rules_only = lines["why"]  # why answers by its rules by default: no TensorFlow needed
    lines["why"] = lines["why"] + ["--keras"]
    static = sorted(name for name in COMMANDS if "static" in option_names(name) and name != "why")
    proc = python(
        f"""
        import json
        from click.testing import CliRunner
        from rnnshape.cli import cli
        runner = CliRunner()
        report = {{}}
        for name, argv in {lines!r}.items():
            real = runner.invoke(cli, argv + ["--json"])
            human = runner.invoke(cli, argv)
            helped = runner.invoke(cli, [name, "--help"])
            report[name] = {{"json": json.loads(real.stdout), "exit": real.exit_code, "human": human.stderr,
                            "human_exit": human.exit_code, "help": helped.exit_code}}
            if name in {static!r}:
                report[name]["static"] = runner.invoke(cli, argv + ["--static"]).exit_code
        report["why"]["rules"] = runner.invoke(cli, {rules_only!r}).exit_code
        print(json.dumps(report))
    """,
        env={"PYTHONPATH": f"{fake}{os.pathsep}{ROOT}"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert set(report) == set(COMMANDS) and {"inspect", "compare", "patterns", "window"} <= set(static)
    for name, seen in report.items():
        assert seen["exit"] == 3 and seen["json"]["errors"][0]["type"] == "backend", name
        assert "pip install tensorflow" in seen["json"]["errors"][0]["message"], name
        assert seen["human_exit"] == 3 and seen["human"].count("\n") == 1, (name, seen["human"])
        assert "pip install tensorflow" in seen["human"] and "Traceback" not in seen["human"], name
        assert seen["help"] == 0, name
        if name in static:
            assert seen["static"] in (0, 1), (name, seen["static"])  # 1: stack's diagnosed mistake
    assert report["why"]["rules"] == 0
