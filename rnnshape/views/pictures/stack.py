"""The stack picture (stack --diagram): the layers top to bottom, the tensor shape on every edge."""

from __future__ import annotations

from typing import Any, Iterator

from rich.console import Console, ConsoleOptions
from rich.text import Text

from rnnshape.rules.words import shape_text
from rnnshape.views.pictures.canvas import (
    ASCII,
    STYLE_CELL,
    STYLE_DIM,
    STYLE_INPUT,
    STYLE_OUTPUT,
    UNICODE,
    Canvas,
    _axes,
    _wrapped,
)


# ==== stack: the layers top to bottom, the tensor shape on every edge ==========================
def stack_diagram(data: dict[str, Any], tokens: list[Any], ascii_only: bool = False) -> "StackDiagram":
    """The stack of ``rnnshape stack`` (its data object, static or run) drawn top to bottom."""
    return StackDiagram(data, tokens, ascii_only)


def edge_words(token: Any, input_rank: int | None) -> str:
    """What a layer passes down, in words (rules of Keras); "" when the shape says it all."""
    if token.recurrent:
        if token.seq:
            if token.bi:
                return "forward and backward h at every step, concatenated"
            return "h at every step" + (", in reading order (x_T first)" if token.back else "")
        if token.bi:
            return "each direction's final h, concatenated"
        return "the final h only (after reading x_1)" if token.back else "the last step's h only"
    if token.kind == "td":
        return "the same Dense at every step"
    if token.kind == "dense":
        return "Dense on the last axis, at every step" if input_rank == 3 else ""
    return f"the vector repeated {token.n} times along time"


def _needs_words(expected: str) -> str:
    if expected == "2":
        return "one vector per sample (ndim=2)"
    return f"a sequence (ndim{expected if expected.startswith('>') else '=' + expected})"


