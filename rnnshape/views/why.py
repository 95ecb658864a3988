"""The why view: the error found, what Keras checked, the shapes in rnnshape's axis words, the
causes ranked, and each fix as code and as the stack rnnshape built. No TensorFlow."""

from __future__ import annotations

from typing import Any, Iterator

from rich.table import Table
from rich.text import Text

from rnnshape.views.common import TABLE_BOX, axes_text, shape_text


def _shape(shape: Any) -> str:
    return shape_text(tuple("None" if d is None else d for d in shape)) if shape is not None else "-"


def render(result: Any, width: int) -> Iterator[Any]:
    data = result.data
    yield Text(f"Keras shape error: {data['kind']}", style="bold red")
    yield Text(data["title"])
    yield ""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True, style="bold")
    grid.add_column(overflow="fold")
    said = "the model says" if data["source"] == "model" else f"Keras says ({data['wording']})"
    grid.add_row(said, data["keras_message"])
    grid.add_row("Keras checked", data["checked"])
    for shape in data["shapes"]:
        line = f"{_shape(shape['shape'])} = {axes_text(shape['axes'])}"
        grid.add_row(shape["role"], line + (f": {shape['note']}" if shape["note"] else ""))
    for reading in data["readings"]:
        grid.add_row("ambiguous", reading)
    yield grid
    yield ""
    yield Text("Likely causes, most likely first", style="bold")
    for cause in data["causes"]:
        yield Text(f"  {cause['rank']}. {cause['cause']}")
    if data["evidence"]:
        yield Text(f"  ({data['evidence']})", style="dim")
    if not data["fixes"]:  # a diagnosis whose fix is not a stack (the targets of why --model): said in its causes
        return
    yield ""
    how = "built by rnnshape's rules (--keras: with Keras)" if data["static"] else "built with Keras"
    table = Table(title=f"Fixes, each a stack {how}", title_justify="left", box=TABLE_BOX, pad_edge=False)
    table.add_column("cause", justify="right")
    table.add_column("fix", overflow="fold", ratio=3)
    table.add_column("shapes", overflow="fold", ratio=2)
    for fix in data["fixes"]:
        text = Text(fix["title"], style="bold")
        text.append("\n" + fix["code"], style="cyan")
        text.append("\n$ " + fix["command"])
        if fix["assumed"]:
            text.append(f"\nnot in the message, assumed: {', '.join(fix['assumed'])}", style="dim")
        if fix["note"]:
            text.append(f"\nnote: {fix['note']}", style="dim")
        table.add_row(str(fix["cause"]), text, _built_text(fix["built"]))
    yield table


def _built_text(built: dict[str, Any]) -> Text:
    if "layers" not in built:
        return Text(f"not built: {built.get('error', '')}", style="bold red" if built["exit_code"] != 2 else "yellow")
    lines = [f"input {_shape(built['input_shape'])} {axes_text(built['input_axes'])}"]
    for layer in built["layers"]:
        shape = layer["output_shape"]
        lines.append(
            f"{layer['spec']} -> {_shape(shape)}"
            + (f" {axes_text(layer['output_axes'])}" if layer["output_axes"] else "")
        )
    verdict = f"exit {built['exit_code']}" + ("" if built["exit_code"] else ", builds")
    if built.get("not_run"):
        verdict += " (by the rules: too large to run here)"
    style = "green" if built["exit_code"] == 0 else "bold red"
    out = Text("\n".join(lines) + "\n")
    out.append(verdict, style=style)
    return out
