"""Keras on the JAX and PyTorch backends: the same layers, weights and input run in a child
process with KERAS_BACKEND set, compared output by output with TensorFlow in this process."""

from __future__ import annotations

import json
import os
import random

import numpy as np
import pytest

import rnnshape
from rnnshape.measure.backends import agreement
from rnnshape.rules.spec import make_spec

# every test here runs Keras: the slow tier (the fast tier is pytest -m "not slow")
pytestmark = pytest.mark.slow

pytest.importorskip("jax")


def random_spec(rng: random.Random):
    layer = rng.choice(("lstm", "gru", "simplernn"))
    bidirectional = rng.random() < 0.3
    batch, timesteps = rng.randint(1, 3), rng.randint(1, 6)
    options = dict(
        layer=layer,
        units=rng.randint(1, 6),
        features=rng.randint(1, 4),
        timesteps=timesteps,
        batch=batch,
        return_sequences=rng.random() < 0.5,
        return_state=rng.random() < 0.5,
        bidirectional=bidirectional,
        go_backwards=not bidirectional and rng.random() < 0.3,
        seed=rng.randint(0, 1000),
        stateful=not bidirectional and rng.random() < 0.2,
        use_bias=rng.random() < 0.9,
    )
    if layer == "gru":
        options["reset_after"] = rng.random() < 0.7
    if rng.random() < 0.3:
        options["lengths"] = ",".join(str(rng.randint(1, timesteps)) for _ in range(batch))
    return make_spec(**options)


def test_50_random_configurations_agree_on_tensorflow_and_jax_within_1e_5():
    from rnnshape.runner import backend
    from rnnshape.runner import layer as layer_runner

    rng = random.Random(19)
    specs = [random_spec(rng) for _ in range(50)]
    on_tf = layer_runner.run_many(specs)
    on_jax, ran = backend.run_many(specs, "jax")
    assert ran["backend"] == "jax" and ran["version"]
    worst = 0.0
    for spec, a, b in zip(specs, on_tf, on_jax):
        entries, checks = agreement(["tensorflow", "jax"], [a, b])
        assert len(entries) == len(spec.output_names())
        assert all(check.holds for check in checks), (spec.keras_call(), [c.to_dict() for c in checks])
        worst = max([worst] + [check.max_abs_diff for check in checks])
    assert worst <= 1e-5


def test_compare_on_three_backends_reports_each_output(invoke_json):
    pytest.importorskip("torch")
    result, document = invoke_json(
        [
            "compare",
            "--layer",
            "gru",
            "--bidirectional",
            "--units",
            "3",
            "--backend",
            "tensorflow",
            "--backend",
            "jax",
            "--backend",
            "torch",
        ]
    )
    assert result.exit_code == 0, result.stderr
    data = document["data"]
    assert [b["backend"] for b in data["backends"]] == ["tensorflow", "jax", "torch"]
    row = data["rows"][1]  # return_state: output, forward/backward state_h
    assert {(e["output"], e["backend"]) for e in row["backends"]} == {
        (name, b) for name in ("output", "forward_state_h", "backward_state_h") for b in ("jax", "torch")
    }
    assert all(e["holds"] and e["max_abs_diff"] <= 1e-5 for r in data["rows"] for e in r["backends"])


def test_dropout_masks_differ_between_backends_and_the_difference_is_reported():
    """Measured: the same seed draws other dropout masks on JAX than on TensorFlow (docs/commands/compare.md)."""
    result = rnnshape.compare(["lstm"], units=3, dropout=0.3, training=True, backend=["tensorflow", "jax"])
    assert not result.ok and result.exit_code == 1
    assert "output on jax == output on tensorflow fails" in result.errors[0].message


