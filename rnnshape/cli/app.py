"""The command line's frame: one click group whose failures are one line (or one JSON document
under --json) with the exit codes of docs/cli.md, in one place (RnnshapeGroup.main); and
``execute``, which calls the API and shows its result as JSON or with rich, saving --svg/--html."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import traceback
from typing import Any, Callable, Iterator

import click
from click.exceptions import NoArgsIsHelpError

from rnnshape.cli.output import dumps, dumps_chunks, envelope, error_entry
from rnnshape.cli.streams import (
    ChunkedStdout,
    StdoutClosed,
    StdoutFailed,
    discard_stdout,
    emit,
    encodes,
    stdout_closed_at_start,
    tolerate_unencodable,
    writing_stdout,
)
from rnnshape.errors import BackendError, ExitCode, InternalError, RnnshapeError, UsageError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


_debug_requested = False  # rnnshape --debug, for this run (reset by RnnshapeGroup.main)


def debug_enabled() -> bool:
    """rnnshape --debug or RNNSHAPE_DEBUG=1: tracebacks and TensorFlow's own log on errors."""
    return _debug_requested or os.environ.get("RNNSHAPE_DEBUG", "") not in ("", "0")


def _request_debug(_ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    global _debug_requested
    if value:
        _debug_requested = True
        # For this run only (restored by RnnshapeGroup.main): the runner keeps the user's
        # TF_CPP_* log settings under --debug, and forces TensorFlow quiet otherwise.
        os.environ["RNNSHAPE_DEBUG"] = "1"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _error_line(prefix: str, message: str) -> None:
    with contextlib.suppress(OSError):  # a closed stderr (2>&-): the exit code still tells
        click.echo(f"{prefix}: error: {_one_line(message)}", err=True)


def _note_ignored_backend(command: str) -> None:
    """KERAS_BACKEND=jax (or torch) in the environment does not choose the backend: options
    alone decide a run (the same options give the same JSON). Said on stderr, once, after a run
    that loaded Keras (never under an error, whose stderr is one line)."""
    runner = sys.modules.get("rnnshape.runner.session")  # loaded only when Keras ran: nothing imported here
    asked = getattr(runner, "ignored_backend", None)
    if asked:
        with contextlib.suppress(OSError):
            click.echo(
                f"{command}: note: KERAS_BACKEND={asked} is not used: rnnshape runs Keras on TensorFlow "
                "unless --backend says otherwise (inspect, trace, stateful, compare)",
                err=True,
            )


class _Interrupted(BaseException):
    """Ctrl-C, carried past click (which would print its own blank line and "Aborted!")."""


_StdoutClosed = StdoutClosed


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
    document under --json) with the exit code of docs/cli.md. Ctrl-C exits 130 and a closed
    stdout 141 (128 + the signal, as a shell reports a process ended by SIGINT or SIGPIPE),
    quietly, whatever was running."""

    def make_context(self, info_name, args, parent=None, **extra):  # type: ignore[override]
        # The command line as typed, for the title of --svg files (ctx.meta is shared by subcommands).
        argv = list(args)
        with _streams_guarded(), writing_stdout():  # --help, --version: written while parsing
            ctx = super().make_context(info_name, args, parent=parent, **extra)
        ctx.meta["rnnshape.argv"] = [info_name or "rnnshape", *argv]
        return ctx

    def invoke(self, ctx):  # type: ignore[override]
        with _streams_guarded():
            return super().invoke(ctx)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):  # type: ignore[override]
        global _debug_requested
        _debug_requested = False
        debug_before = os.environ.get("RNNSHAPE_DEBUG")
        argv = list(sys.argv[1:] if args is None else args)
        json_mode = "--json" in argv
        prog = prog_name or "rnnshape"
        with contextlib.suppress(Exception):  # an error line echoing '☃' to a stderr that cannot encode it
            sys.stderr.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
        try:
            if stdout_closed_at_start():
                code = _stdout_closed_at_start(self._command_path(prog, argv))
            else:
                code = self._run(argv, prog, json_mode, complete_var, **extra)
                if code in (ExitCode.OK, ExitCode.EXPECTATION_FAILED):
                    _note_ignored_backend(self._command_path(prog, argv))
                with writing_stdout():
                    sys.stdout.flush()  # a reader that went away shows here, not at exit
        except (_Interrupted, KeyboardInterrupt, click.Abort):
            code = _interrupted()
        except (_StdoutClosed, BrokenPipeError):
            code = _stdout_closed()
        except StdoutFailed as exc:
            code = _stdout_failed(self._command_path(prog, argv), exc.reason)
        finally:
            if debug_before is None:
                os.environ.pop("RNNSHAPE_DEBUG", None)
            else:
                os.environ["RNNSHAPE_DEBUG"] = debug_before
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
            return _report(
                self._command_path(prog, argv),
                json_mode,
                BackendError(
                    "out of memory: this machine cannot hold the run; use smaller sizes (the size guard's "
                    "estimate was too low here: a lower --max-memory MB refuses such runs in advance)"
                ),
            )
        except Exception as exc:  # a bug of ours: still one line, the traceback on request
            if debug_enabled():
                traceback.print_exc()
            return _report(
                self._command_path(prog, argv),
                json_mode,
                InternalError(
                    f"internal error: {type(exc).__name__}: {exc} (please report it; rnnshape --debug ... "
                    "or RNNSHAPE_DEBUG=1 shows the traceback)"
                ),
            )

    def _command_path(self, prog: str, argv: list[str]) -> str:
        words = [arg for arg in argv if not arg.startswith("-")]
        return f"{prog} {words[0]}" if words and words[0] in self.list_commands(None) else prog


def _interrupted() -> int:
    with contextlib.suppress(Exception):
        click.echo("rnnshape: interrupted", err=True)
    return ExitCode.INTERRUPTED


def _stdout_closed() -> int:
    """Nothing more can reach the reader: send what is left of stdout to /dev/null, so that
    Python's exit-time flush does not fail with a BrokenPipeError message."""
    discard_stdout()
    return ExitCode.STDOUT_CLOSED


