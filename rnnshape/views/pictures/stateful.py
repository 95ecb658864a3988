"""The stateful picture (stateful --diagram): the chunks as consecutive batches, the state
crossing from one into the next, and the reset.
"""

from __future__ import annotations

from typing import Any, Iterator

from rich.console import Console, ConsoleOptions
from rich.text import Text

from rnnshape.rules.words import diff_text as diff_words
from rnnshape.rules.words import shape_text
from rnnshape.views.pictures.canvas import (
    ASCII,
    STYLE_CELL,
    STYLE_INPUT,
    STYLE_OUTPUT,
    STYLE_STATE,
    UNICODE,
    Canvas,
    _wrapped,
    arrow,
)


# ==== stateful: the chunks as consecutive batches, the state crossing from one into the next ====
def stateful_diagram(
    spec: Any, data: dict[str, Any], facts: dict[str, Any], ascii_only: bool = False
) -> "StatefulDiagram":
    """The batches of ``rnnshape stateful`` (its data object: measured chunks) side by side;
    ``facts`` are the differences measure.stateful.picture_facts measured for the picture."""
    return StatefulDiagram(spec, data, facts, ascii_only)


class StatefulDiagram:
    """Rich renderable: each chunk is one call of the layer, a batch, drawn as a box with its
    input below and its output above; the state variables leave a batch on the right and enter
    the next one (a double line where this run measured the next batch starting from them).
    A wall marks layer.reset_state(), after which the last chunk is fed again from zeros."""

    def __init__(self, spec: Any, data: dict[str, Any], facts: dict[str, Any], ascii_only: bool = False):
        self.data = data
        self.facts = facts
        self.g = ASCII if ascii_only else UNICODE
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
            canvas.put(
                top, col, g["tl"] + g["h"] * (mid - 1) + g["up_t"] + g["h"] * (inner - mid) + g["tr"], STYLE_CELL
            )
            for r, text in enumerate(texts):
                canvas.put(top + 1 + r, col, g["v"] + text.center(inner) + g["v"], STYLE_CELL)
            canvas.put(
                bottom, col, g["bl"] + g["h"] * (mid - 1) + g["down_t"] + g["h"] * (inner - mid) + g["br"], STYLE_CELL
            )
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
        for (_lane, state), r in zip(rows, state_row.values()):
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
        head = [
            *_wrapped(
                f"{data['keras_call'].replace('keras.layers.', '')}: x {shape_text(x_shape)} {fed} (split {split})",
                width,
                "bold",
            ),
            *_wrapped(
                f"state variables, measured in this run: {sizes}"
                + ("; each call also returns them (return_state=True)" if spec.return_state else ""),
                width,
            ),
            Text(""),
        ]
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
        notes.append(
            f"0 {g['h'] * 2}{g['right']} batch 1 starts from zeros, a freshly built stateful layer "
            f"(measured: max |state| {diff_words(self.facts['first_initial'])})"
        )
        if count > 1:
            carried = max(self._carried(k) for k in range(1, count))
            verdict = "starts" if carried <= self.facts["tolerance"] else "does NOT start"
            notes.append(
                f"{g['kept'] * 2}{g['right']} kept: each batch {verdict} from the previous batch's final "
                f"state, row i from row i: sample i continues sample i (measured: max |diff| "
                f"{diff_words(carried)})"
            )
        same = self.facts["rerun_vs_chain"]
        notes.append(
            f"{g['wall']} layer.reset_state() sets every state variable to zeros (measured: max |state| "
            f"{diff_words(self.facts['after_reset'])}); batch {rerun['index']} fed again starts over"
            + (
                f": its output differs from its output in the chain by max |diff| {diff_words(same)}"
                if count > 1
                else ""
            )
        )
        for reading in data["reading"]:
            if reading["go_backwards"] and count > 1:
                order, pieces, position = reading["order"], [], 0
                for chunk in chunks:
                    pieces.append(order[position : position + len(chunk["steps"])])
                    position += len(chunk["steps"])
                note = (
                    f"{reading['layer']} reads each batch backwards within itself (go_backwards=True): its "
                    f"state leaves batch 1 after reading x_{pieces[0][-1] + 1} and enters batch 2 at x_{pieces[1][0] + 1} "
                    "(rule of Keras"
                )
                as_read = data["single_pass"].get("as_read")
                if as_read is not None:
                    note += (
                        "; measured: the batches equal one pass over x in that reading order, max |diff| "
                        f"{diff_words(max(as_read['output_max_abs_diff'], as_read['final_state_max_abs_diff']))}"
                    )
                notes.append(note + ")")
        return [line for note in notes for line in _wrapped(note, width)]
