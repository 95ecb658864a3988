"""The trace view: the equations, one table per direction with every gate and state of the
shown steps, the notes, the measured checks and the verdict. No TensorFlow here."""

from __future__ import annotations

from typing import Any, Iterator

from rich.table import Table
from rich.text import Text

from rnnshape.views.common import TABLE_BOX, checks_table, diff_text, header_line, shape_text

# Many units or features: show the first HEAD and last TAIL indices in the table.
MAX_ROWS_SHOWN = 8
HEAD, TAIL = 4, 2
COLUMN_TITLES = {"i": "i", "f": "f", "g": "g", "o": "o", "z": "z", "r": "r", "h_tilde": "h~"}


def shown_indices(n: int) -> list[int | None]:
    """0..n-1, or the first HEAD, None (an elision mark) and the last TAIL when n is large."""
    if n <= MAX_ROWS_SHOWN:
        return list(range(n))
    return list(range(HEAD)) + [None] + list(range(n - TAIL, n))


def number(value: float) -> str:
    text = f"{value:.4f}"
    return "0.0000" if text == "-0.0000" else text


def column(values: list[float] | None, indices: list[int | None]) -> str:
    if values is None:
        return ""
    return "\n".join("⋮" if i is None else number(values[i]) for i in indices)


def render(result: Any, width: int) -> Iterator[Any]:
    data, shown_positions, elision_note = result.data, result.shown_positions, result.elision_note
    config = data["config"]
    yield from header_line(data["keras_call"], data, width)
    inp = data["input"]
    yield (
        f"input x: {shape_text(inp['shape'])} = [{', '.join(inp['axes'])}], {inp['dtype']}, "
        f"seed {config['seed']}; sample {config['sample']} shown"
    )
    yield ""
    yield (equations_table(data))
    yield (Text("weights: " + data["weights_layout"] + " (rule of Keras)"))
    yield ""
    units = shown_indices(config["units"])
    features = shown_indices(config["features"])
    for direction in data["directions"]:
        steps = [s for s in data["steps"] if s["direction"] == direction["direction"]]
        if shown_positions is not None:
            wanted = {p + 1 for p in shown_positions}
            steps = [s for s in steps if s["step"] in wanted]
        yield (steps_table(data, direction, steps, units, features))
    notes = list(data["notes"])
    if elision_note:
        notes.insert(0, elision_note)
    if config["units"] > MAX_ROWS_SHOWN or config["features"] > MAX_ROWS_SHOWN:
        notes.append(f"units and features beyond {MAX_ROWS_SHOWN} are elided (⋮) in the table; --json has all")
    for note in notes:
        yield (Text("note: " + note))
    if notes:
        yield ""
    yield (checks_table(data["checks"]))
    verdict = "agrees" if data["agrees"] else "DOES NOT agree"
    relative = " relative to values above 1" if data["agrees"] and data["max_abs_diff"] > data["tolerance"] else ""
    yield (
        Text(
            f"max |numpy - Keras| = {diff_text(data['max_abs_diff'])} (limit {data['tolerance']:.0e}{relative}): "
            f"the recomputation {verdict} with Keras",
            style="bold" if data["agrees"] else "bold red",
        )
    )


def equations_table(data: dict[str, Any]) -> Table:
    table = Table(
        title="The cell, as Keras computes it (rule of Keras; checked below)",
        title_justify="left",
        box=None,
        show_header=False,
        padding=(0, 2, 0, 2),
    )
    table.add_column("equation", no_wrap=True)
    table.add_column("what", overflow="fold")
    for row in data["equations"]:
        table.add_row(row["equation"], row["what"])
    return table


def steps_table(
    data: dict[str, Any],
    direction: dict[str, Any],
    steps: list[dict[str, Any]],
    units: list[int | None],
    features: list[int | None],
) -> Table:
    config = data["config"]
    layer = config["layer"]
    backward = direction["direction"] == "backward"
    who = direction["direction"] if config["bidirectional"] else layer.upper() if layer != "simplernn" else "SimpleRNN"
    title = f"{who}, sample {config['sample']}: {direction['reads']}"
    table = Table(title=title, title_justify="left", box=TABLE_BOX)
    if backward:
        table.add_column("step", justify="right")
    table.add_column("t", justify="right")
    table.add_column("x_t", justify="right", no_wrap=True)
    table.add_column("unit", justify="right")
    gate_names = list(data["gates"])
    for g in gate_names:
        table.add_column(COLUMN_TITLES[g], justify="right", no_wrap=True)
    if layer == "simplernn":
        table.add_column("xW+hU+b", justify="right", no_wrap=True)
    if layer == "lstm":
        table.add_column("c_t", justify="right", no_wrap=True, style="magenta")
    table.add_column("h_t", justify="right", no_wrap=True, style="cyan")
    table.add_column("returned as", overflow="fold")
    unit_labels = "\n".join("⋮" if u is None else str(u) for u in units)
    previous = None
    for step in steps:
        if previous is not None and step["step"] != previous + 1:
            cells = ([""] if backward else []) + ["⋮"] + [""] * (len(table.columns) - (2 if backward else 1))
            table.add_row(*cells)
        previous = step["step"]
        row = [str(step["step"])] if backward else []
        row += [str(step["t"]), column(step["x"], features), unit_labels]
        if step["masked"]:  # the cell's output is discarded: no gate values to show
            row += ["masked"] + [""] * (len(gate_names) + (layer == "simplernn") - 1)
        else:
            row += [column(step["gates"][g], units) for g in gate_names]
            if layer == "simplernn":
                row.append(column(step["pre_activation"], units))
        if layer == "lstm":
            row.append(column(step["c"], units))
        row.append(column(step["h"], units))
        row.append(returned_text(step))
        table.add_row(*row)
    return table


def returned_text(step: dict[str, Any]) -> str:
    lines = [f"0 -> {name}" for name in step["returned_as"].get("zero", [])]
    for state in ("h", "c"):
        for name in step["returned_as"].get(state, []):
            lines.append(f"{state} -> {name}")
    if step["masked"]:
        lines.append("state carried over")
    return "\n".join(lines)
