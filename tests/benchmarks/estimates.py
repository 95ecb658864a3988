"""The size guard's estimates against what is measured: time and memory, per command, per size.

Run from the repository root:  python tests/benchmarks/estimates.py  [--only inspect] [--quick]
Each size runs in its own child process (as a command would): TensorFlow is imported first (not
counted), then the command's API function runs once; measured are its wall time and the growth
of the process' peak resident memory over the memory after the import. The estimate is what
the guard checks before anything runs (rules/layer.py estimated_seconds in the mode the run
takes, estimated_bytes). Prints estimate/measured per size and exits 1 when one is off by more
than 2x. Not part of the test suite on purpose: timing belongs here, not in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
from rnnshape.runner import session as session_runner
session_runner.load_keras()
command, options = sys.argv[1], json.loads(sys.argv[2])
import rnnshape
from rnnshape.api._common import make_layer_spec
from rnnshape.rules.cost import group_bytes, group_mode
from rnnshape.rules.limits import run_passes
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
start = time.perf_counter()
result = getattr(rnnshape, command)(**options)
wall = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
# the guard's estimate (pure arithmetic on the specs, as the API computed it before running)
if command == "compare":
    items = [(spec, run_passes(spec)) for spec in result.specs]
elif command == "inspect":
    items = [(result.spec, run_passes(result.spec))]
elif command == "stateful":
    from rnnshape.api.stateful import STATEFUL_PASSES
    items = [(result.spec, STATEFUL_PASSES)]
elif command == "trace":
    from rnnshape.api.trace import TRACE_PASSES
    items = [(make_layer_spec(**options), TRACE_PASSES)]
if command == "generate":  # eager whatever the size: one call per generated step (rules/generate.py)
    from rnnshape.rules import generate as rules
    items = [(result.spec, 1)]
    mode = "eager"
    seconds = rules.estimated_seconds(result.spec, result.data["steps"])
else:
    mode, reason, seconds = group_mode(items)
extra_bytes = 0
if command == "trace":  # and trace's numpy recomputation of every step (rules/trace.py)
    from rnnshape.rules.trace import recompute_cost
    extra_bytes, extra_seconds = recompute_cost(items[0][0])
    seconds += extra_seconds
assert result.data["run"]["mode"] == mode, (result.data["run"], mode)
print("RESULT " + json.dumps({"mode": mode, "seconds": seconds, "bytes": group_bytes([s for s, _ in items]) + extra_bytes,
                              "wall": wall, "grown": max(peak - before, 1)}))
"""

