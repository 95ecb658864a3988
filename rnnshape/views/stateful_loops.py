"""The views of `rnnshape stateful --fit`, `--windows` and `--save-load`: what each row's state has
read at every batch, the windows read twice, what a saved model keeps; the measured facts and the
rules. Draws from the data only."""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np
from rich.table import Table
from rich.text import Text

from rnnshape.views.common import TABLE_BOX, boxed, checks_table, diff_text, header_line, shape_text

MAX_ROWS_SHOWN = 3  # rows (series) per batch in the table; JSON has them all
BATCHES_SHOWN = (6, 2)  # first and last batches of an epoch when it has more than their sum + 2


def render_loop(data: dict[str, Any], width: int, diagram: bool, ascii_only: bool) -> Iterator[Any]:
    yield from header_line(data["keras_call"], data, width)
    yield from {"fit": _fit, "windows": _windows, "save_load": _save_load}[data["loop"]](
        data, width, diagram, ascii_only
    )
    yield ""
    yield boxed(checks_table(data["checks"]), ascii_only)
    yield Text("Rules of Keras (from its documentation and source; not measured here)", style="bold")
    rules = Table.grid(padding=(0, 1))
    rules.add_column(no_wrap=True)
    rules.add_column(overflow="fold")
    for rule in data["rules"]:
        rules.add_row("-", rule)
    yield rules


def _steps(pair: list[int]) -> str:
    """0-based [start, stop) -> '1..20', counted from 1 like t in x_t."""
    return f"{pair[0] + 1}..{pair[1]}" if pair[1] - pair[0] > 1 else str(pair[0] + 1)


