"""Keras on the JAX and PyTorch backends: the same layers, weights and input run in a child
process with KERAS_BACKEND set, compared output by output with TensorFlow in this process."""

from __future__ import annotations

import json
import os
import random

import pytest

import rnnshape
from rnnshape.measure.backends import agreement
from rnnshape.model.layer import make_spec

pytest.importorskip("jax")


def random_spec(rng: random.Random):
    layer = rng.choice(("lstm", "gru", "simplernn"))
    bidirectional = rng.random() < 0.3
    batch, timesteps = rng.randint(1, 3), rng.randint(1, 6)
    options = dict(layer=layer, units=rng.randint(1, 6), features=rng.randint(1, 4), timesteps=timesteps, batch=batch,
                   return_sequences=rng.random() < 0.5, return_state=rng.random() < 0.5, bidirectional=bidirectional,
                   go_backwards=not bidirectional and rng.random() < 0.3, seed=rng.randint(0, 1000),
                   stateful=not bidirectional and rng.random() < 0.2, use_bias=rng.random() < 0.9)
    if layer == "gru":
        options["reset_after"] = rng.random() < 0.7
    if rng.random() < 0.3:
        options["lengths"] = ",".join(str(rng.randint(1, timesteps)) for _ in range(batch))
    return make_spec(**options)


def test_50_random_configurations_agree_on_tensorflow_and_jax_within_1e_5():
    from rnnshape.runner import backend, keras

    rng = random.Random(19)
    specs = [random_spec(rng) for _ in range(50)]
    on_tf = keras.run_many(specs)
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
    result, document = invoke_json(["compare", "--layer", "gru", "--bidirectional", "--units", "3",
                                    "--backend", "tensorflow", "--backend", "jax", "--backend", "torch"])
    assert result.exit_code == 0, result.stderr
    data = document["data"]
    assert [b["backend"] for b in data["backends"]] == ["tensorflow", "jax", "torch"]
    row = data["rows"][1]  # return_state: output, forward/backward state_h
    assert {(e["output"], e["backend"]) for e in row["backends"]} == {
        (name, b) for name in ("output", "forward_state_h", "backward_state_h") for b in ("jax", "torch")}
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
    text = run_process(["inspect", "--layer", "lstm", "--units", "3", "--return-state", "--backend", "jax",
                        "--values"]).stdout
    assert "backend: jax" in text
    assert same.ok


def test_a_backend_that_cannot_be_imported_is_exit_3_with_the_install_command(tmp_path):
    from tests.conftest import run_process

    fake = tmp_path / "jax"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('No module named jax (simulated)')\n")
    proc = run_process(["inspect", "--backend", "jax"],
                       env={"PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"})
    assert proc.returncode == 3
    assert 'pip install "rnnshape[jax]"' in proc.stderr and "Traceback" not in proc.stderr
