"""The project's exceptions and exit codes (docs/cli.md)."""

from __future__ import annotations

import enum


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
        super().__init__(message)
        self.message = message


class SpecError(RnnshapeError):
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


class UsageError(RnnshapeError):
    exit_code = ExitCode.USAGE
    type = "usage"


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
