"""The recurrent layer unrolled over time, drawn with rich. Render side only: no TensorFlow.

``diagram_for(spec, data)`` builds the picture from a LayerSpec, with the shapes measured in
the run when given the inspect object (one row of compare has the same keys). The
picture is laid out when rich renders it, at the console's width: one cell per timestep, x_t
entering from below, h (and c for LSTM) passing to the next step, and exactly the tensors that
the flags return highlighted and named with their shapes. Everything it shows is a rule of
Keras (the measured facts are in the inspect tables).

The other commands' pictures reuse the same canvas, glyphs and arrows: ``stack_diagram`` (the
layers top to bottom, the shape on every edge, the refused edge marked), ``stateful_diagram``
(the measured chunks as consecutive batches, the state crossing between them, the reset) and
``compare_diagrams`` (the unrolled picture once per distinct output structure).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any, Iterator

from rich.console import Console, ConsoleOptions
from rich.text import Text

from rnnshape.rules.options import NUMBERS_ONLY
from rnnshape.rules.words import diff_text as diff_words
from rnnshape.rules.words import shape_text

UNICODE = {
    "h": "─", "v": "│", "tl": "┌", "tr": "┐", "bl": "└", "br": "┘", "up_t": "┴", "down_t": "┬",
    "left_t": "├", "right_t": "┤", "right": "▶", "left": "◀", "up": "▲", "gap": " ⋯ ", "to": "→", "kept": "═",
    # stack and stateful pictures: a sequence edge, a refused edge, dotted boxes, the reset wall
    "down": "▼", "seq": "║", "seq_t": "╥", "refused": "✗", "dot_h": "┄", "dot_v": "┆", "wall": "┃",
}
ASCII = {
    "h": "-", "v": "|", "tl": "+", "tr": "+", "bl": "+", "br": "+", "up_t": "+", "down_t": "+",
    "left_t": "+", "right_t": "+", "right": ">", "left": "<", "up": "^", "gap": " ... ", "to": "->", "kept": "=",
    "down": "v", "seq": "||", "seq_t": "||", "refused": "X", "dot_h": ".", "dot_v": ":", "wall": "#",
}
STYLE_OUTPUT = "bold green"
STYLE_STATE = {"h": "bold cyan", "c": "bold yellow"}
STYLE_INPUT = "magenta"
STYLE_CELL = "bold"
STYLE_DIM = "dim"
MERGE_TEXT = {
    "concat": "concat(forward {a}, backward {b})",
    "sum": "forward {a} + backward {b}",
    "mul": "forward {a} * backward {b}",
    "ave": "(forward {a} + backward {b}) / 2",
}


def diagram_for(spec: Any, data: dict[str, Any] | None = None, ascii: bool = False) -> "UnrolledDiagram":
    """The unrolled picture of one layer configuration (a LayerSpec), as a rich renderable.

    The shapes are those of ``data`` (an inspect object: measured in the run) when given, else
    the pure rules'."""
    if data is not None:
        shapes = {out["name"]: tuple(out["shape"]) for out in data["outputs"]}
    else:
        shapes = {t.name: tuple(t.shape) for t in spec.outputs()}
    return UnrolledDiagram(spec, shapes, ascii)


def layer_text(spec: Any) -> str:
    """LSTM(4), or Bidirectional(LSTM(4)): the layer as the titles name it."""
    layer = f"{spec.keras_class}({spec.units})"
    return f"Bidirectional({layer})" if spec.bidirectional else layer


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


