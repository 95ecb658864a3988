"""The `rnnshape generate` view: the loop, sample 1 call by call (the known part, then each
generated step with its input), the measured comparisons, the checks, the rules and the picture
of the calls (--diagram)."""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np
from rich.table import Table
from rich.text import Text

from rnnshape.views.common import TABLE_BOX, axes_text, boxed, checks_table, diff_text, header_line, shape_text
from rnnshape.views.pictures.canvas import ASCII, UNICODE

MAX_ROWS = 16  # table rows shown before the middle is elided (JSON has every step with --values)


def render(result: Any, width: int) -> Iterator[Any]:
    yield from render_generate(
        result.data,
        result.rows,
        width,
        diagram=result.view.diagram,
        ascii_only=result.view.ascii_only,
        values=result.view.values,
    )


def _vector(values: list[float]) -> str:
    """A step's features, 4 decimals; the first three and the last when there are more than four."""
    shown = [f"{v:.4f}" for v in values]
    if len(shown) > 4:
        shown = [*shown[:3], "...", shown[-1]]
    return "[" + " ".join(shown) + "]"


def _array_text(values: Any, width: int) -> str:
    with np.printoptions(precision=4, suppress=True, threshold=80, edgeitems=3, linewidth=max(40, width)):
        return str(np.asarray(values, dtype=np.float32))


def _shown(rows: list[Any]) -> list[Any | None]:
    """The rows a table shows: all, or the first and last ones around a None (the elision)."""
    if len(rows) <= MAX_ROWS:
        return list(rows)
    head = MAX_ROWS // 2
    return [*rows[:head], None, *rows[-(MAX_ROWS - head - 1) :]]


def _layer_name(data: dict[str, Any]) -> str:
    return data["keras_call"].removeprefix("keras.layers.").split("(")[0]


def picture(data: dict[str, Any], ascii_only: bool) -> Text:
    """The calls top to bottom: the known part read in one call, each generated step fed back
    as the next call's input, the state carried from call to call, the resets."""
    g = ASCII if ascii_only else UNICODE
    known = data["known"]["shape"][1]
    steps = data["steps"]
    box = f"{_layer_name(data)}{' + Dense' if data['head'] else ''}"
    measured = data["measured"]
    xs = "x_1" if known == 1 else f"x_1..x_{known}"
    ys = f"y_{known}" if known == 1 else f"y_1..y_{known}"
    arrow = f" {g['h'] * 2}{g['right']} "
    lines: list[tuple[str, str]] = [
        (
            f"reset_state(){' ' * 6}{g['wall']} state = zeros (measured: max |state| "
            f"{diff_text(measured['initial_state_max_abs'])})",
            "dim",
        )
    ]
    lines.append((f"call 1 (warm-up)   {xs}{arrow}[ {box} ]{arrow}{ys}", ""))
    indent = " " * 19
    shown = list(range(1, steps + 1))
    if steps > 6:
        shown = [1, 2, 3, None, steps - 1, steps]
    previous = f"y_{known}"
    for index in shown:
        if index is None:
            lines.append((f"{indent}{g['gap'].strip()}  ({steps - 5} more calls, each the same)", "dim"))
            continue
        lines.append(
            (
                f"{indent}{g['v']} state kept (stateful=True); {previous if index == 1 or shown[shown.index(index) - 1] is not None else f'g_{index - 1}'} fed back",
                "dim",
            )
        )
        name = f"g_{index}"
        source = f"y_{known}" if index == 1 else f"g_{index - 1}"
        lines.append((f"call {index + 1:<13} {source}{arrow}[ {box} ]{arrow}{name}", ""))
        previous = name
    lines.append(
        (
            f"reset_state(){' ' * 6}{g['wall']} state = zeros again (measured: max |state| "
            f"{diff_text(measured['after_reset_max_abs'])})",
            "dim",
        )
    )
    lines.append(("", ""))
    lines.append(
        (
            f"g = the initial_state loop's (max |diff| {diff_text(measured['initial_state_loop']['max_abs_diff'])})",
            "bold",
        )
    )
    lines.append(
        (
            f"g = a non-stateful model on the whole sequence (max |diff| "
            f"{diff_text(measured['whole_sequence']['max_abs_diff'])})",
            "bold",
        )
    )
    lines.append(
        (
            f"a reset between call 1 and call 2 changes g by up to "
            f"{diff_text(measured['reset_between']['max_abs_diff'])}",
            "bold",
        )
    )
    forgot = measured["no_first_reset"]
    lines.append(
        (
            f"the first reset forgotten changes y by up to {diff_text(forgot['warm_up_max_abs_diff'])}, "
            f"g by up to {diff_text(max(forgot['per_step']))}",
            "bold",
        )
    )
    text = Text()
    for i, (line, style) in enumerate(lines):
        if i:
            text.append("\n")
        text.append(line, style=style or None)
    return text


