"""The screen of ``rnnshape explore``: the layer options as controls, inspect's view as panes.

Every change goes to the session (rnnshape.api.explore.Explorer) and the panes show what
``rnnshape.inspect`` returns for the new options: the static answer at once while Keras is
still loading, then the measured one. Keras is imported once, by the first run, in one
worker thread that runs every later layer too (so it stays warm). A refused value shows
its one line in the panel; the panes keep the last configuration that could be shown.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import sys
import time
from itertools import groupby
from typing import Any, Iterator

from rich import box
from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Checkbox, Footer, HelpPanel, Input, KeyPanel, Label, Markdown, Select, Static
from textual.widgets._key_panel import BindingsTable

from rnnshape import files
from rnnshape.api.explore import FLAGS, Explorer
from rnnshape.errors import RnnshapeError
from rnnshape.rules.catalogue import LAYERS
from rnnshape.rules.options import EXPLORE_FLAGS, EXPLORE_TEXT, MERGE_MODES, applies
from rnnshape.views.explore import PANES, change_line, panes

# flag -> its key (shown in the footer and on its checkbox) and its name, from the option table
FLAG_KEYS = {flag: key for flag, (key, _) in EXPLORE_FLAGS.items()}
FLAG_NAMES = {flag: label for flag, (_, label) in EXPLORE_FLAGS.items()}
# the text boxes and their placeholders, from the option table
TEXT_OPTIONS = tuple(EXPLORE_TEXT)
PLACEHOLDERS = {name: placeholder for name, placeholder in EXPLORE_TEXT.items() if placeholder}


class Flag(Checkbox):
    """A checkbox that shows its value without colour too: [x] or [ ] (NO_COLOR)."""

    BUTTON_LEFT, BUTTON_RIGHT = "[", "]"

    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]
        return "x" if self.value else " "


class AppKeysFirst(BindingsTable):
    """textual's table of the active keys, the app's own first: on a short terminal, the keys of
    rnnshape explore (l m e c j o ...) are not pushed below textual's scrolling and focus keys."""

    def render_bindings_table(self) -> Table:
        bindings = sorted(self.screen.active_bindings.values(), key=lambda active: active[0] is not self.app)
        key_style = self.get_component_rich_style("bindings-table--key")
        description_style = self.get_component_rich_style("bindings-table--description")
        divider_transparent = self.get_component_styles("bindings-table--divider").color.a == 0
        table = Table(
            padding=(0, 0),
            show_header=False,
            box=box.SIMPLE if divider_transparent else box.HORIZONTALS,
            border_style=self.get_component_rich_style("bindings-table--divider"),
        )
        table.add_column("", justify="right")
        for _, group in groupby(bindings, key=lambda active: active[0]):
            by_action: dict[str, list[Binding]] = {}
            for _, binding, _, _ in group:
                if not binding.system:
                    by_action.setdefault(binding.action, []).append(binding)
            if not by_action:
                continue
            for same in by_action.values():
                keys = " ".join(dict.fromkeys(self.app.get_key_display(binding) for binding in same))
                text = Text.from_markup(same[0].description, end="", style=description_style)
                if same[0].tooltip:
                    text.append((" " if same[0].description else "") + same[0].tooltip, "dim")
                table.add_row(Text(keys, style=key_style), text)
            table.add_section()
        return table


class AppKeysPanel(KeyPanel):
    def compose(self) -> ComposeResult:
        yield AppKeysFirst(shrink=True, expand=False)


class KeysHelp(HelpPanel):
    """textual's help panel (the ? key), its table of keys with the app's first."""

    def compose(self) -> ComposeResult:
        yield Markdown(id="widget-help")
        yield AppKeysPanel(id="keys-help")


