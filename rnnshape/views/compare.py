"""The compare view: one row per configuration, what each flag and layer changes, the measured
claims, the pictures (--diagram) and the values. No TensorFlow."""

from __future__ import annotations

from typing import Any, Iterator

from rich.table import Table
from rich.text import Text

from rnnshape.rules.grid import check_totals, reference_rows, row_changes
from rnnshape.views.common import TABLE_BOX, axes_text, boxed, diff_text, header_line, render_values, shape_text
from rnnshape.views.pictures.compare import compare_diagrams

KERAS_PREFIX = "keras.layers."
CHANGE_STYLE = "bold yellow"


def _short_call(call: str) -> str:
    """keras.layers.Bidirectional(keras.layers.LSTM(4)) -> Bidirectional(LSTM(4))."""
    return call.replace(KERAS_PREFIX, "")


def _flag_text(flags: list[str]) -> str:
    return " x ".join(flags) if flags else "none"


def render(result: Any, width: int) -> Iterator[Any]:
    """The compare view; ``diagram`` adds the unrolled pictures after the tables (one per
    distinct output structure), ``ascii_only`` draws pictures and tables with ASCII characters only."""
    data, values, diagram, ascii_only = result.data, result.view.values, result.view.diagram, result.view.ascii_only
    rows, grid = data["rows"], data["grid"]
    static = bool(data.get("static"))
    layers = ", ".join(grid["layers"])
    yield from header_line(f"{len(rows)} configurations: {layers} x grid {_flag_text(grid['vary'])}", data, width)
    yield from _input_lines(rows)
    fixed = [f"{key}={value}" for key, value in grid["fixed"].items() if value not in (None, False)]
    if fixed:
        yield ("fixed in every row: " + ", ".join(fixed))
    if static:
        yield ("static: shapes and parameters from rnnshape's model of Keras' rules; nothing was run")
    yield ""
    yield (boxed(compare_table(rows), ascii_only))
    yield from _skipped_lines(grid.get("skipped", []))
    if data["changes"]:
        yield (boxed(changes_table(data["changes"], grid["layers"], static=static, width=width), ascii_only))
    if not static:
        yield from _measured_lines(rows)
    if data.get("backends"):
        yield from _backend_lines(data, ascii_only)
    if diagram:
        if not static:
            yield ""  # after the measured line (a table already ends with a blank line)
        yield compare_diagrams(rows, result.specs, ascii_only=ascii_only)
    if values:
        yield from _values_lines(rows, width)


def _input_lines(rows: list[dict[str, Any]]) -> Iterator[str]:
    """The input x: one line per input shape (ConvLSTM rows read a map per step), naming the
    layers of its rows unless every row reads the same."""
    first = rows[0]
    inputs: dict[tuple, list[str]] = {}
    for row in rows:
        key = (tuple(row["input"]["shape"]), tuple(row["input"]["axes"]))
        inputs.setdefault(key, [])
        if row["config"]["layer"] not in inputs[key]:
            inputs[key].append(row["config"]["layer"])
    for (shape, axes), owners in inputs.items():
        which = "the same in every row" if len(inputs) == 1 else f"in the {', '.join(owners)} rows"
        yield (
            f"input x: {shape_text(shape)} = {axes_text(list(axes))}, {first['input']['dtype']}, "
            f"seed {first['config']['seed']}, {which}"
        )


def _skipped_lines(skipped: list[dict[str, Any]]) -> Iterator[str]:
    """The combinations of the grid left out: how many, and the first with its reason."""
    if skipped:
        yield (
            f"left out: {len(skipped)} combinations, e.g. {_short_call(skipped[0]['keras_call'])}: "
            f"{skipped[0]['reason']}"
        )
        yield ""


def _measured_lines(rows: list[dict[str, Any]]) -> Iterator[Text]:
    """How many of the measured checks hold across the rows, and each one that does not."""
    held, total = check_totals(rows)
    line = f"measured in this run: {held} of {total} checks hold across the {len(rows)} rows"
    line += " (each row's checks are in --json, or run rnnshape inspect with the row's flags)"
    yield (Text(line, style="green" if held == total else "bold red"))
    for index, row in enumerate(rows):
        for check in row["checks"]:
            if not check["holds"]:
                yield (
                    Text(
                        f"  row {index}: does NOT hold: {check['claim']} (max |diff| {check['max_abs_diff']:.3g})",
                        style="bold red",
                    )
                )


