"""Rich tables built from the data objects of schema.py. No TensorFlow here."""

from __future__ import annotations

import errno
import os
import sys
from typing import Any, TextIO

import math

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

TABLE_BOX = box.SIMPLE_HEAD
# SIMPLE_HEAD drawn with '-' only, for --ascii (terminals without box-drawing characters).
ASCII_TABLE_BOX = box.Box("    \n    \n -- \n    \n    \n    \n    \n    \n", ascii=True)


def boxed(table: Table, ascii: bool = False) -> Table:
    """The table, drawn with ASCII_TABLE_BOX under --ascii (tables without a box stay so)."""
    if ascii and table.box is not None:
        table.box = ASCII_TABLE_BOX
    return table
class _Console(Console):
    def on_broken_pipe(self) -> None:
        # rich would exit 1 (our "expectation failed"): let rnnshape.cli handle a closed stdout.
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, "stdout was closed")


def make_console(file: TextIO | None = None, width: int | None = None, color: bool | None = None,
                 record: bool = False) -> Console:
    """One Console per run. Colour only on a terminal and never under NO_COLOR. With ``record``
    the console keeps what it printed, styles included, for save_exports."""
    file = file or sys.stdout
    is_tty = file.isatty()
    if color is None:
        color = is_tty and not os.environ.get("NO_COLOR")
    if width is None and not is_tty:
        # Piped output: rich would use 80 columns; honour COLUMNS, else give tables room.
        width = int(os.environ["COLUMNS"]) if os.environ.get("COLUMNS", "").isdigit() else 100
    return _Console(
        file=file,
        width=width,
        no_color=not color,
        force_terminal=bool(color),
        color_system="auto" if color else None,
        highlight=False,
        markup=False,
        emoji=False,
        soft_wrap=False,
        record=record,
    )


def save_exports(console: Console, svg: str | None = None, html: str | None = None, title: str = "rnnshape") -> None:
    """Save what a recording console printed as SVG and/or HTML. The files keep the colours
    even when the terminal showed none (the recording holds the styles)."""
    from rnnshape.errors import UsageError

    for option, path in (("--svg", svg), ("--html", html)):
        if not path:
            continue
        try:
            if option == "--svg":
                console.save_svg(path, title=title, clear=False)
            else:
                console.save_html(path, clear=False)
        except OSError as exc:
            raise UsageError(f"Invalid value for {option}: cannot write {path!r}: {exc.strerror or exc}") from exc


