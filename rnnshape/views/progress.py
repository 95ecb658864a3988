"""The progress display of long work: a rich progress bar on stderr (which configuration, which
pass, the elapsed time), only when stderr is a terminal and the work is estimated over
SHOW_AFTER_SECONDS; nothing otherwise. It never writes to stdout (the --json document stays alone).

It writes to its own copy of file descriptor 2, taken before TensorFlow is imported: the runner
points fd 2 at a private log while TensorFlow works (to keep TensorFlow's log lines away).
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any, Iterator

SHOW_AFTER_SECONDS = 2.0


class ProgressDisplay:
    """Receives rules.progress events and draws them (rich.progress, transient)."""

    def __init__(self, command: str, stream: Any):
        self.command = command
        self.stream = stream
        self.progress: Any = None
        self.task: Any = None
        self.total = 1
        self.label = ""
        self.passes = 0

    def __call__(self, event: str, details: dict[str, Any]) -> None:
        if event == "start":
            if details["seconds"] < SHOW_AFTER_SECONDS or self.progress is not None:
                return
            self._open(details)
        if self.progress is None:
            return
        if event == "configuration":
            self.label = details["label"]
            self.passes = 0
            self.progress.update(
                self.task,
                completed=details["index"],
                total=details["total"],
                what=self._what(details["index"], details["total"]),
                step="building",
            )
        elif event == "pass":
            self.passes += 1
            self.progress.update(self.task, step=f"pass {self.passes}: {details['label']}")

    def _what(self, index: int, total: int) -> str:
        return f"{self.label} ({index + 1}/{total})" if total > 1 else self.label

    def _open(self, details: dict[str, Any]) -> None:
        import shutil

        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        try:
            width = os.get_terminal_size(self.stream.fileno()).columns
        except OSError:
            width = 0
        if width <= 0:  # not told (a terminal of unknown size)
            width = shutil.get_terminal_size().columns  # COLUMNS, else 80
        console = Console(file=self.stream, width=width, highlight=False, markup=False, emoji=False)
        self.total = max(1, int(details["total"]))
        self.progress = Progress(
            TextColumn(f"rnnshape {self.command} ({details['mode']}, about {details['seconds']:,.0f} s):"),
            TextColumn("{task.fields[what]}"),
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            TextColumn("{task.fields[step]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
            refresh_per_second=4,
        )
        self.progress.start()
        self.task = self.progress.add_task("run", total=self.total, what=details["what"], step="starting")

    def close(self) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=self.total)
            with contextlib.suppress(Exception):
                self.progress.stop()
            self.progress = None


def stderr_is_terminal() -> bool:
    try:
        return os.isatty(2) and sys.stderr.isatty()
    except (AttributeError, ValueError, OSError):
        return False


@contextlib.contextmanager
def progress_display(command: str) -> Iterator[ProgressDisplay | None]:
    """A ProgressDisplay for the block when stderr is a terminal, else None (nothing is drawn)."""
    if not stderr_is_terminal():
        yield None
        return
    stream = os.fdopen(os.dup(2), "w", encoding="utf-8", errors="replace")
    display = ProgressDisplay(command, stream)
    try:
        yield display
    finally:
        display.close()
        with contextlib.suppress(Exception):
            stream.close()
