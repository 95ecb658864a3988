"""How shapes, axes and differences are written in every table, picture and message."""

from __future__ import annotations

from typing import Any


def shape_text(shape: Any) -> str:
    """(1, 6); a 1-tuple keeps its comma, (6,), as Python writes it; None is '-'."""
    if shape is None:
        return "-"
    dims = [str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def axes_text(axes: list[str]) -> str:
    return "[" + ", ".join(axes) + "]"


def diff_text(value: float) -> str:
    """A measured max |difference|: 0.0 when exact, else three significant digits."""
    return "0.0" if value == 0 else f"{value:.3g}"
