"""The window view: the series, X and y with their axes, the formula, the windows listed, the
measured agreement with Keras' utility and what the create_dataset loop drops."""

from __future__ import annotations

from typing import Any, Iterator

from rich.table import Table
from rich.text import Text

from rnnshape.views.common import TABLE_BOX, axes_text, checks_table, shape_text


def _values_text(values: Any, limit: int = 36) -> str:
    text = str(values)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def render(result: Any, width: int) -> Iterator[Any]:
    data = result.data
    config, series = data["config"], data["series"]
    feature_word = "feature" if config["features"] == 1 else "features"
    yield (
        Text(
            f"series: {config['length']} steps x {config['features']} {feature_word}, {series['dtype']}, "
            f"{series['rule']} (feature 0 reads as the step index)"
        )
    )
    yield (Text(f"X: {shape_text(data['x_shape'])} = {axes_text(data['x_axes'])}"))
    steps = "step" if config["horizon"] == 1 else "steps"
    yield (
        Text(
            f"y: {shape_text(data['y_shape'])} = {axes_text(data['y_axes'])}, the value "
            f"{config['horizon']} {steps} after each window's last step"
        )
    )
    yield (Text(data["formula"]))
    if config["stride"] == 1:
        yield (Text("(with --stride S: samples = floor((length - look_back - horizon) / S) + 1)"))
    yield ""
    if data["windows"]:
        shown = len(data["windows"])
        last_apart = shown > 1 and data["windows"][-1]["sample"] != data["windows"][-2]["sample"] + 1
        title = f"Windows: the first {shown - 1} and the last" if last_apart else "Windows"
        table = Table(title=title, title_justify="left", box=TABLE_BOX)
        for column in ("sample", "X[sample]", "y[sample]", "X values", "y values"):
            table.add_column(column, overflow="fold", justify="right" if column == "sample" else "left")
        for row in data["windows"]:
            start, end = row["x_steps"]
            table.add_row(
                str(row["sample"]),
                f"series[{start}:{end + 1}]",
                f"series[{row['y_step']}]",
                _values_text(row["x"]),
                _values_text(row["y"]),
            )
        yield (table)
    yield (Text("Equivalent Keras call" + (" (rnnshape ran it):" if not data["static"] else " (not run: --static):")))
    call = data["keras_call"]
    head, args = call.split("(", 1)
    parts = args[:-1].split(", ")
    yield (Text(f"  {head}(\n      {', '.join(parts[:3])},\n      {', '.join(parts[3:])})"))
    yield ""
    if data["checks"]:
        yield (checks_table(data["checks"]))
    note = data["create_dataset"]
    last = note["last_correct_window"]
    text = (
        f"note: the widely copied create_dataset loop, for i in range(len(dataset)-look_back-1), gives "
        f"{note['loop_windows']} windows on this series (its own setting: feature 0, horizon 1, stride 1) "
        f"where {note['correct_windows']} fit: it drops {note['dropped']}"
    )
    if note["dropped"] == 1:
        text += (
            f", the last window, X = series[{last['x_steps'][0]}:{last['x_steps'][1] + 1}] -> y = "
            f"series[{last['y_step']}]"
        )
    text += ". Measured by running the loop"
    if note["loop_windows"]:
        same = "equal" if note["loop_windows_equal_the_first_correct_ones"] else "DO NOT equal"
        text += f"; its {note['loop_windows']} windows {same} the first {note['loop_windows']} correct ones"
    text += ". The correct loop is range(len(dataset) - look_back)."
    yield (Text(text))
