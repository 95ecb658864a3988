"""rnnshape explore without TensorFlow: the session's options and command line, the words of a
change, the screen under --static (textual's pilot), the command when stdout is no terminal,
and textual staying out of `import rnnshape` and the other commands."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import subprocess
import sys

import pytest

import rnnshape
from rnnshape.api.explore import Explorer, explore
from rnnshape.views.explore import change_line

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_the_command_line_of_the_session_gives_the_same_answer(invoke_json):
    explorer = explore(layer="gru", units=5)
    for key, value in [
        ("return_sequences", True),
        ("bidirectional", True),
        ("merge_mode", "ave"),
        ("reset_after", False),
        ("batch", "2"),
        ("lengths", "3,1"),
        ("kernel_init", "0.5"),
        ("input", "arange"),
        ("timesteps", "4"),
        ("timesteps", ""),
    ]:
        assert explorer.set(key, value) is not None
        command = shlex.split(explorer.command_line())
        assert command[:2] == ["rnnshape", "inspect"] and command[-1] == "--diagram"
        result, document = invoke_json(command[1:] + ["--static"])
        assert result.exit_code == 0, document["errors"]
        assert document["data"] == explorer.result(static=True).to_dict(), command
    assert explorer.command_line() == (
        "rnnshape inspect --layer gru --units 5 --batch 2 --return-sequences "
        "--bidirectional --merge-mode ave --no-reset-after --lengths 3,1 "
        "--kernel-init 0.5 --input arange --diagram"
    )


def test_set_toggle_and_cycle_say_what_changed():
    explorer = Explorer({"units": 6})
    assert explorer.toggle("return_state") == "return_state on"
    assert explorer.toggle("return_state") == "return_state off"
    assert explorer.set("units", "8") == "units 6 -> 8" and explorer.get("units") == 8
    assert explorer.set("units", "8") is None  # nothing changed
    assert explorer.set("units", "") == "units 8 -> default" and explorer.get("units") is None
    assert explorer.set("units", "x") == "units default -> x"  # refused by the next result, not here
    with pytest.raises(rnnshape.SpecError, match="Invalid value for --units: 'x' is not an integer"):
        explorer.result(static=True)
    assert explorer.cycle("layer", ("lstm", "gru", "simplernn")) == "layer lstm -> gru"
    assert explorer.flag("reset_after") is True
    assert explorer.toggle("reset_after") == "reset_after off" and explorer.get("reset_after") is False
    # a key whose option does not apply to the layer changes nothing (issue 27: `a` on an LSTM
    # set a hidden reset_after=False that a later GRU inherited), and the session says why
    assert explorer.cycle("merge_mode", ("concat", "sum")) is None and explorer.get("merge_mode") is None
    assert "Bidirectional" in explorer.not_applicable("merge_mode")
    explorer.set("layer", "lstm")
    assert "reset_after" not in explorer.effective()  # the GRU's setting waits, unsent
    assert explorer.toggle("reset_after") is None and explorer.get("reset_after") is False
    assert explorer.not_applicable("reset_after") == "reset_after is an option of GRU only (the layer is lstm)"
    fresh = Explorer({"layer": "lstm"})
    assert fresh.toggle("reset_after") is None and fresh.options == {"layer": "lstm"}
    fresh.set("layer", "gru")
    assert "reset_after" not in fresh.effective() and "reset-after" not in fresh.command_line()


def test_the_change_line_names_shapes_and_output_names():
    before = rnnshape.inspect(units=6, static=True).data
    after = rnnshape.inspect(units=6, return_sequences=True, static=True).data
    assert change_line("return_sequences on", before, after) == (
        "return_sequences on: output gains the timesteps axis: rank 2 -> 3, output (1, 6) -> (1, 3, 6)"
    )
    states = rnnshape.inspect(units=6, return_state=True, static=True).data
    assert change_line("return_state on", before, states) == "return_state on: + state_h, state_c"
    gru = rnnshape.inspect(layer="gru", units=6, return_state=True, static=True).data
    assert change_line("layer lstm -> gru", states, gru) == (
        "layer lstm -> gru: - state_c; params 216 -> 180"
    )  # GRU: 3 * (6 * (6 + 2) + 2 * 6)
    assert change_line("start", None, gru) == "start"


def test_the_static_screen_follows_the_keys_without_tensorflow(tmp_path):
    pytest.importorskip("textual")
    from rnnshape.tui.explore import ExploreApp

    async def scenario() -> None:
        app = ExploreApp(explore(units=6), static_only=True, export_dir=str(tmp_path))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            for key, option in [
                ("s", "return_sequences"),
                ("r", "return_state"),
                ("b", "bidirectional"),
                ("m", "merge_mode"),
                ("l", "layer"),
            ]:
                await pilot.press(key)
                await pilot.pause()
                assert (
                    app.shown.to_dict()
                    == rnnshape.inspect(**app.explorer.effective(), static=True, diagram=True).to_dict()
                )
                assert app.query_one("#change").content.plain.startswith(f"what changed: {option}")
            assert app.shown.data["config"] == dict(
                app.shown.data["config"],
                layer="gru",
                bidirectional=True,
                merge_mode="sum",
                return_state=True,
                return_sequences=True,
            )
            assert "static answer (--static)" in app.query_one("#status").content.plain
            await pilot.press("q")
        assert app.return_code == 0

    asyncio.run(scenario())  # (the fast tier's session check fails if this imported TensorFlow)


def test_without_a_terminal_explore_prints_the_starting_configuration_as_inspect(invoke):
    shown = invoke(["explore", "--static", "--units", "6", "--return-state"])
    assert shown.exit_code == 0
    assert shown.stdout == invoke(["inspect", "--static", "--units", "6", "--return-state", "--diagram"]).stdout
    document = json.loads(invoke(["explore", "--static", "--units", "6", "--json"]).stdout)
    assert document["command"] == "explore" and document["data"]["keras_call"] == "keras.layers.LSTM(6)"
    refused = invoke(["explore", "--units", "0"])
    assert refused.exit_code == 2 and refused.stdout == ""
    assert refused.stderr == "rnnshape explore: error: Invalid value for --units: 0 is not in the range 1..1000000\n"


def test_textual_is_imported_by_explore_only():
    script = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "import rnnshape\n"
        "from rnnshape.cli import cli\n"
        "runner = CliRunner()\n"
        "for args in (['--help'], ['explore', '--help'], ['inspect', '--static'], ['compare', '--static'],\n"
        "             ['explore', '--static']):\n"
        "    assert runner.invoke(cli, args).exit_code == 0, args\n"
        "print(sorted(m for m in ('textual', 'tensorflow', 'keras') if m in sys.modules))\n"
    )
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
