"""Every Python example in docs/python.md runs, in a fresh interpreter per example (from the
repository root, as a reader would run it)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
EXAMPLES = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "python.md").read_text(), re.S)


def needs_keras(code: str) -> bool:
    """An example runs without TensorFlow (the fast tier) only when every rnnshape call in it says
    static=True; the rest run in the slow tier."""
    calls = [line for line in code.splitlines() if re.search(r"rnnshape\.\w+\(", line)]
    return "keras" in code or any("static=True" not in line for line in calls)


def test_every_command_has_an_example():
    text = "\n".join(EXAMPLES)
    for command in ("inspect", "compare", "check", "trace", "stateful", "generate", "stack", "patterns", "window"):
        assert f"rnnshape.{command}(" in text, command


@pytest.mark.parametrize(
    "code", [pytest.param(code, marks=[pytest.mark.slow] if needs_keras(code) else []) for code in EXAMPLES]
)
def test_example_runs(code):
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
