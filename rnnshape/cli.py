"""Thin click commands: parse, call the library, render. Errors become exit codes in one place
(RnnshapeGroup.main). Heavy modules (numpy, rich, TensorFlow) are imported inside command
bodies so that --help, --version and usage errors stay fast."""

from __future__ import annotations

import os
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

import click

from rnnshape import __version__
from rnnshape.errors import ExitCode, RnnshapeError, UsageError
from rnnshape.schema import dumps, envelope, error_entry
from rnnshape.spec import DEFAULT_MAX_MEMORY_MB, MERGE_MODES, LayerSpec, canonical_layer, make_spec

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def debug_enabled() -> bool:
    return os.environ.get("RNNSHAPE_DEBUG", "") not in ("", "0")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _error_line(prefix: str, message: str) -> None:
    click.echo(f"{prefix}: error: {_one_line(message)}", err=True)


class RnnshapeGroup(click.Group):
    """Runs click without its own error printing, so every failure is one line (or one JSON
    document under --json) with the exit code of shared/CLI.md."""

    def make_context(self, info_name, args, parent=None, **extra):  # type: ignore[override]
        # The command line as typed, for the title of --svg files (ctx.meta is shared by subcommands).
        argv = list(args)
        ctx = super().make_context(info_name, args, parent=parent, **extra)
        ctx.meta["rnnshape.argv"] = [info_name or "rnnshape", *argv]
        return ctx

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):  # type: ignore[override]
        argv = list(sys.argv[1:] if args is None else args)
        json_mode = "--json" in argv
        prog = prog_name or "rnnshape"
        try:
            code = super().main(args=argv, prog_name=prog, complete_var=complete_var, standalone_mode=False, **extra)
            code = int(code) if isinstance(code, int) else 0
        except click.UsageError as exc:
            command = exc.ctx.command_path if exc.ctx is not None else prog
            message = exc.format_message()
            if exc.ctx is not None:
                message += f" (see '{command} --help')"
            code = _report(command, json_mode, UsageError(message))
        except click.ClickException as exc:  # e.g. a file option that cannot be opened
            code = _report(prog, json_mode, UsageError(exc.format_message()))
        except (click.Abort, KeyboardInterrupt):
            click.echo("rnnshape: interrupted", err=True)
            code = ExitCode.INTERRUPTED
        except RnnshapeError as exc:
            code = _report(prog, json_mode, exc)
        except Exception as exc:  # a bug of ours: still one line, the traceback on request
            if debug_enabled():
                traceback.print_exc()
            code = _report(prog, json_mode, RnnshapeError(
                f"internal error: {type(exc).__name__}: {exc} (set RNNSHAPE_DEBUG=1 for the traceback)"))
            code = ExitCode.BACKEND
        if standalone_mode:
            sys.exit(code)
        return code


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


def export_options(function: Callable) -> Callable:
    """--diagram, --ascii, --svg FILE and --html FILE, for commands that can draw the layer."""
    options = [
        click.option("--diagram", is_flag=True,
                     help="draw the layer unrolled over the timesteps, the returned tensors highlighted"),
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
        click.option("--timesteps", type=int, default=3, show_default=True, help="timesteps T of the input"),
        click.option("--features", type=int, default=2, show_default=True, help="features per timestep"),
        click.option("--batch", type=int, default=1, show_default=True, help="samples in the batch"),
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
        click.option("--max-memory", type=int, default=DEFAULT_MAX_MEMORY_MB, show_default=True, metavar="MB",
                     help="refuse configurations estimated to need more memory than this"),
    ]

    def decorate(function: Callable) -> Callable:
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


LAYER_KEYS = ("layer", "units", "timesteps", "features", "batch", "return_sequences", "return_state",
              "stateful", "go_backwards", "bidirectional", "merge_mode", "seed", "lengths")


def spec_from_options(options: dict[str, Any], **overrides: Any) -> LayerSpec:
    values = {key: options[key] for key in LAYER_KEYS if key in options}
    values.update(overrides)
    return make_spec(**values)


def check_size(spec: LayerSpec, max_memory_mb: int) -> None:
    """Refuse, before TensorFlow is imported, what would not fit."""
    if max_memory_mb < 1:
        raise UsageError(f"Invalid value for --max-memory: {max_memory_mb} is not a positive number of MiB")
    needed = spec.estimated_bytes()
    if needed > max_memory_mb * 2**20:
        raise UsageError(
            f"{spec.keras_call()} on input {spec.input_shape} needs about {needed / 2**20:,.0f} MiB "
            f"(weights, activations, outputs), above the limit of {max_memory_mb:,} MiB; "
            "use smaller --units/--timesteps/--batch or raise --max-memory MB"
        )


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
def cli() -> None:
    """Explore the shapes and semantics of Keras recurrent layers, measured on real runs.

    \b
    Examples:
      rnnshape inspect --layer lstm --units 6 --return-state
      rnnshape inspect --layer gru --return-sequences --return-state --json

    Exit codes: 0 done, 1 an expectation failed, 2 bad usage, 3 backend failure.
    Set RNNSHAPE_DEBUG=1 to see tracebacks and TensorFlow's own log.
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
    check_size(spec, max_memory)
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

    return Outcome(data, render, ExitCode.EXPECTATION_FAILED if errors else ExitCode.OK, errors)


def main() -> None:
    """The console script: run, then keep TensorFlow's exit-time log lines off the terminal."""
    code = cli.main(standalone_mode=False)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    if "tensorflow" in sys.modules:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
    sys.exit(code)
