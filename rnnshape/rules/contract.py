"""check: shape contracts (a TOML document read by rnnshape.files), their cases, verdicts
and JUnit reports.

Pure: no TensorFlow, no rich, no file reading. A contract holds ``[[case]]`` tables; each case uses the
layer options' keys (underscored, as in rules.layer.make_spec) and an ``expect`` table of output
name -> shape. Every problem with the file is a UsageError (exit 2) that names the file, the
case and the key.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Callable

from rnnshape.errors import SpecError, UsageError
from rnnshape.rules.catalogue import DEFAULTS
from rnnshape.rules.expectations import Expectation, ShapeComparison, compare_shapes
from rnnshape.rules.layer import LayerSpec
from rnnshape.rules.spec import make_spec
from rnnshape.rules.words import shape_text as shape_label

LAYER_KEYS = tuple(DEFAULTS)
CASE_KEYS = ("name", *LAYER_KEYS, "expect")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Case:
    index: int  # 1-based, in file order
    name: str
    spec: LayerSpec
    expect: tuple[Expectation, ...]

    @property
    def label(self) -> str:
        return f'case {self.index} "{self.name}"'


@dataclass(frozen=True)
class Verdict:
    case: Case
    outputs: list[dict[str, Any]]  # [{name, shape}] as the run returned them
    comparisons: list[ShapeComparison]

    @property
    def passed(self) -> bool:
        return all(c.holds for c in self.comparisons)

    def problems(self) -> list[str]:
        """One phrase per differing or missing output."""
        lines = []
        for c in self.comparisons:
            if c.holds:
                continue
            if c.actual is None:
                lines.append(f"{c.name}: expected {shape_label(c.expected)}, got no such output ({c.hint})")
            else:
                lines.append(f"{c.name}: expected {shape_label(c.expected)}, got {shape_label(c.actual)}")
        return lines

    def message(self) -> str:
        return f"{self.case.label} failed: " + "; ".join(self.problems())


def parse(document: dict[str, Any], source: str, make: Callable[..., LayerSpec] = make_spec) -> list[Case]:
    """The cases of a contract document; ``make`` builds each case's spec from its options (the
    API's, which reads an --input file first)."""
    unknown = [key for key in document if key != "case"]
    if unknown:
        raise UsageError(f"{source}: unknown top-level key {unknown[0]!r}: a contract file holds only [[case]] tables")
    cases = document.get("case")
    if cases is None:
        raise UsageError(f"{source}: no [[case]] tables: add at least one case with a name and an expect table")
    if not isinstance(cases, list) or not all(isinstance(case, dict) for case in cases):
        raise UsageError(f"{source}: 'case' must be an array of tables, written [[case]]")
    parsed: list[Case] = []
    seen: dict[str, int] = {}
    for index, table in enumerate(cases, start=1):
        case = _parse_case(table, index, source, make)
        if case.name in seen:
            raise UsageError(
                f"{source}: {case.label}: key 'name': the name is already used by case "
                f"{seen[case.name]}; give every case its own name"
            )
        seen[case.name] = index
        parsed.append(case)
    return parsed


def _parse_case(table: dict[str, Any], index: int, source: str, make: Callable[..., LayerSpec]) -> Case:
    name = table.get("name")
    where = f"{source}: case {index}" + (f' "{name}"' if isinstance(name, str) and name.strip() else "")
    for key in table:
        if key not in CASE_KEYS:
            raise UsageError(f"{where}: unknown key {key!r}: allowed are {', '.join(CASE_KEYS)}")
    if not isinstance(name, str) or not name.strip():
        got = "missing" if name is None else f"{name!r} is not a non-empty string"
        raise UsageError(f"{where}: key 'name': {got}; every case needs a name, e.g. name = \"encoder\"")
    options = {key: table[key] for key in LAYER_KEYS if key in table}
    try:
        spec = make(**options)
    except SpecError as exc:
        raise UsageError(f"{where}: key {exc.key!r}: {exc.problem}") from None
    return Case(index, name.strip(), spec, _parse_expect(table.get("expect"), where))