def _stdout_closed_at_start(command: str) -> int:
    """Started with stdout closed (``>&-``): nothing could be shown, so nothing runs; exit 141
    as when the reader goes away later."""
    with contextlib.suppress(Exception):
        _error_line(
            command,
            "standard output is closed, so nothing could be shown; to discard the output, redirect it to /dev/null",
        )
    return ExitCode.STDOUT_CLOSED


def _stdout_failed(command: str, reason: str) -> int:
    """A write to stdout failed (a full disk, an I/O error): one line, exit 74."""
    discard_stdout()
    with contextlib.suppress(Exception):
        _error_line(command, f"cannot write to standard output: {reason}")
    return ExitCode.STDOUT_FAILED


def _report(command: str, json_mode: bool, error: RnnshapeError) -> int:
    """An error as one stderr line, or as the one JSON document on stdout."""
    name = command.split()[-1] if " " in command else command
    if json_mode:
        emit(dumps(envelope(name, None, error.exit_code, [error_entry(error)])))
    else:
        _error_line(command, error.message)
    if debug_enabled() and error.__cause__ is not None:
        traceback.print_exception(error.__cause__, file=sys.stderr)
        from rnnshape.runner import session as session_runner

        sys.stderr.write(session_runner.native_log())
    return int(error.exit_code)


