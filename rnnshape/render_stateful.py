"""The `rnnshape stateful` view, built from the data object of rnnshape.stateful. No TensorFlow."""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from rich.text import Text

from rnnshape.render import TABLE_BOX, axes_text, boxed, checks_table, diff_text, shape_text


def _array_text(values: Any, width: int) -> str:
    with np.printoptions(precision=4, suppress=True, threshold=80, edgeitems=3, linewidth=max(30, width)):
        return str(np.asarray(values, dtype=np.float32))


def _steps(steps: list[int]) -> str:
    return str(steps[0]) if len(steps) == 1 else f"{steps[0]}..{steps[-1]}"


def _chunk_table(title: str, chunk: dict[str, Any], names: list[str], width: int) -> Table:
    table = Table(title=title, title_justify="left", box=TABLE_BOX)
    table.add_column("state", no_wrap=True)
    table.add_column("initial (before the call)", no_wrap=True)
    table.add_column("final (after the call)", no_wrap=True)
    cell = max(30, (width - 20) // 2)
    for name in names:
        table.add_row(Text(name, style="bold cyan"), _array_text(chunk["initial_state"][name], cell),
                      _array_text(chunk["final_state"][name], cell))
    return table


def _print_output(console: Console, chunk: dict[str, Any]) -> None:
    output = chunk["output"]
    items = output.items() if isinstance(output, dict) else [("output", output)]
    for name, values in items:
        console.print(Text(f"{name} {shape_text(np.shape(values))}", style="bold cyan"))
        console.print(Text(_array_text(values, console.width - 4)))


def render_stateful(console: Console, data: dict[str, Any], *, diagram: bool = False, ascii: bool = False) -> None:
    """The stateful view; ``diagram`` draws the batches and the state crossing between them
    before the tables, ``ascii`` draws picture and tables with ASCII characters only."""
    config = data["config"]
    names = data["state_names"]
    console.print(Text(data["keras_call"], style="bold"))
    inp = data["input"]
    console.print(f"input x: {shape_text(inp['shape'])} = {axes_text(inp['axes'])}, {inp['dtype']}, seed "
                  f"{config['seed']} (the same x and weights as rnnshape inspect with these options)")
    console.print(f"in a model: {data['keras_input']}")
    chunks = data["chunks"]
    parts = ", ".join(f"chunk {c['index']} = steps {_steps(c['steps'])}" for c in chunks)
    console.print(f"split {','.join(str(n) for n in data['split'])} ({data['split_source']}): {parts}; "
                  "fed to the one layer as consecutive batches")
    for reading in data["reading"]:
        order = reading["order"]
        how = "each chunk backwards (go_backwards=True)" if reading["go_backwards"] else "each chunk forwards"
        shown = ""
        if len(order) <= 24:
            pieces, position = [], 0
            for chunk in chunks:
                size = len(chunk["steps"])
                pieces.append(" ".join(str(t) for t in order[position:position + size]))
                position += size
            shown = ": steps " + " | ".join(pieces)
        console.print(f"{reading['layer']} reads {how}{shown}")
    console.print()
    if diagram:
        from rnnshape.diagram import stateful_diagram

        console.print(stateful_diagram(data, ascii=ascii))
        console.print()
    for chunk in chunks:
        start, stop = chunk["steps"][0], chunk["steps"][-1] + 1
        console.print(boxed(_chunk_table(f"Chunk {chunk['index']}: steps {_steps(chunk['steps'])}, "
                                         f"layer(x[:, {start}:{stop}])", chunk, names, console.width), ascii))
        _print_output(console, chunk)
        console.print()
    console.print(Text("After layer.reset_state()", style="bold"))
    reset = Table(box=TABLE_BOX)
    reset.add_column("state", no_wrap=True)
    reset.add_column("value", no_wrap=True)
    for name in names:
        reset.add_row(Text(name, style="bold cyan"), _array_text(data["after_reset"][name], console.width - 20))
    console.print(boxed(reset, ascii))
    rerun = data["after_reset_rerun"]
    start, stop = rerun["steps"][0], rerun["steps"][-1] + 1
    console.print(boxed(_chunk_table(f"Chunk {rerun['index']} fed again after the reset, layer(x[:, {start}:{stop}])",
                                     rerun, names, console.width), ascii))
    _print_output(console, rerun)
    console.print()
    single = data["single_pass"]
    verdict = "equal" if single["equal"] else "NOT equal"
    console.print(f"chunked versus one pass over the whole sequence: {verdict} (measured: output max |diff| "
                  f"{diff_text(single['output_max_abs_diff'])}, final state max |diff| "
                  f"{diff_text(single['final_state_max_abs_diff'])})")
    if single.get("as_read"):
        read = single["as_read"]
        verdict = "equal" if read["equal"] else "NOT equal"
        console.print(f"chunked versus one pass over x in the order the layer reads it: {verdict} (measured: "
                      f"output max |diff| {diff_text(read['output_max_abs_diff'])}, final state max |diff| "
                      f"{diff_text(read['final_state_max_abs_diff'])})")
    console.print()
    console.print(boxed(checks_table(data["checks"]), ascii))
    error = data["batch_size_error"]
    console.print(Text("Measured: the batch size is fixed", style="bold"))
    if error["raised"]:
        console.print(f"layer(x with {error['batch']} samples) raised {error['type']}: {error['message']}")
    else:
        console.print(f"layer(x with {error['batch']} samples) raised no error in this Keras version")
    console.print()
    console.print(Text("Measured: what the installed Keras has (hasattr)", style="bold"))
    api = Table(box=TABLE_BOX)
    api.add_column("attribute")
    api.add_column("exists")
    for name, present in data["api"].items():
        api.add_row(f"{name}()", "yes" if present else Text("no", style="bold"))
    console.print(boxed(api, ascii))
    console.print(Text("Rules of Keras (from its documentation and source; not measured here)", style="bold"))
    rules = Table.grid(padding=(0, 1))
    rules.add_column(no_wrap=True)
    rules.add_column(overflow="fold")
    for rule in data["rules"]:
        rules.add_row("-", rule)
    console.print(rules)