def render_generate(
    data: dict[str, Any],
    rows: list[dict[str, Any]],
    width: int,
    *,
    diagram: bool = False,
    ascii_only: bool = False,
    values: bool = False,
) -> Iterator[Any]:
    config = data["config"]
    known = data["known"]
    steps = data["steps"]
    yield from header_line(data["keras_call"], data, width)
    where = (
        f"the file {config['input']}"
        if known["source"] == "file"
        else f"{known['source']}, seed {config['seed']} (the same x and weights as rnnshape inspect)"
    )
    yield (f"known part x: {shape_text(known['shape'])} = {axes_text(known['axes'])}, {known['dtype']}, from {where}")
    head = f" -> {data['head']['keras_call']}" if data["head"] else ""
    yield f"in a model: {data['keras_input']} -> {_layer_name(data)}{head}"
    yield (
        f"generates {steps} step{'s' if steps > 1 else ''}, one call each, each call fed the previous call's "
        f"last output: generated {shape_text(data['generated']['shape'])} = "
        f"{axes_text(data['generated']['axes'])}"
    )
    yield ""
    if diagram:
        yield picture(data, ascii_only)
        yield ""
    yield Text("The loop (Python, as the tool runs it)", style="bold")
    for line in data["code"]:
        yield Text("  " + line)
    yield ""
    measured = data["measured"]
    between = measured["reset_between"]["per_step"]
    forgot = measured["no_first_reset"]["per_step"]
    table = Table(
        title="Sample 1, call by call; the last two columns: max |diff| over every sample from a loop "
        "with a reset between, and one without the first reset",
        title_justify="left",
        box=TABLE_BOX,
    )
    columns = (
        ("call", "right", True),
        ("in", "left", True),
        ("input", "left", False),
        ("out", "left", True),
        ("output", "left", False),
        ("reset between", "right", True),
        ("no 1st reset", "right", True),
    )
    for name, justify, no_wrap in columns:
        table.add_column(name, justify=justify, no_wrap=no_wrap, overflow="fold")
    known_steps = data["known"]["shape"][1]
    for row in _shown(rows):
        if row is None:
            table.add_row("...", "", "", "", "", "", "")
            continue
        i = row["step"]
        if row["kind"] == "known":
            table.add_row("1", f"x_{i}", _vector(row["input"]), f"y_{i}", _vector(row["output"]), "", "")
        else:
            source = f"y_{known_steps}" if i == 1 else f"g_{i - 1}"
            table.add_row(
                str(i + 1),
                source,
                _vector(row["input"]),
                f"g_{i}",
                _vector(row["output"]),
                diff_text(between[i - 1]),
                diff_text(forgot[i - 1]),
            )
    yield boxed(table, ascii_only)
    yield ""
    manual, whole = measured["initial_state_loop"], measured["whole_sequence"]
    yield (
        f"stateful loop versus the initial_state loop: {'equal' if manual['equal'] else 'NOT equal'} (measured: "
        f"max |diff| {diff_text(manual['max_abs_diff'])})"
    )
    yield (
        f"stateful loop versus a non-stateful model on the whole sequence: {'equal' if whole['equal'] else 'NOT equal'} "
        f"(measured: max |diff| {diff_text(whole['max_abs_diff'])})"
    )
    reset, forgot_all = measured["reset_between"], measured["no_first_reset"]
    yield (
        f"a reset between warm-up and forecast changes the forecast by up to {diff_text(reset['max_abs_diff'])} "
        f"(first step {diff_text(reset['per_step'][0])}, last {diff_text(reset['per_step'][-1])})"
    )
    yield (
        f"forgetting the first reset changes the warm-up output by up to "
        f"{diff_text(forgot_all['warm_up_max_abs_diff'])} and the generated steps by up to "
        f"{diff_text(max(forgot_all['per_step']))} (it started from a state up to "
        f"{diff_text(forgot_all['started_from_max_abs'])} in size)"
    )
    yield ""
    if values:
        yield Text(f"generated {shape_text(data['generated']['shape'])}", style="bold cyan")
        yield Text(_array_text(data["generated"]["values"], width - 4))
        yield ""
    yield boxed(checks_table(data["checks"]), ascii_only)
    yield Text("Rules of Keras (from its documentation and source; not measured here)", style="bold")
    rules = Table.grid(padding=(0, 1))
    rules.add_column(no_wrap=True)
    rules.add_column(overflow="fold")
    for rule in data["rules"]:
        rules.add_row("-", rule)
    yield rules