def execute(
    command: str, json_mode: bool, work: Callable[[], Any], *, svg: str | None = None, html: str | None = None
) -> int:
    """Call the API (``work`` returns a result object) and show the result: JSON, or the rich
    view. ``svg``/``html`` save the rich view to files, drawn at COLUMNS (default 100) whatever
    the terminal, before anything is shown; under --json stdout still holds only the one
    document."""
    try:
        check_export_paths(svg=svg, html=html)
        _refuse_outputs_over_inputs(svg=svg, html=html)
        from rnnshape.rules import progress
        from rnnshape.views.progress import progress_display

        with progress_display(command) as display, progress.reporting(display):
            result = work()
        if svg or html:
            save_exports(result, command, svg, html)
    except RnnshapeError as exc:
        return _report(f"rnnshape {command}", json_mode, exc)
    if json_mode:
        emit(dumps_chunks(envelope(command, result.data, result.exit_code, [error_entry(e) for e in result.errors])))
    else:
        from rnnshape.views.common import make_console

        result = _drawable(result, command)
        with writing_stdout():
            make_console(file=ChunkedStdout(sys.stdout)).print(result)  # type: ignore[arg-type]
        for error in result.errors:  # the short line when the view above showed the details
            _error_line(f"rnnshape {command}", getattr(error, "after_view", None) or error.message)
    return result.exit_code


def _refuse_outputs_over_inputs(**outputs: str | None) -> None:
    """An --svg/--html/--save file that is an input file (--input, --model, --from) or another
    output: exit 2 before any work."""
    from rnnshape import files

    ctx = click.get_current_context(silent=True)
    params = ctx.params if ctx is not None else {}
    given = params.get("input_data")
    inputs = {"--input": given if isinstance(given, str) and given.lower().endswith(files.FILE_SUFFIXES) else None}
    model, source = params.get("model"), params.get("from_")
    inputs["--model"] = model if isinstance(model, str) else None
    inputs["--from"] = source[1] if isinstance(source, tuple) and len(source) == 2 else None
    named = {f"--{key}": path for key, path in outputs.items()}
    save = params.get("save")
    named["--save"] = save if isinstance(save, str) else None
    files.refuse_same_files(inputs, named)


def _drawable(result: Any, command: str) -> Any:
    """The result, drawn with the --ascii glyphs when stdout cannot encode the pictures' own
    (PYTHONIOENCODING=ascii, LC_ALL=C): said once on stderr when a picture is drawn."""
    if not hasattr(result, "view"):
        return result
    import dataclasses

    from rnnshape.views.pictures.canvas import UNICODE

    if encodes("".join(UNICODE.values())):
        return result

    tolerate_unencodable()
    if result.view.diagram and not result.view.ascii_only:
        encoding = getattr(sys.stdout, "encoding", None) or "?"
        click.echo(
            f"rnnshape {command}: note: standard output cannot encode box-drawing characters "
            f"(encoding {encoding}): drawn as with --ascii",
            err=True,
        )
    result.view = dataclasses.replace(result.view, ascii_only=True)
    return result


def save_exports(result: Any, command: str, svg: str | None, html: str | None) -> None:
    """The rich view of ``result``, recorded and written as --svg and/or --html files."""
    import io

    from rnnshape import files
    from rnnshape.views.common import export_text, make_console

    recorder = make_console(file=io.StringIO(), record=True)
    recorder.print(result)
    title = _export_title(command, recorder.width)
    for option, path, kind in (("--svg", svg, "svg"), ("--html", html, "html")):
        if path:
            files.write_text(path, export_text(recorder, kind, title), option)


def check_export_paths(**paths: str | None) -> None:
    """Refuse, before any work, an --svg/--html path that names a directory or lies under a file;
    missing folders are created when the file is written (as for check --junit)."""
    for key, path in paths.items():
        if path is None:
            continue
        if not path or os.path.isdir(path):
            raise UsageError(f"Invalid value for --{key}: {path!r} is not a file name")
        directory = os.path.dirname(os.path.abspath(path))
        while not os.path.exists(directory) and os.path.dirname(directory) != directory:
            directory = os.path.dirname(directory)  # the nearest existing folder
        if not os.path.isdir(directory):
            raise UsageError(f"Invalid value for --{key}: {directory!r} is not a directory")
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
