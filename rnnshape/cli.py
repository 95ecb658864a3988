"""Thin click commands: parse, call the library, render. Errors become exit codes in one place
(RnnshapeGroup.main). Heavy modules (numpy, rich, TensorFlow) are imported inside command
bodies so that --help, --version and usage errors stay fast."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import click
from click.exceptions import NoArgsIsHelpError

from rnnshape.errors import BackendError, ExitCode, InternalError, RnnshapeError, UsageError
from rnnshape.schema import dumps, envelope, error_entry
from rnnshape.spec import (BYTES_PER_SHOWN_VALUE, DEFAULT_MAX_MEMORY_MB, DEFAULT_MAX_SECONDS, MERGE_MODES,
                           SECONDS_PER_SHOWN_VALUE, LayerSpec, canonical_layer, make_spec)

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


_debug_requested = False  # rnnshape --debug, for this run (reset by RnnshapeGroup.main)


def debug_enabled() -> bool:
    """rnnshape --debug or RNNSHAPE_DEBUG=1: tracebacks and TensorFlow's own log on errors."""
    return _debug_requested or os.environ.get("RNNSHAPE_DEBUG", "") not in ("", "0")


def _request_debug(_ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    global _debug_requested
    if value:
        _debug_requested = True


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _error_line(prefix: str, message: str) -> None:
    click.echo(f"{prefix}: error: {_one_line(message)}", err=True)


class _Interrupted(BaseException):
    """Ctrl-C, carried past click (which would print its own blank line and "Aborted!")."""


class _StdoutClosed(BaseException):
    """The reader of stdout went away (EPIPE), carried past click (which would exit 1, our
    "expectation failed")."""


@contextlib.contextmanager
def _streams_guarded() -> Iterator[None]:
    try:
        yield
    except KeyboardInterrupt:
        raise _Interrupted() from None
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            raise _StdoutClosed() from None
        raise


class RnnshapeGroup(click.Group):
    """Runs click without its own error printing, so every failure is one line (or one JSON
    document under --json) with the exit code of shared/CLI.md. Ctrl-C exits 130 and a closed
    stdout 141 (128 + the signal, as a shell reports a process ended by SIGINT or SIGPIPE),
    quietly, whatever was running."""

    def make_context(self, info_name, args, parent=None, **extra):  # type: ignore[override]
        # The command line as typed, for the title of --svg files (ctx.meta is shared by subcommands).
        argv = list(args)
        with _streams_guarded():
            ctx = super().make_context(info_name, args, parent=parent, **extra)
        ctx.meta["rnnshape.argv"] = [info_name or "rnnshape", *argv]
        return ctx

    def invoke(self, ctx):  # type: ignore[override]
        with _streams_guarded():
            return super().invoke(ctx)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):  # type: ignore[override]
        global _debug_requested
        _debug_requested = False
        argv = list(sys.argv[1:] if args is None else args)
        json_mode = "--json" in argv
        prog = prog_name or "rnnshape"
        try:
            code = self._run(argv, prog, json_mode, complete_var, **extra)
            sys.stdout.flush()  # a reader that went away shows here, not at exit
        except (_Interrupted, KeyboardInterrupt, click.Abort):
            code = _interrupted()
        except (_StdoutClosed, BrokenPipeError):
            code = _stdout_closed()
        if standalone_mode:
            sys.exit(int(code))
        return int(code)

    def _run(self, argv: list[str], prog: str, json_mode: bool, complete_var: Any, **extra: Any) -> int:
        try:
            code = super().main(args=argv, prog_name=prog, complete_var=complete_var, standalone_mode=False, **extra)
            return int(code) if isinstance(code, int) else 0
        except NoArgsIsHelpError as exc:  # `rnnshape` alone: the help, to stderr as click does (exit 2)
            click.echo(exc.ctx.get_help() if exc.ctx is not None else exc.format_message(), err=True)
            return ExitCode.USAGE
        except click.UsageError as exc:
            # click's parser raises some errors (an option missing its value) without a context:
            # the command is then the first word naming one.
            command = exc.ctx.command_path if exc.ctx is not None else self._command_path(prog, argv)
            message = exc.format_message() + f" (see '{command} --help')"
            return _report(command, json_mode, UsageError(message))
        except click.ClickException as exc:  # e.g. a file option that cannot be opened
            return _report(prog, json_mode, UsageError(exc.format_message()))
        except RnnshapeError as exc:
            return _report(prog, json_mode, exc)
        except MemoryError:  # the estimate let through more than this machine has
            return _report(self._command_path(prog, argv), json_mode, BackendError(
                "out of memory: this machine cannot hold the run; use smaller sizes (the size guard's "
                "estimate was too low here: a lower --max-memory MB refuses such runs in advance)"))
        except Exception as exc:  # a bug of ours: still one line, the traceback on request
            if debug_enabled():
                traceback.print_exc()
            return _report(self._command_path(prog, argv), json_mode, InternalError(
                f"internal error: {type(exc).__name__}: {exc} (please report it; rnnshape --debug ... "
                "or RNNSHAPE_DEBUG=1 shows the traceback)"))

    def _command_path(self, prog: str, argv: list[str]) -> str:
        words = [arg for arg in argv if not arg.startswith("-")]
        return f"{prog} {words[0]}" if words and words[0] in self.commands else prog


def _interrupted() -> int:
    with contextlib.suppress(Exception):
        click.echo("rnnshape: interrupted", err=True)
    return ExitCode.INTERRUPTED


def _stdout_closed() -> int:
    """Nothing more can reach the reader: send what is left of stdout to /dev/null, so that
    Python's exit-time flush does not fail with a BrokenPipeError message."""
    with contextlib.suppress(Exception):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return ExitCode.STDOUT_CLOSED


def _report(command: str, json_mode: bool, error: RnnshapeError) -> int:
    """An error as one stderr line, or as the one JSON document on stdout."""
    name = command.split()[-1] if " " in command else command
    if json_mode:
        click.echo(dumps(envelope(name, None, error.exit_code, [error_entry(error)])))
    else:
        _error_line(command, error.message)
    if debug_enabled() and error.__cause__ is not None:
        traceback.print_exception(error.__cause__, file=sys.stderr)
        from rnnshape import keras_runner

        sys.stderr.write(keras_runner.native_log())
    return int(error.exit_code)


