"""rnnshape: the shapes and semantics of Keras recurrent layers, measured on real runs.

One function per command, each returning a result object (rnnshape.results) that renders
itself with rich and gives ``to_dict()``, the ``data`` of the command's ``--json``::

    import rnnshape
    result = rnnshape.inspect(layer="lstm", units=6, return_state=True)
    result.shapes          # {'output': (1, 6), 'state_h': (1, 6), 'state_c': (1, 6)}
    rich.print(result)     # the tables of `rnnshape inspect`

Importing rnnshape imports neither TensorFlow, Keras nor numpy: a command imports what it
needs when it is called. Failures raise the exceptions below (exit codes on the command line).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rnnshape.errors import (BackendError, ExitCode, ExpectationFailed, InternalError, RnnshapeError, SpecError,
                             UsageError)
from rnnshape.versions import __version__

if TYPE_CHECKING:
    from rnnshape.results import (CheckResult, CompareResult, GenerateResult, InspectResult, ModelResult, PatternsResult,
                                  PortResult, StackResult, StatefulResult, TraceResult, WhyResult, WindowResult)

__all__ = ["__version__", "inspect", "compare", "check", "trace", "stateful", "generate", "stack", "patterns", "window", "why",
           "model", "explain", "port",
           "RnnshapeError", "UsageError", "SpecError", "ExpectationFailed", "BackendError", "InternalError", "ExitCode"]


def inspect(layer: str = "lstm", units: int | None = None, **options: Any) -> InspectResult:
    """One recurrent layer built, run and explained (``rnnshape inspect``); see
    rnnshape.api.inspect.inspect for every option."""
    from rnnshape.api.inspect import inspect as run

    return run(layer, units, **options)


def compare(layers: Any = ("lstm",), **options: Any) -> CompareResult:
    """Many configurations side by side (``rnnshape compare``); see rnnshape.api.compare.compare."""
    from rnnshape.api.compare import compare as run

    return run(layers, **options)


def check(file: str, **options: Any) -> CheckResult:
    """A shape contract file checked (``rnnshape check``); see rnnshape.api.check.check."""
    from rnnshape.api.check import check as run

    return run(file, **options)


def trace(layer: str = "lstm", units: int = 4, **options: Any) -> TraceResult:
    """Every gate and state of every step, recomputed (``rnnshape trace``); see rnnshape.api.trace.trace."""
    from rnnshape.api.trace import trace as run

    return run(layer, units, **options)


def stateful(layer: str = "lstm", units: int = 4, **options: Any) -> StatefulResult:
    """A sequence fed as consecutive batches (``rnnshape stateful``); see rnnshape.api.stateful.stateful."""
    from rnnshape.api.stateful import stateful as run

    return run(layer, units, **options)


def generate(layer: str = "lstm", units: int | None = None, **options: Any) -> GenerateResult:
    """A stateful layer warmed up on a known part, then generating one step per call, each output
    fed back (``rnnshape generate``); see rnnshape.api.generate.generate for every option."""
    from rnnshape.api.generate import generate as run

    return run(layer, units, **options)


def stack(tokens: Any, **options: Any) -> StackResult:
    """Shapes through a stack of layers (``rnnshape stack``); see rnnshape.api.stack.stack."""
    from rnnshape.api.stack import stack as run

    return run(tokens, **options)


def patterns(**options: Any) -> PatternsResult:
    """The canonical model shapes, built (``rnnshape patterns``); see rnnshape.api.patterns.patterns."""
    from rnnshape.api.patterns import patterns as run

    return run(**options)


def window(**options: Any) -> WindowResult:
    """A series cut into windows (``rnnshape window``); see rnnshape.api.window.window."""
    from rnnshape.api.window import window as run

    return run(**options)


def why(text: str | None = None, *, static: bool = False, **options: Any) -> WhyResult:
    """A Keras shape error explained, each fix built (``rnnshape why``); see rnnshape.api.why.why
    (``file=``, ``model=`` and ``y=`` as the command's options)."""
    from rnnshape.api.why import why as run

    return run(text, static=static, **options)


def port(layer: str | None = None, **options: Any) -> PortResult:
    """A Keras layer ported to torch.nn (``to="torch"``; ``layer`` defaults to "lstm") or a torch
    state_dict to Keras (``from_torch="FILE.pt"``: the kind is the file's), verified on numbers
    (``rnnshape port``); see rnnshape.api.port.port."""
    from rnnshape.api.port import port as run

    return run(layer, **options)


import rnnshape.model as _rules  # noqa: E402  (the pure rules package, light; see _ModelFunction)


class _ModelFunction:
    """``rnnshape.model(path, x=..., y=..., layer=...)``: a model file explained (``rnnshape
    model FILE``): layers, recurrent layers, diagnoses, and with x=/y= the measured facts on your
    data; see rnnshape.api.model.model. The name is also the package of pure rules
    (``rnnshape.model.layer``, ...): attributes other than the call are that package's."""

    def __call__(self, path: str, **options: Any) -> ModelResult:
        from rnnshape.api.model import model as run

        return run(path, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(_rules, name)

    def __repr__(self) -> str:
        return "<function rnnshape.model(path, x=None, y=None, layer=None, ...)>"


model = _ModelFunction()
model.__doc__ = _ModelFunction.__doc__


def explain(obj: Any, x: Any = None, y: Any = None, layer: str | None = None, **options: Any) -> ModelResult:
    """A live keras.Model or recurrent layer explained as ``rnnshape model`` explains a file;
    the result renders in a terminal and in Jupyter. See rnnshape.api.explain.explain."""
    from rnnshape.api.explain import explain as run

    return run(obj, x, y, layer=layer, **options)