LSTM = "lstm"
SIZES = {
    "inspect": [
        dict(layer=LSTM, units=4, timesteps=3, batch=1, features=2),
        dict(layer="gru", units=1, timesteps=200_000, batch=1, features=2),
        dict(layer=LSTM, units=4, timesteps=100_000),
        dict(layer=LSTM, units=1024, timesteps=200, batch=1, features=8),
        dict(layer=LSTM, units=64, timesteps=5000, batch=32, features=8, return_sequences=True, return_state=True),
        dict(layer=LSTM, units=256, timesteps=500, batch=32, features=8, return_sequences=True, return_state=True),
        dict(layer="simplernn", units=16, timesteps=20_000, batch=64, features=4),
        dict(layer="gru", units=128, timesteps=1000, batch=64, features=8, bidirectional=True),
        dict(layer=LSTM, units=8, timesteps=30, batch=256, features=3, return_sequences=True),
        dict(layer="simplernn", units=1024, timesteps=50, batch=8, features=8),
    ],
    "compare": [
        dict(layers=[LSTM, "gru", "simplernn"], vary=["return_sequences"], units=4, timesteps=3),
        dict(layers=[LSTM, "gru", "simplernn"], vary=["return_state"], units=4, timesteps=5000),
        dict(layers=[LSTM], vary=["return_sequences", "return_state"], units=64, timesteps=2000, batch=32),
        dict(layers=["gru"], vary=["go_backwards"], units=1, timesteps=50_000),
        dict(layers=[LSTM, "gru"], vary=["bidirectional"], units=128, timesteps=500, batch=16),
        dict(layers=["simplernn"], vary=["return_sequences"], units=1024, timesteps=100, batch=4),
        dict(layers=[LSTM], vary=["return_state"], units=16, timesteps=1000, batch=256),
        dict(layers=[LSTM, "gru", "simplernn"], vary=["stateful"], units=8, timesteps=300, batch=2),
    ],
    "stateful": [
        dict(layer=LSTM, units=4, timesteps=4),
        dict(layer=LSTM, units=4, timesteps=20_000),
        dict(layer="gru", units=256, timesteps=400, batch=32, features=8),
        dict(layer="simplernn", units=1, timesteps=100_000),
        dict(layer=LSTM, units=64, timesteps=2000, batch=64, features=8, return_sequences=True),
        dict(layer="gru", units=1024, timesteps=60, batch=4, features=8),
        dict(layer=LSTM, units=32, timesteps=800, batch=256, features=4, bidirectional=True),
        dict(layer=LSTM, units=8, timesteps=40, batch=8),
    ],
    "generate": [
        dict(layer=LSTM, timesteps=3, steps=5),
        dict(layer=LSTM, timesteps=50, steps=200),
        dict(layer="gru", units=64, head=True, timesteps=500, steps=50, batch=16, features=8),
        dict(layer="simplernn", timesteps=20_000, steps=20, features=4),
        dict(layer=LSTM, units=256, head=True, timesteps=100, steps=100, batch=32, features=8),
    ],
    "trace": [
        dict(layer=LSTM, units=4, timesteps=3),
        dict(layer="gru", units=4, timesteps=50_000),
        dict(layer=LSTM, units=256, timesteps=500, batch=32, features=8),
        dict(layer="simplernn", units=1024, timesteps=100, batch=2, features=8),
        dict(layer=LSTM, units=64, timesteps=4000, batch=16, features=8, bidirectional=True),
        dict(layer="gru", units=1, timesteps=200_000),
        dict(layer=LSTM, units=16, timesteps=1000, batch=256, features=4),
        dict(layer="simplernn", units=8, timesteps=30, batch=64),
    ],
}


def measure(command: str, options: dict) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, command, json.dumps(options)],
        capture_output=True,
        text=True,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
        timeout=600,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"{command} {options} failed:\n{proc.stderr[-2000:]}")
    return json.loads(lines[-1].removeprefix("RESULT "))


def describe(options: dict) -> str:
    return " ".join(f"{k}={','.join(v) if isinstance(v, list) else v}" for k, v in options.items())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(SIZES), action="append", help="only this command (repeatable)")
    parser.add_argument("--quick", action="store_true", help="the first 3 sizes of each command")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    header = f"{'command':9} {'mode':9} {'time est/measured':>26} {'ratio':>6}  {'memory est/measured':>24} {'ratio':>6}  size"
    print(header)
    print("-" * len(header))
    off = total = 0
    for command, sizes in SIZES.items():
        if args.only and command not in args.only:
            continue
        for options in sizes[:3] if args.quick else sizes:
            r = measure(command, dict(options))
            t_ratio, m_ratio = r["seconds"] / r["wall"], r["bytes"] / r["grown"]
            bad = not (0.5 <= t_ratio <= 2.0 and 0.5 <= m_ratio <= 2.0)
            off += bad
            total += 1
            print(
                f"{command:9} {r['mode']:9} {r['seconds']:>10.2f}s /{r['wall']:>9.2f}s {t_ratio:>6.2f}  "
                f"{r['bytes'] / 2**20:>9.1f}M /{r['grown'] / 2**20:>9.1f}M {m_ratio:>6.2f}  {describe(options)}"
                f"{'  OFF BY MORE THAN 2x' if bad else ''}",
                flush=True,
            )
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"{total - off} of {total} estimates within 2x of measured (time and memory)")
    return 1 if off else 0


if __name__ == "__main__":
    sys.exit(main())
