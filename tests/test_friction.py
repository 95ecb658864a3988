"""A newcomer's friction and a fresh machine (issue 27), without TensorFlow: `why` reads any bytes
piped to it and no deprecated click stream helper; the lint runs without an activated
environment; --help shows the layers as typed and no control character; no line a view prints
ends in a space (on a terminal with colours too); a missing optional dependency is one line at
once; explore's keys that do not apply say so, and its ? panel lists the app's keys first."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from rnnshape.cli import cli

ROOT = Path(__file__).resolve().parent.parent
MESSAGE = "expected ndim=3, found ndim=2. Full shape received: (None, 10)"


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), **extra)
    env.pop("RNNSHAPE_DEBUG", None)
    return env


# ---- why: standard input as bytes --------------------------------------------------------------
def test_why_reads_latin1_bytes_piped_to_it_in_a_real_process():
    """printf 'Fehler: \\xe4\\xf6\\xfc' | rnnshape why: exit 3 UnicodeDecodeError before; now the
    bytes are decoded with replacement, and a Keras message among them is still found."""
    command = [sys.executable, "-m", "rnnshape", "why", "--static"]
    plain = subprocess.run(command, input=b"Fehler: \xe4\xf6\xfc", capture_output=True, env=_env(), timeout=60)
    assert plain.returncode == 1, plain.stderr  # no Keras shape error in it: exit 1, as documented
    assert plain.stderr.decode().count("\n") == 1 and b"Traceback" not in plain.stderr
    assert b"UnicodeDecodeError" not in plain.stderr
    mixed = subprocess.run(
        command + ["--json"],
        input=b"Gr\xfc\xdfe\n" + MESSAGE.encode() + b"\n\xff\xfe",
        capture_output=True,
        env=_env(),
        timeout=60,
    )
    assert mixed.returncode == 0 and mixed.stderr == b""
    assert b'"kind": "no_timesteps_axis"' in mixed.stdout


def test_why_uses_no_click_stream_helper(monkeypatch):
    """click 8.5 deprecates click.get_text_stream/get_binary_stream (a DeprecationWarning the
    hostile tests rightly count as a defect): why reads sys.stdin itself."""

    def deprecated(*_args, **_kwargs):
        raise AssertionError("click's stream helpers are deprecated in click 8.5")

    for name in ("get_text_stream", "get_binary_stream"):
        monkeypatch.setattr(click, name, deprecated)
        monkeypatch.setattr(click.utils, name, deprecated, raising=False)
    result = CliRunner().invoke(cli, ["why", "--static"], input=b"\xe4\n" + MESSAGE.encode())
    assert result.exit_code == 0, result.output
    assert "[batch, 10]" in result.stdout
    dash = CliRunner().invoke(cli, ["why", "-", "--static"], input=MESSAGE)
    assert dash.exit_code == 0, dash.output


# ---- the lint without an activated environment ---------------------------------------------------
def test_ruff_runs_without_the_environment_on_path(monkeypatch):
    """/path/to/venv/bin/python -m pytest: PATH does not hold the environment's scripts."""
    from tests.test_layout import test_ruff_finds_nothing

    monkeypatch.setenv("PATH", os.devnull)
    test_ruff_finds_nothing()


