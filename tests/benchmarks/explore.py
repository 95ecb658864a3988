"""Benchmark of rnnshape explore: the first screen and the latency of a toggle.

Run from the repository root:  python tests/benchmarks/explore.py  [--toggles 20]
- first screen: wall seconds from starting `rnnshape explore` in a real pseudo-terminal
  (80x24, pexpect) until the screen (read with pyte) shows the Keras call of the static answer;
  then until the measured answer replaced it (TensorFlow imported once, in the worker).
- toggle latency: the app driven by textual's pilot (headless, 80x24), s (return_sequences)
  pressed N times at the default sizes, Keras warm; the median of the app's own clock (key
  handled -> screen refreshed with the measured panes; target about 150 ms) and of the wall
  time around pilot.press (which adds textual's key simulation and idle waits).
Not part of the test suite on purpose: timing belongs here, not in tests.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def first_screen() -> tuple[float, float]:
    import pexpect
    import pyte

    exe = shutil.which("rnnshape")
    command, args = (exe, []) if exe else (sys.executable, ["-m", "rnnshape"])
    env = dict(os.environ, TERM="xterm-256color", PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    screen = pyte.Screen(80, 24)
    stream = pyte.ByteStream(screen)
    start = time.perf_counter()
    child = pexpect.spawn(command, args + ["explore"], env=env, dimensions=(24, 80), timeout=60)

    def until(text: str) -> float:
        while True:
            try:
                stream.feed(child.read_nonblocking(65536, timeout=0.01))
            except pexpect.TIMEOUT:
                pass
            if any(text in line for line in screen.display):
                return time.perf_counter() - start
            if time.perf_counter() - start > 60:
                raise SystemExit("the screen never showed " + text)

    shown = until("keras.layers.LSTM(4)")
    measured = until("measured in this run")
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    if child.exitstatus != 0:
        raise SystemExit(f"rnnshape explore exited {child.exitstatus}")
    return shown, measured


def toggles(count: int) -> tuple[list[float], list[float]]:
    sys.path.insert(0, str(ROOT))
    from rnnshape.api.explore import explore
    from rnnshape.tui.explore import ExploreApp

    async def scenario() -> tuple[list[float], list[float]]:
        app = ExploreApp(explore())
        seconds = []
        async with app.run_test(size=(80, 24)) as pilot:
            while app.shown is None or app.shown.data["static"] or not app.latencies:
                await pilot.pause(0.01)
            first = len(app.latencies)
            for _ in range(count):
                done = len(app.latencies)
                start = time.perf_counter()
                await pilot.press("s")
                while len(app.latencies) == done or app.pending:
                    await pilot.pause(0.001)
                seconds.append(time.perf_counter() - start)
            await pilot.press("q")
        return app.latencies[first:], seconds

    return asyncio.run(scenario())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--toggles", type=int, default=20)
    options = parser.parse_args()
    shown, measured = first_screen()
    print(f"first screen (static answer), real terminal 80x24: {shown * 1000:.0f} ms")
    print(f"measured answer on the screen (Keras imported):    {measured * 1000:.0f} ms")
    inside, pressed = toggles(options.toggles)
    for name, seconds in (
        ("key handled -> measured panes refreshed (the app's own clock)", inside),
        ("pilot.press -> measured panes (with textual's key simulation)", pressed),
    ):
        print(
            f"toggle latency, {name}, median of {len(seconds)}: {statistics.median(seconds) * 1000:.0f} ms "
            f"(min {min(seconds) * 1000:.0f}, max {max(seconds) * 1000:.0f})"
        )


if __name__ == "__main__":
    main()
