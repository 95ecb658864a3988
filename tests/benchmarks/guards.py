"""How good are the size guard's estimates? Estimate / measured, side by side, per size.

Run from the repository root:  python tests/benchmarks/guards.py  [--only check|window] [--quick]

- check (the time guard): a contract of N trivial cases; the estimate is what `check` compares
  with --max-seconds (rules.limits.check_seconds), the measurement is the wall time of
  `rnnshape check FILE` minus that of a bare Keras script (the TensorFlow import and one small
  layer, which no estimate counts).
- window (the memory guard): the estimate is what `window` compares with --max-memory
  (WindowSpec.estimated_bytes), the measurement the child's peak resident memory (ru_maxrss)
  minus that of the same command on a 10-step series (the interpreter, TensorFlow, Keras).

Prints one table per command with the ratio estimate / measured; the goal is a ratio between
0.5 and 2 for time and 0.67 and 1.5 for memory (exit 1 otherwise). Not part of the test suite:
timing belongs here, not in tests. About two minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import BARE_KERAS, write_check_file  # noqa: E402

CHECK_SIZES = [1, 25, 50, 100, 200, 400]
WINDOW_SIZES = [  # (length, look_back, features, show, --static?)
    (1_000_000, 10, 1, 5, False),
    (100_000, 99_900, 1, 5, False),
    (100_000, 50, 10, 5, False),
    (50_000, 49_000, 1, 30, False),
    (1_000_000, 20, 1, 5, True),
    (100_000, 99_900, 1, 5, True),
    (30_000, 29_000, 1, 60, True),
]
QUICK = {"check": CHECK_SIZES[:4], "window": WINDOW_SIZES[:2] + WINDOW_SIZES[4:6]}


def rnnshape_cmd(*args: str) -> list[str]:
    exe = shutil.which("rnnshape")
    return ([exe] if exe else [sys.executable, "-m", "rnnshape"]) + list(args)


def run(cmd: list[str], cwd: str) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MiB) and exit code of one child process."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024.0, os.waitstatus_to_exitcode(status)


def check_rows(sizes: list[int], workdir: str) -> list[tuple[str, float, float]]:
    from rnnshape import files
    from rnnshape.api._common import make_layer_spec
    from rnnshape.rules import contract
    from rnnshape.rules.limits import check_seconds

    # Medians of 3 where the TensorFlow import (~5 s, noisy on a shared machine) dominates.
    base = statistics.median(run([sys.executable, str(Path(workdir) / "bare_keras.py")], workdir)[0] for _ in range(3))
    rows = []
    for n in sizes:
        path = Path(workdir) / f"cases{n}.toml"
        write_check_file(path, n)
        cases = contract.parse(files.read_toml(str(path)), str(path), make=make_layer_spec)
        estimate = check_seconds([case.spec for case in cases])
        walls = []
        for _ in range(3 if n <= 50 else 1):
            wall, _, code = run(rnnshape_cmd("check", str(path), "--max-seconds", "100000"), workdir)
            if code != 0:
                raise SystemExit(f"check of {n} cases exited {code}")
            walls.append(wall)
        rows.append((f"check, {n} cases", estimate, max(statistics.median(walls) - base, 1e-3)))
    return rows


def window_rows(sizes: list[tuple[int, int, int, int, bool]], workdir: str) -> list[tuple[str, float, float]]:
    from rnnshape.rules.window import make_window_spec

    baselines = {}
    for static in (False, True):
        args = ["window", "--length", "10", "--look-back", "3", "--json"] + (["--static"] if static else [])
        baselines[static] = run(rnnshape_cmd(*args), workdir)[1]
    rows = []
    for length, look_back, features, show, static in sizes:
        spec = make_window_spec(length=length, look_back=look_back, features=features, horizon=1, stride=1, show=show)
        estimate = spec.estimated_bytes(show=show, static=static) / 2**20
        args = [
            "window",
            "--length",
            str(length),
            "--look-back",
            str(look_back),
            "--features",
            str(features),
            "--show",
            str(show),
            "--json",
            "--max-memory",
            "100000",
        ] + (["--static"] if static else [])
        _, peak, code = run(rnnshape_cmd(*args), workdir)
        if code != 0:
            raise SystemExit(f"{' '.join(args)} exited {code}")
        what = f"window {length:,}/{look_back:,}/{features} show {show}{' static' if static else ''}"
        rows.append((what, estimate, max(peak - baselines[static], 1.0)))
    return rows


def table(title: str, unit: str, rows: list[tuple[str, float, float]], low: float, high: float) -> int:
    print(f"\n{title}")
    header = f"{'what':44} {'estimate':>11} {'measured':>11} {'est/meas':>9}  ok"
    print(header)
    print("-" * len(header))
    missed = 0
    for what, estimate, measured in rows:
        ratio = estimate / measured
        ok = low <= ratio <= high
        missed += not ok
        print(
            f"{what:44} {estimate:>9.1f}{unit:>2} {measured:>9.1f}{unit:>2} {ratio:>8.2f}x  {'yes' if ok else 'MISSED'}"
        )
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["check", "window"], default=None)
    parser.add_argument("--quick", action="store_true", help="fewer, smaller sizes")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="rnnshape-guards-")
    (Path(workdir) / "bare_keras.py").write_text(BARE_KERAS)
    missed = 0
    if args.only in (None, "check"):
        rows = check_rows(QUICK["check"] if args.quick else CHECK_SIZES, workdir)
        missed += table("check: the time guard (seconds; measured = wall - a bare Keras script)", "s", rows, 0.5, 2.0)
    if args.only in (None, "window"):
        rows = window_rows(QUICK["window"] if args.quick else WINDOW_SIZES, workdir)
        missed += table(
            "window --json: the memory guard (MiB; measured = peak RSS - that of a 10-step series)",
            "M",
            rows,
            1 / 1.5,
            1.5,
        )
    print(f"\n{missed} outside the goal" if missed else "\nevery estimate within its goal")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
