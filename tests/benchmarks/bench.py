"""Benchmarks: every command held to its budget, as ratios measured side by side in one run.

Run from the repository root:  python tests/benchmarks/bench.py  [--runs 5] [--quick]
Each figure is the median of N alternating runs (command, baseline, command, baseline, ...);
wall time and peak resident memory (ru_maxrss of that child) are measured per child process.
Prints a table and exits 1 when a budget is missed. Not part of the test suite on purpose:
timing belongs here, not in tests.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE_KERAS = """\
import numpy as np
import keras
layer = keras.layers.LSTM({units}, {flags})
x = np.random.default_rng(0).uniform(-1, 1, {shape}).astype("float32")
outputs = layer(x)
print([tuple(o.shape) for o in outputs])
"""
# The answer's training loop, bare: what `rnnshape stateful --fit 3` runs (its defaults: 2 series of 200
# steps, 2 features, chunks of 20, LSTM(4) and a Dense head), without the measurements.
BARE_FIT = """\
import numpy as np
import keras
x = np.random.default_rng(0).uniform(-1, 1, (2, 200, 2)).astype("float32")
X = np.stack([x[i, k * 20:(k + 1) * 20] for k in range(10) for i in range(2)])
inputs = keras.Input(batch_shape=(2, 20, 2))
layer = keras.layers.LSTM(4, stateful=True)
model = keras.Model(inputs, keras.layers.Dense(2)(layer(inputs)))
model.compile(optimizer="sgd", loss="mse")
for epoch in range(3):
    layer.reset_state()
    model.fit(X, X.mean(axis=1), epochs=1, batch_size=2, shuffle=False, verbose=0)
"""
FIT_SECONDS = 10.0  # the brief: --fit at its defaults under 10 s on the 2-core machine
FLOOR = [sys.executable, "-c", "import click, rich.console, rich.table"]

# model --x on a long sequence (issue 26: at or below a bare model.predict): the model, its data,
# and the bare script that loads the file and predicts, made in the work folder
MAKE_LONG_MODEL = """\
import os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import keras
keras.utils.set_random_seed(0)
inputs = keras.Input((3200, 1))
hidden = keras.layers.LSTM(32, return_sequences=True)(inputs)
outputs = keras.layers.Dense(1)(keras.layers.LSTM(16)(hidden))
keras.Model(inputs, outputs).save("long.keras")
np.save("long_x.npy", np.random.default_rng(0).standard_normal((8, 3200, 1)).astype("float32"))
"""
BARE_PREDICT = """\
import os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import keras
model = keras.saving.load_model("long.keras")
print(model.predict(np.load("long_x.npy"), verbose=0).shape)
"""
# The answer's generation loop once, as a user writes it (rnnshape generate runs it and its references).
BARE_GENERATE = """\
import numpy as np
import keras
inputs = keras.Input(batch_shape=(1, None, 2))
layer = keras.layers.LSTM(2, stateful=True, return_sequences=True)
model = keras.Model(inputs, layer(inputs))
layer.reset_state()
step = model(np.random.default_rng(0).uniform(-1, 1, (1, 3, 2)).astype("float32"))[:, -1:]
for _ in range({steps}):
    step = model(step)
