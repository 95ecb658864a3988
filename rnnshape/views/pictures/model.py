"""A user's model drawn as `rnnshape stack` draws a stack: its layers top to bottom, one box
each (nested layers indented), and the tensor each layer passes on as an edge with its shape: a
sequence (ndim >= 3) a double line, one vector per sample a single line. Layers that do not take
the previous layer's output (branches, several inputs) say which layers take it."""

from __future__ import annotations

from typing import Any, Iterator

from rich.console import Console, ConsoleOptions
from rich.text import Text

from rnnshape.rules.words import shape_text
from rnnshape.views.pictures.canvas import ASCII, STYLE_CELL, STYLE_INPUT, STYLE_OUTPUT, UNICODE, Canvas, _wrapped


def model_diagram(data: dict[str, Any], ascii_only: bool = False) -> "ModelDiagram":
    return ModelDiagram(data, ascii_only)


def _dims(shape: Any) -> str:
    return shape_text(["batch" if d is None and i == 0 else d for i, d in enumerate(shape)])


def edge_words(row: dict[str, Any]) -> str:
    """What a layer passes on, in words (rules of Keras)."""
    rec = row.get("recurrent")
    if rec:
        if rec["config"].get("return_sequences"):
            what = "h at every step"
        else:
            what = "the last step's h only"
        if rec["bidirectional"]:
            what = f"forward and backward {what}, {rec['merge_mode'] or 'not merged'}"
        if rec["config"].get("return_state"):
            what += ", then the final states"
        return what
    if row["class"] == "Dense" and row["output_shapes"] and len(row["output_shapes"][0]) >= 3:
        return "Dense on the last axis, at every step"
    if row["class"] == "TimeDistributed":
        return "the same layer at every step"
    return ""


class ModelDiagram:
    INDENT = 2
    EDGE = 5

    def __init__(self, data: dict[str, Any], ascii_only: bool = False):
        self.data = data
        self.g = ASCII if ascii_only else UNICODE

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        yield from self.render_lines(options.max_width)

    def render_lines(self, width: int) -> list[Text]:
        g, data = self.g, self.data
        rows = data["layers"]
        lines = [
            Text(f"Model {data['model']['name']!r}, top to bottom", style="bold"),
            *_wrapped("shapes from Keras' own tensors; the words on the edges are rules of Keras", width),
            Text(""),
        ]
        canvas = Canvas(max(width, 1))
        inputs = ", ".join(f"{i['name']} {_dims(i['shape'])}" for i in data["model"]["inputs"])
        canvas.put(0, self.INDENT, f"input {inputs}", STYLE_INPUT)
        row = 1
        first = data["model"]["inputs"][0]["shape"] if data["model"]["inputs"] else [None, None]
        row = self._edge(canvas, row, first, "", None)
        texts = [
            f"{r['index']}  {'  ' * r['depth']}{r['path']}  {r['class']}"
            + (f"({r['inner_class']})" if r.get("inner_class") else "")
            for r in rows
        ]
        inner = max(len(t) for t in texts) + 2 if texts else 10
        for position, (layer, text) in enumerate(zip(rows, texts)):
            row = self._box(canvas, row, text, inner, bool(layer["recurrent"]))
            nxt = rows[position + 1] if position + 1 < len(rows) else None
            shape = layer["output_shapes"][0] if layer["output_shapes"] else None
            if shape is None:
                continue
            takers = [n for names in layer["consumers"] for n in names if n != "(model output)"]
            note = None
            if (
                nxt is not None
                and nxt["name"] not in takers
                and not layer["container"]
                and not (nxt["depth"] > layer["depth"])
            ):
                note = f"taken by {', '.join(dict.fromkeys(takers)) or 'nothing'}, not by the layer below"
            if layer["container"]:
                note = "its layers below"
            elif layer["depth"] > 0 and "(model output)" in [n for names in layer["consumers"] for n in names]:
                note = "the nested model's output"
            row = self._edge(canvas, row, shape, edge_words(layer), note)
        outputs = ", ".join(_dims(s) for s in data["model"]["output_shapes"])
        canvas.put(row, self.INDENT, f"output {outputs}", STYLE_OUTPUT)
        lines += canvas.lines()
        legend = (
            f"{g['seq']} a sequence [batch, timesteps, ...] (ndim >= 3); {g['v']} one vector per sample "
            "[batch, ...] (ndim=2)"
        )
        return lines + _wrapped(legend, width)

    def _edge(self, canvas: Canvas, row: int, shape: Any, words: str, note: str | None) -> int:
        g, col = self.g, self.EDGE
        line = g["seq"] if len(shape) >= 3 else g["v"]
        if note is not None and note not in ("its layers below", "the nested model's output"):
            line = g["dot_v"]
        canvas.put(row, col, line)
        label = _dims(shape) + (f": {words}" if words else "") + (f" ({note})" if note else "")
        canvas.put(row, col + 3, label)
        canvas.put(row + 1, col, g["down"])
        return row + 2

    def _box(self, canvas: Canvas, row: int, text: str, inner: int, recurrent: bool) -> int:
        g, col = self.g, self.INDENT
        style = "bold cyan" if recurrent else STYLE_CELL
        canvas.put(row, col, g["tl"] + g["h"] * inner + g["tr"], style)
        canvas.put(row + 1, col, g["v"] + " " + text.ljust(inner - 1) + g["v"], style)
        canvas.put(row + 2, col, g["bl"] + g["h"] * inner + g["br"], style)
        return row + 3
