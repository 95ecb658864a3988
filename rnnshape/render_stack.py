"""Rich views of stack, patterns and window, built from their data objects. No TensorFlow."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from rnnshape.render import TABLE_BOX, axes_text, boxed, checks_table, shape_text


def _shape_cell(shape: Any, axes: Any) -> str:
    if shape is None:
        return "-"
    return f"{shape_text(shape)}\n{axes_text(axes)}" if axes else shape_text(shape)


def ndim_text(expected: str) -> str:
    """"3" -> "ndim=3", ">=3" -> "ndim>=3"."""
    return f"ndim{expected}" if expected.startswith(">") else f"ndim={expected}"


def layers_table(layers: list[dict[str, Any]], diagnosis: dict[str, Any] | None) -> Table:
    table = Table(title="Layers, in order (Keras calls without their keras.layers. prefix)", title_justify="left",
                  box=TABLE_BOX, pad_edge=False)
    table.add_column("#", justify="right")
    table.add_column("token", no_wrap=True)
    table.add_column("keras call", overflow="fold", min_width=25)
    table.add_column("input shape", no_wrap=True)
    table.add_column("output shape [axes]", no_wrap=True)
    table.add_column("params", justify="right")
    for layer in layers:
        if layer["status"] == "incompatible" and diagnosis is not None:
            output = Text(f"refused: expected\n{ndim_text(diagnosis['expected_ndim'])}, found {diagnosis['found_ndim']}",
                          style="bold red")
        elif layer["status"] == "not reached":
            output = Text("not reached", style="dim")
        else:
            output = Text(_shape_cell(layer["output_shape"], layer["output_axes"]))
        params = "-" if layer["params"] is None else str(layer["params"])
        table.add_row(str(layer["index"]), Text(layer["spec"], style="bold cyan"),
                      layer["keras_call"].replace("keras.layers.", ""),
                      shape_text(layer["input_shape"]), output, params)
    return table


def render_stack(console: Console, data: dict[str, Any], *, diagram: bool = False, ascii: bool = False) -> None:
    """The stack view; ``diagram`` draws the stack top to bottom before the table, ``ascii``
    draws picture and tables with ASCII characters only."""
    inp = data["input"]
    console.print(Text(inp["keras_input"], style="bold"))
    line = f"input x: {shape_text(inp['shape'])} = {axes_text(inp['axes'])}, {inp['dtype']}"
    if not data["static"]:
        line += f", seed {data['config']['seed']}"
    console.print(Text(line))
    if data["static"]:
        console.print("static: shapes and parameters from rnnshape's model of Keras' rules; nothing was run "
                      "(drop --static to build the model in Keras)")
    for note in data.get("notes", []):
        console.print(Text(f"note: {note}"))
    console.print()
    if diagram:
        from rnnshape.diagram import stack_diagram

        console.print(stack_diagram(data, ascii=ascii))
        console.print()
    console.print(boxed(layers_table(data["layers"], data["diagnosis"]), ascii))
    # rich tables end with a blank line; text lines need one before the next block
    after_text = False
    if data["compatible"]:
        counts = " + ".join(str(layer["params"]) for layer in data["layers"])
        line = f"parameters: {data['params']['total']}"
        if len(data["layers"]) > 1:
            line += f" = {counts}"
        if "keras_count_params" in data["params"]:
            line += f"; Keras count_params() = {data['params']['keras_count_params']}"
        console.print(Text(line))
        out = data["output"]
        console.print(Text(f"output: {shape_text(out['shape'])} = {axes_text(out['axes'])}"))
        after_text = True
    for hint in data["hints"]:
        if after_text:
            console.print()
        console.print(Text(f"hint: {hint['hint']}"))
        after_text = True
    if data["checks"]:
        if after_text:
            console.print()
        console.print(boxed(checks_table(data["checks"]), ascii))
        after_text = False
    if data["diagnosis"] is not None:
        if after_text:
            console.print()
        render_diagnosis(console, data["diagnosis"], static=data["static"])


def render_diagnosis(console: Console, diagnosis: dict[str, Any], *, static: bool) -> None:
    console.print(Text(f"Incompatible stack: token {diagnosis['index']} {diagnosis['spec']!r}", style="bold red"))
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    if diagnosis.get("keras_message"):
        grid.add_row("Keras says", diagnosis["keras_message"])
    elif static:
        grid.add_row("rule of Keras", f"expected {ndim_text(diagnosis['expected_ndim'])}, found ndim="
                                      f"{diagnosis['found_ndim']} (not run: --static)")
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
    console.print(grid)


def render_patterns(console: Console, data: dict[str, Any]) -> None:
    config = data["config"]
    head = (f"units {config['units']}, timesteps {config['timesteps']}, features {config['features']}, "
            f"batch {config['batch']}")
    if data["static"]:
        console.print(Text(f"Canonical patterns for {head}, from rnnshape's model of Keras' rules (not run)"))
    else:
        console.print(Text(f"Canonical patterns, each built and run as a keras.Model: {head}, seed {config['seed']}"))
    table = Table(box=TABLE_BOX)
    table.add_column("pattern", overflow="fold", ratio=3)
    table.add_column("shapes through the stack", no_wrap=True)
    table.add_column("params", justify="right")
    for position, pattern in enumerate(data["patterns"]):
        name = Text(pattern["name"], style="bold cyan")
        name.append("\n" + pattern["description"], style="")
        chain = [f"input {shape_text(pattern['input']['shape'])}"]
        chain += [f"{layer['spec']} -> {shape_text(layer['output_shape'])}" for layer in pattern["layers"]]
        params = str(pattern["params"]["total"])
        if "keras_count_params" in pattern["params"]:
            params += f"\nKeras {pattern['params']['keras_count_params']}"
        table.add_row(name, "\n".join(chain), params)
        if position < len(data["patterns"]) - 1:
            table.add_row("", "", "")
    console.print(table)
    console.print("Run any of them for the full view:")
    for pattern in data["patterns"]:
        console.print(Text(f"  {pattern['command']}"))
    failed = [c for p in data["patterns"] for c in p["checks"] if not c["holds"]]
    if not data["static"]:
        total = sum(len(p["checks"]) for p in data["patterns"])
        console.print(Text(f"measured: {total - len(failed)} of {total} checks hold (shapes of every layer, "
                           "eager run = Keras' symbolic shape = rnnshape's rule)"))


def _values_text(values: Any, limit: int = 36) -> str:
    text = str(values)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def render_window(console: Console, data: dict[str, Any]) -> None:
    config, series = data["config"], data["series"]
    feature_word = "feature" if config["features"] == 1 else "features"
    console.print(Text(f"series: {config['length']} steps x {config['features']} {feature_word}, {series['dtype']}, "
                       f"{series['rule']} (feature 0 reads as the step index)"))
    console.print(Text(f"X: {shape_text(data['x_shape'])} = {axes_text(data['x_axes'])}"))
    steps = "step" if config["horizon"] == 1 else "steps"
    console.print(Text(f"y: {shape_text(data['y_shape'])} = {axes_text(data['y_axes'])}, the value "
                       f"{config['horizon']} {steps} after each window's last step"))
    console.print(Text(data["formula"]))
    if config["stride"] == 1:
        console.print(Text("(with --stride S: samples = floor((length - look_back - horizon) / S) + 1)"))
    console.print()
    if data["windows"]:
        shown = len(data["windows"])
        last_apart = shown > 1 and data["windows"][-1]["sample"] != data["windows"][-2]["sample"] + 1
        title = (f"Windows: the first {shown - 1} and the last" if last_apart else "Windows")
        table = Table(title=title, title_justify="left", box=TABLE_BOX)
        for column in ("sample", "X = steps", "y = step", "X[sample]", "y[sample]"):
            table.add_column(column, overflow="fold", justify="right" if column == "sample" else "left")
        for row in data["windows"]:
            start, end = row["x_steps"]
            table.add_row(str(row["sample"]), f"{start}..{end}", str(row["y_step"]),
                          _values_text(row["x"]), _values_text(row["y"]))
        console.print(table)
    console.print(Text("Equivalent Keras call" + (" (rnnshape ran it):" if not data["static"] else " (not run: --static):")))
    call = data["keras_call"]
    head, args = call.split("(", 1)
    parts = args[:-1].split(", ")
    console.print(Text(f"  {head}(\n      {', '.join(parts[:3])},\n      {', '.join(parts[3:])})"))
    console.print()
    if data["checks"]:
        console.print(checks_table(data["checks"]))
    note = data["create_dataset"]
    last = note["last_correct_window"]
    text = (f"note: the widely copied create_dataset loop, for i in range(len(dataset)-look_back-1), gives "
            f"{note['loop_windows']} windows on this series (its own setting: feature 0, horizon 1, stride 1) "
            f"where {note['correct_windows']} fit: it drops {note['dropped']}")
    if note["dropped"] == 1:
        text += (f", the last window, X = steps {last['x_steps'][0]}..{last['x_steps'][1]} -> y = step "
                 f"{last['y_step']}")
    text += ". Measured by running the loop"
    if note["loop_windows"]:
        same = "equal" if note["loop_windows_equal_the_first_correct_ones"] else "DO NOT equal"
        text += f"; its {note['loop_windows']} windows {same} the first {note['loop_windows']} correct ones"
    text += ". The correct loop is range(len(dataset) - look_back)."
    console.print(Text(text))