@dataclass
class Outcome:
    """What a command produced: the data for JSON, how to draw it, and its verdict."""

    data: Any
    render: Callable[[Any], None]
    exit_code: int = 0
    errors: list[RnnshapeError] = field(default_factory=list)


def verdict(data: Any, render: Callable[[Any], None], errors: list[RnnshapeError]) -> Outcome:
    """An Outcome whose exit code follows its errors: 1 when an expectation failed, else 0."""
    return Outcome(data, render, ExitCode.EXPECTATION_FAILED if errors else ExitCode.OK, errors)


def failed_checks(failed: list[str], lead: str) -> list[RnnshapeError]:
    """One ExpectationFailed naming what failed, when a measured check of the run did not hold."""
    from rnnshape.errors import ExpectationFailed

    return [ExpectationFailed(f"{lead}: {', '.join(failed)}")] if failed else []


def execute(command: str, json_mode: bool, work: Callable[[], Outcome], *, svg: str | None = None,
            html: str | None = None) -> int:
    """Run ``work`` and show its outcome: JSON, or the rich view. ``svg``/``html`` save the rich
    view to files, drawn at COLUMNS (default 100) whatever the terminal, before anything is
    shown; under --json stdout still holds only the one document."""
    try:
        check_export_paths(svg=svg, html=html)
        outcome = work()
        if svg or html:
            import io

            from rnnshape.render import make_console, save_exports

            recorder = make_console(file=io.StringIO(), record=True)
            outcome.render(recorder)
            save_exports(recorder, svg, html, title=_export_title(command, recorder.width))
    except RnnshapeError as exc:
        return _report(f"rnnshape {command}", json_mode, exc)
    if json_mode:
        click.echo(dumps(envelope(command, outcome.data, outcome.exit_code, [error_entry(e) for e in outcome.errors])))
    else:
        from rnnshape.render import make_console

        outcome.render(make_console())
        for error in outcome.errors:
            _error_line(f"rnnshape {command}", error.message)
    return outcome.exit_code


def check_export_paths(**paths: str | None) -> None:
    """Refuse, before any work, an --svg/--html file whose directory does not exist."""
    for key, path in paths.items():
        if path is None:
            continue
        if not path or os.path.isdir(path):
            raise UsageError(f"Invalid value for --{key}: {path!r} is not a file name")
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise UsageError(f"Invalid value for --{key}: the directory {directory!r} does not exist")
        try:
            os.stat(path)
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:  # e.g. a name too long for the file system
            raise UsageError(f"Invalid value for --{key}: {path!r}: {getattr(exc, 'strerror', None) or exc}") from None


def _export_title(command: str, width: int = 100) -> str:
    """The command line as typed, without --json and the --svg/--html file names (the file shows
    the human view), as the window title of the SVG; 'rnnshape COMMAND' when too long."""
    import shlex

    ctx = click.get_current_context(silent=True)
    argv = list(ctx.meta.get("rnnshape.argv") or []) if ctx is not None else []
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("--svg", "--html"):
            skip = True
        elif arg != "--json" and not arg.startswith(("--svg=", "--html=")):
            kept.append(arg)
    title = shlex.join(kept)
    # The title font is about as wide as the terminal's: ~1.1 title characters per column fit.
    return title if kept and len(title) <= width * 11 // 10 else f"rnnshape {command}"


def export_options(function: Callable | None = None, *,
                   diagram_help: str = "draw the layer unrolled over the timesteps, the returned tensors highlighted"
                   ) -> Callable:
    """--diagram, --ascii, --svg FILE and --html FILE, for commands that can draw a picture;
    ``@export_options`` or ``@export_options(diagram_help="what --diagram draws here")``."""
    if function is None:
        return lambda f: export_options(f, diagram_help=diagram_help)
    options = [
        click.option("--diagram", is_flag=True, help=diagram_help),
        click.option("--ascii", "ascii_only", is_flag=True,
                     help="draw with plain ASCII characters (no box-drawing characters)"),
        click.option("--svg", "svg", default=None, metavar="FILE",
                     help="also save what is printed (tables; the picture with --diagram) as an SVG image"),
        click.option("--html", "html", default=None, metavar="FILE",
                     help="also save what is printed as an HTML page"),
    ]
    for option in reversed(options):
        function = option(function)
    return function


POSITIVE = click.IntRange(min=1)  # --max-memory MB, --max-seconds S


# ---- options shared by the layer commands --------------------------------------------------
class LayerType(click.ParamType):
    name = "{lstm,gru,simplernn}"

    def convert(self, value, param, ctx):
        try:
            return canonical_layer(value)
        except RnnshapeError:
            self.fail(f"{value!r} is not one of lstm, gru, simplernn (case-insensitive; simple_rnn accepted)", param, ctx)


LAYER = LayerType()


