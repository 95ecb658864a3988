"""The recurrent layer unrolled over time, drawn with rich. Render side only: no TensorFlow.

``diagram_for(spec, data)`` builds the picture from a LayerSpec, with the shapes measured in
the run when given the inspect object (one row of compare has the same keys). The
picture is laid out when rich renders it, at the console's width: one cell per timestep, x_t
entering from below, h (and c for LSTM) passing to the next step, and exactly the tensors that
the flags return highlighted and named with their shapes. Everything it shows is a rule of
Keras (the measured facts are in the inspect tables). The other commands' pictures
(pictures/stack.py, stateful.py, compare.py) draw on the same canvas (pictures/canvas.py).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
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
    STYLE_STATE,
    UNICODE,
    Canvas,
    Lane,
    arrow,
)

MERGE_TEXT = {
    "concat": "concat(forward {a}, backward {b})",
    "sum": "forward {a} + backward {b}",
    "mul": "forward {a} * backward {b}",
    "ave": "(forward {a} + backward {b}) / 2",
}


def diagram_for(spec: Any, data: dict[str, Any] | None = None, ascii_only: bool = False) -> "UnrolledDiagram":
    """The unrolled picture of one layer configuration (a LayerSpec), as a rich renderable.

    The shapes are those of ``data`` (an inspect object: measured in the run) when given, else
    the pure rules'."""
    if data is not None:
        shapes = {out["name"]: tuple(out["shape"]) for out in data["outputs"]}
    else:
        shapes = {t.name: tuple(t.shape) for t in spec.outputs()}
    return UnrolledDiagram(spec, shapes, ascii_only)


def layer_text(spec: Any) -> str:
    """LSTM(4), or Bidirectional(LSTM(4)): the layer as the titles name it."""
    layer = f"{spec.keras_class}({spec.units})"
    return f"Bidirectional({layer})" if spec.bidirectional else layer


