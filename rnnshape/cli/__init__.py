"""The command line: click only. Options are declared once (cli.options), each command lives in
its own module (imported only when it runs, so --help stays fast), every command calls the
Python API and shows its result, and errors become exit codes in one place (cli.app)."""

from __future__ import annotations

import contextlib
import importlib
import os
import sys

import click

from rnnshape.cli.app import RnnshapeGroup, _request_debug
from rnnshape.cli.options import CONTEXT_SETTINGS, ascii_numbers

# command -> the one-line help shown by `rnnshape --help` (the command's module is not imported for it)
COMMANDS = {
    "check": "Check a shape contract file: every case's expected output shapes, in one process.",
    "compare": "Many configurations side by side, one row each, all run in one process.",
    "explore": "Flip a recurrent layer's options live on a full-screen terminal app and watch what changes.",
    "generate": "Warm a stateful layer up on a known part, then generate one step per call, each output fed back.",
    "inspect": "Build one recurrent layer, run a deterministic input through it, and explain every output.",
    "model": "Explain your own model file (.keras/.h5): layers, recurrent layers, diagnoses, your data measured.",
    "patterns": "The canonical recurrent model shapes, each built for real with these options.",
    "port": "Port a Keras LSTM/GRU/SimpleRNN to torch.nn (or a torch state_dict to Keras), verified on numbers.",
    "stack": "Build a stack of layers as a real keras.Model and show the shapes flowing through it.",
    "stateful": "Cut one sequence into consecutive batches and feed them to a stateful layer.",
    "trace": "Every gate and state of every timestep, recomputed from the layer's own weights.",
    "why": "Read a Keras shape error, say what Keras checked and why it failed, and build each fix.",
    "window": "How a series becomes X [samples, look_back, features] and y [samples, features].",
}


class LazyGroup(RnnshapeGroup):
    """Imports a command's module (rnnshape.cli.<name>) only when that command is asked for."""

    def list_commands(self, ctx: click.Context | None) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        return ascii_numbers(getattr(importlib.import_module(f"rnnshape.cli.{name}"), name))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name]) for name in self.list_commands(ctx)])


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from rnnshape.versions import versions

    v = versions()
    click.echo(
        f"rnnshape {v['rnnshape']} (keras {v['keras']}, tensorflow {v['tensorflow']}, "
        f"backend {v['backend']}, numpy {v['numpy']}, python {v['python']})"
    )
    ctx.exit(0)


@click.group(name="rnnshape", cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="show the versions of rnnshape, keras and tensorflow (without importing TensorFlow)",
)
@click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_request_debug,
    help="on errors, also print the full traceback and TensorFlow's own log to stderr (as RNNSHAPE_DEBUG=1)",
)
def cli() -> None:
    """Explore the shapes and semantics of Keras recurrent layers, measured on real runs.

    \b
    Examples:
      rnnshape inspect --layer lstm --units 6 --return-state
      rnnshape inspect --layer gru --return-sequences --return-state --json

    Exit codes: 0 done, 1 an expectation failed, 2 bad usage, 3 backend failure
    (74 stdout not writable, 130 interrupted, 141 stdout closed early). rnnshape --debug COMMAND ... (or
    RNNSHAPE_DEBUG=1) shows tracebacks and TensorFlow's own log.
    """


def main() -> None:
    """The console script: run, then keep TensorFlow's exit-time log lines off the terminal."""
    code = cli.main(standalone_mode=False)  # flushes stdout; handles Ctrl-C and a closed pipe
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    if "tensorflow" in sys.modules:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        # Everything is written (stdout flushed above, files written atomically and closed): skip
        # the interpreter's teardown of TensorFlow, which takes 0.5-1 s and prints nothing we keep.
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        os._exit(code)
    sys.exit(code)
