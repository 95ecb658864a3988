"""Every example of every --help runs as printed, and no line any command prints ends in a space.

The examples are read from the help text itself (the lines under "Examples:"), so a new example
is tested the day it is written. They run in this process (one TensorFlow import for all) with
click's CliRunner, piped as a script would read them (COLUMNS=100, NO_COLOR=1), in a temporary
folder holding a copy of examples/ and the files the examples name (model.keras, x.npy, y.npy,
train.log, train.py). A pipeline `LEFT | rnnshape ...` runs LEFT in the shell and gives its output
to the command as standard input. `# ...` after an example is a shell comment.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from rnnshape.cli import cli

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
ENV = {"COLUMNS": "100", "NO_COLOR": "1", "RNNSHAPE_DEBUG": None}
# Examples that show a failure on purpose, with the exit code they document.
EXPECTED_EXIT = {
    "rnnshape stack --timesteps 5 --features 2 lstm:8 lstm:4": 1,  # the classic mistake
    "rnnshape stack --timesteps 5 --features 2 lstm:8 lstm:4 dense:1 --diagram": 1,  # its picture
    # the example model's targets meet a sequence output: the silent broadcast, measured
    "rnnshape model examples/forecast.keras --x examples/forecast_x.npy --y examples/forecast_y.npy": 1,
}


def help_examples() -> list[tuple[str, str]]:
    """(command, example line) of every --help, in the order printed."""
    found = []
    for command in [None, *cli.list_commands(None)]:
        result = CliRunner().invoke(cli, [command, "--help"] if command else ["--help"], env=ENV)
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        for i, line in enumerate(lines):
            if line.strip() == "Examples:":
                for example in lines[i + 1 :]:
                    if not example.strip():
                        break
                    found.append((command or "rnnshape", example.strip()))
    return found


def _files(folder: Path) -> None:
    """The files the examples name, made for real: a saved model with an LSTM named encoder."""
    import keras
    import numpy as np

    shutil.copytree(ROOT / "examples", folder / "examples")
    shutil.copy(ROOT / "examples" / "old_forecast.h5", folder / "old_model.h5")  # a tf.keras 2 file (model --save)
    inputs = keras.Input(shape=(5, 3))
    hidden = keras.layers.LSTM(4, return_sequences=True, name="encoder")(inputs)
    outputs = keras.layers.Dense(1, name="head")(hidden)
    keras.Model(inputs, outputs).save(folder / "model.keras")
    rng = np.random.default_rng(0)
    np.save(folder / "x.npy", rng.standard_normal((2, 5, 3)).astype("float32"))
    np.save(folder / "y.npy", rng.standard_normal((2, 1)).astype("float32"))
    message = (
        'ValueError: Input 0 of layer "lstm" is incompatible with the layer: expected ndim=3, found '
        "ndim=2. Full shape received: (None, 10)"
    )
    (folder / "train.log").write_text(f"Epoch 1/10\nTraceback (most recent call last):\n{message}\n")
    (folder / "train.py").write_text(f"import sys\nprint('Epoch 1/10')\nsys.exit({message!r})\n")


def test_every_help_example_runs_as_printed_and_no_line_ends_in_a_space(tmp_path, monkeypatch):
    examples = help_examples()
    commands = {example.split("|")[-1].split()[1] for _, example in examples}
    assert commands >= set(cli.list_commands(None)), commands  # every command shows one
    _files(tmp_path)
    monkeypatch.chdir(tmp_path)
    problems = []
    for command, example in examples:
        # printed as one line that fits the help's width, not a continuation glued into it
        code = example.split("  #")[0]
        if len(example) > 96 or "   " in code or code.endswith("\\"):
            problems.append(f"{command}: {example!r} is not printed as one runnable line")
        left, _, right = example.rpartition("|")
        words = shlex.split(right, comments=True)
        assert words[0] == "rnnshape", example
        stdin = None
        if left:
            fed = subprocess.run(
                ["bash", "-c", left.replace("python ", shlex.quote(sys.executable) + " ", 1)],
                capture_output=True,
                cwd=tmp_path,
                timeout=60,
            )
            stdin = fed.stdout
        result = CliRunner().invoke(cli, words[1:], input=stdin, env=ENV)
        expected = EXPECTED_EXIT.get(" ".join(words), 0)
        if result.exit_code != expected:
            problems.append(f"{command}: {example!r} exited {result.exit_code}: {result.output[-600:]}")
        padded = [line for line in result.output.splitlines() if line.endswith(" ")]
        if padded:
            problems.append(f"{command}: {example!r}: {len(padded)} lines end in a space, e.g. {padded[0]!r}")
        if re.search(r"Traceback|internal error", result.output):
            problems.append(f"{command}: {example!r}: {result.output[-600:]}")
    assert not problems, "\n".join(problems)
    # what the examples said they would write
    for name in ("gru.svg", "compare.svg", "model.svg", "lstm.pt", "lstm.weights.h5", "reports/rnnshape.xml"):
        assert (tmp_path / name).is_file(), name


def test_inspect_piped_through_cat_in_a_real_process_ends_no_line_in_a_space():
    """The newcomer's case, measured: `rnnshape inspect ... | cat` (49 of 54 lines ended in
    spaces), and a stack Keras refuses."""
    env = dict(os.environ, NO_COLOR="1", PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("COLUMNS", None)
    env.pop("RNNSHAPE_DEBUG", None)
    line = (
        "rnnshape inspect --layer lstm --units 6 --return-sequences --return-state --diagram | cat; "
        "rnnshape compare --layer lstm --layer gru | cat"
    )
    rnnshape = f"{shlex.quote(sys.executable)} -m rnnshape"
    proc = subprocess.run(
        ["bash", "-c", line.replace("rnnshape ", rnnshape + " ")], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) > 50 and "Measured in this run" in proc.stdout
    assert not [line for line in lines if line.endswith(" ")]
    assert max(len(line) for line in lines) <= 100  # piped: 100 columns, as before