class UnrolledDiagram:
    """Rich renderable; the layout is computed at render time for the available width."""

    def __init__(self, spec: Any, shapes: dict[str, tuple[int, ...]], ascii_only: bool = False):
        self.spec = spec
        self.shapes = shapes
        self.g = ASCII if ascii_only else UNICODE
        self.ascii_only = ascii_only

    # ---- rich protocol --------------------------------------------------------------------
    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        yield from self.render_lines(options.max_width)

    def render_lines(self, width: int) -> list[Text]:
        spec = self.spec
        if spec.bidirectional and spec.go_backwards:
            return [
                self._title()[0],
                Text(
                    "no picture: Keras refuses Bidirectional around a layer with go_backwards=True (its "
                    "backward copy would also read backwards), so there is nothing to draw"
                ),
            ]
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
                    header = (
                        f"output {shape} = {listing('h_{}', list(reversed(visible)))}: "
                        "h at every step, in reading order"
                    )
                else:
                    header = f"output {shape} = {listing('h_{}', visible)}: h at every step"
                return [header], {c: f"h_{c}" for c in shown}
            last = 1 if spec.go_backwards else t
            return [f"output {shape} = h_{last}: the last step read only"], {last: f"h_{last}"}
        if seq:
            if spec.merge_mode == "none":
                fwd, bwd = (shape_text(self.shapes[n]) for n in ("forward_output", "backward_output"))
                return [
                    f"forward_output {fwd} = {listing('h_{}', visible)} of the forward lane",
                    f"backward_output {bwd} = {listing('h_{}', visible)} of the backward lane, in time order",
                ], {c: f"h_{c}" for c in shown}
            how = MERGE_TEXT[spec.merge_mode or "concat"].format(a="h_t", b="h_t")
            shape = shape_text(self.shapes["output"])
            return [f"output {shape} = {listing('y_{}', visible)}, y_t = {how}"], {c: f"y_{c}" for c in shown}
        labels = {t: f"fwd h_{t}", 1: "bwd h_1"} if t > 1 else {1: "h_1"}
        if spec.merge_mode == "none":
            fwd, bwd = (shape_text(self.shapes[n]) for n in ("forward_output", "backward_output"))
            return [
                f"forward_output {fwd} = forward h_{t}; backward_output {bwd} = backward h_1",
                "each direction's final h",
            ], labels
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
        """The picture on a canvas of the given width, and the timesteps drawn (None marks the
        elided middle). Drawn top to bottom: the outputs, the cells, the states passing between
        them (with their entry and exit labels), the inputs."""
        layout = self._layout(width)
        headers, labels = self._outputs(layout.visible)
        canvas = Canvas(max(width, 1))
        row = self._draw_headers(canvas, layout, headers, sorted(labels))
        top = self._draw_output_labels(canvas, layout, labels, row)
        lane_rows, bottom = self._lane_rows(layout.lanes, top)
        self._draw_cells(canvas, layout, labels, lane_rows, top, bottom)
        self._draw_states(canvas, layout, lane_rows)
        self._draw_inputs(canvas, layout, bottom)
        return canvas, layout.visible

    # ---- the parts of the picture -------------------------------------------------------------
    def _cell_width(self, lanes: list[Lane]) -> int:
        """Wide enough for the longest cell name (fwd t=12); odd, so that the arrows sit in the
        middle."""
        cell = max(7, max(len(f"{lane.tag}t={self.spec.timesteps}") for lane in lanes) + 2)
        return cell + 1 - cell % 2

    def _end_labels(self, lanes: list[Lane]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """The (text, style) left and right of each state row, lane by lane: a lane's initial
        state enters where it starts reading and its final state leaves where it stops."""
        left_labels, right_labels = [], []
        for lane in lanes:
            for state in self.states:
                entry, exit_ = (self._entry_label(), STYLE_DIM), self._exit_label(lane, state)
                left, right = (entry, exit_) if lane.left_to_right else (exit_, entry)
                left_labels.append(left)
                right_labels.append(right)
        return left_labels, right_labels

    def _layout(self, width: int) -> _Layout:
        """The columns: the cell and link widths, the timesteps that fit, and the x of each."""
        lanes = self.lanes()
        cell = self._cell_width(lanes)
        link = max(len(f"{s}_{self.spec.timesteps}") for s in self.states) + 3
        left_labels, right_labels = self._end_labels(lanes)
        margin_left = max(len(text) for text, _ in left_labels) + 1 + link
        margin_right = link + 1 + max(len(text) for text, _ in right_labels)
        visible = self._visible(width, margin_left + margin_right, cell, link)
        positions: list[tuple[int | None, int]] = []  # x of every drawn item (a cell, or the elision mark)
        x = margin_left
        for item in visible:
            positions.append((item, x))
            x += (cell if item is not None else len(self.g["gap"])) + link
        centre = {item: col + cell // 2 for item, col in positions if item is not None}
        return _Layout(lanes, cell, link, left_labels, right_labels, visible, positions, x - link, centre)

    def _draw_headers(self, canvas: Canvas, layout: _Layout, headers: list[str], feeding: list[int]) -> int:
        """The header lines naming the output(s), centred over the feeding columns, and a bracket
        over those columns; returns the next row."""
        g = self.g
        lo, hi = layout.centre[feeding[0]], layout.centre[feeding[-1]]
        longest = max(len(header) for header in headers)
        start = max(0, min((lo + hi) // 2 - longest // 2, canvas.width - longest))
        for row, header in enumerate(headers):
            canvas.put(row, start, header, STYLE_OUTPUT)
        row = len(headers)
        if lo == hi:
            canvas.put(row, lo, g["v"], STYLE_OUTPUT)
        else:
            canvas.put(row, lo, g["tl"] + g["h"] * (hi - lo - 1) + g["tr"], STYLE_OUTPUT)
            for item in feeding[1:-1]:
                canvas.put(row, layout.centre[item], g["down_t"], STYLE_OUTPUT)
        return row + 1

    def _draw_output_labels(self, canvas: Canvas, layout: _Layout, labels: dict[int, str], row: int) -> int:
        """The label above each feeding column (and the elision mark among them when every step
        is returned), an arrow under each label; returns the next row."""
        for item, label in labels.items():
            start = max(0, min(layout.centre[item] - len(label) // 2, canvas.width - len(label)))
            canvas.put(row, start, label, STYLE_OUTPUT)
            canvas.put(row + 1, layout.centre[item], self.g["up"], STYLE_OUTPUT)
        if self.spec.return_sequences:
            for col in layout.gap_columns():
                canvas.put(row, col, self.g["gap"], STYLE_OUTPUT)
        return row + 2

    def _lane_rows(self, lanes: list[Lane], top: int) -> tuple[list[tuple[Lane, str, int]], int]:
        """The row of each state of each lane inside cells whose top border is at ``top`` (one
        divider row between lanes), and the row of the bottom border."""
        lane_rows: list[tuple[Lane, str, int]] = []
        row = top + 1
        for index, lane in enumerate(lanes):
            if index:
                row += 1  # divider
            for state in self.states:
                lane_rows.append((lane, state, row))
                row += 1
        return lane_rows, row

    def _draw_cells(
        self,
        canvas: Canvas,
        layout: _Layout,
        labels: dict[int, str],
        lane_rows: list[tuple[Lane, str, int]],
        top: int,
        bottom: int,
    ) -> None:
        """One box per drawn timestep: a tee where an output leaves at the top and where the
        input enters at the bottom, a divider between lanes, the lane's tag and step inside."""
        g, cell = self.g, layout.cell
        inner = g["h"] * (cell - 2)
        mid = cell // 2
        for item, col in layout.cells():
            top_edge = g["tl"] + inner + g["tr"]
            if item in labels:
                top_edge = _tee(top_edge, mid, g["up_t"])
            canvas.put(top, col, top_edge, STYLE_CELL)
            canvas.put(bottom, col, _tee(g["bl"] + inner + g["br"], mid, g["down_t"]), STYLE_CELL)
            for r in range(top + 1, bottom):
                canvas.put(r, col, g["v"] + " " * (cell - 2) + g["v"], STYLE_CELL)
            for index, lane in enumerate(layout.lanes):
                first = [r for ln, _, r in lane_rows if ln is lane][0]
                if index:
                    canvas.put(first - 1, col, g["left_t"] + inner + g["right_t"], STYLE_CELL)
                name = f"{lane.tag}t={item}"
                canvas.put(first, col + (cell - len(name)) // 2, name, STYLE_CELL)

    def _draw_states(self, canvas: Canvas, layout: _Layout, lane_rows: list[tuple[Lane, str, int]]) -> None:
        """Each state of each lane: the links from cell to cell, then where it enters and leaves."""
        for (lane, state, row), left, right in zip(lane_rows, layout.left_labels, layout.right_labels):
            self._draw_links(canvas, layout, lane, state, row)
            self._draw_state_ends(canvas, layout, lane, state, row, left, right)

    def _draw_links(self, canvas: Canvas, layout: _Layout, lane: Lane, state: str, row: int) -> None:
        """The arrows between neighbouring columns, each named by the state it carries, and the
        elision mark in the row."""
        for (a, col_a), (b, _col_b) in zip(layout.positions, layout.positions[1:]):
            start = col_a + (layout.cell if a is not None else len(self.g["gap"]))
            step = _link_step(a, b, lane.left_to_right)
            canvas.put(row, start, self._link(f"{state}_{step}", layout.link, lane.left_to_right))
        for col in layout.gap_columns():
            canvas.put(row, col, self.g["gap"])

    def _draw_state_ends(
        self,
        canvas: Canvas,
        layout: _Layout,
        lane: Lane,
        state: str,
        row: int,
        left: tuple[str, str],
        right: tuple[str, str],
    ) -> None:
        """The arrows into the first column and out of the last, and their labels: the initial
        state enters where the lane starts reading, the final state leaves where it stops."""
        (left_text, left_style), (right_text, right_style) = left, right
        link, rightwards = layout.link, lane.left_to_right
        first_col, last_col = layout.positions[0][1], layout.right_edge
        kept = self.spec.stateful  # the states cross into the next batch: drawn with a double line
        left_name, right_name = ("", f"{state}_{self.spec.timesteps}") if rightwards else (f"{state}_1", "")
        canvas.put(row, first_col - link, self._link(left_name, link, rightwards, kept), left_style)
        canvas.put(row, last_col, self._link(right_name, link, rightwards, kept), right_style)
        canvas.put(row, first_col - link - 1 - len(left_text), left_text, left_style)
        canvas.put(row, last_col + link + 1, right_text, right_style)

    def _draw_inputs(self, canvas: Canvas, layout: _Layout, bottom: int) -> None:
        """x_t under each cell, with an arrow up into it; the elision mark among them."""
        for item, col in layout.positions:
            if item is None:
                canvas.put(bottom + 2, col, self.g["gap"], STYLE_INPUT)
                continue
            canvas.put(bottom + 1, layout.centre[item], self.g["up"], STYLE_INPUT)
            name = f"x_{item}"
            canvas.put(bottom + 2, layout.centre[item] - len(name) // 2, name, STYLE_INPUT)

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
        """ "returns:" and the tensors, wrapped between tensors (never inside a shape)."""
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
            notes.append(
                f"{mark} kept: stateful=True keeps the final {states} in the layer; {they} this "
                "batch as the next batch's initial state (zeros after reset_states())"
            )
        else:
            notes.append(
                f"0: {states} {'start' if len(self.states) > 1 else 'starts'} as zeros (no initial_state given)"
            )
        if spec.go_backwards or spec.bidirectional:
            suffixed = " and ".join(f"{s}_t" for s in self.states)
            finals = " and ".join(f"{s}_1" for s in self.states)
            if spec.bidirectional:
                notes.append(
                    f"{suffixed}: the state right after reading x_t; the backward lane reads backwards, so "
                    f"its last step read is x_1 and its final state is {finals} (the forward lane's is "
                    f"{' and '.join(f'{s}_T' for s in self.states)})"
                )
            else:
                notes.append(
                    f"{suffixed}: the state right after reading x_t; reading backwards, the last step read "
                    f"is x_1, so the final state is {finals}"
                )
        if spec.lengths is not None:
            notes.append(f"--lengths: at a masked step {states} pass through unchanged")
        return notes


@dataclass(frozen=True)
class _Layout:
    """Where the columns of one picture are: the lanes, the widths of a cell and of a link, the
    labels where the states enter and leave, the timesteps drawn (None marks the elided middle),
    the x of each drawn item, the x where the last item ends and the x of each cell's centre."""

    lanes: list[Lane]
    cell: int
    link: int
    left_labels: list[tuple[str, str]]
    right_labels: list[tuple[str, str]]
    visible: list[int | None]
    positions: list[tuple[int | None, int]]
    right_edge: int
    centre: dict[int, int]

    def cells(self) -> list[tuple[int, int]]:
        """(timestep, x) of each drawn cell."""
        return [(item, col) for item, col in self.positions if item is not None]

    def gap_columns(self) -> list[int]:
        """The x of the elision mark (none when every step is drawn)."""
        return [col for item, col in self.positions if item is None]


def _tee(edge: str, mid: int, tee: str) -> str:
    """A box edge with its middle character replaced by a tee (where an arrow meets it)."""
    return edge[:mid] + tee + edge[mid + 1 :]


def _link_step(a: int | None, b: int | None, left_to_right: bool) -> int:
    """The step whose state the link between the items a and b carries (None is the elision
    mark): the step read just before the link in the lane's reading direction."""
    if left_to_right:
        return a if a is not None else b - 1  # type: ignore[operator]
    return b if b is not None else a + 1  # type: ignore[operator]