def layer_options(multiple_layers: bool = False) -> Callable[[Callable], Callable]:
    """The layer options of shared/CLI.md, shared by inspect, compare, trace and stateful."""
    layer_help = ("recurrent layer; repeat to compare several" if multiple_layers
                  else "recurrent layer (case-insensitive; simple_rnn accepted)")
    options = [
        click.option("--layer", "layer", type=LAYER, multiple=multiple_layers,
                     default=None if multiple_layers else "lstm", show_default=not multiple_layers, help=layer_help),
        click.option("--units", type=int, default=4, show_default=True, help="units (size of h and c)"),
        click.option("--timesteps", type=int, default=None, help="timesteps T of the input [default: 3, or from --input FILE]"),
        click.option("--features", type=int, default=None, help="features per timestep [default: 2, or from --input FILE]"),
        click.option("--batch", type=int, default=None, help="samples in the batch [default: 1, or from --input FILE]"),
        click.option("--return-sequences/--no-return-sequences", default=False, help="return h at every timestep"),
        click.option("--return-state/--no-return-state", default=False, help="also return the final states"),
        click.option("--stateful/--no-stateful", default=False, help="keep the final state for the next batch"),
        click.option("--go-backwards/--no-go-backwards", default=False, help="read the input from x_T back to x_1"),
        click.option("--bidirectional/--no-bidirectional", default=False, help="wrap in keras.layers.Bidirectional"),
        click.option("--merge-mode", type=click.Choice(MERGE_MODES, case_sensitive=False), default=None,
                     help="how Bidirectional merges the directions [default: concat]"),
        click.option("--seed", type=int, default=0, show_default=True, help="seed of the deterministic weights and input"),
        click.option("--lengths", default=None, metavar="L1,L2,...",
                     help="valid length of each sample; the rest is zero padding under a mask"),
        click.option("--kernel-init", default=None, metavar="NUMBER|NAME",
                     help="kernel initializer: a number means Constant(number); a name is a Keras "
                          "initializer (glorot_uniform, orthogonal, zeros, ones, he_normal, ...) seeded by "
                          "--seed [default: rnnshape's own seeded weights]"),
        click.option("--recurrent-init", default=None, metavar="NUMBER|NAME", help="recurrent kernel initializer (as --kernel-init)"),
        click.option("--bias-init", default=None, metavar="NUMBER|NAME", help="bias initializer (as --kernel-init)"),
        click.option("--input", "input", default="random", show_default=True, metavar="random|arange|ones|zeros|FILE",
                     help="input numbers; arange is np.arange(batch*timesteps*features) as in Keras' tests; "
                          "a .npy or .csv FILE fixes batch, timesteps and features from its shape"),
        click.option("--max-memory", type=POSITIVE, default=DEFAULT_MAX_MEMORY_MB, show_default=True, metavar="MB",
                     help="refuse configurations estimated to need more memory than this"),
        max_seconds_option("configurations"),
    ]

    def decorate(function: Callable) -> Callable:
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


LAYER_KEYS = ("layer", "units", "timesteps", "features", "batch", "return_sequences", "return_state",
              "stateful", "go_backwards", "bidirectional", "merge_mode", "seed", "lengths",
              "kernel_init", "recurrent_init", "bias_init", "input")


def spec_from_options(options: dict[str, Any], **overrides: Any) -> LayerSpec:
    values = {key: options[key] for key in LAYER_KEYS if key in options}
    values.update(overrides)
    return make_spec(**values)


def max_seconds_option(what: str) -> Callable[[Callable], Callable]:
    """--max-seconds S: its value is kept in ctx.meta for check_time (so that the commands'
    signatures need not carry it)."""
    return click.option("--max-seconds", type=POSITIVE, default=DEFAULT_MAX_SECONDS, show_default=True, metavar="S",
                        expose_value=False, callback=_remember_max_seconds,
                        help=f"refuse {what} estimated to take longer than this (a rough estimate, made before "
                             "TensorFlow is imported)")


def _remember_max_seconds(ctx: click.Context, param: click.Parameter, value: int) -> int:
    ctx.meta["rnnshape.max_seconds"] = value
    return value


def check_time(seconds: float, what: str) -> None:
    """Refuse, before TensorFlow is imported, what would take minutes (see spec.SECONDS_PER_STEP)."""
    ctx = click.get_current_context(silent=True)
    limit = ctx.meta.get("rnnshape.max_seconds", DEFAULT_MAX_SECONDS) if ctx is not None else DEFAULT_MAX_SECONDS
    if seconds > limit:
        names = {p.name for p in ctx.command.params} if ctx is not None else set()
        sizes = "/".join(f"--{name}" for name in ("timesteps", "units", "batch") if name in names) or "sizes"
        static = ", --static" if "static" in names else ""
        raise UsageError(
            f"{what} would take about {_duration(seconds)} (a rough estimate, made before running "
            f"anything), above the limit of {limit:,} s; use smaller {sizes}{static} or raise --max-seconds S")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:,.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:,.0f} minutes"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:,.0f} hours"
    return f"{seconds / 86400:,.0f} days"


def run_passes(spec: LayerSpec) -> int:
    """The eager passes keras_runner.run makes over the sequence: the layer, its probe twin, a
    forward reader for go_backwards, one per distinct partial length under --lengths."""
    from rnnshape.keras_runner import MAX_UNMASKED_LENGTHS

    partial = len({n for n in spec.lengths if n < spec.timesteps}) if spec.lengths else 0
    return 2 + int(spec.go_backwards and not spec.lengths) + min(partial, MAX_UNMASKED_LENGTHS)


def memory_guard(needed: int, max_memory_mb: int, what: str, detail: str = "", smaller: str = "sizes") -> None:
    """Refuse, before TensorFlow is imported, what would not fit in --max-memory."""
    if max_memory_mb < 1:
        raise UsageError(f"Invalid value for --max-memory: {max_memory_mb} is not a positive number of MiB")
    if needed > max_memory_mb * 2**20:
        raise UsageError(f"{what} needs about {needed / 2**20:,.0f} MiB{detail}, above the limit of "
                         f"{max_memory_mb:,} MiB; use smaller {smaller} or raise --max-memory MB")


def check_size(spec: LayerSpec, max_memory_mb: int, passes: int = 0, values: int = 0) -> None:
    """Refuse, before TensorFlow is imported, what would not fit in memory, or (for ``passes``
    eager passes over the sequence; 0 for --static) would take too long; ``values`` is how many
    numbers the output shows (--values)."""
    memory_guard(spec.estimated_bytes() + values * BYTES_PER_SHOWN_VALUE, max_memory_mb,
                 f"{spec.keras_call()} on input {spec.input_shape}", " (weights, activations, outputs)",
                 "--units/--timesteps/--batch")
    if passes:
        check_time(spec.estimated_seconds(passes) + values * SECONDS_PER_SHOWN_VALUE,
                   f"{spec.keras_call()} on input {spec.input_shape}")


# ---- commands ------------------------------------------------------------------------------
def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from rnnshape.schema import versions

    v = versions()
    click.echo(f"rnnshape {v['rnnshape']} (keras {v['keras']}, tensorflow {v['tensorflow']}, "
               f"backend {v['backend']}, numpy {v['numpy']}, python {v['python']})")
    ctx.exit(0)


