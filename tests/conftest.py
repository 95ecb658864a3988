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


def _command() -> list[str]:
    """The installed console script when present (the user's view), else python -m rnnshape."""
    exe = shutil.which("rnnshape")
    return [exe] if exe else [sys.executable, "-m", "rnnshape"]


def run_process(args: list[str], env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    full_env.pop("RNNSHAPE_DEBUG", None)
    full_env.update(env or {})
    return subprocess.run(_command() + args, capture_output=True, text=True, timeout=timeout, env=full_env)


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