def shape_text(shape: Any) -> str:
    if shape is None:
        return "-"
    dims = [str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def axes_text(axes: list[str]) -> str:
    return "[" + ", ".join(axes) + "]"


def diff_text(value: float) -> str:
    return "0.0" if value == 0 else f"{value:.3g}"


def render_layer(console: Console, data: dict[str, Any], *, values: bool = False, diagram: bool = False,
                 ascii: bool = False) -> None:
    """The whole inspect view of one configuration; ``diagram`` adds the unrolled picture
    before the tables, ``ascii`` draws picture and tables with ASCII characters only."""
    config = data["config"]
    console.print(Text(data["keras_call"], style="bold"))
    inp = data["input"]
    line = (f"input x: {shape_text(inp['shape'])} = {axes_text(inp['axes'])}, {inp['dtype']}, "
            f"seed {config['seed']}")
    if config.get("lengths"):
        line += f", valid lengths {','.join(str(n) for n in config['lengths'])} (the rest is masked zero padding)"
    if inp.get("source", "random") != "random":
        line += f", input {inp['source']}"
    console.print(line)
    for note in inp.get("notes", []):
        console.print(f"note: {note}")
    if config.get("stateful"):
        console.print(f"stateful: the batch size is fixed, as Keras requires: {data['keras_input']}")
    if data.get("static"):
        console.print("static: shapes and parameters from rnnshape's model of Keras' rules; "
                      "nothing was run (drop --static for values and measured checks)")
    console.print()
    if diagram:
        from rnnshape.diagram import diagram_for

        console.print(diagram_for(data, ascii=ascii))
        console.print()
    tables = [outputs_table(data["outputs"]), params_table(data["params"]), params_line(data["params"]), Text(),
              h_vs_c_table(data["h_vs_c"], config["layer"])]
    if data.get("checks"):
        tables.append(checks_table(data["checks"]))
    if data.get("masking"):
        tables.append(masking_table(data["masking"]))
    for table in tables:
        if ascii and isinstance(table, Table):
            table.box = ASCII_TABLE_BOX
        console.print(table)
    if values:
        render_values(console, data)


def outputs_table(outputs: list[dict[str, Any]]) -> Table:
    table = Table(title="Outputs, in the order Keras returns them", title_justify="left", box=TABLE_BOX)
    table.add_column("#")
    table.add_column("name", no_wrap=True)
    table.add_column("shape [axes]", no_wrap=True)
    table.add_column("dtype")
    table.add_column("meaning", overflow="fold")
    for index, out in enumerate(outputs):
        table.add_row(str(index), Text(out["name"], style="bold cyan"),
                      f"{shape_text(out['shape'])}\n{axes_text(out['axes'])}", out["dtype"], out["meaning"])
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


def checks_table(checks: list[dict[str, Any]]) -> Table:
    table = Table(title="Measured in this run", title_justify="left", box=TABLE_BOX)
    table.add_column("holds")
    table.add_column("claim", overflow="fold")
    table.add_column("max |diff|", justify="right")
    for check in checks:
        mark = Text("yes", style="green") if check["holds"] else Text("NO", style="bold red")
        table.add_row(mark, check["claim"], diff_text(check["max_abs_diff"]))
    return table


def masking_table(rows: list[dict[str, Any]]) -> Table:
    """What the output holds at each padded sample's masked steps, measured."""
    table = Table(title="Outputs at masked steps, measured in this run", title_justify="left", box=TABLE_BOX)
    table.add_column("sample", justify="right")
    table.add_column("length", justify="right")
    table.add_column("masked output steps", no_wrap=True)
    table.add_column("the output there is", overflow="fold")
    table.add_column("max |diff|", justify="right")
    for row in rows:
        steps = row["masked_output_steps"]
        span = str(steps[0]) if len(steps) == 1 else f"{steps[0]}..{steps[-1]}"
        mark = "" if row["holds"] else " (NO)"
        where = "\n".join(f"{name}[{row['sample']}, {span}]" for name in row["outputs"])
        table.add_row(str(row["sample"]), str(row["length"]), where,
                      row["output_there"] + mark, diff_text(row["max_abs_diff"]))
    return table


def render_values(console: Console, data: dict[str, Any]) -> None:
    """The tensors, elided in the middle when long (JSON has them in full)."""
    if data["config"].get("kernel_init") is not None and any("constant initializers" in n for n in data["input"].get("notes", [])):
        console.print("note: every unit has identical weights, so the columns below repeat the same number")
    import numpy as np  # only when values are shown

    with np.printoptions(precision=4, suppress=True, threshold=80, edgeitems=3, linewidth=max(40, console.width - 4)):
        if "values" in data["input"]:
            console.print(Text("x (input)", style="bold"))
            console.print(Text(str(np.asarray(data["input"]["values"], dtype=np.float32))))
        for out in data["outputs"]:
            if "values" in out:
                console.print(Text(f"{out['name']} {shape_text(out['shape'])}", style="bold cyan"))
                console.print(Text(str(np.asarray(out["values"], dtype=np.float32))))


def expectations_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Expected shapes", title_justify="left", box=TABLE_BOX)
    for column in ("holds", "name", "expected", "actual", "hint"):
        table.add_column(column, overflow="fold")
    for row in rows:
        mark = Text("yes", style="green") if row["holds"] else Text("NO", style="bold red")
        table.add_row(mark, row["name"], shape_text(row["expected"]), shape_text(row["actual"]), row["hint"])
    return table