@click.group(name="rnnshape", cls=RnnshapeGroup, context_settings=CONTEXT_SETTINGS)
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="show the versions of rnnshape, keras and tensorflow (without importing TensorFlow)")
@click.option("--debug", is_flag=True, expose_value=False, is_eager=True, callback=_request_debug,
              help="on errors, also print the full traceback and TensorFlow's own log to stderr "
                   "(as RNNSHAPE_DEBUG=1)")
def cli() -> None:
    """Explore the shapes and semantics of Keras recurrent layers, measured on real runs.

    \b
    Examples:
      rnnshape inspect --layer lstm --units 6 --return-state
      rnnshape inspect --layer gru --return-sequences --return-state --json

    Exit codes: 0 done, 1 an expectation failed, 2 bad usage, 3 backend failure
    (130 interrupted, 141 stdout closed early). rnnshape --debug COMMAND ... (or
    RNNSHAPE_DEBUG=1) shows tracebacks and TensorFlow's own log.
    """


@cli.command(context_settings=CONTEXT_SETTINGS)
@layer_options()
@click.option("--json", "json_mode", is_flag=True, help="print one JSON document (shared/CLI.md envelope)")
@click.option("--values", is_flag=True, help="also print the tensors (elided in the terminal, full in JSON)")
@click.option("--static", is_flag=True, help="names, shapes and parameters from the pure model, without TensorFlow")
@click.option("--expect", multiple=True, metavar="NAME=D1,D2,...",
              help="assert an output's shape, e.g. output=1,6 (repeatable); exit 1 when it differs")
@export_options
def inspect(json_mode: bool, values: bool, static: bool, expect: tuple[str, ...], max_memory: int, diagram: bool,
            ascii_only: bool, svg: str | None, html: str | None, **options: Any) -> int:
    """Build one recurrent layer, run a deterministic input through it, and explain every output.

    Shows the Keras call, each returned tensor with its name, shape (axes labelled), dtype and
    meaning, the parameters with their formula, the h-versus-c table and facts measured in
    this run. --diagram draws the layer unrolled over time (--ascii without box characters);
    --svg/--html save what was printed.

    \b
    Examples:
      rnnshape inspect --layer lstm --units 6 --return-state
      rnnshape inspect --layer gru --units 4 --timesteps 5 --features 3 --batch 2 \\
          --return-sequences --return-state --json
      rnnshape inspect --layer lstm --units 3 --bidirectional --return-sequences --return-state
      rnnshape inspect --layer lstm --units 6 --expect output=1,6
      rnnshape inspect --layer lstm --units 6 --return-sequences --return-state --diagram
      rnnshape inspect --layer gru --bidirectional --diagram --svg gru.svg
    """
    return execute("inspect", json_mode,
                   lambda: _inspect(options, values, static, expect, max_memory, diagram, ascii_only),
                   svg=svg, html=html)


def _inspect(options: dict[str, Any], values: bool, static: bool, expect: tuple[str, ...], max_memory: int,
             diagram: bool = False, ascii_only: bool = False) -> Outcome:
    from rnnshape.schema import expectations_data, layer_data
    from rnnshape.spec import compare_shapes, parse_expect

    spec = spec_from_options(options)
    expectations = [parse_expect(text) for text in expect]
    if static and values:
        raise UsageError("Invalid value for --values: values need a real run; drop --static")
    if not static:  # --static builds nothing: any size can be answered
        check_size(spec, max_memory, passes=run_passes(spec), values=spec.value_count() if values else 0)
    if static:
        data = layer_data(spec, None)
    else:
        from rnnshape import keras_runner

        data = layer_data(spec, keras_runner.run(spec), values=values)
    errors: list[RnnshapeError] = []
    if expectations:
        actual = {out["name"]: tuple(out["shape"]) for out in data["outputs"]}
        comparisons = compare_shapes(spec, actual, expectations)
        data["expectations"] = expectations_data(comparisons)
        for c in comparisons:
            if not c.holds:
                from rnnshape.errors import ExpectationFailed
                from rnnshape.render import shape_text

                got = shape_text(c.actual) if c.actual is not None else f"no such output ({c.hint})"
                errors.append(ExpectationFailed(f"expected {c.name} {shape_text(c.expected)}, got {got}"))

    def render(console: Any) -> None:
        from rnnshape.render import expectations_table, render_layer

        render_layer(console, data, values=values, diagram=diagram, ascii=ascii_only)
        if "expectations" in data:
            table = expectations_table(data["expectations"])
            if ascii_only:
                from rnnshape.render import ASCII_TABLE_BOX

                table.box = ASCII_TABLE_BOX
            console.print(table)

    return verdict(data, render, errors)


# ---- compare --------------------------------------------------------------------------------
class VaryFlag(click.ParamType):
    name = "FLAG"

    def convert(self, value, param, ctx):
        from rnnshape.compare import canonical_flag

        try:
            return canonical_flag(value)
        except RnnshapeError as exc:
            self.fail(exc.problem if hasattr(exc, "problem") else exc.message, param, ctx)


@cli.command(context_settings=CONTEXT_SETTINGS)
@layer_options(multiple_layers=True)
@click.option("--vary", multiple=True, type=VaryFlag(),
              help="add a flag to the grid (repeatable): return-sequences, return-state, stateful, "
                   "go-backwards, bidirectional")
@click.option("--json", "json_mode", is_flag=True, help="print one JSON document; data.rows holds one inspect object per row")
@click.option("--values", is_flag=True, help="also print every row's tensors (full in JSON)")
@click.option("--static", is_flag=True, help="names, shapes and parameters from the pure model, without TensorFlow")
@export_options(diagram_help="draw the layer unrolled, one picture per distinct output structure, after the tables")
def compare(json_mode: bool, values: bool, static: bool, vary: tuple[str, ...], max_memory: int, diagram: bool,
            ascii_only: bool, svg: str | None, html: str | None, **options: Any) -> int:
    """Many configurations side by side, one row each, all run in one process.

    The grid is return_sequences x return_state (4 rows per layer); each --vary FLAG adds a
    flag, each --layer adds a layer. A flag set explicitly (e.g. --return-state) is held fixed
    in every row instead of varied; the other layer options apply to every row. Each row shows
    the Keras call, every output with its shape and the parameters, and what differs from the
    layer's first row; a second table isolates what each flag (and each layer) changes.
    --diagram draws the layer unrolled, one picture per distinct output structure (rows that
    differ only in the layer's name, like GRU and SimpleRNN, share one); --svg/--html save
    what was printed.

    \b
    Examples:
      rnnshape compare --layer lstm
      rnnshape compare --layer lstm --layer gru --layer simplernn --vary stateful
      rnnshape compare --layer lstm --vary bidirectional --json
      rnnshape compare --layer lstm --layer gru --return-state --return-sequences
      rnnshape compare --layer lstm --diagram --svg compare.svg
    """
    from click.core import ParameterSource

    from rnnshape.compare import GRID_FLAGS

    context = click.get_current_context()
    fixed = [flag for flag in GRID_FLAGS
             if context.get_parameter_source(flag) in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)]
    return execute("compare", json_mode,
                   lambda: _compare(options, vary, fixed, values, static, max_memory, diagram, ascii_only),
                   svg=svg, html=html)