layer.reset_state()
print(np.asarray(step).shape)
"""


def rnnshape_cmd(*args: str) -> list[str]:
    exe = shutil.which("rnnshape")
    return ([exe] if exe else [sys.executable, "-m", "rnnshape"]) + list(args)


def measure(cmd: list[str], cwd: str, expect_ok: bool = False) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process (``expect_ok``: it must exit 0)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in ((0,) if expect_ok else (0, 1, 2)):
        raise SystemExit(f"benchmark command failed with exit {code}: {' '.join(cmd)}")
    return wall, usage.ru_maxrss / 1024.0


def bare_script(workdir: str, units: int, shape: tuple[int, int, int], flags: str) -> list[str]:
    """A bare eager Keras script that builds and calls that layer once (what a user would write)."""
    path = Path(workdir) / f"bare_lstm_{units}_{'x'.join(map(str, shape))}.py"
    path.write_text(BARE_KERAS.format(units=units, shape=shape, flags=flags))
    return [sys.executable, str(path)]


def paired(cmd: list[str], base: list[str], runs: int, cwd: str) -> dict[str, float]:
    walls, mems, base_walls, base_mems = [], [], [], []
    measure(cmd, cwd), measure(base, cwd)  # warm the file cache for both
    for _ in range(runs):
        w, m = measure(cmd, cwd)
        bw, bm = measure(base, cwd)
        walls.append(w), mems.append(m), base_walls.append(bw), base_mems.append(bm)
    return {
        "wall": statistics.median(walls),
        "base_wall": statistics.median(base_walls),
        "mem": statistics.median(mems),
        "base_mem": statistics.median(base_mems),
    }


def write_check_file(path: Path, cases: int) -> None:
    layers, lines = ["lstm", "gru", "simplernn"], []
    for i in range(cases):
        layer = layers[i % 3]
        seq, state = bool(i & 1), bool(i & 2)
        units = 2 + i % 5
        lines += [
            "[[case]]",
            f'name = "case {i}"',
            f'layer = "{layer}"',
            f"units = {units}",
            f"return_sequences = {str(seq).lower()}",
            f"return_state = {str(state).lower()}",
            "[case.expect]",
            f"output = [1, 3, {units}]" if seq else f"output = [1, {units}]",
        ]
        if state:
            lines.append(f"state_h = [1, {units}]")
            if layer == "lstm":
                lines.append(f"state_c = [1, {units}]")
        lines.append("")
    path.write_text("\n".join(lines))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="alternating runs per pair (median taken)")
    parser.add_argument("--quick", action="store_true", help="skip the large-layer scale run")
    parser.add_argument("--only", action="append", help="only the rows whose label contains this (repeatable)")
    parser.add_argument(
        "--large-runs", type=int, default=3, help="alternating runs for the large layers (at most --runs)"
    )
    return parser.parse_args()


class Bench:
    """The rows measured so far (what, against, metric, measured, baseline, ratio, budget) and the
    floors printed under the table, measured in ``workdir`` as ``args`` asks."""

    def __init__(self, args: argparse.Namespace, workdir: str) -> None:
        self.args = args
        self.workdir = workdir
        self.rows: list[tuple[str, str, str, float, float, float, float]] = []
        self.floors: list[tuple[str, float]] = []  # not a budget: printed under the table

    def wanted(self, what: str) -> bool:
        """Whether the row labelled ``what`` is measured (--only)."""
        return not self.args.only or any(text in what for text in self.args.only)

    def add(self, what, cmd, base, against, budgets, runs=None) -> None:
        """A budget as a ratio to a baseline run alternately with the command."""
        if not self.wanted(what):
            return
        result = paired(cmd, base, runs or self.args.runs, self.workdir)
        for metric, budget in budgets:
            ratio = result[metric] / result["base_" + metric]
            self.rows.append((what, against, metric, result[metric], result["base_" + metric], ratio, budget))

    def add_absolute(self, what, cmd, seconds, runs=None) -> None:
        """A budget in seconds on this machine (no baseline): the row prints the time and its ratio to it."""
        if not self.wanted(what):
            return
        measure(cmd, self.workdir)  # warm the file cache
        walls, mems = zip(*(measure(cmd, self.workdir, expect_ok=True) for _ in range(runs or self.args.runs)))
        wall = statistics.median(walls)
        self.rows.append((what, f"{seconds:g} s budget", "wall", wall, float(seconds), wall / seconds, 1.0))


def startup_rows(bench: Bench) -> None:
    """What answers without TensorFlow, against importing click and rich."""
    floor = "import click, rich"
    bench.add("rnnshape --help", rnnshape_cmd("--help"), FLOOR, floor, [("wall", 4.0)])
    bench.add("rnnshape --version", rnnshape_cmd("--version"), FLOOR, floor, [("wall", 4.0)])
    bench.add("usage error (inspect --units 0)", rnnshape_cmd("inspect", "--units", "0"), FLOOR, floor, [("wall", 4.0)])
    bench.add(
        "inspect --static",
        rnnshape_cmd("inspect", "--layer", "lstm", "--units", "6", "--return-state", "--static"),
        FLOOR,
        floor,
        [("wall", 5.0)],
    )


def inspect_rows(bench: Bench, base_keras: list[str]) -> None:
    """inspect against a bare Keras script that builds and calls the same layer, small and large."""
    args, workdir = bench.args, bench.workdir
    bench.add(
        "inspect lstm 6 --return-state",
        rnnshape_cmd("inspect", "--layer", "lstm", "--units", "6", "--return-state"),
        base_keras,
        "bare Keras script",
        [("wall", 1.05), ("mem", 1.05)],
    )
    big = ("--return-sequences", "--return-state")
    bench.add(
        "inspect lstm 64 (32, 5000, 8) seq+st",
        rnnshape_cmd(
            "inspect",
            "--layer",
            "lstm",
            "--units",
            "64",
            "--batch",
            "32",
            "--timesteps",
            "5000",
            "--features",
            "8",
            *big,
        ),
        bare_script(workdir, 64, (32, 5000, 8), "return_sequences=True, return_state=True"),
        "bare Keras, same",
        [("wall", 0.35)],
        runs=min(args.runs, args.large_runs),
    )
    bench.add(
        "inspect lstm 256 (32, 500, 8) seq+st",
        rnnshape_cmd(
            "inspect",
            "--layer",
            "lstm",
            "--units",
            "256",
            "--batch",
            "32",
            "--timesteps",
            "500",
            "--features",
            "8",
            *big,
        ),
        bare_script(workdir, 256, (32, 500, 8), "return_sequences=True, return_state=True"),
        "bare Keras, same",
        [("wall", 0.8)],
        runs=min(args.runs, args.large_runs),
    )


def command_rows(bench: Bench, commands: set[str], base_keras: list[str], check_file: Path) -> None:
    """compare, generate and check, each where this rnnshape has the command."""
    if "compare" in commands:
        bench.add(
            "compare 3 layers x 8 (24 rows)",
            rnnshape_cmd("compare", "--layer", "lstm", "--layer", "gru", "--layer", "simplernn", "--vary", "stateful"),
            base_keras,
            "bare Keras script",
            [("wall", 1.3)],
        )
    if "generate" in commands:
        bare_generate = Path(bench.workdir) / "bare_generate.py"
        bare_generate.write_text(BARE_GENERATE.format(steps=5))
        bench.add(
            "generate (default: 3 known, 5 steps)",
            rnnshape_cmd("generate"),
            [sys.executable, str(bare_generate)],
            "bare Keras loop",
            [("wall", 1.5), ("mem", 1.1)],
        )
    if "check" in commands:
        bench.add(
            "check, 20 cases", rnnshape_cmd("check", str(check_file)), base_keras, "bare Keras script", [("wall", 1.6)]
        )


def why_rows(bench: Bench) -> None:
    """why on a recognised error, each fix built with Keras (the default): the answer within 3 s;
    and the floor any answer built with Keras pays here."""
    args, workdir = bench.args, bench.workdir
    corpus = Path(__file__).resolve().parent.parent / "fixtures" / "why"
    bench.add_absolute(
        "why, Keras 3 message, fixes built",
        rnnshape_cmd(
            "why",
            "Input 0 with name 'None' of layer 'lstm' is incompatible with the layer: expected ndim=3, found "
            "ndim=2. Full shape received: (None, 10)",
        ),
        3.0,
    )
    if not args.only or any("why" in text for text in args.only):
        measure([sys.executable, "-c", "import keras"], workdir)
        bench.floors.append(
            (
                "python -c 'import keras' (any fix built with Keras pays it)",
                statistics.median(
                    measure([sys.executable, "-c", "import keras"], workdir)[0] for _ in range(args.runs)
                ),
            )
        )
    bench.add_absolute(
        "why --static (rules, no TensorFlow)",
        rnnshape_cmd(
            "why",
            "Input 0 with name 'None' of layer 'lstm' is incompatible with the layer: expected ndim=3, found "
            "ndim=2. Full shape received: (None, 10)",
            "--static",
        ),
        3.0,
    )
    bench.add_absolute(
        "why --file, Incompatible shapes",
        rnnshape_cmd("why", "--file", str(corpus / "22_keras2_incompatible_fit_default_batch.txt")),
        3.0,
    )
    bench.add_absolute(
        "why --file, Keras 2 state_spec",
        rnnshape_cmd("why", "--file", str(corpus / "29_keras2_state_spec_sequence.txt")),
        3.0,
    )
    bench.add_absolute(
        "why, ConvLSTM2D (inspect fixes)",
        rnnshape_cmd(
            "why",
            "Input 0 with name 'None' of layer 'conv_lstm2d' is incompatible with the layer: expected ndim=5, "
            "found ndim=4. Full shape received: (None, 10, 32, 32)",
        ),
        3.0,
    )


def model_rows(bench: Bench, commands: set[str]) -> None:
    """model --x on a long sequence against a bare model.predict (the model made first, only if measured)."""
    if "model" not in commands or not bench.wanted("model --x, 3,200 steps"):
        return
    workdir = bench.workdir
    subprocess.run([sys.executable, "-c", MAKE_LONG_MODEL], cwd=workdir, check=True, capture_output=True)
    (Path(workdir) / "bare_predict.py").write_text(BARE_PREDICT)
    bench.add(
        "model --x, 3,200 steps",
        rnnshape_cmd("model", "long.keras", "--x", "long_x.npy"),
        [sys.executable, "bare_predict.py"],
        "bare model.predict",
        [("wall", 1.0)],
    )


def stateful_rows(bench: Bench, commands: set[str]) -> None:
    """stateful --fit 3 against the bare fit loop, then its own wall time against FIT_SECONDS (printed)."""
    if "stateful" not in commands or not bench.wanted("stateful --fit 3 (defaults)"):
        return
    fit_script = Path(bench.workdir) / "bare_fit.py"
    fit_script.write_text(BARE_FIT)
    bench.add(
        "stateful --fit 3 (defaults)",
        rnnshape_cmd("stateful", "--fit", "3"),
        [sys.executable, str(fit_script)],
        "bare Keras fit loop",
        [("wall", 2.5)],
    )
    wall, _mem = measure(rnnshape_cmd("stateful", "--fit", "3"), bench.workdir, expect_ok=True)
    print(
        f"stateful --fit 3 (defaults): {wall:.1f} s wall, target under {FIT_SECONDS:.0f} s: "
        f"{'yes' if wall < FIT_SECONDS else 'MISSED'}"
    )


def scale_runs(args: argparse.Namespace, workdir: str) -> list[tuple[str, float, float]]:
    """The large-layer scale runs (label, wall, peak MiB); none under --quick or --only."""
    scale = []
    if not args.quick and not args.only:  # refused by a guard would be a failure (expect_ok)
        for label, cmd in (
            (
                "inspect lstm units 1024, timesteps 1000, batch 32, features 8",
                rnnshape_cmd(
                    "inspect",
                    "--layer",
                    "lstm",
                    "--units",
                    "1024",
                    "--timesteps",
                    "1000",
                    "--batch",
                    "32",
                    "--features",
                    "8",
                    "--return-sequences",
                    "--return-state",
                ),
            ),
            (
                "inspect --timesteps 100000 (default limits 60 s, 4,096 MiB)",
                rnnshape_cmd("inspect", "--timesteps", "100000"),
            ),
        ):
            wall, mem = measure(cmd, workdir, expect_ok=True)
            scale.append((label, wall, mem))
    return scale


def print_row(what: str, against: str, metric: str, value: float, base: float, ratio: float, budget: float) -> bool:
    """One line of the table; whether the row is within its budget."""
    unit = "s" if metric == "wall" else "MiB"
    fmt = (lambda v, unit=unit: f"{v:.3f}{unit}") if metric == "wall" else (lambda v, unit=unit: f"{v:.0f}{unit}")
    ok = ratio <= budget
    print(
        f"{what:36} {against:18} {metric:6} {fmt(value):>10} {fmt(base):>10} {ratio:>6.2f}x {budget:>6.2f}x  "
        f"{'yes' if ok else 'MISSED'}"
    )
    return ok


def report(
    args: argparse.Namespace, bench: Bench, scale: list[tuple[str, float, float]], load_before: tuple[float, ...]
) -> int:
    """The machine line, the table, the floors and scale runs, the summary; the number of rows missed."""
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; medians of {args.runs} alternating runs "
        f"({min(args.runs, args.large_runs)} for the large layers); load average at the start "
        f"{' '.join(f'{v:.2f}' for v in load_before)}, at the end {' '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    header = f"{'what':36} {'against':18} {'metric':6} {'measured':>10} {'baseline':>10} {'ratio':>7} {'budget':>7}  ok"
    print(header)
    print("-" * len(header))
    missed = sum(not print_row(*row) for row in bench.rows)
    for label, wall in bench.floors:
        print(f"floor: {label}: {wall:.3f}s wall (median of {args.runs})")
    for label, wall, mem in scale:
        print(f"scale: {label}: {wall:.1f}s wall, {mem:.0f} MiB peak")
    print(f"{len(bench.rows) - missed} within budget, {missed} missed")
    return missed


def main() -> int:
    args = parse_args()
    load_before = os.getloadavg()
    workdir = tempfile.mkdtemp(prefix="rnnshape-bench-")
    base_keras = bare_script(workdir, 6, (1, 3, 2), "return_state=True")
    check_file = Path(workdir) / "twenty.toml"
    write_check_file(check_file, 20)
    commands = set(subprocess.run(rnnshape_cmd("--help"), capture_output=True, text=True).stdout.split())

    bench = Bench(args, workdir)
    startup_rows(bench)
    inspect_rows(bench, base_keras)
    command_rows(bench, commands, base_keras, check_file)
    why_rows(bench)
    model_rows(bench, commands)
    stateful_rows(bench, commands)
    scale = scale_runs(args, workdir)
    return 1 if report(args, bench, scale, load_before) else 0


if __name__ == "__main__":
    sys.exit(main())