class ExploreApp(App[int]):
    """rnnshape explore. ``explorer`` holds the starting options; ``static_only`` never runs
    Keras (the answers of --static); exports are written to ``export_dir``."""

    TITLE = "rnnshape explore"
    CSS = """
    Screen { layout: vertical; }
    #main { height: 1fr; }
    #controls { width: 32; height: 100%; border-right: solid $primary; padding: 0 1 0 0; }
    #controls.hidden { display: none; }
    .row { height: 1; }
    .row Label { width: 15; }
    .row Input, .row Select { width: 1fr; }
    Checkbox { border: none; padding: 0; height: 1; background: transparent; }
    Checkbox:focus { border: none; }
    #panes { height: 100%; padding: 0 0 0 1; overflow-x: auto; }
    #panes > Static { margin: 0 0 1 0; }
    #pane-diagram { width: auto; }
    #status { margin: 0; }
    #json { display: none; }
    #json.shown { display: block; }
    """
    BINDINGS = [
        # the flags' keys are on their checkboxes ("s return_sequences"): the footer keeps the rest in 80 columns
        *[Binding(key, f"toggle('{flag}')", FLAG_NAMES[flag], show=False) for flag, key in FLAG_KEYS.items()],
        Binding("l", "cycle('layer')", "Layer"),
        Binding("m", "cycle('merge_mode')", "Merge"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("e", "export", "Export SVG"),
        Binding("c", "copy_command", "Copy command"),
        Binding("j", "json", "JSON"),
        Binding("o", "controls", "Controls"),
        Binding("escape", "focus_panes", "Leave the field", show=False),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "interrupt", "Quit", show=False, priority=True),
    ]

    def __init__(self, explorer: Explorer, *, static_only: bool = False, export_dir: str = ".") -> None:
        super().__init__()
        self.explorer = explorer
        self.static_only = static_only
        self.export_dir = export_dir
        self.layers = tuple(dict.fromkeys((*LAYERS, explorer.get("layer") or "lstm")))
        self.shown: Any = None  # the InspectResult on the panes
        self.warm = False  # Keras imported and one layer run
        self.generation = 0  # changes requested so far; a run shows only if none came after it
        self.pending: list[str] = []  # changes not yet measured
        self.pending_before: Any = None  # the data shown when the first of them was made
        self.requested_at = 0.0
        self.latencies: list[float] = []  # seconds from a change to the refresh with its measured panes
        self.ran = 0.0  # seconds from the latest change to its measured result
        self.shown_width = 80
        self.error: str | None = None
        self.exports: list[str] = []
        self.filled: dict[str, str] = {}  # the text the inputs were given (not the user's edits)
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="rnnshape-keras")

    # ---- layout ------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with VerticalScroll(id="controls"):
                with Horizontal(classes="row"):
                    yield Label("layer (l)")
                    yield Select(
                        [(name, name) for name in self.layers],
                        value=self.explorer.get("layer") or "lstm",
                        allow_blank=False,
                        compact=True,
                        id="opt-layer",
                    )
                for key in TEXT_OPTIONS[:5]:
                    yield from self._input_row(key)
                for flag in FLAGS[:5]:
                    yield Flag(f"{FLAG_KEYS[flag]} {flag}", self.explorer.flag(flag), id=f"opt-{flag}")
                with Horizontal(classes="row"):
                    yield Label("merge (m)")
                    yield Select(
                        [(mode, mode) for mode in MERGE_MODES],
                        value=self.explorer.get("merge_mode") or "concat",
                        allow_blank=False,
                        compact=True,
                        id="opt-merge_mode",
                    )
                yield Flag(
                    f"{FLAG_KEYS['reset_after']} reset_after", self.explorer.flag("reset_after"), id="opt-reset_after"
                )
                for key in TEXT_OPTIONS[5:]:
                    yield from self._input_row(key)
            with VerticalScroll(id="panes"):
                yield Static(id="status")
                yield Static(id="change")
                for name in PANES:
                    yield Static(id=f"pane-{name}")
                yield Static(id="command")
                yield Static(id="json")
        yield Footer(compact=True, show_command_palette=False)

    def _input_row(self, key: str) -> Iterator[Any]:
        with Horizontal(classes="row"):
            yield Label(key)
            yield Input(placeholder=PLACEHOLDERS.get(key, ""), compact=True, id=f"opt-{key}")

    def on_mount(self) -> None:
        self.query_one("#panes").focus()
        self._request(None)

    # ---- the controls --------------------------------------------------------------------------
    def action_toggle(self, flag: str) -> None:
        if not self._say_not_applicable(FLAG_KEYS[flag], flag):
            self._request(self.explorer.toggle(flag))

    def action_cycle(self, key: str) -> None:
        if not self._say_not_applicable("m" if key == "merge_mode" else "l", key):
            self._request(self.explorer.cycle(key, self.layers if key == "layer" else MERGE_MODES))

    def _say_not_applicable(self, pressed: str, key: str) -> bool:
        """A key whose option does not apply to the layer changes nothing and says so."""
        reason = self.explorer.not_applicable(key)
        if reason is not None:
            self.query_one("#change", Static).update(
                Text(f"what changed: nothing: {pressed} ({key}) does nothing here: {reason}", style="bold yellow")
            )
        return reason is not None

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        flag = event.checkbox.id.removeprefix("opt-")
        if event.value == self._shown_flag(flag):
            return  # the box was set to follow the session (_sync_controls): nothing to change
        self._request(self.explorer.set(flag, event.value))

    def _shown_flag(self, flag: str) -> bool:
        """A flag's box as it shows the session: a flag the layer does not take (reset_after for
        anything but a GRU) shows off."""
        return self.explorer.flag(flag) and applies(flag, self.explorer.get("layer") or "lstm")

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.value is not Select.BLANK:
            self._request(self.explorer.set(event.select.id.removeprefix("opt-"), event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._apply_input(event.input)

    def on_input_blurred(self, event: Input.Blurred) -> None:
        self._apply_input(event.input)

    def _apply_input(self, widget: Input) -> None:
        key = widget.id.removeprefix("opt-")
        if widget.value != self.filled.get(key):
            self.filled[key] = widget.value
            self._request(self.explorer.set(key, widget.value))

    def action_focus_panes(self) -> None:
        self.query_one("#panes").focus()

    def action_controls(self) -> None:
        self.query_one("#controls").toggle_class("hidden")

    def action_help(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def action_show_help_panel(self) -> None:
        """The ? panel, with this app's keys first (textual's own below them)."""
        if not self.screen.query("HelpPanel"):
            self.screen.mount(KeysHelp())

    def action_interrupt(self) -> None:
        self.exit(130)

    async def action_quit(self) -> None:
        self.exit(0)

    # ---- runs ----------------------------------------------------------------------------------
    def _request(self, label: str | None) -> None:
        """Show the options' answer: static at once while Keras is cold, measured when it comes."""
        if label is None and self.shown is not None:
            return  # nothing changed
        self._sync_controls()
        self.generation += 1
        self.requested_at = time.perf_counter()
        if label is not None:
            if not self.pending:
                self.pending_before = self.shown.data if self.shown is not None else None
            self.pending.append(label)
        if self.static_only or not self.warm:
            try:
                result = self.explorer.result(static=True)
            except RnnshapeError as exc:
                self._show_error(exc.message)
                return
            self._show(result, measured=False)
        if not self.static_only:
            generation, explorer = self.generation, self.explorer.copy()
            start = lambda: self.run_worker(
                self._measure(generation, explorer), group="measure", exclusive=True, exit_on_error=False
            )
            if self.warm:
                start()
            else:  # the first screen is drawn before TensorFlow's import competes for the interpreter
                self.set_timer(0.1, start)

    async def _measure(self, generation: int, explorer: Explorer) -> None:
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self._executor, explorer.result)
        except RnnshapeError as exc:
            message = exc.message
        except Exception as exc:  # a bug of ours: one line in the panel, never a crash
            message = f"internal error: {type(exc).__name__}: {exc} (please report it)"
        else:
            message = None
        if generation != self.generation:
            return  # a newer change is on its way
        if message is not None:  # refused (e.g. by the size guard): the static answer, if there is one
            try:
                static = explorer.result(static=True)
            except RnnshapeError:
                static = None
            if static is not None:
                self._show(static, measured=False)
            self._show_error(message, static=static is not None)
            return
        self.warm = True
        requested = self.requested_at
        self.ran = time.perf_counter() - requested
        self._show(result, measured=True)
        # the latency of a change: until the screen has been refreshed with its measured panes
        self.call_after_refresh(lambda: self.latencies.append(time.perf_counter() - requested))

    # ---- drawing -------------------------------------------------------------------------------
    def _show(self, result: Any, *, measured: bool) -> None:
        self.error = None
        width = self.shown_width = max(40, self.query_one("#panes").size.width - 3)
        for name, renderable in panes(result, width).items():
            self.query_one(f"#pane-{name}", Static).update(renderable)
        if self.pending:
            line = change_line(", ".join(self.pending), self.pending_before, result.data)
            self.query_one("#change", Static).update(Text("what changed: " + line, style="bold"))
        if measured or self.static_only:  # the answer these changes wait for
            self.pending, self.pending_before = [], None
        if measured:
            status = (
                f"measured in this run: Keras {result.data['versions']['keras']}, "
                f"{1000 * self.ran:.0f} ms after the change"
            )
        elif self.static_only:
            status = "static answer (--static): nothing is run"
        else:
            status = "static answer; Keras is loading in the background, the measured values follow"
        self.query_one("#status", Static).update(Text(status, style="green" if measured else "yellow"))
        self.shown = result
        self._fill_inputs(result.data["config"])
        self._show_command()
        if self.query_one("#json").has_class("shown"):
            self._show_json()

    def _show_error(self, message: str, static: bool = False) -> None:
        self.error = message
        line = Text(f"rnnshape explore: error: {' '.join(message.split())}", style="bold red")
        line.append(
            "\n(the panes show the static answer: nothing was run)"
            if static
            else "\n(the panes show the last configuration that could be shown)",
            style="italic",
        )
        self.query_one("#status", Static).update(line)
        self._show_command()

    def _show_command(self) -> None:
        self.query_one("#command", Static).update(Text("same as: " + self.explorer.command_line(), style="dim"))

    def _show_json(self) -> None:
        if self.shown is not None:
            self.query_one("#json", Static).update(Text(self.json_text()))

    def json_text(self) -> str:
        """The data of ``rnnshape inspect --json`` for the configuration on the panes."""
        return json.dumps(self.shown.to_dict(), indent=2, sort_keys=True, default=str)

    def _sync_controls(self) -> None:
        """The flags and selects as the session has them (after a key, or a refused value)."""
        layer = self.explorer.get("layer") or "lstm"
        for flag in FLAGS:
            box = self.query_one(f"#opt-{flag}", Checkbox)
            box.value = self._shown_flag(flag)
            box.disabled = not applies(flag, layer)  # a layer-only flag (reset_after) greyed where it does not apply
        self.query_one("#opt-merge_mode", Select).disabled = not self.explorer.get("bidirectional")
        self.query_one("#opt-layer", Select).value = self.explorer.get("layer")
        self.query_one("#opt-merge_mode", Select).value = self.explorer.get("merge_mode") or "concat"

    def _fill_inputs(self, config: dict[str, Any]) -> None:
        for key in TEXT_OPTIONS:
            widget = self.query_one(f"#opt-{key}", Input)
            if widget.has_focus:
                continue
            value = config.get(key)
            text = "" if value is None else ",".join(str(v) for v in value) if isinstance(value, list) else str(value)
            if key == "input" and text == "random":
                text = ""
            self.filled[key] = text
            widget.value = text

    # ---- keys that leave the screen ---------------------------------------------------------------
    def action_export(self) -> None:
        """The screen as an SVG image (textual's screenshot), written by rnnshape.files."""
        number = len(self.exports) + 1
        path = os.path.join(self.export_dir, f"rnnshape-explore-{number}.svg")
        while os.path.exists(path):
            number += 1
            path = os.path.join(self.export_dir, f"rnnshape-explore-{number}.svg")
        try:
            files.write_text(path, self.export_screenshot(), "e (export)")
        except RnnshapeError as exc:
            self._show_error(exc.message)
            return
        self.exports.append(path)
        self.notify(f"saved {path}", title="export")

    def action_copy_command(self) -> None:
        command = self.explorer.command_line()
        self.copy_to_clipboard(command)
        self.notify(command, title="copied to the clipboard")

    def action_json(self) -> None:
        pane = self.query_one("#json", Static)
        pane.toggle_class("shown")
        if pane.has_class("shown") and self.shown is not None:
            self._show_json()
            self.copy_to_clipboard(self.json_text())
            self.notify("the JSON of the panes, below (also copied to the clipboard)", title="JSON")
            self.call_after_refresh(pane.scroll_visible)

    def on_unmount(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


@contextlib.contextmanager
def terminal_apart() -> Iterator[None]:
    """textual draws on the terminal through sys.__stderr__ (fd 2), where TensorFlow's native
    code also writes: the screen gets its own copy of the terminal, and fd 2 points at the null
    device while the app runs (rnnshape.runner keeps TensorFlow's log in its own file anyway)."""
    saved = sys.__stderr__
    if saved is None:
        yield
        return
    saved.flush()
    terminal = os.fdopen(os.dup(saved.fileno()), "w", encoding=saved.encoding or "utf-8", errors="replace")
    devnull = os.open(os.devnull, os.O_WRONLY)
    kept = os.dup(2)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.__stderr__ = terminal
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            terminal.flush()
        os.dup2(kept, 2)
        os.close(kept)
        sys.__stderr__ = saved
        terminal.close()


def run(explorer: Explorer, *, static_only: bool = False, export_dir: str = ".") -> int:
    """Open the screen on this terminal until q: the exit code (0, or 130 on Ctrl-C)."""
    with terminal_apart():
        app = ExploreApp(explorer, static_only=static_only, export_dir=export_dir)
        code = app.run()
    return 0 if code is None else int(code)
