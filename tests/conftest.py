"""Shared helpers: the CLI in-process (click's CliRunner) and as a real installed command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from rnnshape.cli import cli

# pytest-xdist's workers export COLUMNS=80 and LINES=24; a user's piped run has neither (the views
# then draw 100 columns). Every test sees the user's environment; a test that wants a width says so.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)


def _command() -> list[str]:
    """The installed console script when present (the user's view), else python -m rnnshape."""
    exe = shutil.which("rnnshape")
    return [exe] if exe else [sys.executable, "-m", "rnnshape"]


def run_process(
    args: list[str], env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    full_env.pop("RNNSHAPE_DEBUG", None)
    full_env.update(env or {})
    return subprocess.run(_command() + args, capture_output=True, text=True, timeout=timeout, env=full_env)


def run_in_fresh_interpreter(command_lines: list[list[str]]) -> tuple[list[int], list[str]]:
    """Run each command line with cli.main in ONE new Python process; return the exit codes and
    which of tensorflow/keras that process ended up importing."""
    script = (
        "import json, sys\n"
        "from rnnshape.cli import cli\n"
        f"codes = [cli.main(args, standalone_mode=False) for args in {command_lines!r}]\n"
        "heavy = [m for m in ('tensorflow', 'keras') if m in sys.modules]\n"
        "print('REPORT:' + json.dumps({'codes': codes, 'heavy': heavy}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1].removeprefix("REPORT:"))
    return report["codes"], report["heavy"]


@pytest.fixture
def invoke():
    """Run the CLI in this process; returns click's Result (stdout and stderr apart)."""
    runner = CliRunner()

    def _invoke(args: list[str], **env: str):
        return runner.invoke(cli, args, env={"COLUMNS": "100", "NO_COLOR": "1", **env}, catch_exceptions=False)

    return _invoke


@pytest.fixture
def invoke_json(invoke):
    def _invoke(args: list[str]):
        result = invoke(args + ["--json"])
        return result, json.loads(result.stdout)

    return _invoke


def measured(run):
    """The measured facts of a runner RunResult (the runner returns arrays; measure judges them)."""
    from rnnshape.measure.inspect import measure

    return measure(run.spec, run.outputs, run.probe)


# Every command of the CLI, by name (the group imports a command's module only when asked).
COMMANDS = {name: cli.get_command(None, name) for name in cli.list_commands(None)}


def pytest_sessionfinish(session, exitstatus):
    """The fast tier must not import TensorFlow: fail it when it did."""
    if session.config.option.markexpr == "not slow" and "tensorflow" in sys.modules:
        session.exitstatus = 1
        print("\nthe fast tier (-m 'not slow') imported tensorflow: mark the test that needs it slow")
