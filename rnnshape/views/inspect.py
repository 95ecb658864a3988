"""The inspect view: the Keras call, the input, the picture (--diagram), the outputs, the
parameters, h versus c, the measured facts, the masked steps, the values and the expectations."""

from __future__ import annotations

import math
from typing import Any, Iterator

from rich.table import Table
from rich.text import Text

from rnnshape.views.common import (
    ASCII_TABLE_BOX,
    TABLE_BOX,
    axes_text,
    checks_table,
    diff_text,
    header_line,
    render_values,
    shape_text,
)
from rnnshape.views.pictures.unrolled import diagram_for


def render(result: Any, width: int) -> Iterator[Any]:
    """An InspectResult: the layer view, then the expected shapes (--expect)."""
    view = result.view
    yield from render_layer(
        result.data, result.spec, width, values=view.values, diagram=view.diagram, ascii_only=view.ascii_only
    )
    if "expectations" in result.data:
        table = expectations_table(result.data["expectations"])
        if view.ascii_only:
            table.box = ASCII_TABLE_BOX
        yield table


def render_layer(
    data: dict[str, Any],
    spec: Any,
    width: int,
    *,
    values: bool = False,
    diagram: bool = False,
    ascii_only: bool = False,
) -> Iterator[Any]:
    """The whole inspect view of one configuration; ``diagram`` adds the unrolled picture
    before the tables, ``ascii_only`` draws picture and tables with ASCII characters only."""
    yield from header_line(data["keras_call"], data, width)
    yield from _intro_lines(data)
    yield ""
    if diagram:
        yield diagram_for(spec, data, ascii_only=ascii_only)
        yield ""
    for table in _tables(data):
        if ascii_only and isinstance(table, Table):
            table.box = ASCII_TABLE_BOX
        yield (table)
    for fact in data.get("voided_facts", []):
        yield f"not claimed here: {fact}"
    for note in data.get("notes", []):
        yield f"note: {note}"
    if values:
        yield from render_values(data, width)


def _intro_lines(data: dict[str, Any]) -> Iterator[str]:
    """The lines under the header: how the layer was called, its initial state, the input x
    and its notes, the fixed batch of a stateful layer, and whether anything was run."""
    config = data["config"]
    if data.get("call", "layer(x)") != "layer(x)":
        yield f"called as: {data['call']}"
    if data.get("initial_state"):
        state = data["initial_state"]
        yield (
            "initial_state: "
            + ", ".join(f"{name} {shape_text(shape)}" for name, shape in zip(state["names"], state["shapes"]))
            + f" from {state['source']}"
        )
    yield _input_line(data["input"], config)
    for note in data["input"].get("notes", []):
        yield (f"note: {note}")
    if config.get("stateful"):
        yield (f"stateful: the batch size is fixed, as Keras requires: {data['keras_input']}")
    if data.get("static"):
        yield (
            "static: shapes and parameters from rnnshape's model of Keras' rules; "
            "nothing was run (drop --static for values and measured checks)"
        )


def _input_line(inp: dict[str, Any], config: dict[str, Any]) -> str:
    """input x: its shape, axes, dtype and seed, the valid lengths (--lengths) and where it
    came from when it is not random."""
    line = f"input x: {shape_text(inp['shape'])} = {axes_text(inp['axes'])}, {inp['dtype']}, seed {config['seed']}"
    if config.get("lengths"):
        line += f", valid lengths {','.join(str(n) for n in config['lengths'])} (the rest is masked zero padding)"
    if inp.get("source", "random") != "random":
        line += f", input {inp['source']}"
    return line


def _tables(data: dict[str, Any]) -> list[Any]:
    """The outputs, the parameters, h versus c, and the measured checks and masked steps when
    there are any."""
    tables = [
        outputs_table(data["outputs"]),
        params_table(data["params"]),
        params_line(data["params"]),
        Text(),
        h_vs_c_table(data["h_vs_c"], data["config"]["layer"]),
    ]
    if data.get("checks"):
        tables.append(checks_table(data["checks"]))
    if data.get("masking"):
        tables.append(masking_table(data["masking"]))
    return tables


def outputs_table(outputs: list[dict[str, Any]]) -> Table:
    table = Table(title="Outputs, in the order Keras returns them", title_justify="left", box=TABLE_BOX)
    table.add_column("#")
    table.add_column("name", no_wrap=True)
    table.add_column("shape [axes]", no_wrap=True)
    table.add_column("dtype")
    table.add_column("meaning", overflow="fold")
    for index, out in enumerate(outputs):
        table.add_row(
            str(index),
            Text(out["name"], style="bold cyan"),
            f"{shape_text(out['shape'])}\n{axes_text(out['axes'])}",
            out["dtype"],
            out["meaning"],
        )
    return table


def params_table(params: dict[str, Any]) -> Table:
    table = Table(title="Parameters", title_justify="left", box=TABLE_BOX)
    table.add_column("weight", overflow="fold")
    table.add_column("shape")
    table.add_column("size", justify="right")
    for weight in params["weights"]:
        table.add_row(weight["name"], shape_text(weight["shape"]), str(math.prod(weight["shape"])))
    return table


def params_line(params: dict[str, Any]) -> Text:
    line = f"parameters: {params['total']} = {params['formula'].rsplit(' = ', 1)[0]}"
    if "keras_count_params" in params:
        line += f"; Keras count_params() = {params['keras_count_params']}"
    return Text(line)


def h_vs_c_table(rows: list[dict[str, str]], layer: str) -> Table:
    table = Table(title="h versus c (rules of Keras)", title_justify="left", box=TABLE_BOX)
    for column in ("state", "what it is", "equation", "returned here as"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(Text(row["state"], style="bold"), row["what"], row["equation"], row["returned_as"])
    return table


def masking_table(rows: list[dict[str, Any]]) -> Table:
    """What the output holds at each padded sample's masked steps, measured."""
    table = Table(title="Outputs at masked steps, measured in this run", title_justify="left", box=TABLE_BOX)
    table.add_column("sample", justify="right")
    table.add_column("length", justify="right")
    table.add_column("masked outputs (0-based index)", no_wrap=True)
    table.add_column("the output there is", overflow="fold")
    table.add_column("max |diff|", justify="right")
    for row in rows:
        steps = row["masked_output_steps"]
        span = str(steps[0]) if len(steps) == 1 else f"{steps[0]}:{steps[-1] + 1}"
        mark = "" if row["holds"] else " (NO)"
        where = "\n".join(f"{name}[{row['sample']}, {span}]" for name in row["outputs"])
        table.add_row(
            str(row["sample"]), str(row["length"]), where, row["output_there"] + mark, diff_text(row["max_abs_diff"])
        )
    return table


def expectations_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Expected shapes", title_justify="left", box=TABLE_BOX)
    for column in ("holds", "name", "expected", "actual", "hint"):
        table.add_column(column, overflow="fold")
    for row in rows:
        mark = Text("yes", style="green") if row["holds"] else Text("NO", style="bold red")
        table.add_row(mark, row["name"], shape_text(row["expected"]), shape_text(row["actual"]), row["hint"])
    return table
