"""Hostile surroundings seen from outside, in real processes (issue 15): special files for FILE
arguments, contracts from stdin, nested TOML, the time and memory guards, a stdout that is
closed, full, cut off or not UTF-8, a huge COLUMNS, outputs that would destroy inputs, failed and
parallel writes, TensorFlow's verbose log settings and very long values in error lines."""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from conftest import _command, run_process

# every test here runs Keras: the slow tier (the fast tier is pytest -m "not slow")
pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {"PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
RNNSHAPE = shlex.join(_command())
GOOD_CASE = '[[case]]\nname = "ok"\nlayer = "gru"\nunits = 2\n[case.expect]\noutput = [1, 2]\n'


def shell(
    script: str, env: dict[str, str] | None = None, timeout: float = 120, cwd: str | None = None
) -> subprocess.CompletedProcess:
    """``script`` in bash, with RNNSHAPE standing for the command."""
    full = {**os.environ, **ENV, **(env or {})}
    full.pop("RNNSHAPE_DEBUG", None)
    return subprocess.run(
        ["bash", "-c", script.replace("RNNSHAPE", RNNSHAPE)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full,
        cwd=cwd,
    )


def one_line(text: str) -> str:
    lines = text.splitlines()
    assert len(lines) == 1, text[-2000:]
    return lines[0]


# ---- 1. every file read by one rule; check - -------------------------------------------------
def test_special_files_are_refused_for_every_file_argument(tmp_path):
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    fifo_csv = tmp_path / "fifo.csv"
    os.mkfifo(fifo_csv)
    zero_npy = tmp_path / "zero.npy"
    zero_npy.symlink_to("/dev/zero")
    big = tmp_path / "big.toml"
    with open(big, "wb") as handle:  # sparse: 17 MiB of nothing, above the contract limit
        handle.truncate(17 * 2**20)
    refused = [
        (["check", "/dev/zero", "--json"], "not a regular file (a device)"),
        (["check", "/dev/urandom", "--static"], "not a regular file (a device)"),
        (["check", str(fifo), "--static"], "not a regular file (a pipe)"),
        (["check", str(big), "--static"], "above the limit of 16 MiB"),
        (["inspect", "--static", "--input", str(zero_npy)], "not a regular file (a device)"),
        (["inspect", "--static", "--input", str(fifo_csv)], "not a regular file (a pipe)"),
    ]
    for argv, words in refused:
        proc = run_process(argv, timeout=30)  # /dev/zero used to grow to gigabytes, a FIFO to hang
        assert proc.returncode == 2, (argv, proc.stderr)
        text = proc.stdout if "--json" in argv else one_line(proc.stderr)
        assert words in text, (argv, text)


def test_check_dash_reads_the_contract_from_standard_input():
    proc = subprocess.run(
        [*_command(), "check", "-", "--static", "--json"],
        input=GOOD_CASE,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **ENV},
    )
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert document["ok"] and [case["name"] for case in document["data"]["cases"]] == ["ok"]
    bad = subprocess.run(
        [*_command(), "check", "-", "--static"],
        input="[[case]\n",
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **ENV},
    )
    assert bad.returncode == 2 and one_line(bad.stderr).startswith("rnnshape check: error: <stdin>: is not valid TOML")


# ---- 2. nested TOML -------------------------------------------------------------------------
@pytest.mark.parametrize("opening", ["[", "{a="])
def test_deeply_nested_toml_is_bad_input(tmp_path, opening):
    contract = tmp_path / "nested.toml"
    contract.write_text("a = " + opening * 1000 + "\n")
    proc = run_process(["check", str(contract), "--static"], timeout=30)
    assert proc.returncode == 2, proc.stderr
    assert "is not valid TOML" in one_line(proc.stderr) and "internal error" not in proc.stderr


# ---- 3. check's time estimate ----------------------------------------------------------------
def test_check_counts_the_cost_of_each_case_and_refuses_beyond_max_seconds(tmp_path):
    """1,000 trivial cases ran 39 s (estimated 9 s) and 5,000 ran 187 s (estimated 45 s): both
    are now refused before TensorFlow is imported, as every other command's runs."""
    for cases, limit in ((5000, None), (1000, "20")):
        contract = tmp_path / f"cases{cases}.toml"
        contract.write_text("".join(GOOD_CASE.replace('"ok"', f'"case {i}"') for i in range(cases)))
        argv = ["check", str(contract)] + (["--max-seconds", limit] if limit else [])
        proc = run_process(argv, timeout=60)
        assert proc.returncode == 2, (cases, proc.stderr[-500:])
        line = one_line(proc.stderr)
        assert f"the {cases:,} cases would take about" in line and "--max-seconds" in line, line