class UnrolledDiagram:
    """Rich renderable; the layout is computed at render time for the available width."""

    def __init__(self, spec: Any, shapes: dict[str, tuple[int, ...]], ascii: bool = False):
        self.spec = spec
        self.shapes = shapes
        self.g = ASCII if ascii else UNICODE
        self.ascii = ascii

    # ---- rich protocol --------------------------------------------------------------------
    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        yield from self.render_lines(options.max_width)

    def render_lines(self, width: int) -> list[Text]:
        spec = self.spec
        if spec.bidirectional and spec.go_backwards:
            return [self._title()[0], Text(
                "no picture: Keras refuses Bidirectional around a layer with go_backwards=True (its "
                "backward copy would also read backwards), so there is nothing to draw")]
        canvas, visible = self._draw(width)
        return [*self._title(), Text(""), *canvas.lines(), *self._footer(visible, width)]

    # ---- what is drawn ----------------------------------------------------------------------
    @property
    def states(self) -> list[str]:
        return ["h", "c"] if self.spec.has_cell_state else ["h"]

    def lanes(self) -> list[Lane]:
        if self.spec.bidirectional:
            return [Lane("forward", True, "fwd "), Lane("backward", False, "bwd ")]
        return [Lane("", not self.spec.go_backwards, "")]

    def _reading(self, left_to_right: bool) -> str:
        t, to = self.spec.timesteps, self.g["to"]
        if t == 1:
            return "x_1"
        return f"x_1 {to} x_{t}" if left_to_right else f"x_{t} {to} x_1"

    def _title(self) -> list[Text]:
        spec = self.spec
        steps = f"{spec.timesteps} timestep" + ("" if spec.timesteps == 1 else "s")
        layer = layer_text(spec)
        if spec.bidirectional:
            reading = f"forward lane reads {self._reading(True)}; backward lane reads {self._reading(False)}"
        else:
            reading = f"reads {self._reading(not spec.go_backwards)}"
            if spec.go_backwards:
                reading += " (go_backwards=True)"
        return [Text(f"{layer} unrolled over {steps} (rules of Keras)", style="bold"), Text(reading)]

    def _state_name(self, lane: Lane, state: str) -> str:
        return (f"{lane.name}_" if lane.name else "") + f"state_{state}"

    def _exit_label(self, lane: Lane, state: str) -> tuple[str, str]:
        if self.spec.return_state:
            name = self._state_name(lane, state)
            return f"{name} {shape_text(self.shapes[name])}", STYLE_STATE[state]
        return "(not returned)", STYLE_DIM

    def _entry_label(self) -> str:
        return "kept" if self.spec.stateful else "0"

    def _outputs(self, visible: list[int | None]) -> tuple[list[str], dict[int, str]]:
        """Header lines naming the output tensor(s) and the label above each column that
        feeds them."""
        spec, t = self.spec, self.spec.timesteps
        shown = [c for c in visible if c is not None]
        seq = spec.return_sequences

        def listing(label: str, order: list[int | None]) -> str:
            return "[" + ", ".join("..." if c is None else label.format(c) for c in order) + "]"

        if not spec.bidirectional:
            shape = shape_text(self.shapes["output"])
            if seq:
                if spec.go_backwards:
                    header = (f"output {shape} = {listing('h_{}', list(reversed(visible)))}: "
                              "h at every step, in reading order")
                else:
                    header = f"output {shape} = {listing('h_{}', visible)}: h at every step"
                return [header], {c: f"h_{c}" for c in shown}
            last = 1 if spec.go_backwards else t
            return [f"output {shape} = h_{last}: the last step read only"], {last: f"h_{last}"}
        if seq:
            if spec.merge_mode == "none":
                fwd, bwd = (shape_text(self.shapes[n]) for n in ("forward_output", "backward_output"))
                return [f"forward_output {fwd} = {listing('h_{}', visible)} of the forward lane",
                        f"backward_output {bwd} = {listing('h_{}', visible)} of the backward lane, in time order"], \
                    {c: f"h_{c}" for c in shown}
            how = MERGE_TEXT[spec.merge_mode or "concat"].format(a="h_t", b="h_t")
            shape = shape_text(self.shapes["output"])
            return [f"output {shape} = {listing('y_{}', visible)}, y_t = {how}"], {c: f"y_{c}" for c in shown}
        labels = {t: f"fwd h_{t}", 1: "bwd h_1"} if t > 1 else {1: "h_1"}
        if spec.merge_mode == "none":
            fwd, bwd = (shape_text(self.shapes[n]) for n in ("forward_output", "backward_output"))
            return [f"forward_output {fwd} = forward h_{t}; backward_output {bwd} = backward h_1",
                    "each direction's final h"], labels
        how = MERGE_TEXT[spec.merge_mode or "concat"].format(a=f"h_{t}", b="h_1")
        shape = shape_text(self.shapes["output"])
        return [f"output {shape} = {how}: each direction's final h"], labels

    # ---- layout -------------------------------------------------------------------------------
    def _visible(self, width: int, fixed: int, cell: int, link: int) -> list[int | None]:
        """The timesteps drawn, left to right; None marks the elided middle."""
        t = self.spec.timesteps
        if fixed + t * cell + (t - 1) * link <= width:
            return list(range(1, t + 1))
        gap = link + len(self.g["gap"])
        keep = 1
        while fixed + 2 * (keep + 1) * cell + (2 * keep + 1) * link + gap <= width and 2 * (keep + 1) < t:
            keep += 1
        return list(range(1, keep + 1)) + [None] + list(range(t - keep + 1, t + 1))

    def _draw(self, width: int) -> tuple[Canvas, list[int | None]]:
        g, spec, t = self.g, self.spec, self.spec.timesteps
        lanes, states = self.lanes(), self.states
        cell = max(7, max(len(f"{lane.tag}t={t}") for lane in lanes) + 2)
        cell += 1 - cell % 2  # odd, so that the arrows sit in the middle
        link = max(len(f"{s}_{t}") for s in states) + 3
        left_labels, right_labels = [], []
        for lane in lanes:
            for state in states:
                entry, exit_ = (self._entry_label(), STYLE_DIM), self._exit_label(lane, state)
                left, right = (entry, exit_) if lane.left_to_right else (exit_, entry)
                left_labels.append(left)
                right_labels.append(right)
        margin_left = max(len(text) for text, _ in left_labels) + 1 + link
        margin_right = link + 1 + max(len(text) for text, _ in right_labels)
        visible = self._visible(width, margin_left + margin_right, cell, link)
        headers, labels = self._outputs(visible)

        # x position of every drawn item (a cell, or the elision mark)
        positions: list[tuple[int | None, int]] = []
        x = margin_left
        for item in visible:
            positions.append((item, x))
            x += (cell if item is not None else len(g["gap"])) + link
        right_edge = x - link
        canvas = Canvas(max(width, 1))
        centre = {item: col + cell // 2 for item, col in positions if item is not None}

        # the outputs above: header lines, a bracket over the feeding columns, labels, arrows
        feeding = sorted(labels)
        lo, hi = centre[feeding[0]], centre[feeding[-1]]
        row = 0
        longest = max(len(header) for header in headers)
        start = max(0, min((lo + hi) // 2 - longest // 2, canvas.width - longest))
        for header in headers:
            canvas.put(row, start, header, STYLE_OUTPUT)
            row += 1
        if lo == hi:
            canvas.put(row, lo, g["v"], STYLE_OUTPUT)
        else:
            canvas.put(row, lo, g["tl"] + g["h"] * (hi - lo - 1) + g["tr"], STYLE_OUTPUT)
            for item in feeding[1:-1]:
                canvas.put(row, centre[item], g["down_t"], STYLE_OUTPUT)
        row += 1
        for item, label in labels.items():
            start = max(0, min(centre[item] - len(label) // 2, canvas.width - len(label)))
            canvas.put(row, start, label, STYLE_OUTPUT)
            canvas.put(row + 1, centre[item], g["up"], STYLE_OUTPUT)
        if spec.return_sequences:
            for item, col in positions:
                if item is None:
                    canvas.put(row, col, g["gap"], STYLE_OUTPUT)
        row += 2

        # the cells: top border, one row per state per lane (a divider between lanes), bottom
        top = row
        lane_rows: list[tuple[Lane, str, int]] = []
        row += 1
        for index, lane in enumerate(lanes):
            if index:
                row += 1  # divider
            for state in states:
                lane_rows.append((lane, state, row))
                row += 1
        bottom = row
        for item, col in positions:
            if item is None:
                continue
            inner = g["h"] * (cell - 2)
            mid = cell // 2
            top_edge = g["tl"] + inner + g["tr"]
            if item in labels:
                top_edge = top_edge[:mid] + g["up_t"] + top_edge[mid + 1:]
            canvas.put(top, col, top_edge, STYLE_CELL)
            bottom_edge = g["bl"] + inner + g["br"]
            canvas.put(bottom, col, bottom_edge[:mid] + g["down_t"] + bottom_edge[mid + 1:], STYLE_CELL)
            for r in range(top + 1, bottom):
                canvas.put(r, col, g["v"] + " " * (cell - 2) + g["v"], STYLE_CELL)
            for index, lane in enumerate(lanes):
                first = [r for ln, _, r in lane_rows if ln is lane][0]
                if index:
                    canvas.put(first - 1, col, g["left_t"] + inner + g["right_t"], STYLE_CELL)
                name = f"{lane.tag}t={item}"
                canvas.put(first, col + (cell - len(name)) // 2, name, STYLE_CELL)

        # the states passing from cell to cell, entering and leaving
        for (lane, state, r), (left_text, left_style), (right_text, right_style) in zip(lane_rows, left_labels, right_labels):
            for (a, col_a), (b, col_b) in zip(positions, positions[1:]):
                start = col_a + (cell if a is not None else len(g["gap"]))
                if lane.left_to_right:
                    step = a if a is not None else b - 1  # type: ignore[operator]
                else:
                    step = b if b is not None else a + 1  # type: ignore[operator]
                canvas.put(r, start, self._link(f"{state}_{step}", link, lane.left_to_right))
            for item, col in positions:
                if item is None:
                    canvas.put(r, col, g["gap"])
            first_col, last_col = positions[0][1], right_edge
            kept = spec.stateful  # the states cross into the next batch: drawn with a double line
            if lane.left_to_right:
                canvas.put(r, first_col - link, self._link("", link, True, kept), left_style)
                canvas.put(r, last_col, self._link(f"{state}_{t}", link, True, kept), right_style)
            else:
                canvas.put(r, first_col - link, self._link(f"{state}_1", link, False, kept), left_style)
                canvas.put(r, last_col, self._link("", link, False, kept), right_style)
            canvas.put(r, first_col - link - 1 - len(left_text), left_text, left_style)
            canvas.put(r, last_col + link + 1, right_text, right_style)

        # the inputs below
        for item, col in positions:
            if item is None:
                canvas.put(bottom + 2, col, g["gap"], STYLE_INPUT)
                continue
            canvas.put(bottom + 1, centre[item], g["up"], STYLE_INPUT)
            name = f"x_{item}"
            canvas.put(bottom + 2, centre[item] - len(name) // 2, name, STYLE_INPUT)
        return canvas, visible

    def _link(self, label: str, width: int, rightwards: bool, kept: bool = False) -> str:
        return arrow(self.g, label, width, rightwards, kept)

    # ---- the lines under the picture ------------------------------------------------------------
    def compact_lines(self, width: int) -> tuple[list[Text], list[str]]:
        """The picture without its title, returns line and notes (compare draws many, under
        headings naming the rows, and prints the notes once after all of them): the reading line
        when it is not x_1 to x_T and the drawing; and the notes."""
        canvas, visible = self._draw(width)
        reading = [self._title()[1]] if self.spec.go_backwards or self.spec.bidirectional else []
        return [*reading, *canvas.lines()], self._notes(visible)

    def _footer(self, visible: list[int | None], width: int) -> list[Text]:
        lines = self._returns(width)
        for note in self._notes(visible):
            lines += [Text(part) for part in textwrap.wrap(note, max(width, 20), break_on_hyphens=False)]
        return lines

    def _returns(self, width: int) -> list[Text]:
        """"returns:" and the tensors, wrapped between tensors (never inside a shape)."""
        spec = self.spec
        lines, line = [], Text("returns: ")
        names = spec.output_names()
        for index, name in enumerate(names):
            item = f"{name} {shape_text(self.shapes[name])}" + ("," if index < len(names) - 1 else "")
            if len(line) > len("returns: ") and len(line) + 1 + len(item) > width:
                lines.append(line)
                line = Text("  ")
            elif index:
                line.append(" ")
            style = STYLE_STATE[name[-1]] if "state_" in name else STYLE_OUTPUT
            line.append(item.rstrip(","), style)
            if item.endswith(","):
                line.append(",")
        lines.append(line)
        return lines

    def _notes(self, visible: list[int | None]) -> list[str]:
        spec, g = self.spec, self.g
        notes = []
        states = " and ".join(self.states)
        if None in visible:
            gap = visible.index(None)
            first, last = visible[gap - 1] + 1, visible[gap + 1] - 1  # type: ignore[operator]
            steps = f"t={first}: 1 step" if first == last else f"t={first} .. t={last}: {last - first + 1} steps"
            notes.append(f"{g['gap'].strip()} {steps} not drawn (the same cell, with the same weights, at every step)")
        if spec.stateful:
            leftwards = not spec.bidirectional and spec.go_backwards
            mark = g["left"] + g["kept"] * 2 if leftwards else g["kept"] * 2 + g["right"]
            they = "they leave" if len(self.states) > 1 else "it leaves"
            notes.append(f"{mark} kept: stateful=True keeps the final {states} in the layer; {they} this "
                         "batch as the next batch's initial state (zeros after reset_states())")
        else:
            notes.append(f"0: {states} {'start' if len(self.states) > 1 else 'starts'} as zeros (no initial_state given)")
        if spec.go_backwards or spec.bidirectional:
            suffixed = " and ".join(f"{s}_t" for s in self.states)
            finals = " and ".join(f"{s}_1" for s in self.states)
            if spec.bidirectional:
                notes.append(f"{suffixed}: the state right after reading x_t; the backward lane reads backwards, so "
                             f"its last step read is x_1 and its final state is {finals} (the forward lane's is "
                             f"{' and '.join(f'{s}_T' for s in self.states)})")
            else:
                notes.append(f"{suffixed}: the state right after reading x_t; reading backwards, the last step read "
                             f"is x_1, so the final state is {finals}")
        if spec.lengths is not None:
            notes.append(f"--lengths: at a masked step {states} pass through unchanged")
        return notes


# ==== stack: the layers top to bottom, the tensor shape on every edge ==========================
def stack_diagram(data: dict[str, Any], tokens: list[Any], ascii: bool = False) -> "StackDiagram":
    """The stack of ``rnnshape stack`` (its data object, static or run) drawn top to bottom."""
    return StackDiagram(data, tokens, ascii)


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

    def __init__(self, data: dict[str, Any], tokens: list[Any], ascii: bool = False):
        self.data = data
        self.tokens = tokens
        self.g = ASCII if ascii else UNICODE

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        yield from self.render_lines(options.max_width)

    def render_lines(self, width: int) -> list[Text]:
        data, g = self.data, self.g
        layers = data["layers"]
        tokens = self.tokens[:len(layers)]
        title = Text(f"Stack {data['config']['spec']}, top to bottom", style="bold")
        how = ("shapes by rnnshape's rules of Keras, nothing run (--static)" if data["static"]
               else "shapes measured in this run (a real keras.Model)")
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
        row = self._edge(canvas, row, inp["shape"], "", refused=first["status"] == "incompatible",
                         diagnosis=diagnosis, dotted=False)
        for position, (layer, token, text) in enumerate(zip(layers, tokens, texts)):
            status = layer["status"]
            nxt = layers[position + 1] if position + 1 < len(layers) else None
            out_shape = nxt["input_shape"] if nxt is not None and status == "built" else layer["output_shape"]
            below = None if status != "built" else (g["seq_t"] if len(out_shape) == 3 else g["down_t"])
            row = self._box(canvas, row, text, inner, status, below, static=data["static"])
            words = edge_words(token, len(layer["input_shape"]) if layer["input_shape"] else None)
            if nxt is not None:
                row = self._edge(canvas, row, out_shape if status == "built" else None,
                                 words, refused=nxt["status"] == "incompatible", diagnosis=diagnosis,
                                 dotted=status != "built", axes=layer["output_axes"])
            elif status == "built":
                row = self._edge(canvas, row, out_shape, words, refused=False, diagnosis=None, dotted=False,
                                 axes=layer["output_axes"])
                canvas.put(row, self.INDENT, f"output {shape_text(out_shape)} {_axes(layer['output_axes'])}",
                           STYLE_OUTPUT)
        lines += canvas.lines()
        seq, vec = g["seq"], g["v"]
        legend = (f"{seq} a sequence [batch, timesteps, ...] (ndim=3); {vec} one vector per sample "
                  "[batch, ...] (ndim=2)")
        return lines + _wrapped(legend, width)

    def _edge(self, canvas: Canvas, row: int, shape: Any, words: str, *, refused: bool, diagnosis: Any,
              dotted: bool, axes: Any = None) -> int:
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
            canvas.put(row + 1, col + 3, f"{call} needs {_needs_words(diagnosis['expected_ndim'])} but receives "
                                         f"ndim={diagnosis['found_ndim']}", "bold red")
        else:
            canvas.put(row + 1, col, g["down"], style)
        return row + 2

    def _box(self, canvas: Canvas, row: int, text: str, inner: int, status: str, below: str | None,
             static: bool) -> int:
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
            bottom = bottom[:at] + below + bottom[at + len(below):]
        canvas.put(row, col, g["tl"] + h * inner + g["tr"], style)
        canvas.put(row + 1, col, v + " " + text.ljust(inner - 1) + v, style)
        canvas.put(row + 2, col, bottom, style)
        if note:
            canvas.put(row + 1, col + inner + 3, note, style)
        return row + 3


def _wrapped(text: str, width: int, style: str = "") -> list[Text]:
    return [Text(part, style=style) for part in textwrap.wrap(text, max(width, 20), break_on_hyphens=False)]


def _axes(axes: Any) -> str:
    return "[" + ", ".join(axes) + "]" if axes else ""


# ==== stateful: the chunks as consecutive batches, the state crossing from one into the next ====
def stateful_diagram(spec: Any, data: dict[str, Any], facts: dict[str, Any], ascii: bool = False) -> "StatefulDiagram":
    """The batches of ``rnnshape stateful`` (its data object: measured chunks) side by side;
    ``facts`` are the differences measure.stateful.picture_facts measured for the picture."""
    return StatefulDiagram(spec, data, facts, ascii)


class StatefulDiagram:
    """Rich renderable: each chunk is one call of the layer, a batch, drawn as a box with its
    input below and its output above; the state variables leave a batch on the right and enter
    the next one (a double line where this run measured the next batch starting from them).
    A wall marks layer.reset_state(), after which the last chunk is fed again from zeros."""

    def __init__(self, spec: Any, data: dict[str, Any], facts: dict[str, Any], ascii: bool = False):
        self.data = data
        self.facts = facts
        self.g = ASCII if ascii else UNICODE
        self.spec = spec

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        yield from self.render_lines(options.max_width)

    # ---- what is drawn ----------------------------------------------------------------------
    def _lanes(self) -> list[tuple[str, bool]]:
        """(tag, reads each chunk backwards) per direction, from the measured run's reading."""
        readings = self.data["reading"]
        tags = [""] if len(readings) == 1 else ["fwd ", "bwd "]
        return [(tag, reading["go_backwards"]) for tag, reading in zip(tags, readings)]

    def _state_rows(self) -> list[tuple[int, str]]:
        """(lane, h or c) per state variable, in the order of data['state_names']."""
        states = ["h", "c"] if self.spec.has_cell_state else ["h"]
        return [(lane, state) for lane in range(len(self._lanes())) for state in states]

    def _box_rows(self, chunk: dict[str, Any], title: str) -> list[str]:
        """The box's text: its title, then on each lane's first row the steps in reading order."""
        rows = [title]
        steps, to = chunk["steps"], self.g["to"]
        for lane, state in self._state_rows():
            tag, backwards = self._lanes()[lane]
            if state != "h":
                rows.append("")
                continue
            first, last = (steps[-1] + 1, steps[0] + 1) if backwards else (steps[0] + 1, steps[-1] + 1)
            rows.append(f"{tag}{first} {to} {last}" if len(steps) > 1 else f"{tag}step {first}")  # t from 1, as x_t
        return rows

    def _output_label(self, chunk: dict[str, Any]) -> list[str]:
        output = chunk["output"]
        names = ["forward_output", "backward_output"] if isinstance(output, dict) else ["output"]
        shape = shape_text(tuple(chunk["output_shape"]))
        return names + [shape + (" each" if len(names) > 1 else "")]

    @staticmethod
    def _input_label(chunk: dict[str, Any], shape: tuple[int, ...]) -> list[str]:
        start, stop = chunk["steps"][0], chunk["steps"][-1] + 1
        return [f"x[:, {start}:{stop}]", shape_text((shape[0], stop - start, shape[2]))]

    def _carried(self, index: int) -> float:
        """Measured: max |initial state of chunk index - final state of chunk index-1|."""
        return self.facts["carried"][index]

    def _kept(self, index: int) -> bool:
        return self._carried(index) <= self.facts["tolerance"]

    # ---- layout -------------------------------------------------------------------------------
    def _visible(self, width: int, fixed: int, pitch: int, box: int) -> list[int | None]:
        """Indexes of the chunks drawn, left to right; None marks the elided middle."""
        count = len(self.data["chunks"])
        if fixed + count * pitch <= width or count <= 2:
            return list(range(count))
        keep = 1
        gap = len(self.g["gap"]) + pitch - box
        while fixed + 2 * (keep + 1) * pitch + gap <= width and 2 * (keep + 1) < count:
            keep += 1
        return list(range(keep)) + [None] + list(range(count - keep, count))

    def render_lines(self, width: int) -> list[Text]:
        data, g, spec = self.data, self.g, self.spec
        chunks, rerun = data["chunks"], data["after_reset_rerun"]
        names = data["state_names"]
        rows = self._state_rows()
        x_shape = tuple(data["input"]["shape"])
        boxes = [self._box_rows(chunk, f"batch {chunk['index']}") for chunk in chunks]
        again = self._box_rows(rerun, f"batch {rerun['index']}")
        box_width = max(len(text) for texts in [*boxes, again] for text in texts) + 4
        box_width += 1 - box_width % 2  # odd, so that the arrows sit in the middle
        labels = [self._output_label(chunk) for chunk in [*chunks, rerun]]
        link = 7
        pitch = max(box_width + link, max(len(text) for label in labels for text in label) + 2)
        link = pitch - box_width
        entry = 2 + link  # "0 " and the arrow into the first box
        tail = 5 + link + box_width + link  # " wall 0 ", the arrow in, the box again, the arrow out
        visible = self._visible(width, entry + tail, pitch, box_width)

        # x position of every drawn item: the chunks (or the elision mark), then the box again
        positions: list[tuple[int | None, int]] = []
        x = entry
        for item in visible:
            positions.append((item, x))
            x += (box_width if item is not None else len(g["gap"])) + link
        wall = x + 1
        again_col = wall + 2 + 2 + link
        canvas = Canvas(max(width, 1))
        height = max(len(label) for label in labels)
        top = height + 1  # label lines, then the arrow up
        state_row = {i: top + 2 + i for i in range(len(rows))}
        bottom = top + 2 + len(rows)

        def box(col: int, texts: list[str], label: list[str], chunk: dict[str, Any]) -> None:
            inner, mid = box_width - 2, box_width // 2
            canvas.put(top, col, g["tl"] + g["h"] * (mid - 1) + g["up_t"] + g["h"] * (inner - mid) + g["tr"], STYLE_CELL)
            for r, text in enumerate(texts):
                canvas.put(top + 1 + r, col, g["v"] + text.center(inner) + g["v"], STYLE_CELL)
            canvas.put(bottom, col, g["bl"] + g["h"] * (mid - 1) + g["down_t"] + g["h"] * (inner - mid) + g["br"],
                       STYLE_CELL)
            for r, text in enumerate(label):
                canvas.put(top - 1 - len(label) + r, col + mid - len(text) // 2, text, STYLE_OUTPUT)
            canvas.put(top - 1, col + mid, g["up"], STYLE_OUTPUT)
            canvas.put(bottom + 1, col + mid, g["up"], STYLE_INPUT)
            below = self._input_label(chunk, x_shape) + (["again"] if chunk is rerun else [])
            for r, text in enumerate(below):
                canvas.put(bottom + 2 + r, col + mid - len(text) // 2, text, STYLE_INPUT)

        for item, col in positions:
            if item is None:
                for r in state_row.values():
                    canvas.put(r, col, g["gap"])
                continue
            box(col, boxes[item], labels[item], chunks[item])
        box(again_col, again, labels[-1], rerun)

        # the states: zeros into batch 1, carried from batch to batch, cut by the reset
        for (lane, state), r in zip(rows, state_row.values()):
            style = STYLE_STATE[state]
            canvas.put(r, 0, "0 " + arrow(g, "", link, True))
            for (a, col_a), (b, _col_b) in zip(positions, positions[1:]):
                start = col_a + (box_width if a is not None else len(g["gap"]))
                kept = b is not None and self._kept(b) or b is None
                canvas.put(r, start, arrow(g, state, link, True, kept), style if kept else "")
            canvas.put(r, x - link, arrow(g, state, link, True, True), style)
            canvas.put(r, wall + 2, "0 " + arrow(g, "", link, True))
            canvas.put(r, again_col + box_width, arrow(g, state, link, True, True), style)
        for r in range(top - 1, bottom + 2):
            canvas.put(r, wall, g["wall"], "bold")
        reset = "reset_state()"
        canvas.put(bottom + 2, max(0, wall - len(reset) // 2), reset, "bold")

        sizes = ", ".join(f"{name} {shape_text(self._state_shape(name))}" for name in names)
        count = len(chunks)
        split = ",".join(str(n) for n in data["split"])
        fed = f"fed as {count} consecutive batches along time" if count > 1 else "fed as one batch"
        head = [*_wrapped(f"{data['keras_call'].replace('keras.layers.', '')}: x {shape_text(x_shape)} {fed} "
                          f"(split {split})", width, "bold"),
                *_wrapped(f"state variables, measured in this run: {sizes}" + (
                    "; each call also returns them (return_state=True)" if spec.return_state else ""), width),
                Text("")]
        return head + canvas.lines() + self._footer(visible, width)

    def _state_shape(self, name: str) -> tuple[int, ...]:
        return tuple(self.facts["state_shapes"][name])

    def _footer(self, visible: list[int | None], width: int) -> list[Text]:
        data, g = self.data, self.g
        chunks, rerun = data["chunks"], data["after_reset_rerun"]
        count = len(chunks)
        notes = []
        if None in visible:
            gap = visible.index(None)
            first, last = visible[gap - 1] + 2, visible[gap + 1]  # type: ignore[operator]
            what = f"batch {first}" if first == last else f"batches {first} .. {last}"
            notes.append(f"{g['gap'].strip()} {what} not drawn (the same layer, fed the next chunk)")
        notes.append(f"0 {g['h'] * 2}{g['right']} batch 1 starts from zeros, a freshly built stateful layer "
                     f"(measured: max |state| {diff_words(self.facts['first_initial'])})")
        if count > 1:
            carried = max(self._carried(k) for k in range(1, count))
            verdict = "starts" if carried <= self.facts["tolerance"] else "does NOT start"
            notes.append(f"{g['kept'] * 2}{g['right']} kept: each batch {verdict} from the previous batch's final "
                         f"state, row i from row i: sample i continues sample i (measured: max |diff| "
                         f"{diff_words(carried)})")
        same = self.facts["rerun_vs_chain"]
        notes.append(f"{g['wall']} layer.reset_state() sets every state variable to zeros (measured: max |state| "
                     f"{diff_words(self.facts['after_reset'])}); batch {rerun['index']} fed again starts over"
                     + (f": its output differs from its output in the chain by max |diff| {diff_words(same)}"
                        if count > 1 else ""))
        for reading in data["reading"]:
            if reading["go_backwards"] and count > 1:
                order, pieces, position = reading["order"], [], 0
                for chunk in chunks:
                    pieces.append(order[position:position + len(chunk["steps"])])
                    position += len(chunk["steps"])
                note = (f"{reading['layer']} reads each batch backwards within itself (go_backwards=True): its "
                        f"state leaves batch 1 after reading x_{pieces[0][-1] + 1} and enters batch 2 at x_{pieces[1][0] + 1} "
                        "(rule of Keras")
                as_read = data["single_pass"].get("as_read")
                if as_read is not None:
                    note += ("; measured: the batches equal one pass over x in that reading order, max |diff| "
                             f"{diff_words(max(as_read['output_max_abs_diff'], as_read['final_state_max_abs_diff']))}")
                notes.append(note + ")")
        return [line for note in notes for line in _wrapped(note, width)]


# ==== compare: one unrolled picture per distinct output structure ==============================
def compare_diagrams(rows: list[dict[str, Any]], specs: list[Any], ascii: bool = False) -> "ComparePictures":
    """The rows of ``rnnshape compare`` (with their specs) drawn unrolled, one picture per
    distinct structure."""
    return ComparePictures(rows, specs, ascii)


# The layer and the options only some layers have that change numbers, not shapes (null for the others).
LAYER_SPECIFIC = ("layer", *NUMBERS_ONLY)


def structure_groups(rows: list[dict[str, Any]], specs: list[Any]) -> list[list[int]]:
    """Row indexes grouped by the picture they draw: rows whose configurations differ only in the
    layer, with the same states (GRU and SimpleRNN: h only) and the same returned names and
    shapes, draw the same picture but for the layer's name. In the order of first appearance."""
    groups: dict[tuple, list[int]] = {}
    for index, (row, spec) in enumerate(zip(rows, specs)):
        # Options only some layers have (null for the others) change numbers, not the picture.
        config = tuple(sorted((k, repr(v)) for k, v in row["config"].items() if k not in LAYER_SPECIFIC))
        outputs = tuple((out["name"], tuple(out["shape"])) for out in row["outputs"])
        groups.setdefault((config, spec.has_cell_state, outputs), []).append(index)
    return list(groups.values())


class ComparePictures:
    """Rich renderable: a heading naming the rows, then the unrolled picture, per group."""

    def __init__(self, rows: list[dict[str, Any]], specs: list[Any], ascii: bool = False):
        self.rows = rows
        self.specs = specs
        self.ascii = ascii

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        yield from self.render_lines(options.max_width)

    def render_lines(self, width: int) -> list[Text]:
        groups = structure_groups(self.rows, self.specs)
        count, rows = len(groups), len(self.rows)
        timesteps = self.rows[0]["config"]["timesteps"]
        head = (f"Unrolled over {timesteps} timestep{'s' if timesteps != 1 else ''} (rules of Keras; shapes as in "
                f"the table): one picture per distinct output structure, {count} for {rows} "
                f"row{'s' if rows != 1 else ''}")
        if count < rows:
            head += "; rows whose pictures would differ only in the layer's name share one"
        lines = _wrapped(head, width, "bold")
        notes: dict[str, None] = {}
        for group in groups:
            calls = "; ".join(self.rows[i]["keras_call"].replace("keras.layers.", "") for i in group)
            which = f"row {group[0]}" if len(group) == 1 else "rows " + ", ".join(str(i) for i in group)
            lines += [Text(""), *_wrapped(f"{which}: {calls}", width, "bold cyan")]
            spec = self.specs[group[0]]
            if spec.bidirectional and spec.go_backwards:  # never a row: compare leaves it out
                lines += diagram_for(spec, self.rows[group[0]], self.ascii).render_lines(width)[1:]
                continue
            drawn, own = diagram_for(spec, self.rows[group[0]], self.ascii).compact_lines(width)
            lines += drawn
            notes.update(dict.fromkeys(own))
        if notes:
            lines.append(Text(""))
        return lines + [line for note in notes for line in _wrapped(note, width)]
