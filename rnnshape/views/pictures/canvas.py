"""What every picture draws with: the box-drawing and ASCII glyphs, the styles, arrows, lanes and
the character canvas.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any

from rich.text import Text

UNICODE = {
    "h": "─",
    "v": "│",
    "tl": "┌",
    "tr": "┐",
    "bl": "└",
    "br": "┘",
    "up_t": "┴",
    "down_t": "┬",
    "left_t": "├",
    "right_t": "┤",
    "right": "▶",
    "left": "◀",
    "up": "▲",
    "gap": " ⋯ ",
    "to": "→",
    "kept": "═",
    # stack and stateful pictures: a sequence edge, a refused edge, dotted boxes, the reset wall
    "down": "▼",
    "seq": "║",
    "seq_t": "╥",
    "refused": "✗",
    "dot_h": "┄",
    "dot_v": "┆",
    "wall": "┃",
}

ASCII = {
    "h": "-",
    "v": "|",
    "tl": "+",
    "tr": "+",
    "bl": "+",
    "br": "+",
    "up_t": "+",
    "down_t": "+",
    "left_t": "+",
    "right_t": "+",
    "right": ">",
    "left": "<",
    "up": "^",
    "gap": " ... ",
    "to": "->",
    "kept": "=",
    "down": "v",
    "seq": "||",
    "seq_t": "||",
    "refused": "X",
    "dot_h": ".",
    "dot_v": ":",
    "wall": "#",
}

STYLE_OUTPUT = "bold green"

STYLE_STATE = {"h": "bold cyan", "c": "bold yellow"}

STYLE_INPUT = "magenta"

STYLE_CELL = "bold"

STYLE_DIM = "dim"


def arrow(g: dict[str, str], label: str, width: int, rightwards: bool, kept: bool = False) -> str:
    """A horizontal arrow ``width`` characters long with ``label`` on it: ─h_1─▶, ◀─h_2─,
    ═h_3═▶ (kept: the state crosses into the next batch)."""
    line = g["kept"] if kept else g["h"]
    body = (line + label).ljust(width - 1, line) if label else line * (width - 1)
    return body + g["right"] if rightwards else g["left"] + body


@dataclass(frozen=True)
class Lane:
    """One direction of reading: a row of cells with its states passing along it."""

    name: str  # "" for a plain layer, else "forward" / "backward"
    left_to_right: bool  # reads x_1 .. x_T
    tag: str  # printed in the cell before t=: "" or "fwd " / "bwd "


class Canvas:
    """A grid of characters with a style per character; writes outside it are clipped."""

    def __init__(self, width: int):
        self.width = width
        self.rows: list[list[tuple[str, str]]] = []

    def put(self, row: int, col: int, text: str, style: str = "") -> None:
        while len(self.rows) <= row:
            self.rows.append([(" ", "")] * self.width)
        for offset, char in enumerate(text):
            if 0 <= col + offset < self.width:
                self.rows[row][col + offset] = (char, style)

    def lines(self) -> list[Text]:
        out = []
        for cells in self.rows:
            end = len(cells)
            while end and cells[end - 1][0] == " ":
                end -= 1
            text = Text(no_wrap=True, overflow="crop", end="\n")
            run, run_style = "", ""
            for char, style in cells[:end]:  # one span per run of equal style
                if style != run_style and run:
                    text.append(run, run_style or None)
                    run = ""
                run, run_style = run + char, style
            if run:
                text.append(run, run_style or None)
            out.append(text)
        return out


def _wrapped(text: str, width: int, style: str = "") -> list[Text]:
    return [Text(part, style=style) for part in textwrap.wrap(text, max(width, 20), break_on_hyphens=False)]


def _axes(axes: Any) -> str:
    return "[" + ", ".join(axes) + "]" if axes else ""