def _parse_expect(expect: Any, where: str) -> tuple[Expectation, ...]:
    if expect is None:
        raise UsageError(
            f"{where}: key 'expect': missing; add a [case.expect] table of output name -> shape, e.g. output = [1, 6]"
        )
    if not isinstance(expect, dict) or not expect:
        raise UsageError(
            f"{where}: key 'expect': {expect!r} is not a table of output name -> shape, e.g. output = [1, 6]"
        )
    expectations = []
    for name, shape in expect.items():
        if not _NAME.match(name):
            raise UsageError(f"{where}: key 'expect.{name}': {name!r} is not an output name such as output or state_h")
        if (
            not isinstance(shape, list)
            or not shape
            or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in shape)
        ):
            raise UsageError(
                f"{where}: key 'expect.{name}': {shape!r} is not a shape: write a list of "
                "positive integers, e.g. [1, 6]"
            )
        expectations.append(Expectation(name, tuple(shape)))
    return tuple(expectations)


# ---- verdicts ---------------------------------------------------------------------------------
def judge(case: Case, data: dict[str, Any]) -> Verdict:
    """The case's expectations against the outputs in ``data`` (a measure.inspect.layer_data object)."""
    outputs = [{"name": out["name"], "shape": list(out["shape"])} for out in data["outputs"]]
    actual = {out["name"]: tuple(out["shape"]) for out in outputs}
    return Verdict(case, outputs, compare_shapes(case.spec, actual, list(case.expect)))


def verdict_data(verdict: Verdict) -> dict[str, Any]:
    case = verdict.case
    return {
        "index": case.index,
        "name": case.name,
        "passed": verdict.passed,
        "config": case.spec.config(),
        "keras_call": case.spec.keras_call(),
        "outputs": verdict.outputs,
        "expectations": [
            {
                "name": c.name,
                "expected": list(c.expected),
                "actual": list(c.actual) if c.actual is not None else None,
                "holds": c.holds,
                "hint": c.hint,
            }
            for c in verdict.comparisons
        ],
        "problems": verdict.problems(),
    }


def summary(verdicts: list[Verdict]) -> dict[str, int]:
    passed = sum(1 for v in verdicts if v.passed)
    return {"cases": len(verdicts), "passed": passed, "failed": len(verdicts) - passed}


# ---- JUnit ----------------------------------------------------------------------------------
def junit_tree(source: str, verdicts: list[Verdict], properties: dict[str, str]) -> ET.ElementTree:
    """One <testsuite> in <testsuites>, one <testcase> per case, a <failure> per failed case.
    No timestamps or durations, so the same run gives the same file."""
    counts = summary(verdicts)
    attributes = {"tests": str(counts["cases"]), "failures": str(counts["failed"]), "errors": "0"}
    root = ET.Element("testsuites", {"name": "rnnshape check", **attributes})
    suite = ET.SubElement(root, "testsuite", {"name": f"rnnshape check {source}", **attributes, "skipped": "0"})
    props = ET.SubElement(suite, "properties")
    for key, value in properties.items():
        ET.SubElement(props, "property", {"name": key, "value": value})
    classname = "rnnshape." + (PurePath(source).stem or "contract")
    for verdict in verdicts:
        case = ET.SubElement(suite, "testcase", {"classname": classname, "name": verdict.case.name})
        details = [
            verdict.case.spec.keras_call(),
            "outputs: " + ", ".join(f"{o['name']} {shape_label(o['shape'])}" for o in verdict.outputs),
        ]
        if not verdict.passed:
            failure = ET.SubElement(case, "failure", {"message": verdict.message(), "type": "ShapeMismatch"})
            failure.text = "\n".join(verdict.problems() + details)
        ET.SubElement(case, "system-out").text = "\n".join(details)
    ET.indent(root)
    return ET.ElementTree(root)
