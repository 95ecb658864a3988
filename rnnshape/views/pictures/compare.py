"""compare --diagram: one unrolled picture per distinct output structure."""

from __future__ import annotations

from typing import Any, Iterator

from rich.console import Console, ConsoleOptions
from rich.text import Text

from rnnshape.rules.options import NUMBERS_ONLY
from rnnshape.views.pictures.canvas import _wrapped
from rnnshape.views.pictures.unrolled import diagram_for


# ==== compare: one unrolled picture per distinct output structure ==============================
def compare_diagrams(rows: list[dict[str, Any]], specs: list[Any], ascii_only: bool = False) -> "ComparePictures":
    """The rows of ``rnnshape compare`` (with their specs) drawn unrolled, one picture per
    distinct structure."""
    return ComparePictures(rows, specs, ascii_only)


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

    def __init__(self, rows: list[dict[str, Any]], specs: list[Any], ascii_only: bool = False):
        self.rows = rows
        self.specs = specs
        self.ascii_only = ascii_only

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        yield from self.render_lines(options.max_width)

    def render_lines(self, width: int) -> list[Text]:
        groups = structure_groups(self.rows, self.specs)
        count, rows = len(groups), len(self.rows)
        timesteps = self.rows[0]["config"]["timesteps"]
        head = (
            f"Unrolled over {timesteps} timestep{'s' if timesteps != 1 else ''} (rules of Keras; shapes as in "
            f"the table): one picture per distinct output structure, {count} for {rows} "
            f"row{'s' if rows != 1 else ''}"
        )
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
                lines += diagram_for(spec, self.rows[group[0]], self.ascii_only).render_lines(width)[1:]
                continue
            drawn, own = diagram_for(spec, self.rows[group[0]], self.ascii_only).compact_lines(width)
            lines += drawn
            notes.update(dict.fromkeys(own))
        if notes:
            lines.append(Text(""))
        return lines + [line for note in notes for line in _wrapped(note, width)]
