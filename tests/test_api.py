"""The Python API: `import rnnshape` stays light, and every command's result.to_dict() is the
`data` of the CLI's --json for the same options."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from rich.console import Console

import rnnshape
from rnnshape.errors import ExpectationFailed


def test_import_rnnshape_loads_neither_tensorflow_keras_nor_numpy():
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, rnnshape; print([m for m in ('tensorflow', 'keras', 'numpy') if m in sys.modules])",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# (API call, the same command line); the versions block names the installed packages on both sides.
CASES = [
    (lambda: rnnshape.inspect(layer="lstm", units=6, return_state=True), ["inspect", "--units", "6", "--return-state"]),
    (
        lambda: rnnshape.inspect(
            layer="gru", units=3, bidirectional=True, return_sequences=True, lengths="2,3", batch=2
        ),
        [
            "inspect",
            "--layer",
            "gru",
            "--units",
            "3",
            "--bidirectional",
            "--return-sequences",
            "--lengths",
            "2,3",
            "--batch",
            "2",
        ],
    ),
    (
        lambda: rnnshape.compare(["lstm", "gru"], vary=["stateful"]),
        ["compare", "--layer", "lstm", "--layer", "gru", "--vary", "stateful"],
    ),
    (lambda: rnnshape.check("examples/shapes.toml"), ["check", "examples/shapes.toml"]),
    (
        lambda: rnnshape.trace(layer="gru", units=2, timesteps=4, steps="1,4"),
        ["trace", "--layer", "gru", "--units", "2", "--timesteps", "4", "--steps", "1,4"],
    ),
    (
        lambda: rnnshape.stateful(layer="lstm", units=3, timesteps=6, batch=2, split="2,4"),
        ["stateful", "--units", "3", "--timesteps", "6", "--batch", "2", "--split", "2,4"],
    ),
    (
        lambda: rnnshape.generate(layer="gru", units=3, head=True, timesteps=4, steps=3, values=True),
        ["generate", "--layer", "gru", "--units", "3", "--head", "--timesteps", "4", "--steps", "3", "--values"],
    ),
    (
        lambda: rnnshape.stack("lstm:8 lstm:4 dense:1", timesteps=5),
        ["stack", "--timesteps", "5", "lstm:8", "lstm:4", "dense:1"],
    ),
    (lambda: rnnshape.patterns(units=3), ["patterns", "--units", "3"]),
    (
        lambda: rnnshape.why("expected ndim=3, found ndim=2. Full shape received: (None, 7)"),
        ["why", "expected ndim=3, found ndim=2. Full shape received: (None, 7)", "--static"],
    ),
    (
        lambda: rnnshape.window(length=20, look_back=4, stride=3),
        ["window", "--length", "20", "--look-back", "4", "--stride", "3"],
    ),
    (
        lambda: rnnshape.model("examples/tagger.keras", x="examples/tagger_x.npy", layer="summary"),
        ["model", "examples/tagger.keras", "--x", "examples/tagger_x.npy", "--layer", "summary"],
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(CASES)), ids=[argv[0] + str(i) for i, (_, argv) in enumerate(CASES)])
def test_to_dict_equals_the_data_of_the_cli_json(invoke, index):
    call, argv = CASES[index]
    result = call()
    shown = invoke(argv + ["--json"])
    document = json.loads(shown.stdout)
    assert result.to_dict() == document["data"]
    assert result.exit_code == shown.exit_code == document["exit_code"]
    assert result.ok == document["ok"]
    assert [e.message for e in result.errors] == [e["message"] for e in document["errors"]]


@pytest.mark.slow
def test_a_result_renders_with_rich_as_the_terminal_shows_it(invoke):
    result = rnnshape.inspect(layer="lstm", units=6, return_state=True)
    console = Console(
        file=__import__("io").StringIO(),
        width=100,
        no_color=True,
        color_system=None,
        highlight=True,
        markup=True,
        emoji=False,
    )  # rich.print's settings: markup on
    console.print(result)
    # the same view; a user's own Console pads table lines with spaces, which rnnshape's own strips
    shown = [line.rstrip() for line in console.file.getvalue().splitlines()]
    assert shown == invoke(["inspect", "--units", "6", "--return-state"]).stdout.splitlines()
    assert result.shapes == {"output": (1, 6), "state_h": (1, 6), "state_c": (1, 6)}
    assert result.ok and not result.failed_checks and result.checks
    assert hasattr(result, "_repr_mimebundle_")  # a Jupyter cell shows the same view


def test_static_results_and_failed_expectations_need_no_tensorflow():
    result = rnnshape.inspect(layer="lstm", units=6, static=True, expect={"output": (1, 7)})
    assert not result.ok and result.exit_code == 1
    assert isinstance(result.errors[0], ExpectationFailed)
    assert result.errors[0].message == "expected output (1, 7), got (1, 6)"
    assert rnnshape.stack(["lstm:8", "lstm:4"], static=True).errors[0].exit_code == 1


def test_bad_options_raise_the_documented_exceptions():
    with pytest.raises(rnnshape.SpecError, match="--units"):
        rnnshape.inspect(units=0, static=True)
    with pytest.raises(rnnshape.UsageError, match="--values"):
        rnnshape.inspect(values=True, static=True)
    assert issubclass(rnnshape.SpecError, rnnshape.UsageError.__mro__[1])