def _compare(options: dict[str, Any], vary: tuple[str, ...], fixed: list[str], values: bool, static: bool,
             max_memory: int, diagram: bool = False, ascii_only: bool = False) -> Outcome:
    from rnnshape.compare import changes, drop_refused, grid_flags, grid_options
    from rnnshape.schema import layer_data

    if static and values:
        raise UsageError("Invalid value for --values: values need a real run; drop --static")
    layers = tuple(dict.fromkeys(options.pop("layer") or ("lstm",)))
    flags = grid_flags(vary, fixed)
    specs, skipped = drop_refused([spec_from_options(row) for row in grid_options(options, layers, flags)], flags)
    if not static:  # --static builds nothing: any size can be answered
        for spec in specs:
            check_size(spec, max_memory, passes=run_passes(spec), values=spec.value_count() if values else 0)
        check_time(sum(spec.estimated_seconds(run_passes(spec)) + values * spec.value_count() * SECONDS_PER_SHOWN_VALUE
                       for spec in specs), f"the {len(specs)} rows")
    if static:
        rows = [layer_data(spec, None) for spec in specs]
    else:
        from rnnshape import keras_runner

        rows = [layer_data(spec, result, values=values) for spec, result in zip(specs, keras_runner.run_many(specs))]
    fixed_values = {key: options[key] for key in ("return_sequences", "return_state", "stateful", "go_backwards",
                                                   "bidirectional", "merge_mode") if key not in flags}
    data = {
        "grid": {"layers": list(layers), "vary": list(flags), "fixed": fixed_values, "skipped": skipped},
        "rows": rows,
        "changes": changes(rows, flags),
        "static": static,
    }

    def render(console: Any) -> None:
        from rnnshape.render_grid import render_compare

        render_compare(console, data, values=values, diagram=diagram, ascii=ascii_only)

    return Outcome(data, render)


# ---- check ----------------------------------------------------------------------------------
@cli.command(context_settings=CONTEXT_SETTINGS)
@click.argument("file", metavar="FILE.toml")
@click.option("--junit", "junit_path", metavar="FILE", default=None,
              help="also write a JUnit XML report (one testcase per case) for CI; folders are created")
@click.option("--json", "json_mode", is_flag=True, help="print one JSON document (shared/CLI.md envelope)")
@click.option("--static", is_flag=True, help="shapes from the pure model, without TensorFlow")
@click.option("--max-memory", type=POSITIVE, default=DEFAULT_MAX_MEMORY_MB, show_default=True, metavar="MB",
              help="refuse cases estimated to need more memory than this")
@max_seconds_option("contract files")
def check(file: str, junit_path: str | None, json_mode: bool, static: bool, max_memory: int) -> int:
    """Check a shape contract file: every case's expected output shapes, in one process.

    Each [[case]] has a name, the layer options as keys (layer, units, timesteps, features,
    batch, return_sequences, return_state, stateful, go_backwards, bidirectional, merge_mode,
    seed, lengths) and an expect table of output name -> shape. Exit 0 when every case holds,
    1 when any fails, 2 for an unreadable file, an unknown key or a bad value (naming the case
    and the key), 3 when TensorFlow/Keras fails.

    \b
    Examples:
      rnnshape check examples/shapes.toml
      rnnshape check examples/shapes.toml --junit reports/rnnshape.xml --json

    \b
    A case:
      [[case]]
      name = "encoder returns h and c"
      layer = "lstm"
      units = 6
      return_state = true
      [case.expect]
      output = [1, 6]
      state_h = [1, 6]
      state_c = [1, 6]
    """
    return execute("check", json_mode, lambda: _check(file, junit_path, static, max_memory))


def _check(file: str, junit_path: str | None, static: bool, max_memory: int) -> Outcome:
    from rnnshape import contract
    from rnnshape.errors import ExpectationFailed
    from rnnshape.schema import layer_data, versions

    cases = contract.load(file)
    for case in cases if not static else []:  # --static builds nothing: any size can be answered
        try:
            check_size(case.spec, max_memory, passes=run_passes(case.spec))
        except UsageError as exc:
            raise UsageError(f"{file}: {case.label}: {exc.message}") from None
    if not static:
        check_time(sum(case.spec.estimated_seconds(run_passes(case.spec)) for case in cases),
                   f"{file}: the {len(cases)} cases")
    if junit_path:
        contract.check_writable(junit_path)
    specs = [case.spec for case in cases]
    if static:
        rows = [layer_data(spec, None) for spec in specs]
    else:
        from rnnshape import keras_runner

        rows = [layer_data(spec, result) for spec, result in zip(specs, keras_runner.run_many(specs))]
    verdicts = [contract.judge(case, row) for case, row in zip(cases, rows)]
    found = versions()
    if junit_path:
        properties = {"rnnshape": found["rnnshape"], "keras": found["keras"], "tensorflow": found["tensorflow"],
                      "static": str(static).lower()}
        contract.write_junit(junit_path, contract.junit_tree(file, verdicts, properties))
    data = {
        "file": file,
        "cases": [contract.verdict_data(v) for v in verdicts],
        "summary": contract.summary(verdicts),
        "static": static,
        "junit": junit_path,
        "versions": found,
    }
    errors: list[RnnshapeError] = [ExpectationFailed(v.message()) for v in verdicts if not v.passed]

    def render(console: Any) -> None:
        from rnnshape.render_grid import render_check

        render_check(console, data)

    return verdict(data, render, errors)
