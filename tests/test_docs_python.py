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
NEEDS_KERAS = ("trace(", "stateful(", "generate(", "model(", "explain(")  # the other examples run with static=True


def test_every_command_has_an_example():
    text = "\n".join(EXAMPLES)
    for command in ("inspect", "compare", "check", "trace", "stateful", "generate", "stack", "patterns", "window"):
        assert f"rnnshape.{command}(" in text, command


@pytest.mark.parametrize("code", [pytest.param(code, marks=[pytest.mark.slow] if any(n in code for n in NEEDS_KERAS)
                                               else []) for code in EXAMPLES])
def test_example_runs(code):
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
