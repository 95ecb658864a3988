"""rnnshape why: a Keras shape error explained, each fix built."""

from __future__ import annotations

import sys
from typing import Any

import click

from rnnshape.cli.app import execute
from rnnshape.cli.options import CONTEXT_SETTINGS, json_option, static_option


@click.command(context_settings=CONTEXT_SETTINGS)
@click.argument("text", nargs=-1, metavar="[TEXT]...")
@click.option("--file", "file", default=None, metavar="LOG", help="read the error from this file (a log, a traceback)")
@click.option(
    "--model",
    "model",
    default=None,
    metavar="FILE.keras",
    help="a saved model to check against --y (the silent broadcast of a sequence output)",
)
@click.option("--y", "y", default=None, metavar="Y.npy", help="the targets the model is trained on (with --model)")
@click.option(
    "--keras",
    is_flag=True,
    help="build each fix with Keras (imports TensorFlow: seconds) instead of rnnshape's rules, which agree with "
    "Keras on every stack the tests build",
)
@static_option("build each fix with rnnshape's rules, without TensorFlow (the default; kept for scripts)")
@json_option()
def why(
    text: tuple[str, ...],
    file: str | None,
    model: str | None,
    y: str | None,
    keras: bool,
    static: bool,
    json_mode: bool,
) -> int:
    """Read a Keras shape error, say what Keras checked and why it failed, and build each fix.

    The error comes from TEXT, from standard input (when no TEXT is given and the input is not
    a terminal, or TEXT is -), or from --file LOG; a whole traceback is fine. rnnshape finds the
    Keras message, names its shapes in axis words ((None, 10) = [batch, 10]: no timesteps
    axis), ranks the likely causes, and gives each a fix as code and as an `rnnshape stack` line,
    built by rnnshape's rules to show the shapes that result (--keras: built with Keras). An
    ambiguous message shows each reading. --model FILE.keras --y Y.npy reports the error Keras
    does not raise: a sequence output trained against a 2-D target (broadcast). Text with no
    Keras shape error exits 1 with the first error line seen.

    \b
    Examples:
      rnnshape why "expected ndim=3, found ndim=2. Full shape received: (None, 10)"
      python train.py 2>&1 | rnnshape why
      rnnshape why --file train.log --json
      rnnshape why --keras "expected ndim=3, found ndim=2. Full shape received: (None, 10)"
      rnnshape why --model model.keras --y y.npy
    """
    from rnnshape.api.why import why as run
    from rnnshape.errors import UsageError

    def work():
        if keras and static:
            raise UsageError("Invalid value for --keras: --static builds by the rules, --keras with Keras; give one")
        words = list(text)
        if words == ["-"] or (not words and file is None and model is None and not _stdin_is_tty()):
            from rnnshape import files

            words = [files.read_stream(_stdin_bytes())]
        return run(" ".join(words) if words else None, file=file, model=model, y=y, keras=keras)

    return execute("why", json_mode, work)


def _stdin_bytes() -> Any:
    """Standard input as bytes (decoded by files.read_stream with replacement: a log in Latin-1
    or cut mid-character is still read), without click's stream helpers (deprecated in click
    8.5)."""
    return getattr(sys.stdin, "buffer", sys.stdin)


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin is None or sys.stdin.isatty()
    except (AttributeError, ValueError):
        return True