@cli.command(context_settings=CONTEXT_SETTINGS)
@layer_options()
@click.option("--reset-after/--no-reset-after", "reset_after", default=None,
              help="GRU only: Keras' reset_after (reset gate after U_h, bias (2, 3*units)) "
                   "[default: --reset-after, as Keras]")
@click.option("--sample", type=int, default=0, show_default=True, help="which sample of the batch to show (from 0)")
@click.option("--steps", default=None, metavar="T1-T2,T3",
              help="timesteps t to show, counted from 1 as in x_t, e.g. 1-3,10 "
                   "[default: all up to 12, else the first and last 5 read]")
@click.option("--json", "json_mode", is_flag=True, help="print one JSON document (shared/CLI.md envelope)")
def trace(json_mode: bool, reset_after: bool | None, sample: int, steps: str | None, max_memory: int, **options: Any) -> int:
    """Every gate and state of every timestep, recomputed from the layer's own weights.

    Builds the same layer, weights and input as inspect (same options and seed), reads its
    weights, recomputes the cell in numpy (LSTM i, f, g, o and c; GRU z, r, h~; SimpleRNN) in the
    order the layer reads the input, and checks every step and every returned tensor against
    Keras: the measured max |difference| is printed, and above 1e-4 the command exits 3.
    One table per direction (go_backwards reads x_T first; Bidirectional shows both), marking
    which returned tensor each h and c ends up in. --lengths is supported: a masked step keeps
    the previous state, as in Keras.

    \b
    Examples:
      rnnshape trace --layer lstm --units 3 --timesteps 4 --features 2
      rnnshape trace --layer gru --units 2 --timesteps 5 --batch 2 --sample 1 --json
      rnnshape trace --layer gru --no-reset-after --go-backwards --return-sequences
      rnnshape trace --layer lstm --bidirectional --return-state --steps 1,2
      rnnshape trace --layer simplernn --timesteps 50 --steps 1-3,50
    """
    return execute("trace", json_mode, lambda: _trace(options, reset_after, sample, steps, max_memory))


TRACE_PASSES = 3  # the layer, a twin per direction, and the step-by-step recomputation in numpy


def _trace(options: dict[str, Any], reset_after: bool | None, sample: int, steps: str | None, max_memory: int) -> Outcome:
    from rnnshape import trace as tracing

    spec = spec_from_options(options)
    resolved = tracing.resolve_reset_after(spec.layer, reset_after)
    tracing.check_sample(sample, spec.batch)
    check_size(spec, max_memory, passes=TRACE_PASSES)
    chosen = tracing.parse_steps(steps, spec.timesteps) if steps is not None else None
    from rnnshape import keras_runner
    from rnnshape.schema import versions

    run = keras_runner.trace_many([spec], [{"reset_after": resolved} if resolved is not None else {}])[0]
    traces = tracing.recompute(run)
    checks = tracing.measure(run, traces)
    data = tracing.trace_data(run, traces, checks, sample=sample, chosen=chosen, reset_after=resolved,
                              versions=versions())
    positions, note = tracing.shown_steps(spec.timesteps, chosen)
    error = tracing.verdict_error(data)

    def render(console: Any) -> None:
        from rnnshape.render_trace import render_trace

        render_trace(console, data, positions, note)

    return Outcome(data, render, ExitCode.BACKEND if error else ExitCode.OK, [error] if error else [])
# ---- stack, patterns, window ---------------------------------------------------------------
def _check_seed(seed: int) -> None:
    from rnnshape.spec import INT_LIMITS

    low, high = INT_LIMITS["seed"]
    if not low <= seed <= high:
        raise UsageError(f"Invalid value for --seed: {seed} is not in the range {low}..{high}")


@cli.command(context_settings=CONTEXT_SETTINGS)
@click.argument("tokens", nargs=-1, metavar="SPEC...")
@click.option("--timesteps", type=int, default=None, help="timesteps T of the input  [default: 3]")
@click.option("--features", type=int, default=2, show_default=True, help="features per timestep")
@click.option("--batch", type=int, default=1, show_default=True, help="samples in the batch (keras.Input batch_size)")
@click.option("--seed", type=int, default=0, show_default=True, help="seed of the deterministic weights and input")
@click.option("--static", is_flag=True, help="shapes, parameters and the diagnosis from the pure model, without TensorFlow")
@click.option("--max-memory", type=POSITIVE, default=DEFAULT_MAX_MEMORY_MB, show_default=True, metavar="MB",
              help="refuse stacks estimated to need more memory than this")
@max_seconds_option("stacks")
@click.option("--json", "json_mode", is_flag=True, help="print one JSON document (shared/CLI.md envelope)")
@export_options(diagram_help="draw the stack top to bottom, the shape on every edge, the refused edge marked")
def stack(tokens: tuple[str, ...], timesteps: int | None, features: int, batch: int, seed: int, static: bool,
          max_memory: int, json_mode: bool, diagram: bool, ascii_only: bool, svg: str | None, html: str | None) -> int:
    """Build a stack of layers as a real keras.Model and show the shapes flowing through it.

    One token per layer, in order:

    \b
      lstm|gru|simplernn:UNITS[:seq][:bi][:back]
                   a recurrent layer; flags in any order: seq = return_sequences=True,
                   bi = Bidirectional (concat), back = go_backwards=True (not with bi)
      dense:N      keras.layers.Dense(N)
      td:N         keras.layers.TimeDistributed(keras.layers.Dense(N))
      repeat:N     keras.layers.RepeatVector(N)

    The input is [batch, timesteps, features], except when the first token is repeat:N: then
    it is [batch, features] (one vector per sample, repeated N times) and --timesteps does not
    apply. Each layer shows its Keras call, input and output shapes (axes labelled) and
    parameters. A stack Keras refuses exits 1 with Keras' own message, which token fails, why,
    and the fix; a bad token exits 2. --diagram draws the stack top to bottom with the shape
    on every edge (a sequence as a double line) and the edge Keras refuses marked.

    \b
    Examples:
      rnnshape stack --timesteps 5 --features 2 lstm:32:seq lstm:16 dense:1
      rnnshape stack --timesteps 5 --features 2 lstm:8:seq lstm:4:seq td:1
      rnnshape stack --features 2 repeat:4 lstm:3:seq
      rnnshape stack --timesteps 5 --features 2 lstm:8 lstm:4      (the classic mistake, diagnosed)
      rnnshape stack --timesteps 5 --features 2 gru:8:bi:seq dense:1 --static --json
      rnnshape stack --timesteps 5 --features 2 lstm:8 lstm:4 dense:1 --diagram
    """
    return execute("stack", json_mode,
                   lambda: _stack(tokens, timesteps, features, batch, seed, static, max_memory, diagram, ascii_only),
                   svg=svg, html=html)


