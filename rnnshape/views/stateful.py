"""The `rnnshape stateful` view: the chunks with their states and outputs, the reset, the
comparison with one pass, the measured facts, the rules and the picture (--diagram)."""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np
from rich.table import Table
from rich.text import Text

from rnnshape.views.common import TABLE_BOX, axes_text, boxed, checks_table, diff_text, header_line, shape_text
from rnnshape.views.pictures.stateful import stateful_diagram


def render(result: Any, width: int) -> Iterator[Any]:
    if result.data.get("loop"):  # --fit, --windows, --save-load
        from rnnshape.views.stateful_loops import render_loop

        yield from render_loop(result.data, width, result.view.diagram, result.view.ascii_only)
        return
    yield from render_stateful(
        result.data,
        result.spec,
        result.picture_facts,
        width,
        diagram=result.view.diagram,
        ascii_only=result.view.ascii_only,
    )


def _array_text(values: Any, width: int) -> str:
    with np.printoptions(precision=4, suppress=True, threshold=80, edgeitems=3, linewidth=max(30, width)):
        return str(np.asarray(values, dtype=np.float32))


def _steps(steps: list[int]) -> str:
    """JSON's 0-based steps as a person reads them, counted from 1 like t in x_t: [0, 1] -> '1..2'."""
    return str(steps[0] + 1) if len(steps) == 1 else f"{steps[0] + 1}..{steps[-1] + 1}"


def _chunk_table(title: str, chunk: dict[str, Any], names: list[str], width: int) -> Table:
    table = Table(title=title, title_justify="left", box=TABLE_BOX)
    table.add_column("state", no_wrap=True)
    table.add_column("initial (before the call)", no_wrap=True)
    table.add_column("final (after the call)", no_wrap=True)
    cell = max(30, (width - 20) // 2)
    for name in names:
        table.add_row(
            Text(name, style="bold cyan"),
            _array_text(chunk["initial_state"][name], cell),
            _array_text(chunk["final_state"][name], cell),
        )
    return table


def _print_output(chunk: dict[str, Any], width: int) -> Iterator[Any]:
    output = chunk["output"]
    items = output.items() if isinstance(output, dict) else [("output", output)]
    for name, values in items:
        yield (Text(f"{name} {shape_text(np.shape(values))}", style="bold cyan"))
        yield (Text(_array_text(values, width - 4)))


def render_stateful(
    data: dict[str, Any],
    spec: Any,
    facts: dict[str, Any],
    width: int,
    *,
    diagram: bool = False,
    ascii_only: bool = False,
) -> Iterator[Any]:
    """The stateful view; ``diagram`` draws the batches and the state crossing between them
    before the tables, ``ascii`` draws picture and tables with ASCII characters only."""
    config = data["config"]
    names = data["state_names"]
    yield from header_line(data["keras_call"], data, width)
    inp = data["input"]
    yield (
        f"input x: {shape_text(inp['shape'])} = {axes_text(inp['axes'])}, {inp['dtype']}, seed "
        f"{config['seed']} (the same x and weights as rnnshape inspect with these options)"
    )
    yield (f"in a model: {data['keras_input']}")
    chunks = data["chunks"]
    parts = ", ".join(f"chunk {c['index']} = steps {_steps(c['steps'])}" for c in chunks)
    yield (
        f"split {','.join(str(n) for n in data['split'])} ({data['split_source']}): {parts}; "
        "fed to the one layer as consecutive batches"
    )
    for reading in data["reading"]:
        order = reading["order"]
        how = "each chunk backwards (go_backwards=True)" if reading["go_backwards"] else "each chunk forwards"
        shown = ""
        if len(order) <= 24:
            pieces, position = [], 0
            for chunk in chunks:
                size = len(chunk["steps"])
                pieces.append(" ".join(str(t + 1) for t in order[position : position + size]))
                position += size
            shown = ": steps " + " | ".join(pieces)
        yield (f"{reading['layer']} reads {how}{shown}")
    yield ""
    if diagram:
        yield stateful_diagram(spec, data, facts, ascii_only=ascii_only)
        yield ""
    for chunk in chunks:
        start, stop = chunk["steps"][0], chunk["steps"][-1] + 1
        yield (
            boxed(
                _chunk_table(
                    f"Chunk {chunk['index']}: steps {_steps(chunk['steps'])}, layer(x[:, {start}:{stop}])",
                    chunk,
                    names,
                    width,
                ),
                ascii_only,
            )
        )
        yield from _print_output(chunk, width)
        yield ""
    yield (Text("After layer.reset_state()", style="bold"))
    reset = Table(box=TABLE_BOX)
    reset.add_column("state", no_wrap=True)
    reset.add_column("value", no_wrap=True)
    for name in names:
        reset.add_row(Text(name, style="bold cyan"), _array_text(data["after_reset"][name], width - 20))
    yield (boxed(reset, ascii_only))
    rerun = data["after_reset_rerun"]
    start, stop = rerun["steps"][0], rerun["steps"][-1] + 1
    yield (
        boxed(
            _chunk_table(
                f"Chunk {rerun['index']} fed again after the reset, layer(x[:, {start}:{stop}])", rerun, names, width
            ),
            ascii_only,
        )
    )
    yield from _print_output(rerun, width)
    yield ""
    single = data["single_pass"]
    verdict = "equal" if single["equal"] else "NOT equal"
    yield (
        f"chunked versus one pass over the whole sequence: {verdict} (measured: output max |diff| "
        f"{diff_text(single['output_max_abs_diff'])}, final state max |diff| "
        f"{diff_text(single['final_state_max_abs_diff'])})"
    )
    if single.get("as_read"):
        read = single["as_read"]
        verdict = "equal" if read["equal"] else "NOT equal"
        yield (
            f"chunked versus one pass over x in the order the layer reads it: {verdict} (measured: "
            f"output max |diff| {diff_text(read['output_max_abs_diff'])}, final state max |diff| "
            f"{diff_text(read['final_state_max_abs_diff'])})"
        )
    yield ""
    yield (boxed(checks_table(data["checks"]), ascii_only))
    error = data["batch_size_error"]
    yield (Text("Measured: the batch size is fixed", style="bold"))
    if error["raised"]:
        yield (f"layer(x with {error['batch']} samples) raised {error['type']}: {error['message']}")
    else:
        yield (f"layer(x with {error['batch']} samples) raised no error in this Keras version")
    yield ""
    yield (Text("Measured: what the installed Keras has (hasattr)", style="bold"))
    api = Table(box=TABLE_BOX)
    api.add_column("attribute")
    api.add_column("exists")
    for name, present in data["api"].items():
        api.add_row(f"{name}()", "yes" if present else Text("no", style="bold"))
    yield (boxed(api, ascii_only))
    yield (Text("Rules of Keras (from its documentation and source; not measured here)", style="bold"))
    rules = Table.grid(padding=(0, 1))
    rules.add_column(no_wrap=True)
    rules.add_column(overflow="fold")
    for rule in data["rules"]:
        rules.add_row("-", rule)
    yield (rules)
