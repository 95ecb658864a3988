"""The project's exceptions and exit codes (docs/cli.md)."""

from __future__ import annotations

import enum
import re


class ExitCode(enum.IntEnum):
    OK = 0
    EXPECTATION_FAILED = 1
    USAGE = 2
    BACKEND = 3
    INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, as a shell reports a process it interrupted
    STDOUT_CLOSED = 141  # the reader of stdout went away (or stdout was closed): 128 + SIGPIPE
    STDOUT_FAILED = 74  # writing stdout failed (a full disk, an I/O error): EX_IOERR of sysexits.h


class RnnshapeError(Exception):
    """Base class: every error the CLI turns into one line and an exit code."""

    exit_code = ExitCode.USAGE
    type = "error"

    def __init__(self, message: str):
        message = shorten_echoes(message)
        super().__init__(message)
        self.message = message


class UsageError(RnnshapeError):
    """Bad usage or bad input: exit 2, one line naming the option and what is allowed."""

    exit_code = ExitCode.USAGE
    type = "usage"


class SpecError(UsageError):
    """A layer option (or check-file key) has a value that is not allowed.

    ``key`` is the underscored option name (``units``); the CLI shows it as ``--units``,
    a check file shows it as the key.
    """

    exit_code = ExitCode.USAGE
    type = "usage"

    def __init__(self, key: str, problem: str):
        self.key = key
        self.problem = problem
        super().__init__(f"Invalid value for {option_name(key)}: {problem}")


class ExpectationFailed(RnnshapeError):
    exit_code = ExitCode.EXPECTATION_FAILED
    type = "expectation_failed"


class BackendError(RnnshapeError):
    """TensorFlow/Keras is missing or failed while building or running a layer."""

    exit_code = ExitCode.BACKEND
    type = "backend"


class InternalError(RnnshapeError):
    """A bug of rnnshape's own (an exception nothing else expected): exit 3, one line, the
    traceback with --debug."""

    exit_code = ExitCode.BACKEND
    type = "internal"


def option_name(key: str) -> str:
    """``return_state`` -> ``--return-state``."""
    return "--" + key.replace("_", "-")


# An error line repeats the value given, quoted; a 400-digit --units or a 5,000-character path
# is cut to its first and last characters and its length.
ECHO_LIMIT = 40  # the length of a shortened value
ECHO_KEPT = 100  # values up to this length (file paths, mostly) are shown whole
# A quoted value: a quote after no letter, then no quote, then a quote before no letter (so the
# text between 'None' and 'lstm_2' in Keras' messages is not taken for one).
_QUOTED = re.compile("(?<!\\w)'[^'\\n]{%d,}'(?!\\w)|(?<!\\w)\"[^\"\\n]{%d,}\"(?!\\w)" % (ECHO_KEPT + 1, ECHO_KEPT + 1))
_WORD = re.compile(r"\S{%d,}" % (ECHO_KEPT + 1))


def shorten(value: str, limit: int = ECHO_LIMIT) -> str:
    """``value`` cut to about ``limit`` characters: its start, '...', its end, and its length."""
    if len(value) <= limit:
        return value
    head = (limit - 3) // 2
    return f"{value[:head]}...{value[-(limit - head - 3) :]} ({len(value):,} characters)"


def shorten_echoes(message: str) -> str:
    """Every quoted value and every word longer than ECHO_KEPT characters in ``message``
    shortened to about ECHO_LIMIT (see ``shorten``)."""

    def quoted(match: re.Match[str]) -> str:
        text = match.group(0)
        quote, inner = text[0], text[1:-1]
        cut = shorten(inner)
        body, _, length = cut.rpartition(" (")
        return f"{quote}{body}{quote} ({length}"

    message = _QUOTED.sub(quoted, message)
    return _WORD.sub(lambda match: shorten(match.group(0)) if "..." not in match.group(0) else match.group(0), message)