def _stack(texts: tuple[str, ...], timesteps: int | None, features: int, batch: int, seed: int, static: bool,
           max_memory: int, diagram: bool = False, ascii_only: bool = False) -> Outcome:
    from rnnshape.errors import BackendError
    from rnnshape.schema import versions
    from rnnshape.stack_spec import incompatible_error, parse_tokens, plan_data, plan_stack, repair

    tokens = parse_tokens(texts)
    _check_seed(seed)
    plan = plan_stack(tokens, batch, 3 if timesteps is None else timesteps, features)
    repaired = repair(plan)[0] if plan.problem is not None and repair(plan) is not None else None
    for each in (plan, repaired) if not static else ():  # --static builds nothing
        if each is not None:
            memory_guard(each.estimated_bytes(), max_memory, f"the stack {each.command()}")
    if not static:
        check_time(sum(each.estimated_seconds() for each in (plan, repaired) if each is not None),
                   f"the stack {plan.command()}")
    if static:
        data = plan_data(plan)
    else:
        from rnnshape import keras_runner

        run = keras_runner.run_stacks([(plan, repaired)], seed)[0]
        expected = plan.problem.token.index if plan.problem is not None else None
        if run.failed_index != expected:
            raise BackendError(f"rnnshape's shape rules and Keras disagree on {plan.command()}: Keras "
                               + (f"refused token {run.failed_index}: {run.keras_message}" if run.failed_index
                                  else "built every token") + "; please report this")
        data = plan_data(plan, run)
    data["config"]["seed"] = seed
    data["notes"] = []
    if tokens[0].kind == "repeat" and timesteps is not None:
        data["notes"].append(f"--timesteps {timesteps} does not apply: the first token {tokens[0].text} takes the "
                             "input as [batch, features] and makes its own timesteps")
    data["versions"] = versions()
    errors: list[RnnshapeError] = [] if plan.compatible else [incompatible_error(data)]

    def render(console: Any) -> None:
        from rnnshape.render_stack import render_stack

        render_stack(console, data, diagram=diagram, ascii=ascii_only)

    return verdict(data, render, errors)


@cli.command(context_settings=CONTEXT_SETTINGS)
@click.option("--units", type=int, default=4, show_default=True, help="units of every recurrent layer")
@click.option("--timesteps", type=int, default=3, show_default=True,
              help="timesteps of the input (and of the output of one-to-many and encoder-decoder)")
@click.option("--features", type=int, default=2, show_default=True, help="features per timestep")
@click.option("--batch", type=int, default=1, show_default=True, help="samples in the batch")
@click.option("--seed", type=int, default=0, show_default=True, help="seed of the deterministic weights and input")
@click.option("--static", is_flag=True, help="shapes and parameters from the pure model, without TensorFlow")
@click.option("--max-memory", type=POSITIVE, default=DEFAULT_MAX_MEMORY_MB, show_default=True, metavar="MB",
              help="refuse patterns estimated to need more memory than this")
@max_seconds_option("patterns")
@click.option("--json", "json_mode", is_flag=True, help="print one JSON document (shared/CLI.md envelope)")
def patterns(units: int, timesteps: int, features: int, batch: int, seed: int, static: bool, max_memory: int,
             json_mode: bool) -> int:
    """The canonical recurrent model shapes, each built for real with these options.

    many-to-one, many-to-many, one-to-many with RepeatVector, an encoder-decoder (autoencoder)
    with RepeatVector, and stacked layers: each with its stack spec and the rnnshape stack
    command that shows it in full.

    \b
    Examples:
      rnnshape patterns
      rnnshape patterns --units 8 --timesteps 5 --features 3 --batch 2
      rnnshape patterns --json
    """
    return execute("patterns", json_mode,
                   lambda: _patterns(units, timesteps, features, batch, seed, static, max_memory))


def _patterns(units: int, timesteps: int, features: int, batch: int, seed: int, static: bool,
              max_memory: int) -> Outcome:
    from rnnshape.errors import BackendError
    from rnnshape.schema import versions
    from rnnshape.stack_spec import pattern_data, pattern_plans

    _check_seed(seed)
    plans = pattern_plans(units, timesteps, features, batch)
    if not static:  # --static builds nothing: any size can be answered
        memory_guard(sum(plan.estimated_bytes() for _, plan in plans), max_memory, "the patterns")
        check_time(sum(plan.estimated_seconds() for _, plan in plans), "the patterns")
    if static:
        runs: list[Any] = [None] * len(plans)
    else:
        from rnnshape import keras_runner

        runs = keras_runner.run_stacks([(plan, None) for _, plan in plans], seed)
        for (pattern, plan), run in zip(plans, runs):
            if run.failed_index is not None:
                raise BackendError(f"Keras refused the {pattern.name} pattern {plan.command()}: {run.keras_message}")
    data = {
        "config": {"units": units, "timesteps": timesteps, "features": features, "batch": batch, "seed": seed},
        "patterns": [pattern_data(pattern, plan, run) for (pattern, plan), run in zip(plans, runs)],
        "static": static,
        "versions": versions(),
    }
    failed = [p["name"] for p in data["patterns"] if any(not c["holds"] for c in p["checks"])]
    errors = failed_checks(failed, "a measured check failed for")

    def render(console: Any) -> None:
        from rnnshape.render_stack import render_patterns

        render_patterns(console, data)

    return verdict(data, render, errors)


