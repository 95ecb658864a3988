"""Compiled runs (tf.function around every layer call) give the numbers of eager runs: random
configurations of every layer and option run both ways through the runner, every array compared;
the mode a command chose is in its JSON and header line; long work shows progress on a
terminal's stderr only."""

from __future__ import annotations

import json
import os
import pty
import random
import select
import subprocess
import sys

import numpy as np
import pytest
from conftest import run_process

from rnnshape.api._common import make_layer_spec
from rnnshape.rules.limits import run_passes
from rnnshape.runner import layer as layer_runner
from rnnshape.runner import session as session_runner
from rnnshape.runner import stateful as stateful_runner

# every test here runs Keras: the slow tier (the fast tier is pytest -m "not slow")
pytestmark = pytest.mark.slow

TOLERANCE = 1e-6
MEASURED: list[float] = []  # the largest difference of each configuration, for the report


def _arrays(value, prefix=""):
    """Every numpy array inside a runner result (dataclasses, dicts, lists), by path."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "fc":
            yield prefix, value
        return
    if hasattr(value, "__dataclass_fields__"):
        for name in value.__dataclass_fields__:
            if name not in ("spec",):
                yield from _arrays(getattr(value, name), f"{prefix}.{name}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _arrays(item, f"{prefix}[{key}]")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _arrays(item, f"{prefix}[{index}]")


def _max_difference(eager, compiled) -> float:
    left, right = dict(_arrays(eager)), dict(_arrays(compiled))
    assert left.keys() == right.keys()
    assert left, "no arrays compared"
    worst = 0.0
    for key in left:
        assert left[key].shape == right[key].shape, key
        if left[key].size:
            worst = max(worst, float(np.max(np.abs(left[key].astype(np.float64) - right[key].astype(np.float64)))))
    return worst


def _random_options(rng: random.Random) -> dict:
    layer = rng.choice(["lstm", "gru", "simplernn"])
    batch, timesteps = rng.randint(1, 4), rng.randint(3, 9)
    options = dict(
        layer=layer,
        units=rng.randint(1, 5),
        timesteps=timesteps,
        features=rng.randint(1, 4),
        batch=batch,
        return_sequences=rng.random() < 0.5,
        return_state=rng.random() < 0.6,
        go_backwards=rng.random() < 0.3,
        seed=rng.randint(0, 99),
    )
    kind = rng.choice(["plain", "bidirectional", "masked", "stateful", "initial_state", "dropout"])
    if kind == "bidirectional":
        options.update(bidirectional=True, merge_mode=rng.choice(["concat", "sum", "mul", "ave", "none"]))
    elif kind == "masked":
        options.update(
            lengths=",".join(str(rng.randint(1, timesteps)) for _ in range(batch)), bidirectional=rng.random() < 0.3
        )
    elif kind == "stateful":
        options.update(stateful=True, return_state=False if rng.random() < 0.5 else options["return_state"])
        if options["return_state"]:
            options["bidirectional"] = False
    elif kind == "initial_state":
        options.update(initial_state=rng.choice(["random", "zeros"]))
    else:  # dropout at inference: the masks are not applied
        options.update(dropout=0.25, recurrent_dropout=0.25)
    if options.get("bidirectional"):
        options["go_backwards"] = False  # Keras refuses a Bidirectional of a go_backwards layer (eager too)
    return options


CASES = [_random_options(random.Random(seed)) for seed in range(18)]
CASES += [
    dict(layer="gru", units=3, timesteps=5, features=2, reset_after=False, return_sequences=True),
    dict(layer="convlstm1d", filters=2, kernel_size=2, rows=5, channels=2, timesteps=4, return_state=True),
    dict(layer="rnn", cells="lstm:3,gru:2", timesteps=5, return_sequences=True, return_state=True),
]


@pytest.mark.parametrize("options", CASES, ids=[f"{o['layer']}-{i}" for i, o in enumerate(CASES)])
def test_compiled_run_equals_eager_run(options):
    spec = make_layer_spec(**options)
    runs = {}
    for mode in ("eager", "compiled"):
        with session_runner.mode(mode):
            runs[mode] = layer_runner.run(spec)
    worst = _max_difference(runs["eager"], runs["compiled"])
    MEASURED.append(worst)
    print(f"max |eager - compiled| = {worst:.3g} for {spec.keras_call()}")
    assert worst <= TOLERANCE, (options, worst)


@pytest.mark.parametrize("layer,bidirectional", [("lstm", False), ("gru", True), ("simplernn", False)])
def test_compiled_stateful_chain_updates_the_state_variables_as_eagerly(layer, bidirectional):
    """The state variables assigned inside the compiled call are really updated: every chunk's
    states before and after, the reset, the shuffled batch and the model fed chunk by chunk."""
    spec = make_layer_spec(
        layer=layer,
        units=3,
        timesteps=8,
        features=2,
        batch=2,
        stateful=True,
        bidirectional=bidirectional,
        return_sequences=True,
    )
    bounds = [(0, 3), (3, 6), (6, 8)]
    runs = {}
    for mode in ("eager", "compiled"):
        with session_runner.mode(mode):
            runs[mode] = stateful_runner.run_stateful(
                spec, bounds, shuffle_rows=np.array([1, 0]), model_batch_shape=(2, None, 2)
            )
    compiled = runs["compiled"]
    assert not np.allclose(compiled.chunks[1].initial[0], 0.0)  # chunk 2 started where chunk 1 ended
    np.testing.assert_array_equal(compiled.chunks[1].initial[0], compiled.chunks[0].final[0])
    worst = _max_difference(runs["eager"], compiled)
    MEASURED.append(worst)
    assert worst <= TOLERANCE


def test_dropout_in_training_stays_eager_and_says_why():
    spec = make_layer_spec(layer="lstm", units=3, timesteps=400, dropout=0.5, training=True)
    mode, reason = spec.run_mode(run_passes(spec))
    assert mode == "eager" and "dropout" in reason
    long = make_layer_spec(layer="lstm", units=3, timesteps=400)
    assert long.run_mode(run_passes(long))[0] == "compiled"
    short = make_layer_spec(layer="lstm", units=3, timesteps=3)
    assert short.run_mode(run_passes(short))[0] == "eager"


def test_the_probe_twin_is_not_rerun_when_it_is_the_call(monkeypatch):
    """return_sequences and return_state, not stateful: one call answers (counted)."""
    calls = []
    real = session_runner.call_layer

    def counting(layer, x, **kwargs):
        calls.append(layer)
        return real(layer, x, **kwargs)

    monkeypatch.setattr(layer_runner, "call_layer", counting)  # looked up in runner.layer
    layer_runner.run(make_layer_spec(layer="lstm", units=3, timesteps=5, return_sequences=True, return_state=True))
    assert len(calls) == 1
    calls.clear()
    layer_runner.run(make_layer_spec(layer="lstm", units=3, timesteps=5, return_state=True))
    assert len(calls) == 2  # output without the sequence: the probe that returns it is another call


def test_report_the_largest_difference():
    """Printed with -s: the measured maximum over every configuration above."""
    if MEASURED:
        print(f"\ncompiled against eager: max |difference| = {max(MEASURED):.3g} over {len(MEASURED)} configurations")
        assert max(MEASURED) <= TOLERANCE


def _command():
    import shutil

    exe = shutil.which("rnnshape")
    return [exe] if exe else [sys.executable, "-m", "rnnshape"]


def test_json_and_header_say_how_the_run_went():
    long = run_process(["inspect", "--timesteps", "2000", "--json"])
    assert long.returncode == 0, long.stderr
    run = json.loads(long.stdout)["data"]["run"]
    assert run["mode"] == "compiled" and "compiled" in run["reason"]
    assert long.stderr == ""
    short = run_process(["inspect"])
    assert short.stdout.splitlines()[0].endswith("[run eager]")
    assert short.stderr == ""


def test_progress_on_a_terminal_stderr_only():
    """stderr a terminal (a pty), stdout a pipe: the progress display goes to stderr, stdout
    holds the one JSON document; with stderr a pipe nothing is drawn (test above)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        _command()
        + [
            "compare",
            "--layer",
            "lstm",
            "--layer",
            "gru",
            "--timesteps",
            "3000",
            "--vary",
            "return_sequences",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=slave,
        stdin=subprocess.DEVNULL,
        env=dict(os.environ, COLUMNS="160"),
    )
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 120)
        if not ready:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    stdout, _ = proc.communicate(timeout=120)
    os.close(master)
    assert proc.returncode == 0
    document = json.loads(stdout)
    assert document["data"]["run"]["mode"] == "compiled"
    text = seen.decode("utf-8", "replace")
    assert "rnnshape compare (compiled" in text
    assert "pass 1: compiled" in text and "/8" in text and "0:00:0" in text  # pass, row count, elapsed