def _shown(batches: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
    first, last = BATCHES_SHOWN
    if len(batches) <= first + last + 2:
        return list(batches)
    return [*batches[:first], None, *batches[-last:]]


def _fit(data: dict[str, Any], width: int, diagram: bool, ascii_only: bool) -> Iterator[Any]:
    fit = data["fit"]
    inp = data["input"]
    yield (
        f"series x: {shape_text(inp['shape'])} = [series, timesteps, features], float32, seed "
        f"{data['config']['seed']} (the input of rnnshape inspect with these options)"
    )
    yield (
        f"arranged for stateful training: {fit['arrangement']}: X {shape_text(fit['X_shape'])}, "
        f"{fit['chunks']} batches of {fit['batch_size']} per epoch; {fit['target']}"
    )
    yield f"model: {data['keras_input']} -> the layer -> Dense({inp['shape'][2]}), {fit['optimizer']}"
    yield f"the loop: {data['keras_loop']}"
    yield ""
    if diagram:
        yield from _fit_diagram(data, ascii_only)
    rows = min(MAX_ROWS_SHOWN, fit["series"])
    by_epoch: dict[int, list[dict[str, Any]]] = {}
    for batch in data["batches"]:
        by_epoch.setdefault(batch["epoch"], []).append(batch)
    for epoch, batches in by_epoch.items():
        loss = fit["epoch_losses"][epoch]
        table = Table(
            title=f"Epoch {epoch + 1} (fit's loss {loss:.4g}): what each row read, and what its state had read before",
            title_justify="left",
            box=TABLE_BOX,
        )
        table.add_column("batch", justify="right", no_wrap=True)
        table.add_column("row", justify="right", no_wrap=True)
        table.add_column("reads", no_wrap=True)
        table.add_column("its state had read", overflow="fold")
        table.add_column("continues it", no_wrap=True)
        for batch in _shown(batches):
            if batch is None:
                table.add_row(*["..."] * 5)
                continue
            for entry in batch["rows"][:rows]:
                verdict = Text("yes") if entry["continues"] else Text("NO: wrong history", style="bold red")
                table.add_row(
                    str(batch["batch"] + 1) if entry["row"] == 0 else "",
                    str(entry["row"] + 1),
                    f"series {entry['series'] + 1} steps {_steps(entry['steps'])}",
                    entry["state_had_read"],
                    verdict,
                )
        yield boxed(table, ascii_only)
    if fit["series"] > rows:
        yield f"(rows {rows + 1}..{fit['series']} are in --json)"
    if fit["shuffle"]:
        yield Text(
            f"shuffle=True: {data['wrong_history_rows']} rows read a sample that does not continue their "
            "previous one (measured: the sample is the one whose forward pass from the row's entering state "
            "gives its leaving state)",
            style="bold",
        )
    partial = data.get("partial_batch")
    if partial:
        yield ""
        yield Text("Measured: a batch_size that does not divide the samples", style="bold")
        what = (
            f"after the epochs, layer.reset_state(); model.fit(X[:{partial['samples']}], y[:{partial['samples']}], batch_size={partial['batch_size']}, "
            f"shuffle=False): the last batch holds {partial['last_batch_samples']} sample(s)"
        )
        if partial["raised"]:
            yield f"{what}; Keras raised {partial['type']}: {partial['message']}"
        else:
            yield (
                f"{what}; Keras raised no error: it read the sample from each of the {partial['batch_size']} rows' "
                f"states (max |diff| {diff_text(partial['forward_pass_max_abs_diff'] or 0.0)})"
            )
        if partial["predict_rows"] is not None:
            yield (f"model.predict on those {partial['samples']} samples returned {partial['predict_rows']} rows")
        elif partial["predict_type"]:
            yield f"model.predict on those samples raised {partial['predict_type']}: {partial['predict_message']}"
    yield ""
    yield Text("Measured: what the installed Keras has (hasattr)", style="bold")
    yield ", ".join(f"{name}(): {'yes' if present else 'no'}" for name, present in data["api"].items())


def _fit_diagram(data: dict[str, Any], ascii_only: bool) -> Iterator[Any]:
    """Epoch 1 (and 2) as rows of chunks, the state crossing right from each batch into the next."""
    arrow = "->" if ascii_only else "→"
    cross = "x" if ascii_only else "✗"
    count = min(8, data["fit"]["chunks"])
    epochs = sorted({b["epoch"] for b in data["batches"]})[:2]
    yield Text(
        f"The batches of epoch{'s' if len(epochs) > 1 else ''} "
        f"{' and '.join(str(e + 1) for e in epochs)}, row by row (s = series, c = chunk; {cross} = wrong history; "
        f"{arrow} = the state carried)",
        style="bold",
    )
    for epoch in epochs:
        batches = [b for b in data["batches"] if b["epoch"] == epoch][:count]
        start = "0" if data["fit"]["reset"] or epoch == 0 else "..."
        for row in range(min(MAX_ROWS_SHOWN, data["fit"]["series"])):
            cells = []
            for batch in batches:
                entry = batch["rows"][row]
                chunk = entry["steps"][0] // data["fit"]["chunk"] + 1
                cells.append(f"s{entry['series'] + 1}c{chunk}" + ("" if entry["continues"] else cross))
            more = f" {arrow} ..." if data["fit"]["chunks"] > count else ""
            yield f"  epoch {epoch + 1} row {row + 1}: {start} {arrow} " + f" {arrow} ".join(cells) + more
    yield ""


def _windows(data: dict[str, Any], width: int, diagram: bool, ascii_only: bool) -> Iterator[Any]:
    inp = data["input"]
    look_back = data["look_back"]
    yield (
        f"series x: {shape_text(inp['shape'])} = [series, timesteps, features], float32, seed {data['config']['seed']}"
    )
    yield (
        f"windows: {data['windows_recipe']}: {len(data['windows'])} windows, fed in order to one stateful layer "
        f"(batch {inp['shape'][0]}): it reads {data['steps_read']} steps of a {data['series_steps']}-step series"
    )
    yield ""
    if diagram:
        arrow = "->" if ascii_only else "→"
        yield Text(
            "The windows as the stateful layer reads them (the state carried from each into the next)", style="bold"
        )
        for entry in data["windows"][:8]:
            steps = range(entry["steps"][0] + 1, entry["steps"][1] + 1)
            yield f"  {arrow} [{' '.join(str(t) for t in steps)}]"
        if len(data["windows"]) > 8:
            yield f"  {arrow} ..."
        yield ""
    table = Table(
        title="Overlapping windows fed statefully (max |diff| measured against one pass over the series)",
        title_justify="left",
        box=TABLE_BOX,
    )
    table.add_column("window", justify="right", no_wrap=True)
    table.add_column("steps", no_wrap=True)
    table.add_column("the state entering it had read", overflow="fold")
    table.add_column("re-read", justify="right", no_wrap=True)
    table.add_column("h in vs state after step k", justify="right", no_wrap=True)
    table.add_column("output vs one pass", justify="right", no_wrap=True)
    for entry in _shown(data["windows"]):
        if entry is None:
            table.add_row(*["..."] * 6)
            continue
        table.add_row(
            str(entry["index"] + 1),
            _steps(entry["steps"]),
            entry["state_had_read"],
            str(entry["steps_read_again"]),
            diff_text(entry["entering_h_vs_one_pass_max_abs_diff"]),
            diff_text(entry["output_vs_one_pass_max_abs_diff"]),
        )
    yield boxed(table, ascii_only)
    yield (
        f"re-read: steps of the window its state has already read (window k+1 starts at step k+1, the state "
        f"has read up to step k+{look_back - 1}); 'state after step k' is one pass over steps 1..k, where the "
        "window should start from"
    )
    yield ""
    chunks = Table(
        title=f"The right arrangement: non-overlapping consecutive chunks of {look_back} steps, fed to the "
        "same layer after reset_state()",
        title_justify="left",
        box=TABLE_BOX,
    )
    chunks.add_column("chunk", justify="right")
    chunks.add_column("steps")
    chunks.add_column("output vs one pass at its last step", justify="right")
    for entry in _shown(data["chunks"]):
        if entry is None:
            chunks.add_row("...", "...", "...")
            continue
        chunks.add_row(
            str(entry["index"] + 1), _steps(entry["steps"]), diff_text(entry["output_vs_one_pass_max_abs_diff"])
        )
    yield boxed(chunks, ascii_only)


def _array_text(values: Any) -> str:
    with np.printoptions(precision=4, suppress=True, threshold=40, edgeitems=2, linewidth=90):
        return str(np.asarray(values, dtype=np.float32))


def _save_load(data: dict[str, Any], width: int, diagram: bool, ascii_only: bool) -> Iterator[Any]:
    inp = data["input"]
    fed = ", ".join(_steps(pair) for pair in data["fed_before_save"])
    yield f"input x: {shape_text(inp['shape'])} = [batch, timesteps, features], float32, seed {data['config']['seed']}"
    yield (
        f"model: {data['keras_input']} -> the layer; fed steps {fed}, then model.save('stateful.keras') and "
        "keras.saving.load_model; both then fed steps " + _steps(data["last_chunk"])
    )
    yield f"model.save wrote the variables: {', '.join(data['saved_variables'])}"
    yield f"the layer's state variables: {', '.join(data['state_variables'])}"
    yield ""
    table = Table(box=TABLE_BOX)
    table.add_column("state", no_wrap=True)
    table.add_column("at model.save", no_wrap=True)
    table.add_column("after load_model", no_wrap=True)
    for name in data["state_names"]:
        table.add_row(
            Text(name, style="bold cyan"), _array_text(data["before_save"][name]), _array_text(data["after_load"][name])
        )
    yield boxed(table, ascii_only)
    kept = "came back" if data["state_restored"] else "did NOT come back: the loaded model starts from zeros"
    yield Text(f"Measured: the state {kept}", style="bold")
    other = data["other_batch_predict"]
    yield ""
    yield Text("Measured: the batch size is fixed after loading too", style="bold")
    if other["raised"]:
        yield f"loaded.predict(x with {other['batch']} samples, batch_size={other['batch']}) raised {other['type']}: {other['message']}"
    else:
        yield (
            f"loaded.predict(x with {other['batch']} samples, batch_size={other['batch']}) raised no error and "
            f"returned {other['rows']} rows"
        )
