"""The JSON envelope of docs/cli.md: one document on stdout, keys sorted."""

from __future__ import annotations

import json
import math
from typing import Any, Iterator

from rnnshape.errors import RnnshapeError

SCHEMA = "rnnshape/v1"


def envelope(command: str, data: Any, exit_code: int, errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "command": command,
        "ok": exit_code == 0,
        "exit_code": int(exit_code),
        "data": data,
        "errors": list(errors or []),
    }


def error_entry(error: RnnshapeError) -> dict[str, str]:
    return {"type": error.type, "message": error.message}


def dumps(document: Any) -> str:
    """Sorted keys, reproducible floats (Python's shortest repr), strict JSON."""
    return json.dumps(_clean(document), sort_keys=True, indent=2, allow_nan=False)


def dumps_chunks(document: Any) -> Iterator[str]:
    """The text of ``dumps(document)``, piece by piece: written as it is made, a document of
    millions of numbers never exists whole as text (nor as millions of pieces in a list)."""
    encoder = json.JSONEncoder(sort_keys=True, indent=2, allow_nan=False)
    return encoder.iterencode(_clean(document))


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value
