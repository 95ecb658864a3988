"""rnnshape: the shapes and semantics of Keras recurrent layers, measured on real runs.

One function per command, each returning a result object (rnnshape.results) that renders
itself with rich and gives ``to_dict()``, the ``data`` of the command's ``--json``::

    import rnnshape
    result = rnnshape.inspect(layer="lstm", units=6, return_state=True)
    result.shapes          # {'output': (1, 6), 'state_h': (1, 6), 'state_c': (1, 6)}
    rich.print(result)     # the tables of `rnnshape inspect`

The functions are the command modules' own (rnnshape.api.<command>), with their full signatures
and docstrings: ``help(rnnshape.inspect)`` lists every parameter. Importing rnnshape imports
neither TensorFlow, Keras nor numpy: a function is imported when it is first used, and imports
what it needs when it is called. Failures raise the exceptions below (exit codes on the command
line); SpecError is a UsageError.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from rnnshape.errors import (
    BackendError,
    ExitCode,
    ExpectationFailed,
    InternalError,
    RnnshapeError,
    SpecError,
    UsageError,
)
from rnnshape.versions import __version__

if TYPE_CHECKING:
    from rnnshape.api.check import check as check
    from rnnshape.api.compare import compare as compare
    from rnnshape.api.explain import explain as explain
    from rnnshape.api.generate import generate as generate
    from rnnshape.api.inspect import inspect as inspect
    from rnnshape.api.model import model as model
    from rnnshape.api.patterns import patterns as patterns
    from rnnshape.api.port import port as port
    from rnnshape.api.stack import stack as stack
    from rnnshape.api.stateful import stateful as stateful
    from rnnshape.api.trace import trace as trace
    from rnnshape.api.why import why as why
    from rnnshape.api.window import window as window

COMMANDS = (
    "inspect",
    "compare",
    "check",
    "trace",
    "stateful",
    "generate",
    "stack",
    "patterns",
    "window",
    "why",
    "model",
    "explain",
    "port",
)

__all__ = [
    "__version__",
    "inspect",
    "compare",
    "check",
    "trace",
    "stateful",
    "generate",
    "stack",
    "patterns",
    "window",
    "why",
    "model",
    "explain",
    "port",
    "RnnshapeError",
    "UsageError",
    "SpecError",
    "ExpectationFailed",
    "BackendError",
    "InternalError",
    "ExitCode",
]


def __getattr__(name: str) -> Any:
    """rnnshape.inspect and the other command functions, imported on first use (PEP 562)."""
    if name in COMMANDS:
        function = getattr(importlib.import_module(f"rnnshape.api.{name}"), name)
        globals()[name] = function
        return function
    raise AttributeError(f"module 'rnnshape' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
