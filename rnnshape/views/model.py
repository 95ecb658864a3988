"""The model view: the model's header, every layer in order, the recurrent layers with their
flags and returned tensors, the diagnoses, the data run (--x/--y) with its measured facts, the
picture (--diagram) and the inspect view of one layer (--layer). Draws from the result only."""

from __future__ import annotations

from typing import Any, Iterator

from rich.table import Table
from rich.text import Text

from rnnshape.rules.network import recurrent_size
from rnnshape.views.common import TABLE_BOX, boxed, checks_table, run_text, shape_text
from rnnshape.views.inspect import render_layer
from rnnshape.views.pictures.model import model_diagram


def dims_text(shape: Any) -> str:
    """(batch, 5, 2): an unknown batch is 'batch', another unknown dimension 'None'."""
    if shape is None:
        return "-"
    return shape_text(["batch" if d is None and i == 0 else d for i, d in enumerate(shape)])


def render(result: Any, width: int) -> Iterator[Any]:
    data, ascii_only = result.data, result.view.ascii_only
    yield from header(data)
    yield ""
    if result.view.diagram:
        yield model_diagram(data, ascii_only=ascii_only)
        yield ""
    yield boxed(layers_table(data["layers"]), ascii_only)
    for row in data["layers"]:
        if row["recurrent"]:
            yield from recurrent_block(row, ascii_only)
    if data["diagnoses"]:
        yield boxed(diagnoses_table(data["diagnoses"]), ascii_only)
    else:
        yield Text("Diagnoses: none (no rule rnnshape checks applies to this model)")
    if "data" in data:
        yield from data_blocks(data, ascii_only)
    if "inspect" in data:
        yield ""
        yield Text(
            f"Layer {data['inspect']['layer_path']}: the inspect view with the model's own weights",
            style="bold underline",
        )
        yield from render_layer(data["inspect"], result.layer_spec, width, ascii_only=ascii_only)


def header(data: dict[str, Any]) -> Iterator[Any]:
    model, source = data["model"], data["source"]
    if source["kind"] == "file":
        how = "rebuilt in Keras 3 by rnnshape" if source.get("legacy") else "loaded by Keras in safe mode"
        where = (
            f"from {source['path']} ({'legacy HDF5 .h5' if source['format'] == 'h5' else '.keras'}, "
            f"{source['bytes']:,} bytes), {how}, uncompiled"
        )
    else:
        where = f"({source['kind']} given to rnnshape.explain)"
    yield Text(f"Model {model['name']!r} ({model['class']}) {where}{run_text(data)}", style="bold")
    inputs = ", ".join(f"{i['name']} {dims_text(i['shape'])} {i['dtype']}" for i in model["inputs"])
    outputs = ", ".join(dims_text(s) for s in model["output_shapes"])
    yield f"inputs: {inputs}; outputs: {outputs}; parameters: {model['params']:,} (Keras count_params())"
    if source.get("legacy"):
        yield from legacy_lines(source["legacy"])
    if data.get("saved"):
        yield f"saved: {data['saved']['path']} ({data['saved']['bytes']:,} bytes), the model above as a Keras 3 .keras file"


def legacy_lines(legacy: dict[str, Any]) -> Iterator[Any]:
    """An old HDF5 model: who saved it, what the rebuild changed, what was measured."""
    yield Text(
        f"rebuilt from a Keras {legacy['keras_major']} file: saved by {legacy['saved_by']}; rnnshape read "
        "its model_config and weights with h5py and built each layer in Keras 3 with the file's own weights "
        "(not with Keras 3's own .h5 loader)",
        style="bold",
    )
    grouped: dict[str, list[str]] = {}
    for change in legacy["changes"]:
        grouped.setdefault(change["change"], []).append(change["layer"])
    for change, layers in grouped.items():
        yield f"  {', '.join(dict.fromkeys(layers))}: {change}"
    if legacy.get("converted_weights"):
        yield f"  weights converted to Keras 3's layout: {', '.join(legacy['converted_weights'])}"
    if "meaning" in legacy:
        yield f"  measured: {legacy['meaning']['text']} ({', '.join(legacy['meaning']['settings'])})"
    if "tf_keras" in legacy:
        yield f"  check: {legacy['tf_keras']['text']}; input: {legacy['input']}"


def layers_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(
        title="Layers, in order (shapes from Keras' own symbolic tensors)",
        title_justify="left",
        box=TABLE_BOX,
        pad_edge=False,
    )
    table.add_column("#", justify="right")
    table.add_column("layer", no_wrap=True)
    table.add_column("class", overflow="fold")
    table.add_column("input shape", no_wrap=True)
    table.add_column("output shape", no_wrap=True)
    table.add_column("params", justify="right")
    for row in rows:
        name = "  " * row["depth"] + row["path"]
        cls = row["class"] + (f"({row['inner_class']})" if row.get("inner_class") else "")
        if row["container"]:
            cls += " (nested model; its layers follow)"
        inputs = "\n".join(dims_text(s) for s in row["input_shapes"]) or "-"
        outputs = "\n".join(dims_text(s) for s in row["output_shapes"]) or "-"
        table.add_row(
            str(row["index"]),
            Text(name, style="bold cyan" if row["recurrent"] else ""),
            cls,
            inputs,
            outputs,
            f"{row['params']:,}",
        )
    return table


