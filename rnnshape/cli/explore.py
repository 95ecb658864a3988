"""rnnshape explore: the layer options as live controls on a full-screen terminal app."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from rnnshape.cli.app import _report, execute
from rnnshape.cli.options import CONTEXT_SETTINGS, json_option, layer_options, static_option, without_view_options
from rnnshape.errors import BackendError, RnnshapeError, UsageError


@click.command(context_settings=CONTEXT_SETTINGS)
@layer_options()
@static_option(help="never run Keras: the panes show the pure model's names, shapes and parameters")
@click.option("--ascii", "ascii_only", is_flag=True, help="draw the picture with plain ASCII characters")
@click.option(
    "--export-dir",
    default=".",
    show_default=True,
    metavar="DIR",
    help="where the e key saves the screen as rnnshape-explore-N.svg",
)
@json_option(help="do not open the screen: print the starting configuration's JSON (as inspect --json)")
def explore(json_mode: bool, static: bool, ascii_only: bool, export_dir: str, **options: Any) -> int:
    """Flip a recurrent layer's options live and watch its outputs, picture and facts change.

    A full-screen terminal app (textual): the options are controls, the panes show what
    inspect shows (the Keras call, the unrolled picture, the outputs, h versus c, the measured
    facts) and a "what changed" line after each change. The static answer appears at once;
    Keras loads once in the background and every later change re-runs only the layer.
    Keys: s return_sequences, r return_state, t stateful, g go_backwards, b bidirectional,
    m merge mode, a reset_after, l layer, ? help, e export SVG, c copy the inspect command,
    j JSON, o hide the controls, q quit. Needs the extra: pip install 'rnnshape[explore]'.
    When stdout is not a terminal (or with --json) it prints the starting configuration
    as inspect does and exits.

    \b
    Examples:
      rnnshape explore --layer lstm --units 6
      rnnshape explore --layer gru --return-sequences --bidirectional --static
    """
    if json_mode or not (sys.stdin.isatty() and sys.stdout.isatty()):
        from rnnshape.api.inspect import inspect as run_inspect

        return execute(
            "explore",
            json_mode,
            lambda: run_inspect(
                **without_view_options(options), static=static, diagram=not json_mode, ascii_only=ascii_only
            ),
        )
    from rnnshape.api.explore import explore as start

    return execute_screen(lambda: start(**without_view_options(options), ascii_only=ascii_only), static, export_dir)


def execute_screen(start: Any, static: bool, export_dir: str) -> int:
    """Validate the starting options (one line and exit 2 when refused), then open the screen."""
    try:
        if not os.path.isdir(export_dir):
            raise UsageError(f"Invalid value for --export-dir: {export_dir!r} is not a directory")
        if not _textual_installed():  # found before any Keras work
            raise BackendError(
                "rnnshape explore needs textual, which is not installed: pip install 'rnnshape[explore]'"
            )
        explorer = start()
        try:
            from rnnshape.tui.explore import run
        except ImportError as exc:
            raise BackendError(f"rnnshape explore needs textual ({exc}): pip install 'rnnshape[explore]'") from exc
    except RnnshapeError as exc:
        return _report("rnnshape explore", False, exc)
    return run(explorer, static_only=static, export_dir=export_dir)


def _textual_installed() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("textual") is not None
    except (ImportError, ValueError):
        return False
