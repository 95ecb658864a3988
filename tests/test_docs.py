"""The documentation shows the program's real output, and every command is documented.

Transcripts. Every fenced block marked ```console in README.md and docs/**/*.md is a transcript:
its first line is `$ rnnshape ARGS...` and the lines after it are what the command prints. A block
may hold more commands, each on a line starting with `$ `: another `$ rnnshape ARGS...`, or
`$ echo $?` (prints the exit code of the command before it). Nothing else is run: pipes, `cd` and
other shell syntax cannot run in-process, so such examples go in ```bash or ```text blocks, which
are not checked.

Each command runs in this process (one TensorFlow import for all) with click's CliRunner,
COLUMNS=100 and NO_COLOR=1, in a fresh temporary directory that holds a copy of examples/ and the
files of the page's ```LANG file=NAME blocks (e.g. ```toml file=gru.toml), so commands that read
or write files (check FILE, --svg, --junit) work as shown. The output compared is what a terminal
shows: stdout and stderr interleaved in the order they were written (click's Result.output),
trailing whitespace stripped on every line and trailing blank lines dropped.

A line that is exactly `...` stands for any number of lines (zero or more), so a transcript can
show the part of the output that matters.

RNNSHAPE_UPDATE_GOLDEN=1 rewrites the blocks in place with the real output instead of failing,
keeping the elisions where they were: the part before the first `...` is re-taken from the start
of the output with as many lines as it had; a part between two `...` from the first output line
equal to its first line (after the previous part), with as many lines as it had; the part after
the last `...` from the output line equal to its first line (else as many lines as it had) to
the end of the output.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = (
    "inspect",
    "compare",
    "check",
    "trace",
    "stateful",
    "generate",
    "stack",
    "patterns",
    "window",
    "why",
    "model",
    "explore",
    "port",
)
UPDATE = os.environ.get("RNNSHAPE_UPDATE_GOLDEN") == "1"
ELISION = "..."
ENV = {"COLUMNS": "100", "NO_COLOR": "1", "RNNSHAPE_DEBUG": None}

_FENCE_END = re.compile(r"^```\s*$")
_CONSOLE = re.compile(r"^```console\s*$")
_FILE_BLOCK = re.compile(r"^```[\w+-]*\s+file=(\S+)\s*$")


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


@dataclass(frozen=True)
class Transcript:
    path: Path
    index: int  # which ```console block of the file, from 0
    line: int  # the line of its opening fence, from 1
    body: tuple[str, ...]
    files: tuple[tuple[str, str], ...]  # (name, text) of the page's file= blocks

    @property
    def id(self) -> str:
        first = self.body[0].removeprefix("$ rnnshape ") if self.body else ""
        return f"{self.path.relative_to(ROOT)}:{self.line}:{first[:60]}"


def _blocks(lines: list[str]) -> list[tuple[int, int, int, str | None]]:
    """(opening fence index, closing fence index, kind, file name) of every fenced block; kind is
    'console', 'file' or 'other'."""
    blocks = []
    i = 0
    while i < len(lines):
        if lines[i].startswith("```"):
            end = i + 1
            while end < len(lines) and not _FENCE_END.match(lines[end]):
                end += 1
            match = _FILE_BLOCK.match(lines[i])
            kind = "console" if _CONSOLE.match(lines[i]) else "file" if match else "other"
            blocks.append((i, end, kind, match.group(1) if match else None))
            i = end + 1
        else:
            i += 1
    return blocks


def transcripts(path: Path) -> list[Transcript]:
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks = _blocks(lines)
    files = tuple(
        (name, "\n".join(lines[start + 1 : end]) + "\n") for start, end, kind, name in blocks if kind == "file"
    )
    console = [(start, end) for start, end, kind, _ in blocks if kind == "console"]
    return [
        Transcript(path, index, start + 1, tuple(lines[start + 1 : end]), files)
        for index, (start, end) in enumerate(console)
    ]


def all_transcripts() -> list[Transcript]:
    return [t for path in doc_files() for t in transcripts(path)]


# --- running a transcript ------------------------------------------------------------------------


def _clean(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def run_transcript(body: tuple[str, ...]) -> list[str]:
    """The block as the real program would print it: each `$ ` line followed by its output."""
    from click.testing import CliRunner

    from rnnshape.cli import cli

    commands = [line for line in body if line.startswith("$ ")]
    assert body and body[0].startswith("$ rnnshape "), (
        "a ```console block must start with a `$ rnnshape ARGS...` line (use ```bash or ```text "
        "for other shell examples)"
    )
    out: list[str] = []
    last_code: int | None = None
    for line in commands:
        command = line[2:].strip()
        out.append(line.rstrip())
        if command == "echo $?":
            assert last_code is not None, "`$ echo $?` must follow a `$ rnnshape` line"
            out.append(str(last_code))
            continue
        words = shlex.split(command)
        shell = {"|", "||", "&&", ";", ">", "<", ">>", "2>&1", "cd"}
        assert words[0] == "rnnshape" and not shell & set(words) and "$" not in command, (
            f"cannot run in-process: {command!r}; only `rnnshape ARGS...` and `echo $?` are run "
            "(make the block ```bash or ```text)"
        )
        result = CliRunner().invoke(cli, words[1:], env=ENV, prog_name="rnnshape")
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        last_code = result.exit_code
        out.extend(_clean(result.output))
    return out


# --- comparing with elisions ---------------------------------------------------------------------


def _segments(expected: list[str]) -> list[list[str]]:
    """The expected lines split at every `...` line (the first and last segments may be empty)."""
    segments: list[list[str]] = [[]]
    for line in expected:
        if line.strip() == ELISION:
            segments.append([])
        else:
            segments[-1].append(line.rstrip())
    return segments


def _find(actual: list[str], segment: list[str], start: int) -> int:
    for i in range(start, len(actual) - len(segment) + 1):
        if actual[i : i + len(segment)] == segment:
            return i
    return -1


def matches(expected: list[str], actual: list[str]) -> bool:
    segments = _segments(expected)
    if len(segments) == 1:
        return segments[0] == actual
    first, *middle, last = segments
    if actual[: len(first)] != first:
        return False
    pos = len(first)
    for segment in middle:
        found = _find(actual, segment, pos)
        if found < 0:
            return False
        pos = found + len(segment)
    return len(actual) - len(last) >= pos and (not last or actual[-len(last) :] == last)


def updated(expected: list[str], actual: list[str]) -> list[str]:
    """The expected block rewritten from the actual output, keeping its elisions."""
    segments = _segments(expected)
    if len(segments) == 1:
        return actual
    result: list[str] = []
    pos = 0
    for number, segment in enumerate(segments):
        if number:
            result.append(ELISION)
        if not segment:
            continue
        anchor = next((i for i in range(pos, len(actual)) if actual[i] == segment[0]), -1)
        if number == 0:
            start, stop = 0, len(segment)
        elif number == len(segments) - 1:  # the end of the output, from its first line if found
            start = anchor if anchor >= 0 else max(pos, len(actual) - len(segment))
            stop = len(actual)
        elif anchor >= 0:
            start, stop = anchor, anchor + len(segment)
        else:
            raise AssertionError(
                f"cannot update: no output line {segment[0]!r} to anchor the part after an "
                "elision; edit the block by hand"
            )
        result.extend(actual[start:stop])
        pos = stop
    return result


def _rewrite(transcript: Transcript, body: list[str]) -> None:
    lines = transcript.path.read_text(encoding="utf-8").splitlines()
    console = [(s, e) for s, e, kind, _ in _blocks(lines) if kind == "console"]
    start, end = console[transcript.index]
    lines[start + 1 : end] = body
    transcript.path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.slow
@pytest.mark.parametrize("transcript", all_transcripts(), ids=lambda t: t.id)
def test_transcript_is_the_programs_real_output(transcript: Transcript, workdir: Path):
    for name, text in transcript.files:
        (workdir / name).parent.mkdir(parents=True, exist_ok=True)
        (workdir / name).write_text(text, encoding="utf-8")
    expected = [line.rstrip() for line in transcript.body]
    actual = run_transcript(transcript.body)
    if matches(expected, actual):
        return
    if UPDATE:
        _rewrite(transcript, updated(expected, actual))
        return
    try:
        wanted = updated(expected, actual)
    except AssertionError:
        wanted = actual
    diff = "\n".join(difflib.unified_diff(expected, wanted, "documented", "real output", lineterm=""))
    pytest.fail(
        f"{transcript.id}: the transcript drifted from the program's output "
        f"(RNNSHAPE_UPDATE_GOLDEN=1 rewrites it):\n{diff}"
    )


# --- fast checks, no TensorFlow ------------------------------------------------------------------


def test_the_elision_rules():
    out = ["a", "b", "c", "d", "e"]
    assert matches(["a", "...", "e"], out)
    assert matches(["...", "c", "..."], out)
    assert matches(["a", "b", "...", "d", "e"], out)
    assert not matches(["a", "...", "d"], out)
    assert not matches(["a", "b", "c"], out)
    assert updated(["a", "...", "x", "..."], ["a", "b", "x", "y", "z"]) == ["a", "...", "x", "..."]
    assert updated(["q", "r", "...", "z"], ["a", "b", "c", "d"]) == ["a", "b", "...", "d"]
    assert updated(["a", "...", "c", "x"], ["a", "b", "c", "d", "e"]) == ["a", "...", "c", "d", "e"]


def test_every_command_has_a_page_and_a_readme_table_row():
    from rnnshape.cli import cli

    assert set(cli.list_commands(None)) == set(COMMANDS), "a new command needs its docs/commands page and README row"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("| `rnnshape ")]
    for name in COMMANDS:
        page = ROOT / "docs" / "commands" / f"{name}.md"
        assert page.is_file(), f"missing {page.relative_to(ROOT)}"
        assert f"rnnshape {name}" in page.read_text(encoding="utf-8")
        row = [line for line in rows if line.startswith(f"| `rnnshape {name}")]
        assert len(row) == 1, f"README's command table needs one row for rnnshape {name}"
        assert f"(docs/commands/{name}.md)" in row[0], f"README's row for rnnshape {name} does not link its page"


def test_the_readme_stays_short():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200, f"README.md is {len(lines)} lines: depth belongs in docs/"


def test_no_doc_points_outside_the_repository():
    for path in doc_files():
        text = path.read_text(encoding="utf-8")
        assert "shared/" not in text, f"{path.relative_to(ROOT)} mentions shared/"
        for target in re.findall(r"\]\(([^)#\s]+)", text):
            if "://" in target:
                continue
            assert (path.parent / target).resolve().is_relative_to(ROOT), f"{path.relative_to(ROOT)} links {target}"


def test_every_console_block_is_a_runnable_transcript():
    for transcript in all_transcripts():
        assert transcript.body and transcript.body[0].startswith("$ rnnshape "), transcript.id
        for line in transcript.body:
            if line.startswith("$ ") and line != "$ echo $?":
                words = shlex.split(line[2:])
                assert words[0] == "rnnshape" and not {"|", ";", "&&", ">", "cd"} & set(words), transcript.id


def test_ci_runs_exactly_the_readmes_test_command_with_the_pinned_versions():
    """.ci/run is the README's test command; the install is bounded by constraints.txt, which pins
    every package the test extras bring (a new dependency is pinned on purpose, by .ci/drift)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = next(line for line in readme.splitlines() if line.startswith('pip install -e ".[test]"'))
    assert command.rstrip().endswith("&& python -m pytest -n auto") and "-c constraints.txt" in command
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert command in ci.splitlines(), ".ci/run must run exactly the README's test command"
    pinned = {
        line.split("==")[0].lower().replace("_", "-")
        for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
        if "==" in line
    }
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for requirement in project["dependencies"] + project["optional-dependencies"]["test"]:
        name = re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        if "python_version" in requirement:
            continue  # tomli: Python 3.10 only
        assert name in pinned, f"{name} (pyproject.toml) is not pinned in constraints.txt"