# ---- 4-6. stdout closed, full, cut off ---------------------------------------------------------
def test_a_closed_stdout_is_one_line_and_exit_141():
    for argv in ("inspect --static", "--version", "check - --static"):
        proc = shell(f"RNNSHAPE {argv} >&- </dev/null")
        assert proc.returncode == 141, (argv, proc.stderr)
        assert "standard output is closed" in one_line(proc.stderr) and "Traceback" not in proc.stderr
    closed_stderr = shell("RNNSHAPE inspect --units 0 2>&-")  # the error line has nowhere to go: still exit 2
    assert closed_stderr.returncode == 2 and closed_stderr.stdout == ""


def _full_device(tmp_path) -> str:
    """/dev/full, or a device node like it where /dev/full is missing (containers)."""
    if os.path.exists("/dev/full") and stat.S_ISCHR(os.stat("/dev/full").st_mode):
        return "/dev/full"
    path = tmp_path / "full"
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 7))
        with open(path, "w") as handle:
            handle.write("x")
            handle.flush()
    except PermissionError:
        pytest.skip("no /dev/full and no permission to make one")
    except OSError:
        return str(path)  # ENOSPC: it is the full device
    pytest.skip("the device node made is not a full device here")


def test_a_full_stdout_is_one_line_and_exit_74(tmp_path):
    full = _full_device(tmp_path)
    for argv in (
        "window --static --json",
        "window --static",
        "inspect --static --diagram",
        "--help",
        "inspect --units 0 --json",
    ):
        proc = shell(f"RNNSHAPE {argv} > {full}")
        assert proc.returncode == 74, (argv, proc.returncode, proc.stderr[-2000:])
        line = one_line(proc.stderr)
        assert line.endswith("error: cannot write to standard output: No space left on device"), line


@pytest.mark.parametrize(
    "argv",
    ["inspect --batch 300 --timesteps 20 --return-sequences --values --json", "trace --timesteps 300 --steps 1-300"],
    ids=["json", "text"],
)
def test_a_cut_off_output_exits_141_in_every_mode(argv):
    """The JSON document (1.5 MB) and trace's view (120 KB) were each written in one write,
    taken in part by `head` with no error: exit 0. Output that fits in the pipe whole may still
    exit 0, as any Unix filter's."""
    proc = shell(f"RNNSHAPE {argv} | head -1; exit ${{PIPESTATUS[0]}}")
    assert proc.returncode == 141, (proc.returncode, proc.stderr[-1000:])
    assert proc.stderr == "" and proc.stdout.count("\n") == 1


# ---- 7-8. what stdout can show ------------------------------------------------------------------
@pytest.mark.parametrize(
    "env",
    [
        {"PYTHONIOENCODING": "ascii"},
        {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0", "PYTHONIOENCODING": ""},
    ],
    ids=["PYTHONIOENCODING=ascii", "LC_ALL=C"],
)
def test_a_stdout_that_cannot_encode_the_glyphs_gets_the_ascii_picture(env):
    for argv in (["inspect", "--static", "--diagram"], ["stack", "--static", "--diagram", "lstm:3:seq", "lstm:2"]):
        proc = subprocess.run(
            [*_command(), *argv], capture_output=True, timeout=60, env={**os.environ, **ENV, "COLUMNS": "100", **env}
        )
        assert proc.returncode == 0, proc.stderr.decode(errors="replace")
        assert proc.stdout.isascii() and b"+--" in proc.stdout
        note = one_line(proc.stderr.decode())
        assert "cannot encode box-drawing characters" in note and "--ascii" in note


def test_a_huge_columns_is_clamped():
    for columns in ("99999999", "1000000000"):
        proc = run_process(["inspect", "--static", "--diagram"], env={"COLUMNS": columns}, timeout=30)
        assert proc.returncode == 0, proc.stderr
        assert max(len(line) for line in proc.stdout.splitlines()) <= 500


# ---- 9-11. the files written -----------------------------------------------------------------------
def test_an_output_that_is_an_input_or_another_output_is_refused(tmp_path):
    contract = tmp_path / "c.toml"
    contract.write_text(GOOD_CASE)
    os.link(contract, tmp_path / "hard.toml")
    data = tmp_path / "in.npy"
    np.save(data, np.ones((1, 3, 2), np.float32))
    before = data.read_bytes()
    cases = [
        (["check", "c.toml", "--static", "--junit", "c.toml"], ("--junit", "FILE")),
        (["check", "c.toml", "--static", "--junit", "./hard.toml"], ("--junit", "FILE")),
        (["inspect", "--static", "--input", "in.npy", "--svg", str(data)], ("--svg", "--input")),
        (["inspect", "--static", "--input", "in.npy", "--html", "in.npy"], ("--html", "--input")),
        (["inspect", "--static", "--svg", "same.out", "--html", "./same.out"], ("--html", "--svg")),
    ]
    for argv, options in cases:
        proc = subprocess.run(
            [*_command(), *argv], capture_output=True, text=True, timeout=60, cwd=tmp_path, env={**os.environ, **ENV}
        )
        assert proc.returncode == 2, (argv, proc.stderr)
        line = one_line(proc.stderr)
        assert all(option in line for option in options), line
    assert contract.read_text() == GOOD_CASE and data.read_bytes() == before
    assert not (tmp_path / "same.out").exists()


def test_a_write_cut_short_by_ulimit_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    (tmp_path / "many.toml").write_text("".join(GOOD_CASE.replace('"ok"', f'"case {i}"') for i in range(200)))
    for target, argv in (
        ("out.svg", "inspect --static --diagram --svg out.svg"),
        ("report.xml", "check many.toml --static --junit report.xml"),
    ):
        old = "the old, good file\n"
        (tmp_path / target).write_text(old)
        proc = shell(f"ulimit -f 8; RNNSHAPE {argv} > /dev/null", cwd=str(tmp_path))  # 8 KiB per file
        assert proc.returncode == 2, (argv, proc.returncode, proc.stderr)
        assert "File too large" in one_line(proc.stderr)
        assert (tmp_path / target).read_text() == old
        assert sorted(os.listdir(tmp_path)) == sorted(
            ["many.toml", "out.svg"] + (["report.xml"] if "xml" in target else [])
        )
        bigger = shell(f"RNNSHAPE {argv} > /dev/null", cwd=str(tmp_path))  # without the limit: written whole
        assert bigger.returncode == 0, bigger.stderr
        ET.parse(tmp_path / target)


def test_parallel_writers_leave_a_whole_svg(tmp_path):
    command = [*_command(), "inspect", "--static", "--diagram", "--svg", "race.svg"]
    for _ in range(3):
        processes = [
            subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path, env={**os.environ, **ENV}
            )
            for _ in range(8)
        ]
        for process in processes:
            assert process.wait(timeout=120) == 0, process.stderr.read()
            process.stderr.close()
        root = ET.parse(tmp_path / "race.svg").getroot()  # one whole document: parses, one </svg>
        assert root.tag.endswith("svg") and (tmp_path / "race.svg").read_text().count("</svg>") == 1
        assert os.listdir(tmp_path) == ["race.svg"]


