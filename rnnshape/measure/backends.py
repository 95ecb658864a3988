"""The facts of running the same configurations on several Keras backends: per output, the
shapes on each backend and the max |difference| against the first backend named."""

from __future__ import annotations

from typing import Any

from rnnshape.measure.checks import Check, equal


def agreement(names: list[str], runs: list[Any]) -> tuple[list[dict[str, Any]], list[Check]]:
    """``names[i]`` ran ``runs[i]`` (runner RunResults of one configuration): one entry per output
    and other backend, with the claim that it equals the first backend's within 1e-5."""
    first, reference = names[0], runs[0]
    entries, checks = [], []
    for output, value in reference.outputs.items():
        for name, run in zip(names[1:], runs[1:]):
            other = run.outputs[output]
            claim = f"{output} on {name} == {output} on {first}"
            if other.shape != value.shape:
                check = Check(
                    f"{claim} (shapes {list(other.shape)} and {list(value.shape)})", False, float("inf"), "equal"
                )
            else:
                check = equal(claim, other, value)
            checks.append(check)
            entries.append(
                {
                    "output": output,
                    "backend": name,
                    "against": first,
                    "shape": list(other.shape),
                    "reference_shape": list(value.shape),
                    "max_abs_diff": check.max_abs_diff,
                    "holds": check.holds,
                }
            )
    return entries, checks