@cli.command(context_settings=CONTEXT_SETTINGS)
@click.option("--length", type=int, default=100, show_default=True, help="steps in the series")
@click.option("--look-back", type=int, default=3, show_default=True, help="steps per window (the model's timesteps)")
@click.option("--features", type=int, default=1, show_default=True, help="values per step")
@click.option("--horizon", type=int, default=1, show_default=True,
              help="the target is the value this many steps after a window's last step")
@click.option("--stride", type=int, default=1, show_default=True, help="steps between the starts of two windows")
@click.option("--show", type=int, default=5, show_default=True, help="windows to list (then the last one)")
@click.option("--static", is_flag=True, help="plain numpy slicing only, without TensorFlow")
@click.option("--max-memory", type=POSITIVE, default=DEFAULT_MAX_MEMORY_MB, show_default=True, metavar="MB",
              help="refuse series whose windows are estimated to need more memory than this")
@click.option("--json", "json_mode", is_flag=True, help="print one JSON document (shared/CLI.md envelope)")
def window(length: int, look_back: int, features: int, horizon: int, stride: int, show: int, static: bool,
           max_memory: int, json_mode: bool) -> int:
    """How a series becomes X [samples, look_back, features] and y [samples, features].

    The series has --length steps of --features values (series[t, f] = t + f * length, so the
    windows read as step indices). Each window of --look-back steps is paired with the value
    --horizon steps after its last step. The windows come from Keras' own
    keras.utils.timeseries_dataset_from_array (the equivalent call is shown) and are checked
    against plain slicing; the widely copied create_dataset loop is run to show the window it
    drops.

    \b
    Examples:
      rnnshape window --length 100 --look-back 3
      rnnshape window --length 10 --look-back 3 --features 2 --horizon 2 --json
      rnnshape window --length 20 --look-back 4 --stride 3
    """
    return execute("window", json_mode,
                   lambda: _window(length, look_back, features, horizon, stride, show, static, max_memory))


def _window(length: int, look_back: int, features: int, horizon: int, stride: int, show: int, static: bool,
            max_memory: int) -> Outcome:
    from rnnshape.schema import versions
    from rnnshape.window import make_series, make_window_spec, run_keras, window_data

    spec = make_window_spec(length=length, look_back=look_back, features=features, horizon=horizon,
                            stride=stride, show=show)
    memory_guard(spec.estimated_bytes(), max_memory, f"{spec.samples:,} windows of {look_back} x {features}")
    keras = None if static else run_keras(spec, make_series(spec))
    data = window_data(spec, show, keras)
    data["versions"] = versions()
    failed = [c["claim"] for c in data["checks"] if not c["holds"]]
    errors = failed_checks(failed[:1], "measured check failed")

    def render(console: Any) -> None:
        from rnnshape.render_stack import render_window

        render_window(console, data)

    return verdict(data, render, errors)


@cli.command(context_settings=CONTEXT_SETTINGS)
@layer_options()
@click.option("--split", default=None, metavar="N1,N2,...",
              help="chunk lengths along time, adding up to --timesteps [default: two halves, the first rounded down]")
@click.option("--json", "json_mode", is_flag=True, help="print one JSON document (shared/CLI.md envelope)")
@export_options(diagram_help="draw the chunks as consecutive batches, the state crossing from each into the next")
def stateful(json_mode: bool, split: str | None, max_memory: int, diagram: bool, ascii_only: bool, svg: str | None,
             html: str | None, **options: Any) -> int:
    """Cut one sequence into consecutive batches and feed them to a stateful layer.

    The input and weights are those of inspect with the same options and seed. Shows each
    chunk's initial state, final state and output; measures that chunk k+1 starts from chunk k's
    final state (sample i continues sample i), that the chunks equal one non-stateful pass, and
    that after layer.reset_state() the states are zeros and the layer starts over. Shows Keras'
    own error for a batch of another size. The layer is always built with stateful=True.
    --diagram draws the chunks as consecutive batches with the state crossing from each batch
    into the next, and the reset.

    \b
    Examples:
      rnnshape stateful --layer lstm --units 3 --timesteps 6 --batch 2 --split 2,4
      rnnshape stateful --layer gru --timesteps 5 --split 1,1,3 --return-sequences --json
      rnnshape stateful --layer simplernn --timesteps 6 --split 2,4 --go-backwards
      rnnshape stateful --layer lstm --units 3 --timesteps 6 --batch 2 --split 2,4 --diagram
    """
    return execute("stateful", json_mode, lambda: _stateful(options, split, max_memory, diagram, ascii_only),
                   svg=svg, html=html)


STATEFUL_PASSES = 5  # the chunks, the last chunk again and fresh, one whole pass, readers, a shuffled batch


def _stateful(options: dict[str, Any], split_text: str | None, max_memory: int, diagram: bool = False,
              ascii_only: bool = False) -> Outcome:
    if options.get("lengths") is not None:
        raise UsageError("Invalid value for --lengths: stateful feeds whole sequences without a mask; "
                         "see padding under a mask with rnnshape inspect --lengths")
    spec = spec_from_options(options, stateful=True)
    from rnnshape import stateful as chunking

    split = chunking.parse_split(split_text, spec.timesteps)
    check_size(spec, max_memory, passes=STATEFUL_PASSES, values=chunking.value_count(spec, split))
    from rnnshape import keras_runner
    from rnnshape.schema import versions

    bounds = chunking.chunk_bounds(split)
    dirs = chunking.directions(spec)
    orders = None
    if len(bounds) > 1 and any(d.reversed for d in dirs):
        orders = [chunking.read_order(bounds, d.reversed) for d in dirs]
    run = keras_runner.run_stateful(spec, bounds, orders, chunking.shuffle_rows(spec.batch))
    data = chunking.stateful_data(spec, split, split_text is not None, run, versions())

    def render(console: Any) -> None:
        from rnnshape.render_stateful import render_stateful

        render_stateful(console, data, diagram=diagram, ascii=ascii_only)

    return Outcome(data, render)


def main() -> None:
    """The console script: run, then keep TensorFlow's exit-time log lines off the terminal."""
    code = cli.main(standalone_mode=False)  # flushes stdout; handles Ctrl-C and a closed pipe
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    if "tensorflow" in sys.modules:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
    sys.exit(code)
