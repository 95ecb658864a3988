"""The stack view: the layers with their shapes, the parameters, the hints, the measured facts,
the diagnosis of an incompatible stack and the picture (--diagram). No TensorFlow."""

from __future__ import annotations

from typing import Any, Iterator

from rich.table import Table
from rich.text import Text

from rnnshape.views.common import TABLE_BOX, axes_text, boxed, checks_table, run_text, shape_text
from rnnshape.views.pictures.stack import stack_diagram


def render(result: Any, width: int) -> Iterator[Any]:
    yield from render_stack(result.data, result.tokens, diagram=result.view.diagram, ascii_only=result.view.ascii_only)


def _shape_cell(shape: Any, axes: Any) -> str:
    if shape is None:
        return "-"
    return f"{shape_text(shape)}\n{axes_text(axes)}" if axes else shape_text(shape)


def ndim_text(expected: str) -> str:
    """ "3" -> "ndim=3", ">=3" -> "ndim>=3"."""
    return f"ndim{expected}" if expected.startswith(">") else f"ndim={expected}"


def layers_table(layers: list[dict[str, Any]], diagnosis: dict[str, Any] | None) -> Table:
    table = Table(
        title="Layers, in order (Keras calls without their keras.layers. prefix)",
        title_justify="left",
        box=TABLE_BOX,
        pad_edge=False,
    )
    table.add_column("#", justify="right")
    table.add_column("token", no_wrap=True)
    table.add_column("keras call", overflow="fold", min_width=25)
    table.add_column("input shape", no_wrap=True)
    table.add_column("output shape [axes]", no_wrap=True)
    table.add_column("params", justify="right")
    for layer in layers:
        if layer["status"] == "incompatible" and diagnosis is not None:
            output = Text(
                f"refused: expected\n{ndim_text(diagnosis['expected_ndim'])}, found {diagnosis['found_ndim']}",
                style="bold red",
            )
        elif layer["status"] == "not reached":
            output = Text("not reached", style="dim")
        else:
            output = Text(_shape_cell(layer["output_shape"], layer["output_axes"]))
        params = "-" if layer["params"] is None else str(layer["params"])
        call = layer["keras_call"].replace("keras.layers.", "")
        if layer.get("initial_state_from"):
            call += f"\ncalled with initial_state = token {layer['initial_state_from']}'s final states"
        if layer.get("states_to"):
            call += "\nits final states start token " + ", ".join(str(i) for i in layer["states_to"])
        table.add_row(
            str(layer["index"]),
            Text(layer["spec"], style="bold cyan"),
            call,
            shape_text(layer["input_shape"]),
            output,
            params,
        )
    return table


def render_stack(
    data: dict[str, Any], tokens: list[Any], *, diagram: bool = False, ascii_only: bool = False
) -> Iterator[Any]:
    """The stack view; ``diagram`` draws the stack top to bottom before the table, ``ascii``
    draws picture and tables with ASCII characters only."""
    inp = data["input"]
    yield (Text(inp["keras_input"] + run_text(data), style="bold"))
    line = f"input x: {shape_text(inp['shape'])} = {axes_text(inp['axes'])}, {inp['dtype']}"
    if not data["static"]:
        line += f", seed {data['config']['seed']}"
    yield (Text(line))
    if data["static"]:
        yield (
            "static: shapes and parameters from rnnshape's model of Keras' rules; nothing was run "
            "(drop --static to build the model in Keras)"
        )
    for note in data.get("notes", []):
        yield (Text(f"note: {note}"))
    yield ""
    if diagram:
        yield stack_diagram(data, tokens, ascii_only=ascii_only)
        yield ""
    yield (boxed(layers_table(data["layers"], data["diagnosis"]), ascii_only))
    # rich tables end with a blank line; text lines need one before the next block
    after_text = False
    if data["compatible"]:
        counts = " + ".join(str(layer["params"]) for layer in data["layers"])
        line = f"parameters: {data['params']['total']}"
        if len(data["layers"]) > 1:
            line += f" = {counts}"
        if "keras_count_params" in data["params"]:
            line += f"; Keras count_params() = {data['params']['keras_count_params']}"
        yield (Text(line))
        out = data["output"]
        yield (Text(f"output: {shape_text(out['shape'])} = {axes_text(out['axes'])}"))
        after_text = True
    for hint in data["hints"]:
        if after_text:
            yield ""
        yield (Text(f"hint: {hint['hint']}"))
        after_text = True
    if data["checks"]:
        if after_text:
            yield ""
        yield (boxed(checks_table(data["checks"]), ascii_only))
        after_text = False
    if data["diagnosis"] is not None:
        if after_text:
            yield ""
        yield from render_diagnosis(data["diagnosis"], static=data["static"])


def render_diagnosis(diagnosis: dict[str, Any], *, static: bool) -> Iterator[Any]:
    yield (Text(f"Incompatible stack: token {diagnosis['index']} {diagnosis['spec']!r}", style="bold red"))
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    if diagnosis.get("keras_message"):
        grid.add_row("Keras says", diagnosis["keras_message"])
    elif static:
        grid.add_row(
            "rule of Keras",
            f"expected {ndim_text(diagnosis['expected_ndim'])}, found ndim="
            f"{diagnosis['found_ndim']} (not run: --static)",
        )
    grid.add_row("why", diagnosis["why"])
    grid.add_row("fix", diagnosis["fix"])
    if diagnosis.get("fixed_command"):
        shape = diagnosis.get("fixed_output_shape")
        if shape is not None:
            how = "built with Keras" if not static else "by rnnshape's rules"
            after = f"  (output {shape_text(shape)}, {how})"
        else:
            after = ""
        grid.add_row("try", diagnosis["fixed_command"] + after)
    yield (grid)