class StackDiagram:
    """Rich renderable: one box per token, the tensor between two boxes drawn as an edge with its
    shape and axes; a sequence edge (rank 3) is a double line, a vector edge (rank 2) a single one.
    The edge Keras refuses is marked; tokens after it are dotted, not reached."""

    INDENT = 2
    EDGE = 5  # column of the edges

    def __init__(self, data: dict[str, Any], tokens: list[Any], ascii_only: bool = False):
        self.data = data
        self.tokens = tokens
        self.g = ASCII if ascii_only else UNICODE

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        yield from self.render_lines(options.max_width)

    def render_lines(self, width: int) -> list[Text]:
        data, g = self.data, self.g
        layers = data["layers"]
        tokens = self.tokens[: len(layers)]
        title = Text(f"Stack {data['config']['spec']}, top to bottom", style="bold")
        how = (
            "shapes by rnnshape's rules of Keras, nothing run (--static)"
            if data["static"]
            else "shapes measured in this run (a real keras.Model)"
        )
        lines = [title, *_wrapped(f"{how}; the words on the edges are rules of Keras", width), Text("")]

        token_width = max(len(layer["spec"]) for layer in layers)
        calls = [layer["keras_call"].replace("keras.layers.", "") for layer in layers]
        texts = [f"{layer['index']}  {layer['spec'].ljust(token_width)}  {call}" for layer, call in zip(layers, calls)]
        if self.INDENT + max(len(t) for t in texts) + 4 + len(" not reached") > width:
            texts = [f"{layer['index']}  {layer['spec']}" for layer in layers]  # narrow: tokens only
        inner = max(len(t) for t in texts) + 2
        canvas = Canvas(max(width, 1))
        inp = data["input"]
        canvas.put(0, self.INDENT, f"input {shape_text(inp['shape'])} {_axes(inp['axes'])}", STYLE_INPUT)
        row = 1
        diagnosis = data.get("diagnosis")
        first = layers[0]
        row = self._edge(
            canvas, row, inp["shape"], "", refused=first["status"] == "incompatible", diagnosis=diagnosis, dotted=False
        )
        for position, (layer, token, text) in enumerate(zip(layers, tokens, texts)):
            status = layer["status"]
            nxt = layers[position + 1] if position + 1 < len(layers) else None
            out_shape = nxt["input_shape"] if nxt is not None and status == "built" else layer["output_shape"]
            below = None if status != "built" else (g["seq_t"] if len(out_shape) == 3 else g["down_t"])
            row = self._box(canvas, row, text, inner, status, below, static=data["static"])
            words = edge_words(token, len(layer["input_shape"]) if layer["input_shape"] else None)
            if nxt is not None:
                row = self._edge(
                    canvas,
                    row,
                    out_shape if status == "built" else None,
                    words,
                    refused=nxt["status"] == "incompatible",
                    diagnosis=diagnosis,
                    dotted=status != "built",
                    axes=layer["output_axes"],
                )
            elif status == "built":
                row = self._edge(
                    canvas,
                    row,
                    out_shape,
                    words,
                    refused=False,
                    diagnosis=None,
                    dotted=False,
                    axes=layer["output_axes"],
                )
                canvas.put(
                    row, self.INDENT, f"output {shape_text(out_shape)} {_axes(layer['output_axes'])}", STYLE_OUTPUT
                )
        lines += canvas.lines()
        seq, vec = g["seq"], g["v"]
        legend = f"{seq} a sequence [batch, timesteps, ...] (ndim=3); {vec} one vector per sample [batch, ...] (ndim=2)"
        return lines + _wrapped(legend, width)

    def _edge(
        self,
        canvas: Canvas,
        row: int,
        shape: Any,
        words: str,
        *,
        refused: bool,
        diagnosis: Any,
        dotted: bool,
        axes: Any = None,
    ) -> int:
        """Two rows: the line with the tensor's shape (and words), then the arrow head, or the
        refusal mark. Returns the next free row."""
        g, col = self.g, self.EDGE
        if dotted:
            canvas.put(row, col, g["dot_v"], STYLE_DIM)
            canvas.put(row + 1, col, g["dot_v"], STYLE_DIM)
            return row + 2
        style = "bold red" if refused else ""
        canvas.put(row, col, g["seq"] if len(shape) == 3 else g["v"], style)
        if words or axes:
            label = shape_text(shape) + (f" {_axes(axes)}" if axes else "") + (f": {words}" if words else "")
            canvas.put(row, col + 3, label, style)
        if refused and diagnosis is not None:
            call = self.data["layers"][diagnosis["index"] - 1]["keras_call"].replace("keras.layers.", "")
            canvas.put(row + 1, col, g["refused"], "bold red")
            canvas.put(
                row + 1,
                col + 3,
                f"{call} needs {_needs_words(diagnosis['expected_ndim'])} but receives ndim={diagnosis['found_ndim']}",
                "bold red",
            )
        else:
            canvas.put(row + 1, col, g["down"], style)
        return row + 2

    def _box(
        self, canvas: Canvas, row: int, text: str, inner: int, status: str, below: str | None, static: bool
    ) -> int:
        g, col = self.g, self.INDENT
        if status == "not reached":
            h, v, style, note = g["dot_h"], g["dot_v"], STYLE_DIM, "not reached"
        else:
            h, v = g["h"], g["v"]
            style = "bold red" if status == "incompatible" else STYLE_CELL
            note = ("refused (rule of Keras)" if static else "refused by Keras") if status == "incompatible" else ""
        bottom = g["bl"] + h * inner + g["br"]
        if below is not None:
            at = self.EDGE - col
            bottom = bottom[:at] + below + bottom[at + len(below) :]
        canvas.put(row, col, g["tl"] + h * inner + g["tr"], style)
        canvas.put(row + 1, col, v + " " + text.ljust(inner - 1) + v, style)
        canvas.put(row + 2, col, bottom, style)
        if note:
            canvas.put(row + 1, col + inner + 3, note, style)
        return row + 3
