"""The patterns view: the canonical stacks, the shapes through each, how to see one in full."""

from __future__ import annotations

from typing import Any, Iterator

from rich.table import Table
from rich.text import Text

from rnnshape.views.common import TABLE_BOX, run_text, shape_text


def render(result: Any, width: int) -> Iterator[Any]:
    data = result.data
    config = data["config"]
    head = (
        f"units {config['units']}, timesteps {config['timesteps']}, features {config['features']}, "
        f"batch {config['batch']}"
    )
    if data["static"]:
        yield (Text(f"Canonical patterns for {head}, from rnnshape's model of Keras' rules (not run)"))
    else:
        yield (
            Text(
                f"Canonical patterns, each built and run as a keras.Model: {head}, seed {config['seed']}{run_text(data)}"
            )
        )
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
    yield (table)
    yield ("Run any of them for the full view:")
    for pattern in data["patterns"]:
        yield (Text(f"  {pattern['command']}"))
    failed = [c for p in data["patterns"] for c in p["checks"] if not c["holds"]]
    if not data["static"]:
        total = sum(len(p["checks"]) for p in data["patterns"])
        yield (
            Text(
                f"measured: {total - len(failed)} of {total} checks hold (shapes of every layer, "
                "eager run = Keras' symbolic shape = rnnshape's rule)"
            )
        )
