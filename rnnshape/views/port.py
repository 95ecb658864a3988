"""The port view: both calls, each returned tensor read across with its measured difference, the
weight mapping tensor by tensor, the measured checks, the code and the saved file."""

from __future__ import annotations

from typing import Any, Iterator

from rich.table import Table
from rich.text import Text

from rnnshape.views.common import TABLE_BOX, checks_table, diff_text, shape_text


def render(result: Any, width: int) -> Iterator[Any]:
    data = result.data
    to_torch = data["direction"] == "to"
    calls = data["keras"]["calls"]
    source = data["source"]
    if source["kind"] == "torch_file":
        yield Text(
            f"torch state_dict {source['path']} ({source['bytes']} bytes, loaded with weights_only=True)", style="bold"
        )
    yield Text("Keras: " + calls[0], style="bold")
    for call in calls[1:]:
        yield Text("       " + call, style="bold")
    yield Text("torch: " + data["torch"]["call"], style="bold")
    reads = data["torch"].get("input", "x")
    if reads != "x":
        yield Text(
            f"       run as module({reads}): torch.nn has no go_backwards; Keras' layer reads x_T first and "
            "returns its steps in that order",
            style="bold",
        )
    inp = data["keras"]["input"]
    yield (
        f"input x: {shape_text(inp['shape'])} = [{', '.join(inp['axes'])}], the same float32 numbers on both "
        f"sides ({inp['source']}, seed {inp['seed']})"
    )
    yield ""
    yield outputs_table(data)
    yield torch_table(data)
    yield weights_table(data, to_torch)
    yield checks_table(data["checks"])
    if "code" in data:
        yield Text("The conversion as a function (plain indexing, no import):", style="bold")
        yield Text(data["code"].rstrip(), no_wrap=True, overflow="ignore")
        yield ""
    if "saved" in data:
        saved = data["saved"]
        yield f"saved {saved['path']}: {saved['format']}; load it with:"
        yield f"  {saved['load']}"


def outputs_table(data: dict[str, Any]) -> Table:
    table = Table(title="Keras' outputs read from torch's", title_justify="left", box=TABLE_BOX)
    for title in ("Keras", "shape", "torch", "shape ", "max |diff|"):
        table.add_column(title, justify="right" if title == "max |diff|" else "left", overflow="fold")
    for row in data["outputs"]:
        torch_text = row["torch"]
        if row["expect"] == "differ":
            torch_text = Text(
                f"NOT {row['torch']}: {row['why']}"
                if row["holds"]
                else f"{row['torch']} (equal here by chance; in general {row['why']})",
                style="yellow",
            )
        table.add_row(
            row["keras"],
            shape_text(row["keras_shape"]),
            torch_text,
            shape_text(row["torch_shape"]),
            diff_text(row["max_abs_diff"]),
        )
    return table


def torch_table(data: dict[str, Any]) -> Table:
    reads = data["torch"].get("input", "x")
    returned = "output, (h_n, c_n)" if any(o["name"] == "c_n" for o in data["torch"]["outputs"]) else "output, h_n"
    table = Table(title=f"What torch.nn returns: {returned} = module({reads})", title_justify="left", box=TABLE_BOX)
    table.add_column("torch")
    table.add_column("shape")
    table.add_column("axes", overflow="fold")
    table.add_column("meaning", overflow="fold")
    for out in data["torch"]["outputs"]:
        table.add_row(out["name"], shape_text(out["shape"]), ", ".join(out["axes"]), out["meaning"])
    return table


def weights_table(data: dict[str, Any], to_torch: bool) -> Table:
    if to_torch:
        table = Table(
            title="The weights, tensor by tensor (Keras -> torch state_dict)", title_justify="left", box=TABLE_BOX
        )
        for title in ("torch", "shape", "from Keras", "shape ", "how"):
            table.add_column(title, overflow="fold")
        for rule in data["weights"]:
            table.add_row(
                rule["torch"],
                shape_text(rule["torch_shape"]),
                rule["keras"],
                shape_text(rule["keras_shape"]),
                rule["how"],
            )
        return table
    table = Table(
        title="The weights, tensor by tensor (torch state_dict -> Keras set_weights order)",
        title_justify="left",
        box=TABLE_BOX,
    )
    for title in ("Keras", "shape", "from torch", "how"):
        table.add_column(title, overflow="fold")
    for rule in data["weights"]:
        table.add_row(rule["keras"], shape_text(rule["keras_shape"]), ", ".join(rule["torch"]), rule["how"])
    return table
