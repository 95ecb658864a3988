"""What every view shares: the Console of a run, table boxes, the measured-claims table, the
tensors under --values, and the --svg/--html export text. No TensorFlow here."""

from __future__ import annotations

import errno
import os
import re
import sys
from typing import Any, Iterator, TextIO

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from rnnshape.rules.words import axes_text, diff_text, shape_text  # noqa: F401 (the one copy, for every view)

TABLE_BOX = box.SIMPLE_HEAD
# The widest view drawn: rich lays out a full line per column, so COLUMNS=99999999 took a minute
# and gigabytes for 3 KB of text; no table or picture needs more.
MAX_WIDTH = 500
# SIMPLE_HEAD drawn with '-' only, for --ascii (terminals without box-drawing characters).
ASCII_TABLE_BOX = box.Box("    \n    \n -- \n    \n    \n    \n    \n    \n", ascii=True)


def run_text(data: dict[str, Any]) -> str:
    """The header line's end: how the layers were run ("  [run compiled]"), when they were run."""
    run = data.get("run")
    return f"  [run {run['mode']}]" if run else ""


def header_line(text: str, data: dict[str, Any], width: int) -> Iterator[Text]:
    """The bold header line ending with how the layers were run (run_text); when both do not fit
    in ``width``, the run on the next line. A run on a chosen backend (data.backend) names it
    on the line after."""
    suffix = run_text(data)
    if len(text) + len(suffix) <= width:
        yield Text(text + suffix, style="bold")
    else:
        yield Text(text, style="bold")
        if suffix:
            yield Text(suffix.strip(), style="bold")
    ran = data.get("backend")
    if isinstance(ran, dict):
        yield Text(f"backend: {ran['backend']} {ran['version']} (Keras {ran['keras']})")


def boxed(table: Table, ascii_only: bool = False) -> Table:
    """The table, drawn with ASCII_TABLE_BOX under --ascii (tables without a box stay so)."""
    if ascii_only and table.box is not None:
        table.box = ASCII_TABLE_BOX
    return table


# A line's end as rich renders it: the padding of tables and panels to the width (spaces), with
# the style codes around them on a terminal. Removed: no line of rnnshape's output ends in a space.
_STYLE_CODE = re.compile(r"\x1b\[[0-9;]*m")


def strip_line_ends(text: str) -> str:
    """``text`` without the spaces at the end of each line (a line's style codes are kept; the
    text after the last newline, which a later write continues, is left as it is). Linear in
    the length of the text."""
    lines = text.split("\n")
    return "\n".join([_strip_line(line) for line in lines[:-1]] + lines[-1:])


def _strip_line(line: str) -> str:
    if not line.endswith((" ", "m")):
        return line
    end, codes = len(line), []
    while end:
        if line[end - 1] == " ":
            end -= 1
            continue
        start = line.rfind("\x1b[", 0, end) if line[end - 1] == "m" else -1
        if start < 0 or not _STYLE_CODE.fullmatch(line, start, end):
            break
        codes.append(line[start:end])
        end = start
    return line[:end] + "".join(reversed(codes))


class _Console(Console):
    def _render_buffer(self, buffer: Any) -> str:
        # The one place rnnshape's views become text: every line leaves without trailing spaces.
        return strip_line_ends(super()._render_buffer(buffer))

    def on_broken_pipe(self) -> None:
        # rich would exit 1 (our "expectation failed"): let rnnshape.cli handle a closed stdout.
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, "stdout was closed")


def make_console(
    file: TextIO | None = None, width: int | None = None, color: bool | None = None, record: bool = False
) -> Console:
    """One Console per run. Colour only on a terminal and never under NO_COLOR. With ``record``
    the console keeps what it printed, styles included, for save_exports."""
    file = file or sys.stdout
    is_tty = file.isatty()
    if color is None:
        color = is_tty and not os.environ.get("NO_COLOR")
    columns = os.environ.get("COLUMNS", "")
    if width is None and (columns.isdigit() or not is_tty):
        # Piped output: rich would use 80 columns; honour COLUMNS, else give tables room.
        width = int(columns) if columns.isdigit() else 100
    if width is not None:
        width = min(width, MAX_WIDTH)
    console = _Console(
        file=file,
        width=width,
        no_color=not color,
        force_terminal=bool(color),
        color_system="auto" if color else None,
        highlight=False,
        markup=False,
        emoji=False,
        soft_wrap=False,
        record=record,
    )
    if console.width > MAX_WIDTH:  # a terminal wider than that
        console.width = MAX_WIDTH
    return console


def export_text(console: Console, kind: str, title: str = "rnnshape") -> str:
    """What a recording console printed, as an SVG image or an HTML page (``kind``). The text
    keeps the colours even when the terminal showed none (the recording holds the styles)."""
    if kind == "svg":
        return console.export_svg(title=title, clear=False)
    return console.export_html(clear=False)


def checks_table(checks: list[dict[str, Any]]) -> Table:
    table = Table(title="Measured in this run", title_justify="left", box=TABLE_BOX)
    table.add_column("holds")
    table.add_column("claim", overflow="fold")
    table.add_column("max |diff|", justify="right")
    for check in checks:
        mark = Text("yes", style="green") if check["holds"] else Text("NO", style="bold red")
        table.add_row(mark, check["claim"], diff_text(check["max_abs_diff"]))
    return table


def render_values(data: dict[str, Any], width: int) -> Iterator[Any]:
    """The tensors, elided in the middle when long (JSON has them in full)."""
    if data["config"].get("kernel_init") is not None and any(
        "constant initializers" in n for n in data["input"].get("notes", [])
    ):
        yield ("note: every unit has identical weights, so the columns below repeat the same number")
    import numpy as np  # only when values are shown

    with np.printoptions(precision=4, suppress=True, threshold=80, edgeitems=3, linewidth=max(40, width - 4)):
        if "values" in data["input"]:
            yield (Text("x (input)", style="bold"))
            yield (Text(str(np.asarray(data["input"]["values"], dtype=np.float32))))
        for out in data["outputs"]:
            if "values" in out:
                yield (Text(f"{out['name']} {shape_text(out['shape'])}", style="bold cyan"))
                yield (Text(str(np.asarray(out["values"], dtype=np.float32))))
