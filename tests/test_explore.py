"""rnnshape explore, driven for real: textual's pilot presses the keys and fills the fields of
the screen, whose panes must then hold what rnnshape.inspect (and the equivalent command line)
gives for the same options, measured by a real Keras layer; refused values show one line in
the panel; e writes an SVG; and under a real pseudo-terminal the command opens, toggles and
quits with exit 0. Slow: Keras runs (pytestmark below)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shlex
import shutil
import sys
import time
import xml.etree.ElementTree as ET

import pytest
from rich.console import Console

import rnnshape
from rnnshape.api.explore import explore

pytest.importorskip("textual")
from rnnshape.tui.explore import ExploreApp  # noqa: E402
from rnnshape.views.explore import PANES, panes  # noqa: E402

# every test here runs Keras: the slow tier (the fast tier is pytest -m "not slow")
pytestmark = pytest.mark.slow

SIZE = (100, 40)


def text_of(renderable, width: int = 90) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, legacy_windows=False)
    console.print(renderable)
    return console.file.getvalue()


def pane_texts(app: ExploreApp) -> dict[str, str]:
    return {name: text_of(app.query_one(f"#pane-{name}").content) for name in PANES}


def screen_text(app: ExploreApp, name: str) -> str:
    return text_of(app.query_one(f"#{name}").content)


async def settle(app: ExploreApp, pilot, limit: float = 120.0) -> None:
    """Until the panes show the measured answer of the latest change (or its refusal): no run is
    under way (an earlier refusal stays on screen while the next change's run goes on)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        await pilot.pause(0.02)
        if any(worker.is_running for worker in app.workers):
            continue
        if app.error is not None or (app.shown is not None and not app.shown.data["static"] and not app.pending):
            return
    raise AssertionError("the screen never showed the measured answer")


def assert_panes_are_inspects(app: ExploreApp, invoke_json) -> None:
    """The panes and the data behind them are those of rnnshape.inspect for the same options, and
    the command line the screen shows gives the same JSON data."""
    options = app.explorer.effective()
    expected = rnnshape.inspect(**options, diagram=True)
    assert app.shown.to_dict() == expected.to_dict(), options
    assert pane_texts(app) == {name: text_of(r) for name, r in panes(expected, app.shown_width).items()}
    command = shlex.split(app.explorer.command_line())
    assert command[:2] == ["rnnshape", "inspect"]
    result, document = invoke_json(command[1:])
    assert result.exit_code == 0, result.stderr
    assert document["data"] == expected.to_dict()


# key or (field, text) -> the option it changes and the value it must have afterwards
STEPS = [
    ("s", "return_sequences", True),
    ("r", "return_state", True),
    ("g", "go_backwards", True),
    ("g", "go_backwards", False),  # Bidirectional refuses a go_backwards layer (Keras' ValueError)
    ("b", "bidirectional", True),
    ("m", "merge_mode", "sum"),
    ("b", "bidirectional", False),
    ("t", "stateful", True),
    ("t", "stateful", False),
    ("l", "layer", "gru"),
    ("a", "reset_after", False),
    (("units", "5"), "units", 5),
    (("timesteps", "4"), "timesteps", 4),
    (("features", "3"), "features", 3),
    (("batch", "2"), "batch", 2),
    (("lengths", "4,2"), "lengths", "4,2"),
    (("kernel_init", "0.1"), "kernel_init", "0.1"),
    (("recurrent_init", "orthogonal"), "recurrent_init", "orthogonal"),
    (("bias_init", "ones"), "bias_init", "ones"),
    (("input", "arange"), "input", "arange"),
    ("s", "return_sequences", False),
]


async def type_into(app: ExploreApp, pilot, field: str, text: str) -> None:
    widget = app.query_one(f"#opt-{field}")
    widget.focus()
    await pilot.pause()
    widget.value = ""
    await pilot.press(*text)
    await pilot.press("enter")
    await pilot.press("escape")  # back to the panes: the keys are the app's again


def test_every_control_changes_the_panes_as_inspect_does(invoke_json):
    async def scenario() -> None:
        app = ExploreApp(explore(units=6))
        cold = "keras" not in sys.modules  # in a full test run another test may have warmed Keras already
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert app.shown is not None and "keras.layers.LSTM(6)" in pane_texts(app)["call"]
            if cold:  # the first screen is the static answer, before Keras is there
                assert app.shown.data["static"] is True
                assert app.shown.to_dict() == rnnshape.inspect(units=6, static=True, diagram=True).to_dict()
            await settle(app, pilot)
            assert_panes_are_inspects(app, invoke_json)
            reset_after = app.query_one("#opt-reset_after")
            assert reset_after.value is False and reset_after.disabled  # GRU's option: off and greyed for an LSTM
            for action, option, value in STEPS:
                before = app.shown.to_dict()
                before["outputs"] = [dict(o, shape=tuple(o["shape"])) for o in before["outputs"]]
                if isinstance(action, str):
                    await pilot.press(action)
                else:
                    await type_into(app, pilot, *action)
                await settle(app, pilot)
                assert app.error is None, (action, app.error)
                got = app.explorer.effective().get(option)
                assert got == value or (value == "sum" and got == "sum"), (action, option, got)
                assert_panes_are_inspects(app, invoke_json)
                change = screen_text(app, "change")
                assert change.startswith("what changed: "), change
                assert option in change, (option, change)
                if [(o["name"], o["shape"]) for o in before["outputs"]] != list(app.shown.shapes.items()):
                    assert "same names and shapes" not in change
                if option == "layer":  # a GRU: reset_after applies, on as Keras' default
                    assert reset_after.value is True and not reset_after.disabled
            # the flags' checkboxes say what the session holds, without colour: [x] or [ ]
            assert app.query_one("#opt-return_sequences").value is False
            assert app.query_one("#opt-return_state").value is True
            # toggles after the first are fast: Keras is warm (the benchmark measures it properly)
            assert len(app.latencies) >= len(STEPS)
            await pilot.press("q")
        assert app.return_code == 0

    asyncio.run(scenario())


def test_refused_values_show_their_one_line_in_the_panel_and_the_screen_goes_on(tmp_path):
    async def scenario() -> None:
        app = ExploreApp(explore(units=6), export_dir=str(tmp_path))
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            shown = app.shown
            await type_into(app, pilot, "units", "0")
            await settle(app, pilot)
            status = screen_text(app, "status")
            assert status.startswith("rnnshape explore: error: Invalid value for --units: 0 is not in the range")
            assert app.shown is shown  # the panes keep the last configuration that could be shown
            await type_into(app, pilot, "lengths", "9")
            await settle(app, pilot)
            assert "Invalid value for --" in screen_text(app, "status")
            await type_into(app, pilot, "lengths", "")
            await type_into(app, pilot, "kernel_init", "bogus")
            await settle(app, pilot)
            assert "Invalid value for --kernel-init: 'bogus'" in screen_text(app, "status")
            await type_into(app, pilot, "kernel_init", "")
            # the size guard: refused before Keras runs, in the panel; the static answer stays
            await type_into(app, pilot, "units", "100000")
            await type_into(app, pilot, "timesteps", "100000")
            await settle(app, pilot)
            status = " ".join(screen_text(app, "status").split())
            assert status.startswith(
                "rnnshape explore: error: keras.layers.LSTM(100000) on input (1, 100000, 2) needs about"
            ), status
            assert "--max-memory" in status
            # back to a size that runs: measured again
            await type_into(app, pilot, "units", "3")
            await type_into(app, pilot, "timesteps", "3")
            await settle(app, pilot)
            assert app.error is None and app.shown.data["static"] is False
            assert app.shown.shapes == {"output": (1, 3)}
            await pilot.press("q")
        assert app.return_code == 0

    asyncio.run(scenario())


def test_export_copy_and_json_keys(tmp_path):
    async def scenario() -> None:
        app = ExploreApp(explore(layer="gru", units=4, return_state=True), export_dir=str(tmp_path))
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            await pilot.press("e")
            await pilot.pause()
            assert app.exports == [str(tmp_path / "rnnshape-explore-1.svg")]
            svg = (tmp_path / "rnnshape-explore-1.svg").read_text(encoding="utf-8")
            root = ET.fromstring(svg)  # well-formed XML
            assert root.tag == "{http://www.w3.org/2000/svg}svg"
            text = "".join(root.itertext()).replace("\xa0", " ")
            assert "keras.layers.GRU(4, return_state=True)" in text and "measured in this run" in text
            await pilot.press("c")
            await pilot.pause()
            assert app.clipboard == "rnnshape inspect --layer gru --units 4 --return-state --diagram"
            assert app.clipboard in " ".join(screen_text(app, "command").split())
            await pilot.press("j")
            await pilot.pause()
            assert json.loads(app.clipboard) == app.shown.to_dict()
            assert json.loads(app.query_one("#json").content.plain) == app.shown.to_dict()
            await pilot.press("question_mark")
            await pilot.pause()
            assert app.screen.query("HelpPanel")
            await pilot.press("q")
        assert app.return_code == 0

    asyncio.run(scenario())


def test_under_a_real_terminal_explore_opens_toggles_return_state_and_quits_with_0():
    pexpect = pytest.importorskip("pexpect")
    pyte = pytest.importorskip("pyte")
    exe = shutil.which("rnnshape")
    command, args = (exe, []) if exe else (sys.executable, ["-m", "rnnshape"])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(
        os.environ, TERM="xterm-256color", NO_COLOR="1", PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", "")
    )
    env.pop("RNNSHAPE_DEBUG", None)
    child = pexpect.spawn(command, args + ["explore", "--units", "6"], env=env, dimensions=(24, 80), timeout=60)
    screen = pyte.Screen(80, 24)
    stream = pyte.ByteStream(screen)

    def until(*texts: str, limit: float = 60.0) -> str:
        end = time.monotonic() + limit
        while time.monotonic() < end:
            try:
                stream.feed(child.read_nonblocking(65536, timeout=0.05))
            except pexpect.TIMEOUT:
                pass
            shown = "\n".join(screen.display)
            if all(text in shown for text in texts):
                return shown
        raise AssertionError("\n".join(screen.display))

    try:
        until("keras.layers.LSTM(6)", "[ ] r return_state")
        until("measured in this run")
        child.send("r")
        shown = until("keras.layers.LSTM(6, return_state=True)", "what changed: return_state on", "[x] r return_state")
        assert "Traceback" not in shown and "tensorflow" not in shown.lower()
        child.send("q")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, (child.exitstatus, child.signalstatus)


def test_the_footer_fits_80_columns():
    """The flags' keys are on their checkboxes; the footer's keys (layer, merge, help, export,
    command, JSON, controls, quit) fit a terminal of 80 columns, "q Quit" included."""
    from textual.widgets import Footer

    async def scenario() -> None:
        app = ExploreApp(explore(units=6), static_only=True)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            footer = app.query_one(Footer)
            assert footer.virtual_size.width <= 80, footer.virtual_size
            shown = [b.description for _, b, *_ in app.active_bindings.values() if b.show]
            assert "Quit" in shown and "Layer" in shown
            await pilot.press("q")

    asyncio.run(scenario())
