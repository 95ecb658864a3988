"""Standard output as a shell may hand it over: closed before the start (``>&-``), full
(``> /dev/full``), cut off by a reader that stops early (``| head -1``), or unable to encode the
pictures' glyphs (``PYTHONIOENCODING=ascii``, ``LC_ALL=C``). Each ends as one line on stderr
with the exit code of docs/cli.md, never as a traceback."""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import sys
from typing import Iterable, Iterator, TextIO

CHUNK = 1 << 16  # bytes per write: a reader that goes away shows as EPIPE at the next chunk


class StdoutClosed(BaseException):
    """The reader of stdout went away (EPIPE), carried past click (which would exit 1, our
    "expectation failed")."""


class StdoutFailed(BaseException):
    """Writing stdout failed for another reason (a full disk, an I/O error): carried past
    click and our "internal error" catch-all, since a failed write is not a bug."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@contextlib.contextmanager
def writing_stdout() -> Iterator[None]:
    """Around writes to stdout: EPIPE -> StdoutClosed, any other OSError -> StdoutFailed."""
    try:
        yield
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            raise StdoutClosed() from None
        raise StdoutFailed(exc.strerror or str(exc)) from None


def emit(text: str | Iterable[str]) -> None:
    """``text`` (or its pieces, written as they come) and a newline on stdout, in chunks of at
    most CHUNK bytes straight to the file descriptor: one large write is taken in part by a
    reader that stops early without any error (so a cut-off ``--json`` would exit 0); the next
    chunk then fails with EPIPE, as in text mode."""
    stream = sys.stdout
    pieces = itertools.chain([text] if isinstance(text, str) else text, ["\n"])
    with writing_stdout():
        try:
            fd = stream.fileno()
        except (AttributeError, OSError, ValueError):  # an in-memory stream (tests, CliRunner)
            fd = None
        stream.flush()
        encoding = getattr(stream, "encoding", None) or "utf-8"
        batch: list[str] = []
        size = 0
        for piece in pieces:
            batch.append(piece)
            size += len(piece)
            if size >= CHUNK:
                _write("".join(batch), stream, fd, encoding)
                batch, size = [], 0
        _write("".join(batch), stream, fd, encoding)


def _write(text: str, stream: TextIO, fd: int | None, encoding: str) -> None:
    if fd is None:
        stream.write(text)
        stream.flush()
        return
    errors = "replace" if getattr(stream, "errors", "strict") == "replace" else "strict"
    view = memoryview(text.encode(encoding, errors))
    while view:
        written = os.write(fd, view[:CHUNK])
        view = view[written:]


class ChunkedStdout:
    """sys.stdout for rich's Console: each write goes out in chunks of at most CHUNK bytes (see
    ``emit``), so a long view cut off by ``| head -1`` ends with EPIPE, as --json does."""

    def __init__(self, stream: TextIO):
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            fd = self._stream.fileno()
        except (AttributeError, OSError, ValueError):
            fd = None
        self._stream.flush()
        _write(text, self._stream, fd, getattr(self._stream, "encoding", None) or "utf-8")
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> object:  # isatty, encoding, fileno ...: the stream's own
        return getattr(self._stream, name)


def stdout_closed_at_start() -> bool:
    """True when the program was started with stdout closed (``>&-``): Python then sets
    sys.stdout to None. The free descriptors 0-2 are pointed at /dev/null first, so that no file
    opened later (an --svg temporary, a log) takes descriptor 1 and receives the output."""
    closed = sys.stdout is None
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            with contextlib.suppress(OSError):
                devnull = os.open(os.devnull, os.O_RDWR)
                if devnull != fd:
                    os.dup2(devnull, fd)
                    os.close(devnull)
            if fd == 1:
                closed = True
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
    if closed:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
    return closed


def discard_stdout() -> None:
    """Nothing more can reach stdout: send what is left to /dev/null, so that Python's exit-time
    flush does not fail with a second message."""
    with contextlib.suppress(Exception):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def encodes(text: str, stream: object | None = None) -> bool:
    """Whether ``stream`` (stdout by default) can encode ``text`` in its encoding."""
    encoding = getattr(stream if stream is not None else sys.stdout, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except (UnicodeError, LookupError):
        return False
    return True


def tolerate_unencodable() -> None:
    """Characters stdout cannot encode (a '→' in a sentence) become '?' instead of an error."""
    with contextlib.suppress(Exception):
        sys.stdout.reconfigure(errors="replace")  # type: ignore[union-attr]
