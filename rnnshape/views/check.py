"""The check view: one row per case of a shape contract, the verdict, the JUnit report."""

from __future__ import annotations

from typing import Any, Iterator

from rich.table import Table
from rich.text import Text

from rnnshape.views.common import TABLE_BOX, header_line, shape_text


def render(result: Any, width: int) -> Iterator[Any]:
    data = result.data
    total = data["summary"]
    yield from header_line(f"rnnshape check {data['file']}: {_count(total['cases'], 'case')}", data, width)
    if data.get("static"):
        yield ("static: shapes from rnnshape's model of Keras' rules; nothing was run")
    yield ""
    yield (check_table(data["cases"]))
    verdict = f"{total['passed']} of {_count(total['cases'], 'case')} " + ("holds" if total["cases"] == 1 else "hold")
    if total["failed"]:
        verdict += f", {total['failed']} failed"
    yield (Text(verdict, style="bold red" if total["failed"] else "green"))
    if data.get("junit"):
        yield (f"JUnit report: {data['junit']}")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def check_table(cases: list[dict[str, Any]]) -> Table:
    table = Table(title="Cases", title_justify="left", box=TABLE_BOX)
    table.add_column("result", no_wrap=True)
    table.add_column("case", overflow="fold", ratio=2)
    table.add_column("Keras call", overflow="fold", ratio=2)
    table.add_column("expected vs actual", overflow="fold", ratio=4)
    for case in cases:
        if case["passed"]:
            mark = Text("PASS", style="green")
            detail = Text("\n".join(f"{e['name']} {shape_text(e['actual'])}" for e in case["expectations"]))
        else:
            mark = Text("FAIL", style="bold red")
            detail = Text("\n".join(case["problems"]), style="red")
        table.add_row(mark, case["name"], case["keras_call"].replace("keras.layers.", ""), detail)
    return table
