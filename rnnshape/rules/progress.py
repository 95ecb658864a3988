"""Where long work reports its progress: a callback the caller may set (the command line sets one
that draws a rich progress display on stderr; see views/progress.py). Pure: no drawing here, and
nothing happens when no callback is set (the Python API, tests, pipes).

The API announces the work with ``start`` (what, how many configurations, the estimated seconds);
the runner reports each configuration (``configuration``) and each pass over a sequence
(``layer_pass``); compare and check advance per row/case through ``configuration``.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import Any, Callable, Iterator

Reporter = Callable[[str, dict[str, Any]], None]  # (event, details)
_reporter: ContextVar[Reporter | None] = ContextVar("rnnshape_progress", default=None)


@contextlib.contextmanager
def reporting(callback: Reporter | None) -> Iterator[None]:
    """Send the block's progress events to ``callback``."""
    token = _reporter.set(callback)
    try:
        yield
    finally:
        _reporter.reset(token)


def _emit(event: str, **details: Any) -> None:
    callback = _reporter.get()
    if callback is not None:
        callback(event, details)


def start(what: str, total: int, seconds: float, mode: str) -> None:
    """The work begins: ``total`` configurations (rows, cases) estimated at ``seconds``, run ``mode``."""
    _emit("start", what=what, total=total, seconds=seconds, mode=mode)


def configuration(index: int, total: int, label: str) -> None:
    """Configuration ``index`` (from 0) of ``total`` begins."""
    _emit("configuration", index=index, total=total, label=label)


def layer_pass(label: str) -> None:
    """One pass of a layer over a sequence begins (a call or a probe)."""
    _emit("pass", label=label)
