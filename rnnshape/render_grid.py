"""Rich views of many configurations at once: compare's grid and check's cases. No TensorFlow."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from rnnshape.compare import check_totals, reference_rows, row_changes
from rnnshape.render import TABLE_BOX, axes_text, boxed, render_values, shape_text

KERAS_PREFIX = "keras.layers."
CHANGE_STYLE = "bold yellow"


def _short_call(call: str) -> str:
    """keras.layers.Bidirectional(keras.layers.LSTM(4)) -> Bidirectional(LSTM(4))."""
    return call.replace(KERAS_PREFIX, "")


def _flag_text(flags: list[str]) -> str:
    return " x ".join(flags) if flags else "none"


def render_compare(console: Console, data: dict[str, Any], *, values: bool = False, diagram: bool = False,
                   ascii: bool = False) -> None:
    """The compare view; ``diagram`` adds the unrolled pictures after the tables (one per
    distinct output structure), ``ascii`` draws pictures and tables with ASCII characters only."""
    rows, grid = data["rows"], data["grid"]
    first = rows[0]
    layers = ", ".join(grid["layers"])
    console.print(Text(f"{len(rows)} configurations: {layers} x grid {_flag_text(grid['vary'])}", style="bold"))
    inp = first["input"]
    console.print(f"input x: {shape_text(inp['shape'])} = {axes_text(inp['axes'])}, {inp['dtype']}, "
                  f"seed {first['config']['seed']}, the same in every row")
    fixed = [f"{key}={value}" for key, value in grid["fixed"].items() if value not in (None, False)]
    if fixed:
        console.print("fixed in every row: " + ", ".join(fixed))
    if data.get("static"):
        console.print("static: shapes and parameters from rnnshape's model of Keras' rules; nothing was run")
    console.print()
    console.print(boxed(compare_table(rows), ascii))
    skipped = grid.get("skipped", [])
    if skipped:
        console.print(f"left out: {len(skipped)} combinations, e.g. {_short_call(skipped[0]['keras_call'])}: "
                      f"{skipped[0]['reason']}")
        console.print()
    if data["changes"]:
        console.print(boxed(changes_table(data["changes"], grid["layers"], static=bool(data.get("static")),
                                          width=console.width), ascii))
    if not data.get("static"):
        held, total = check_totals(rows)
        line = f"measured in this run: {held} of {total} checks hold across the {len(rows)} rows"
        line += " (each row's checks are in --json, or run rnnshape inspect with the row's flags)"
        console.print(Text(line, style="green" if held == total else "bold red"))
        for index, row in enumerate(rows):
            for check in row["checks"]:
                if not check["holds"]:
                    console.print(Text(f"  row {index}: does NOT hold: {check['claim']} "
                                       f"(max |diff| {check['max_abs_diff']:.3g})", style="bold red"))
    if diagram:
        from rnnshape.diagram import compare_diagrams

        if not data.get("static"):
            console.print()  # after the measured line (a table already ends with a blank line)
        console.print(compare_diagrams(rows, ascii=ascii))
    if values:
        for index, row in enumerate(rows):
            console.print()
            console.print(Text(f"row {index}: {row['keras_call']}", style="bold"))
            render_values(console, row)


def compare_table(rows: list[dict[str, Any]]) -> Table:
    """One row per configuration; what differs from the layer's first row is spelled out in
    words (and coloured on a terminal)."""
    table = Table(title="One row per configuration (layer calls without the keras.layers. prefix)",
                  title_justify="left", box=TABLE_BOX)
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
        note = Text(f"reference for {row['config']['layer']}" if change == "reference" else f"vs row {ref}: {change}",
                    style="dim" if change == "reference" else "")
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
    table = Table(title=f"What each change does alone (pairs of rows that differ only there; {source})",
                  title_justify="left", box=TABLE_BOX, expand=True)
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


# ---- check --------------------------------------------------------------------------------
def render_check(console: Console, data: dict[str, Any]) -> None:
    total = data["summary"]
    console.print(Text(f"rnnshape check {data['file']}: {_count(total['cases'], 'case')}", style="bold"))
    if data.get("static"):
        console.print("static: shapes from rnnshape's model of Keras' rules; nothing was run")
    console.print()
    console.print(check_table(data["cases"]))
    verdict = f"{total['passed']} of {_count(total['cases'], 'case')} " + ("holds" if total["cases"] == 1 else "hold")
    if total["failed"]:
        verdict += f", {total['failed']} failed"
    console.print(Text(verdict, style="bold red" if total["failed"] else "green"))
    if data.get("junit"):
        console.print(f"JUnit report: {data['junit']}")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def check_table(cases: list[dict[str, Any]]) -> Table:
    table = Table(title="Cases", title_justify="left", box=TABLE_BOX)
    table.add_column("result", no_wrap=True)
    table.add_column("case", overflow="fold", ratio=2)
    table.add_column("Keras call", overflow="fold", ratio=2)
    table.add_column("expected vs actual", overflow="fold", ratio=4)
    for case in cases:
        if case["passed"]:
            mark = Text("PASS", style="green")
            detail = Text("\n".join(f"{e['name']} {shape_text(e['actual'])}" for e in case["expectations"]))
        else:
            mark = Text("FAIL", style="bold red")
            detail = Text("\n".join(case["problems"]), style="red")
        table.add_row(mark, case["name"], _short_call(case["keras_call"]), detail)
    return table