# ---- --help ------------------------------------------------------------------------------------
def test_sources_hold_no_control_characters():
    """click's no-rewrap marker is written `\\b` (an escape), never a literal backspace byte."""
    for path in sorted((ROOT / "rnnshape").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        bad = sorted({f"{ord(c):#04x}" for c in text if ord(c) < 32 and c not in "\n"})
        assert not bad, (path.relative_to(ROOT), bad)


def test_every_help_shows_layers_as_typed_and_no_control_character():
    for command in [None, *cli.list_commands(None)]:
        args = [command, "--help"] if command else ["--help"]
        result = CliRunner().invoke(cli, args, env={"COLUMNS": "100"})
        assert result.exit_code == 0, (command, result.output)
        text = result.stdout
        assert not any(ord(c) < 32 and c != "\n" for c in text), command
        assert "{LSTM" not in text and "LSTM,GRU" not in text, command
        assert not [line for line in text.splitlines() if line.endswith(" ")], command
        if command in ("inspect", "trace", "stateful", "explore"):
            assert "--layer [lstm|gru|simplernn|convlstm1d|convlstm2d|convlstm3d|rnn]" in text, command
    compare = CliRunner().invoke(cli, ["compare", "--help"]).stdout
    assert "--layer [lstm|gru|simplernn|" in compare


def test_a_layer_typed_in_capitals_is_still_accepted(invoke):
    result = invoke(["inspect", "--layer", "GRU", "--static", "--json"])
    assert result.exit_code == 0 and '"layer": "gru"' in result.stdout


# ---- no line ends in a space ----------------------------------------------------------------------
@pytest.mark.parametrize("color", [False, True])
def test_the_console_never_ends_a_line_with_a_space(color):
    """Tables are padded to the width by rich (49 of 54 lines of `inspect | cat` ended in spaces);
    the one Console of a run sends every line without them, its columns still aligned."""
    from rich.table import Table

    from rnnshape.views.common import TABLE_BOX, make_console

    table = Table(title="Measured in this run", title_justify="left", box=TABLE_BOX)
    table.add_column("name")
    table.add_column("shape")
    table.add_column("size", justify="right")
    table.add_row("output", "(1, 4)", "12")
    table.add_row("a much longer name", "", "1234")
    out = io.StringIO()
    console = make_console(file=out, width=80, color=color)
    console.print(table)
    console.print("text ", end="")
    console.print("continued on the same line")
    text = out.getvalue()
    assert ("\x1b[" in text) == color
    import re

    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    lines = plain.splitlines()
    assert lines and not [line for line in text.splitlines() if re.sub(r"\x1b\[[0-9;]*m", "", line).endswith(" ")]
    assert "text continued on the same line" in lines  # a space inside a line is kept
    rows = [line for line in lines if "output" in line or "a much longer name" in line]
    # the right-aligned column ends in the same column on every row, the second starts together
    assert len({len(row) for row in rows}) == 1, rows
    assert len({row.index("(1, 4)") if "(1, 4)" in row else None for row in rows} - {None}) == 1


def test_line_ends_are_stripped_in_one_pass_keeping_style_codes():
    from rnnshape.views.common import strip_line_ends

    assert (
        strip_line_ends("ab   \n  \x1b[1mx  \x1b[0m  \nc \x1b[0m\nto be continued ")
        == "ab\n  \x1b[1mx\x1b[0m\nc\x1b[0m\nto be continued "
    )
    assert strip_line_ends("a m\nform\n\x1b[0m \n   \n") == "a m\nform\n\x1b[0m\n\n"
    # long runs of spaces inside lines (a backtracking pattern took minutes here)
    wide = ("x" + " " * 3000) * 3 + "y\n"
    assert strip_line_ends(wide * 50 + " " * 5000 + "\n") == wide * 50 + "\n"


def test_static_views_piped_end_no_line_in_a_space_in_a_real_process():
    """`rnnshape inspect ... | cat` (the newcomer's case), and --static views of the other
    commands, through a pipe: no line ends in a space."""
    env = _env(COLUMNS="100", NO_COLOR="1")
    for args in (
        ["inspect", "--static"],
        ["stack", "--timesteps", "5", "--features", "2", "lstm:8", "lstm:4", "--static"],
        ["window", "--length", "20", "--look-back", "4", "--static"],
        ["patterns", "--static"],
        ["inspect", "--layer", "gru", "--return-state", "--static", "--diagram"],
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "rnnshape", *args], capture_output=True, text=True, env=env, timeout=60
        )
        assert proc.returncode in (0, 1), (args, proc.stderr)
        assert proc.stdout.count("\n") > 5, args
        padded = [line for line in (proc.stdout + proc.stderr).splitlines() if line.endswith(" ")]
        assert not padded, (args, padded[:3])


# ---- a missing optional dependency: one line at once ------------------------------------------------
BLOCKER = '''
import os, sys
BLOCKED = set(os.environ["RNNSHAPE_TEST_BLOCK"].split(","))
LOG = os.environ["RNNSHAPE_TEST_IMPORTS"]


class Absent:
    """As if the packages of RNNSHAPE_TEST_BLOCK were not installed; logs each attempt to
    import TensorFlow or Keras."""

    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top in ("tensorflow", "keras"):
            with open(LOG, "a") as log:
                log.write(name + "\\n")
        if top in BLOCKED:
            raise ModuleNotFoundError(f"No module named {top!r}", name=top)
        return None


sys.meta_path.insert(0, Absent())
'''


