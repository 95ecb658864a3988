"""The explore view: inspect's view of one result cut into the panes of the explorer screen
(the Keras call, the unrolled picture, the outputs, h versus c, the measured facts), and the
"what changed" line between two results. Drawn from the results only: the words of a change
are compare's (rules.grid.describe_change), the facts those measured in the two runs."""

from __future__ import annotations

from typing import Any, Iterator

from rich.console import Group
from rich.text import Text

from rnnshape.rules.grid import describe_change
from rnnshape.rules.words import shape_text
from rnnshape.views.common import checks_table
from rnnshape.views.inspect import h_vs_c_table, masking_table, outputs_table, params_line, render_layer
from rnnshape.views.pictures.unrolled import diagram_for

PANES = ("call", "diagram", "outputs", "h_vs_c", "facts")


def render(result: Any, width: int) -> Iterator[Any]:
    """What explore shows when it cannot open a screen (stdout not a terminal): inspect's view."""
    from rnnshape.views.inspect import render as inspect_render

    yield from inspect_render(result, width)


def panes(result: Any, width: int = 80) -> dict[str, Any]:
    """An InspectResult as the renderables of the screen's panes, by name (PANES)."""
    data, ascii_only = result.data, result.view.ascii_only
    header = []
    for item in render_layer(data, result.spec, width):  # inspect's lines before its tables
        if item == "":
            break
        header.append(item)
    if data.get("static"):
        facts: Any = Text("static answer: nothing measured yet (the run fills this in)", style="italic")
    elif data.get("checks"):
        facts = Group(
            *[checks_table(data["checks"])] + ([masking_table(data["masking"])] if data.get("masking") else [])
        )
    else:
        facts = Text("no measured claim for this configuration")
    try:
        picture: Any = diagram_for(result.spec, data, ascii_only=ascii_only)
    except Exception as exc:  # a configuration the picture does not draw (e.g. a list of cells)
        picture = Text(f"no picture: {exc}")
    return {
        "call": Group(*[Text(item) if isinstance(item, str) else item for item in header]),
        "diagram": picture,
        "outputs": Group(outputs_table(data["outputs"]), params_line(data["params"])),
        "h_vs_c": h_vs_c_table(data["h_vs_c"], data["config"]["layer"]),
        "facts": facts,
    }


def change_line(label: str, before: dict[str, Any] | None, after: dict[str, Any]) -> str:
    """``label`` (what the user changed) and what it did, from inspect data ``before`` to ``after``:
    compare's words for names, axes, shapes and parameters, each changed shape written out, then
    the measured facts: those that still hold, those new to this run, those that failed."""
    if before is None:
        return label
    words = [describe_change(before, after)]
    old = {o["name"]: o["shape"] for o in before["outputs"]}
    for out in after["outputs"]:
        if out["name"] in old and old[out["name"]] != out["shape"] and "->" not in _phrase_of(words[0], out["name"]):
            words.append(f"{out['name']} {shape_text(old[out['name']])} -> {shape_text(out['shape'])}")
    held_before = {c["claim"] for c in before.get("checks") or [] if c["holds"]}
    checks = after.get("checks") or []
    still = [c["claim"] for c in checks if c["holds"] and c["claim"] in held_before]
    new = [c["claim"] for c in checks if c["holds"] and c["claim"] not in held_before]
    failed = [c["claim"] for c in checks if not c["holds"]]
    if new:
        words.append("now measured: " + "; ".join(new))
    if still:
        words.append("still holds: " + "; ".join(still) if len(still) == 1 else f"{len(still)} facts still hold")
    if failed:
        words.append("does NOT hold: " + "; ".join(failed))
    return f"{label}: " + ", ".join(words)


def _phrase_of(text: str, name: str) -> str:
    """The part of describe_change's text about output ``name`` (to not repeat its shapes)."""
    return next((part for part in text.split("; ") if part.startswith(f"{name} ") and "rank" not in part), "")