# ---- 12. window's memory estimate ---------------------------------------------------------------
_PEAK = """
import os, subprocess, sys
process = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, status, usage = os.wait4(process.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def _peak_mib(argv: list[str]) -> float:
    """The command's own peak RSS. Linux keeps a child's peak RSS from the fork across execve, so
    a child of this (large) test process would report at least this process's size: a small
    Python in between forks the command from its own small memory."""
    proc = subprocess.run(
        [sys.executable, "-c", _PEAK, *_command(), *argv],
        capture_output=True,
        text=True,
        env={**os.environ, **ENV},
        timeout=300,
    )
    code, maxrss = proc.stdout.split()
    assert int(code) == 0, (argv, proc.stderr)
    return int(maxrss) / 1024


def test_the_window_memory_estimate_is_within_one_and_a_half_times_the_measured_peak():
    from rnnshape.rules.window import make_window_spec

    base = _peak_mib(["window", "--static", "--json"])
    for length, look_back, show in ((100_000, 99_900, 5), (1_000_000, 20, 5), (20_000, 19_000, 40)):
        spec = make_window_spec(length=length, look_back=look_back, features=1, horizon=1, stride=1, show=show)
        estimate = spec.estimated_bytes(show, static=True) / 2**20
        measured = (
            _peak_mib(
                [
                    "window",
                    "--static",
                    "--json",
                    "--length",
                    str(length),
                    "--look-back",
                    str(look_back),
                    "--show",
                    str(show),
                    "--max-memory",
                    "100000",
                ]
            )
            - base
        )
        assert 1 / 1.5 <= estimate / measured <= 1.5, (length, look_back, show, estimate, measured)


# ---- 13. TensorFlow's log settings ---------------------------------------------------------------
def test_verbose_tensorflow_log_settings_do_not_reach_stderr():
    verbose = {"TF_CPP_MIN_LOG_LEVEL": "0", "TF_CPP_MAX_VLOG_LEVEL": "3"}
    for argv in (["inspect"], ["trace"], ["stateful"], ["generate"], ["window"]):
        proc = run_process(argv, env=verbose)
        assert proc.returncode == 0 and proc.stderr == "", (argv, proc.stderr[:1000])


# ---- 14. long values in error lines --------------------------------------------------------------------
def test_very_long_values_are_cut_in_error_lines():
    units = "9" * 400
    for argv in (["inspect", "--units", units], ["inspect", "--layer", "x" * 400], ["stack", "lstm:" + units]):
        proc = run_process(argv, timeout=30)
        assert proc.returncode == 2, proc.stderr
        line = one_line(proc.stderr)
        assert len(line) < 300 and "9" * 60 not in line and "x" * 60 not in line, line
        assert "(400 characters)" in line or "..." in line, line


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