def recurrent_block(row: dict[str, Any], ascii_only: bool) -> Iterator[Any]:
    rec = row["recurrent"]
    yield ""
    size, word = recurrent_size(rec["config"])
    yield Text(
        f"{row['path']}: {row['class']}"
        + (f"({row['inner_class']}" if row.get("inner_class") else "")
        + (f"({size} {word})" if not row.get("inner_class") else f", {size} {word})"),
        style="bold",
    )
    for flag in rec["flags"]:
        yield f"  - {flag}"
    if rec["initial_state"]:
        yield "  - called with initial_state=: it starts from the states it is given, not from zeros"
    if row["mask_in"]:
        yield "  - receives a mask: masked steps are skipped and the states kept there (rule of Keras)"
    table = Table(
        title=f"Returned by {row['path']}, in the order Keras returns them",
        title_justify="left",
        box=TABLE_BOX,
        pad_edge=False,
    )
    table.add_column("#", justify="right")
    table.add_column("name", no_wrap=True)
    table.add_column("shape", no_wrap=True)
    table.add_column("meaning", overflow="fold")
    table.add_column("taken by", overflow="fold")
    for position, out in enumerate(rec["returns"]):
        taken = ", ".join(out["taken_by"]) if out["taken_by"] else Text("nothing (unused)", style="yellow")
        table.add_row(
            str(position), Text(out["name"], style="bold cyan"), dims_text(out["shape"]), out["meaning"], taken
        )
    yield boxed(table, ascii_only)


def diagnoses_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(
        title="Diagnoses (each a rule of Keras or measured in this run, with its fix)",
        title_justify="left",
        box=TABLE_BOX,
        pad_edge=False,
    )
    table.add_column("", no_wrap=True)
    table.add_column("layer", overflow="fold")
    table.add_column("what", overflow="fold", ratio=3)
    table.add_column("fix", overflow="fold", ratio=2)
    styles = {"problem": "bold red", "warning": "yellow", "note": ""}
    for row in rows:
        label = Text(f"{row['severity']}\n({row['basis']})", style=styles.get(row["severity"], ""))
        table.add_row(label, row["layer"], row["text"], row["fix"])
    return table


def data_blocks(data: dict[str, Any], ascii_only: bool) -> Iterator[Any]:
    run = data["data"]
    yield ""
    xs = ", ".join(f"{x['file']} {shape_text(x['shape'])} {x['dtype']}" for x in run["x"])
    predictions = ", ".join(shape_text(s) for s in run["prediction_shapes"])
    yield Text(f"Run on your data: --x {xs} -> predictions {predictions}", style="bold")
    if "y" in run:
        y = run["y"]
        loss = f"{y['loss']}, {y['loss_source']}"
        verdict = {
            "agree": (
                "agree"
                if y["y_shape"] == y["expected_y_shape"]
                else f"agree (same loss as y reshaped to {shape_text(y['reshaped_to'])}: nothing is broadcast)"
            ),
            "broadcast": "DIFFER: Keras accepts them silently and broadcasts",
            "refused": "DIFFER: Keras refuses them",
            "labels": "DIFFER: the labels are encoded for another loss",
        }[y["verdict"]]
        yield Text(
            f"--y {y['file']} {shape_text(y['y_shape'])} against predictions {shape_text(y['prediction_shape'])}: "
            f"{verdict} (loss: {loss})",
            style="" if y["agree"] else "bold red",
        )
    table = Table(
        title="Recurrent layers on your data (outputs inside the model; final states from a probe copy "
        "with return_state=True and the same weights)",
        title_justify="left",
        box=TABLE_BOX,
        pad_edge=False,
    )
    table.add_column("layer", no_wrap=True)
    table.add_column("input", no_wrap=True)
    table.add_column("returned", overflow="fold")
    table.add_column("final states", overflow="fold")
    table.add_column("mask", overflow="fold")
    for cap in run["captured"]:
        returned = "\n".join(f"{o['name']} {shape_text(o['shape'])}" for o in cap["outputs"])
        states = "\n".join(f"{o['name']} {shape_text(o['shape'])}" for o in cap["final_states"])
        mask = (
            f"{cap['mask']['masked_steps']} masked steps in {cap['mask']['samples_with_masked_steps']} samples"
            if "mask" in cap
            else "-"
        )
        if cap["initial_state"]:
            mask += "\n(starts from initial_state)"
        table.add_row(cap["path"], shape_text(cap["input_shape"]), returned, states, mask)
    yield boxed(table, ascii_only)
    if data["checks"]:
        yield boxed(checks_table(data["checks"]), ascii_only)
