"""The JSON envelope of shared/CLI.md, and the data objects that both JSON and the tables
are made from."""

from __future__ import annotations

import json
import math
import platform
from importlib import metadata
from typing import Any

import rnnshape
from rnnshape.errors import RnnshapeError, UsageError
from rnnshape.spec import INPUT_KINDS, LayerSpec, ShapeComparison

SCHEMA = "rnnshape/v1"


def envelope(command: str, data: Any, exit_code: int, errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "command": command,
        "ok": exit_code == 0,
        "exit_code": int(exit_code),
        "data": data,
        "errors": list(errors or []),
    }


def error_entry(error: RnnshapeError) -> dict[str, str]:
    return {"type": error.type, "message": error.message}


def dumps(document: Any) -> str:
    """Sorted keys, reproducible floats (Python's shortest repr), strict JSON."""
    return json.dumps(_clean(document), sort_keys=True, indent=2, allow_nan=False)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def versions() -> dict[str, str]:
    """Versions of everything that shaped the numbers, read without importing TensorFlow."""

    def dist(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    return {
        "rnnshape": rnnshape.__version__,
        "keras": dist("keras"),
        "backend": "tensorflow",
        "tensorflow": dist("tensorflow"),
        "numpy": dist("numpy"),
        "python": platform.python_version(),
    }


def layer_data(spec: LayerSpec, result: Any = None, *, values: bool = False) -> dict[str, Any]:
    """The inspect object for one configuration. ``result`` is a keras_runner.RunResult, or
    None for --static (names, shapes and parameters from the pure model only)."""
    if result is None and spec.keras_refusal():
        raise UsageError(f"--static cannot answer for {spec.keras_call()}: {spec.keras_refusal()}; "
                         "drop --static to see what Keras itself says")
    outputs = []
    for tensor in spec.outputs():
        shape = list(result.outputs[tensor.name].shape) if result is not None else list(tensor.shape)
        entry = {
            "name": tensor.name,
            "shape": shape,
            "axes": list(tensor.axes),
            "dtype": str(result.outputs[tensor.name].dtype) if result is not None else tensor.dtype,
            "meaning": tensor.meaning,
        }
        if values and result is not None:
            entry["values"] = result.outputs[tensor.name].tolist()
        outputs.append(entry)
    if result is not None:
        weights = [{"name": name, "shape": list(shape)} for name, shape in result.weights]
    else:
        weights = [{"name": w.name, "shape": list(w.shape)} for w in spec.weights()]
    params: dict[str, Any] = {"total": spec.param_total(), "formula": spec.param_formula(), "weights": weights}
    data: dict[str, Any] = {
        "config": spec.config(),
        "keras_call": spec.keras_call(),
        "keras_input": spec.keras_input(),
        "input": {"shape": list(spec.input_shape), "axes": ["batch", "timesteps", "features"], "dtype": "float32",
                  "source": spec.input, "notes": input_notes(spec)},
        "outputs": outputs,
        "params": params,
        "h_vs_c": spec.h_vs_c(),
        "static": result is None,
        "versions": versions(),
    }
    if result is not None:
        params["keras_count_params"] = result.count_params
        data["checks"] = [c.to_dict() for c in result.checks]
        if spec.lengths is not None:
            from rnnshape.facts import masked_steps

            data["masking"] = masked_steps(spec, result.outputs)
        if values:
            data["input"]["values"] = result.input.tolist()
    else:
        data["checks"] = []
        data["not_measured"] = "values and measured checks need a real run: drop --static"
    return data


def input_notes(spec: LayerSpec) -> list[str]:
    """Why the input has the shape it has, and what makes its numbers special."""
    notes: list[str] = []
    if spec.input not in INPUT_KINDS:
        from rnnshape.inputs import load_input_file

        notes = list(load_input_file(spec.input).notes)
    if spec.constant_weights:
        notes.append("constant initializers: every unit has identical weights, so every unit computes the "
                     "same number (which is why tutorials print repeated columns)")
    return notes


def expectations_data(comparisons: list[ShapeComparison]) -> list[dict[str, Any]]:
    return [
        {
            "name": c.name,
            "expected": list(c.expected),
            "actual": list(c.actual) if c.actual is not None else None,
            "holds": c.holds,
            "hint": c.hint,
        }
        for c in comparisons
    ]