def _backend_lines(data: dict[str, Any], ascii_only: bool) -> Iterator[Any]:
    """compare --backend: the backends that ran and the table of differences."""
    yield ""
    yield (
        "backends: "
        + ", ".join(f"{b['backend']} {b['version']}" for b in data["backends"])
        + f" (Keras {data['backends'][0]['keras']}; jax and torch ran in a child process each)"
    )
    yield boxed(backends_table(data), ascii_only)


def _values_lines(rows: list[dict[str, Any]], width: int) -> Iterator[Any]:
    """--values: each row's Keras call and its values."""
    for index, row in enumerate(rows):
        yield ""
        yield (Text(f"row {index}: {row['keras_call']}", style="bold"))
        yield from render_values(row, width)


def backends_table(data: dict[str, Any]) -> Table:
    """compare --backend: per row and output, the shape and max |difference| on each backend."""
    ran = data["backends"]
    first = ran[0]
    title = f"Each output's max |difference| from {first['backend']}"
    table = Table(title=title, title_justify="left", box=TABLE_BOX)
    table.add_column("#", justify="right")
    table.add_column("output")
    others = [b["backend"] for b in ran[1:]]
    for name in others:
        table.add_column(name, justify="right")
    for index, row in enumerate(data["rows"]):
        by_output: dict[str, dict[str, Any]] = {}
        for entry in row.get("backends", []):
            by_output.setdefault(entry["output"], {})[entry["backend"]] = entry
        for output, entries in by_output.items():
            cells = []
            for name in others:
                entry = entries[name]
                text = diff_text(entry["max_abs_diff"]) + ("" if entry["holds"] else " DIFFERS")
                cells.append(Text(text, style="" if entry["holds"] else "bold red"))
            table.add_row(str(index), f"{output} {shape_text(entries[others[0]]['shape'])}", *cells)
    return table


def compare_table(rows: list[dict[str, Any]]) -> Table:
    """One row per configuration; what differs from the layer's first row is spelled out in
    words (and coloured on a terminal)."""
    table = Table(
        title="One row per configuration (layer calls without the keras.layers. prefix)",
        title_justify="left",
        box=TABLE_BOX,
    )
    table.add_column("#", justify="right")
    table.add_column("Keras call", overflow="fold", min_width=24)
    table.add_column("outputs: name shape", no_wrap=True)
    table.add_column("params", justify="right")
    table.add_column("what differs", overflow="fold", min_width=24)
    refs = reference_rows(rows)
    for index, (row, ref, change) in enumerate(zip(rows, refs, row_changes(rows))):
        reference = {o["name"]: o["shape"] for o in rows[ref]["outputs"]}
        outputs = Text()
        for number, out in enumerate(row["outputs"]):
            if number:
                outputs.append("\n")
            changed = reference.get(out["name"]) != out["shape"]
            outputs.append(out["name"], style=CHANGE_STYLE if changed else "cyan")
            outputs.append(" " + shape_text(out["shape"]), style=CHANGE_STYLE if changed else "")
        note = Text(
            f"reference for {row['config']['layer']}" if change == "reference" else f"vs row {ref}: {change}",
            style="dim" if change == "reference" else "",
        )
        table.add_row(str(index), _short_call(row["keras_call"]), outputs, str(row["params"]["total"]), note)
    return table


def _rows_text(pairs: list[list[int]]) -> str:
    """'0->2, 1->3' for two pairs; '0->8, +11 more' for more."""
    shown = [f"{a}->{b}" for a, b in (pairs if len(pairs) <= 2 else pairs[:1])]
    if len(pairs) > 2:
        shown.append(f"+{len(pairs) - 1} more")
    return ", ".join(shown)


def changes_table(changes: list[dict[str, Any]], layers: list[str], *, static: bool = False, width: int = 100) -> Table:
    """Each flag (and each layer after the first) alone; a flag whose effect depends on the
    layer gets one line per group of layers, named in brackets."""
    source = "rnnshape's static model" if static else "the shapes Keras returned"
    table = Table(
        title=f"What each change does alone (pairs of rows that differ only there; {source})",
        title_justify="left",
        box=TABLE_BOX,
        expand=True,
    )
    # Fixed widths for the label and the row pairs leave the rest to the effect; at 100 columns
    # every label and pair list of a grid fits on one line.
    table.add_column("change", overflow="fold", width=min(30, width * 3 // 10))
    table.add_column("effect", overflow="fold", ratio=1)
    table.add_column("rows", overflow="fold", width=min(16, width // 6))
    for entry in changes:
        label = entry["change"]
        if entry["dimension"] != "layer" and entry["layers"] != layers:
            label += f" ({', '.join(entry['layers'])})"
        table.add_row(Text(label, style="bold"), Text(entry["effect"], style=CHANGE_STYLE), _rows_text(entry["rows"]))
    return table
