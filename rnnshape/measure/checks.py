"""One Check type and one tolerance policy for every command's measured facts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# Two float32 tensors computed by the same ops are bit-identical; a probe layer with the same
# weights may differ by rounding only. Anything above this is a real difference.
EQUAL_TOLERANCE = 1e-5
# rnnshape's float64 numpy recomputation of a cell (trace) against Keras' float32 run: the
# float32 rounding of long sequences stays far below this; above it the trace would explain
# another computation.
RECOMPUTE_TOLERANCE = 1e-4


@dataclass(frozen=True)
class Check:
    claim: str
    holds: bool
    max_abs_diff: float
    kind: str  # "equal": holds when diff <= tolerance; "differ": holds when diff > tolerance

    def to_dict(self) -> dict:
        return {"claim": self.claim, "holds": self.holds, "max_abs_diff": self.max_abs_diff, "kind": self.kind}


def flat(arrays: list[Any]) -> np.ndarray:
    """A list of arrays of any shapes as one float64 vector (a zero for an empty list)."""
    if not arrays:
        return np.zeros(1)
    return np.concatenate([np.ravel(np.asarray(a, dtype=np.float64)) for a in arrays])


def max_abs_diff(a: Any, b: Any) -> float:
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))


def equal(claim: str, a: Any, b: Any, tolerance: float = EQUAL_TOLERANCE) -> Check:
    """The claim that a equals b, holding when they differ by at most ``tolerance``."""
    diff = max_abs_diff(a, b)
    return Check(claim, diff <= tolerance, diff, "equal")


DEGENERATE = (
    " (cannot hold in this run: both are all zeros, as a zero input with zero biases or zero weights "
    "gives; measure it on other numbers, e.g. --input random)"
)


def differ(claim: str, a: Any, b: Any) -> Check:
    """The claim that a and b differ by more than rounding. When both are all zeros (a zero
    input with zero biases...), nothing can differ: the claim then says why it fails."""
    diff = max_abs_diff(a, b)
    holds = diff > EQUAL_TOLERANCE
    if not holds and _all_zero(a) and _all_zero(b):
        claim += DEGENERATE
    return Check(claim, holds, diff, "differ")


def _all_zero(value: Any) -> bool:
    array = np.asarray(value, dtype=np.float64)
    return array.size == 0 or float(np.max(np.abs(array))) == 0.0


def exact(claim: str, diff: float) -> Check:
    """The claim that integers (or indices) agree exactly."""
    return Check(claim, diff == 0.0, diff, "equal")
