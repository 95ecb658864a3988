"""--expect NAME=D1,D2,...: expected output shapes parsed and compared with a layer's. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rnnshape.errors import SpecError
from rnnshape.rules.layer import LayerSpec


@dataclass(frozen=True)
class Expectation:
    name: str
    shape: tuple[int, ...]


_EXPECT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=([0-9]+(?:,[0-9]+)*)$")


def parse_expect(text: str) -> Expectation:
    """'output=1,6' -> Expectation('output', (1, 6))."""
    match = _EXPECT.match((text or "").replace(" ", ""))
    if not match or len(text) > 1000:
        raise SpecError("expect", f"{text!r} is not NAME=D1,D2,... (for example output=1,6)")
    return Expectation(match.group(1), tuple(int(d) for d in match.group(2).split(",")))


@dataclass(frozen=True)
class ShapeComparison:
    name: str
    expected: tuple[int, ...]
    actual: tuple[int, ...] | None
    hint: str = ""

    @property
    def holds(self) -> bool:
        return self.actual is not None and tuple(self.actual) == tuple(self.expected)


def compare_shapes(
    spec: LayerSpec, actual: dict[str, tuple[int, ...]], expected: list[Expectation]
) -> list[ShapeComparison]:
    """Each expectation against the actual shapes; a missing name gets a hint why."""
    results = []
    for exp in expected:
        shape = actual.get(exp.name)
        hint = "" if shape is not None else missing_output_hint(spec, exp.name)
        results.append(ShapeComparison(exp.name, tuple(exp.shape), tuple(shape) if shape is not None else None, hint))
    return results


def missing_output_hint(spec: LayerSpec, name: str) -> str:
    """Why an output name does not exist for this configuration."""
    names = spec.output_names()
    if name.endswith("state_c") and not spec.has_cell_state:
        why = f"{spec.keras_class} has no cell state c (only LSTM does): its state is h"
    elif "state" in name and not spec.return_state:
        why = "states are returned only with return_state=True (--return-state)"
    elif name.startswith(("forward_", "backward_")) and not spec.bidirectional:
        why = "forward_/backward_ names exist only with --bidirectional"
    elif name in ("forward_output", "backward_output"):
        why = "forward_output/backward_output exist only with --merge-mode none"
    elif name == "output" and spec.bidirectional and spec.merge_mode == "none":
        why = "with merge_mode none the outputs are forward_output and backward_output"
    elif name.startswith("state_") and spec.bidirectional:
        why = "a Bidirectional layer names its states forward_state_h, backward_state_h, ..."
    else:
        why = "unknown output name"
    return f"{why}; this layer returns {', '.join(names)}"