def test_inspect_on_torch_says_which_backend_ran_it(tmp_path):
    pytest.importorskip("torch")
    from tests.conftest import run_process

    proc = run_process(["inspect", "--layer", "lstm", "--units", "3", "--return-state", "--backend", "torch", "--json"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    data = json.loads(proc.stdout)["data"]
    import torch

    assert data["backend"] == {"backend": "torch", "version": torch.__version__, "keras": data["backend"]["keras"]}
    assert all(check["holds"] for check in data["checks"])
    same = rnnshape.inspect("lstm", units=3, return_state=True, values=True)
    text = run_process(
        ["inspect", "--layer", "lstm", "--units", "3", "--return-state", "--backend", "jax", "--values"]
    ).stdout
    assert "backend: jax" in text
    assert same.ok


def test_a_backend_that_cannot_be_imported_is_exit_3_with_the_install_command(tmp_path):
    from tests.conftest import run_process

    fake = tmp_path / "jax"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('No module named jax (simulated)')\n")
    proc = run_process(
        ["inspect", "--backend", "jax"], env={"PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    )
    assert proc.returncode == 3
    assert 'pip install "rnnshape[jax]"' in proc.stderr and "Traceback" not in proc.stderr


TRACED = [
    dict(layer="lstm", units=3, timesteps=6, batch=2, lengths="3,5"),
    dict(layer="gru", units=2, timesteps=5, batch=2, lengths="2,5", go_backwards=True),
    dict(layer="gru", units=2, timesteps=4, reset_after=False, return_sequences=True, return_state=True),
    dict(
        layer="lstm",
        units=2,
        timesteps=5,
        batch=2,
        lengths="2,5",
        bidirectional=True,
        return_sequences=True,
        return_state=True,
    ),
    dict(layer="simplernn", units=3, timesteps=4, go_backwards=True, return_state=True),
]


@pytest.mark.parametrize("name", ["jax", "torch"])
def test_trace_on_another_backend_recomputes_its_own_run_and_matches_tensorflow(name):
    """Masking, go_backwards with a mask, Bidirectional: the same weights and input on each
    backend; numpy's recomputation agrees with that backend's steps, and the steps agree with
    TensorFlow's within 1e-5 (measured: no backend differs)."""
    pytest.importorskip(name)
    from rnnshape.measure import trace as measured
    from rnnshape.runner import backend
    from rnnshape.runner import trace as trace_runner

    specs = [make_spec(**options) for options in TRACED]
    on_tf = trace_runner.trace_many(specs)
    there, ran = backend.call(name, "trace.trace_many", specs)
    assert ran["backend"] == name
    for spec, a, b in zip(specs, on_tf, there):
        checks = measured.measure(b, measured.recompute(b))
        assert all(c.holds for c in checks), (spec.keras_call(), [c.to_dict() for c in checks if not c.holds])
        assert list(a.outputs) == list(b.outputs)
        for key in a.outputs:
            assert np.abs(a.outputs[key] - b.outputs[key]).max() <= 1e-5, (spec.keras_call(), key)
        for da, db in zip(a.directions, b.directions):
            assert da.keras_name == db.keras_name and da.go_backwards == db.go_backwards
            assert np.abs(da.seq - db.seq).max() <= 1e-5


def test_trace_backend_from_the_command_line_names_it_and_exits_0():
    pytest.importorskip("jax")
    from tests.conftest import run_process

    proc = run_process(
        [
            "trace",
            "--layer",
            "gru",
            "--units",
            "2",
            "--timesteps",
            "4",
            "--batch",
            "2",
            "--lengths",
            "2,4",
            "--go-backwards",
            "--backend",
            "jax",
            "--json",
        ]
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    data = json.loads(proc.stdout)["data"]
    assert data["backend"]["backend"] == "jax" and data["run"]["mode"] == "eager"
    assert "child process" in data["run"]["reason"]
    assert all(c["holds"] for c in data["checks"])


@pytest.mark.parametrize(
    "name, options",
    [
        ("jax", dict(layer="lstm", go_backwards=True, return_sequences=True, return_state=True)),
        ("torch", dict(layer="gru", bidirectional=True, return_sequences=True)),
    ],
    ids=["jax-lstm-back", "torch-gru-bi"],
)
def test_stateful_carry_over_measures_the_same_on_every_backend(name, options):
    """Stateful carry-over, reset_state, the model with batch_shape, the wrong batch size and the
    shuffled batch: each fact holds or fails alike on TensorFlow and on JAX or PyTorch, and the
    chunks' outputs and states agree within 1e-5."""
    pytest.importorskip(name)
    reference = rnnshape.stateful(units=3, timesteps=6, batch=2, split="2,4", backend="tensorflow", **options).data
    assert reference["backend"]["backend"] == "tensorflow"
    for data in [rnnshape.stateful(units=3, timesteps=6, batch=2, split="2,4", backend=name, **options).data]:
        assert data["backend"]["backend"] == name
        assert [(c["claim"], c["holds"]) for c in data["checks"]] == [
            (c["claim"], c["holds"]) for c in reference["checks"]
        ]
        assert data["batch_size_error"] == reference["batch_size_error"]
        for mine, theirs in zip(data["chunks"], reference["chunks"]):
            for key in ("initial_state", "final_state"):
                for state in mine[key]:
                    assert np.abs(np.asarray(mine[key][state]) - np.asarray(theirs[key][state])).max() <= 1e-5
            assert np.abs(np.asarray(mine["output"]) - np.asarray(theirs["output"])).max() <= 1e-5


def test_bidirectional_stateful_with_return_state_fails_alike_on_every_backend():
    """Keras' Bidirectional.compute_mask raises with stateful=True and return_state=True; the
    bug is in Keras' own code, so every backend raises it (docs/commands/stateful.md)."""
    pytest.importorskip("torch")
    from rnnshape.errors import BackendError

    messages = []
    for name in ("tensorflow", "jax", "torch"):
        with pytest.raises(BackendError) as raised:
            rnnshape.stateful(bidirectional=True, return_state=True, backend=name)
        messages.append(raised.value.message)
    assert all("unsupported operand type(s) for *: 'generator' and 'int'" in m for m in messages), messages