@pytest.mark.parametrize(
    "blocked, args, words",
    [
        ("torch", ["port", "--to", "torch", "--layer", "lstm"], "PyTorch is not installed"),
        (
            "torch",
            ["port", "--to", "torch", "--layer", "gru", "--save", "gru.pt", "--code"],
            "PyTorch is not installed",
        ),
        (
            "jax",
            ["compare", "--layer", "lstm", "--backend", "tensorflow", "--backend", "jax"],
            "the Keras backend jax is not installed",
        ),
        ("jax", ["inspect", "--backend", "jax"], "the Keras backend jax is not installed"),
        ("jax", ["trace", "--backend", "jax"], "the Keras backend jax is not installed"),
        (
            "jax",
            ["stateful", "--backend", "jax", "--timesteps", "4", "--split", "2,2"],
            "the Keras backend jax is not installed",
        ),
        (
            "torch",
            ["stateful", "--backend", "torch", "--timesteps", "4", "--split", "2,2"],
            "the Keras backend torch is not installed",
        ),
        ("textual", ["explore"], "rnnshape explore needs textual, which is not installed"),
    ],
)
def test_a_missing_optional_dependency_is_one_line_before_any_keras_work(tmp_path, blocked, args, words):
    """`port --to torch` without torch took 4 s (TensorFlow imported first), compare --backend
    jax 7-9 s: now the package is looked up (importlib.util.find_spec) before any Keras work."""
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    log = tmp_path / "imports.log"
    env = _env(RNNSHAPE_TEST_BLOCK=blocked, RNNSHAPE_TEST_IMPORTS=str(log))
    env["PYTHONPATH"] = str(tmp_path) + os.pathsep + env["PYTHONPATH"]
    script = "import sys\nfrom rnnshape.cli import main\nsys.argv = ['rnnshape'] + sys.argv[1:]\nmain()\n"
    # explore opens its screen only on a terminal: stdin and stdout are a pseudo-terminal there
    if args[0] == "explore":
        import pty

        main_fd, child_fd = pty.openpty()
        proc = subprocess.run(
            [sys.executable, "-c", script, *args],
            stdin=child_fd,
            stdout=child_fd,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
            env=env,
            timeout=60,
        )
        os.close(child_fd)
        os.close(main_fd)
        stderr = proc.stderr.decode()
    else:
        proc = subprocess.run(
            [sys.executable, "-c", script, *args], capture_output=True, cwd=tmp_path, env=env, timeout=60
        )
        stderr = proc.stderr.decode()
        assert proc.stdout == b""
    assert proc.returncode == 3, stderr
    assert stderr.count("\n") == 1 and words in stderr and "pip install" in stderr, stderr
    assert not log.exists(), log.read_text()  # neither TensorFlow nor Keras was imported
    assert not (tmp_path / "gru.pt").exists()


# ---- explore's keys ------------------------------------------------------------------------------
def _explore_app(**options):
    pytest.importorskip("textual")
    from rnnshape.api.explore import explore
    from rnnshape.tui.explore import ExploreApp

    return ExploreApp(explore(**options), static_only=True)


def test_explore_a_key_that_does_not_apply_does_nothing_and_says_so():
    """`a` on an LSTM set a hidden reset_after=False that a later GRU inherited (`GRU(4,
    reset_after=False)`, copied as --no-reset-after); `m` without Bidirectional likewise."""

    async def scenario() -> None:
        app = _explore_app(units=4)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            before = dict(app.explorer.options)
            await pilot.press("a")
            await pilot.pause()
            assert app.explorer.options == before
            change = app.query_one("#change").content.plain
            assert "a (reset_after) does nothing" in change and "GRU only" in change and "lstm" in change
            await pilot.press("m")
            await pilot.pause()
            assert app.explorer.options == before
            assert "Bidirectional" in app.query_one("#change").content.plain
            await pilot.press("l")  # -> gru
            await pilot.pause()
            assert app.explorer.get("layer") == "gru"
            assert "reset_after" not in app.explorer.effective()
            assert "reset-after" not in app.explorer.command_line()
            assert "GRU(4)" in app.shown.data["keras_call"] or "GRU(4)" in str(app.shown.data)
            await pilot.press("a")  # a GRU: it applies
            await pilot.pause()
            assert app.explorer.effective()["reset_after"] is False
            assert "--no-reset-after" in app.explorer.command_line()
            await pilot.press("q")

    asyncio.run(scenario())


def test_explore_help_panel_lists_the_apps_keys_first_on_100x30():
    """On 100x30 textual's scrolling and focus keys filled the ? panel and pushed the app's
    (l m e c j o) below the screen's edge."""

    async def scenario() -> None:
        from rich.console import Console

        app = _explore_app(units=4)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await pilot.press("question_mark")
            await pilot.pause()
            assert app.screen.query("HelpPanel")
            from textual.widgets._key_panel import BindingsTable

            table = app.screen.query_one(BindingsTable)
            console = Console(file=io.StringIO(), width=60, color_system=None)
            console.print(table.render())
            lines = console.file.getvalue().splitlines()
            descriptions = {
                "l": "Layer",
                "m": "Merge",
                "e": "Export SVG",
                "c": "Copy command",
                "j": "JSON",
                "o": "Controls",
                "s": "Return sequences",
                "a": "Reset after",
            }
            rows = {
                key: next(i for i, line in enumerate(lines) if line.split()[:1] == [key] and description in line)
                for key, description in descriptions.items()
            }
            scroll = next(i for i, line in enumerate(lines) if "Scroll Up" in line)
            assert max(rows.values()) < min(scroll, 30 - 2), (rows, scroll)
            await pilot.press("question_mark")
            await pilot.pause()
            assert not app.screen.query("HelpPanel")
            await pilot.press("q")

    asyncio.run(scenario())
