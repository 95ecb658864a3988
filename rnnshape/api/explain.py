"""rnnshape.explain(): a live keras.Model (or recurrent layer) explained as `rnnshape model`
explains a file: the same result object, rendered in a terminal or a Jupyter notebook."""

from __future__ import annotations

import os
from typing import Any

from rnnshape.api._common import documented
from rnnshape.errors import UsageError
from rnnshape.results import ModelResult, ViewOptions
from rnnshape.rules.cost import DEFAULT_MAX_MEMORY_MB, DEFAULT_MAX_SECONDS
from rnnshape.rules.limits import Limits


@documented(
    obj="a live keras.Model or a recurrent layer",
    x="data (a numpy array, or a list of them, one per model input)",
    y="targets, judged with the model's compiled loss",
    layer="a recurrent layer's name or path, shown with inspect's full view",
)
def explain(
    obj: Any,
    x: Any = None,
    y: Any = None,
    layer: str | None = None,
    *,
    max_memory: int = DEFAULT_MAX_MEMORY_MB,
    max_seconds: int = DEFAULT_MAX_SECONDS,
    diagram: bool = False,
    ascii_only: bool = False,
) -> ModelResult:
    """Explain ``obj``, a keras.Model or a recurrent layer (not a file: see rnnshape.rules).

    ``x``: a numpy array (or a list, one per model input, or .npy/.csv file names) run through
    the model, each recurrent layer's outputs and final states captured and measured; ``y``: the
    targets, compared with the model's output; ``layer``: a recurrent layer's name or path for the
    full inspect view with the model's weights. In Jupyter, the returned result displays itself."""
    from rnnshape.api.model import explain_model
    from rnnshape.runner import model as model_runner

    limits = Limits(max_memory, max_seconds, sizes="data", static=False)
    xs, x_names = _arrays(x, "x")
    ys, y_names = _arrays(y, "y")
    if len(ys) > 1:
        raise UsageError("Invalid value for y: give one targets array")
    keras_model, kind = model_runner.as_model(obj, xs)
    source = {"kind": f"live {kind}", "name": getattr(obj, "name", type(obj).__name__)}
    return explain_model(
        keras_model,
        source,
        xs,
        x_names,
        ys[0] if ys else None,
        y_names[0] if ys else None,
        layer,
        limits,
        ViewOptions(diagram=diagram, ascii_only=ascii_only),
        loss=(model_runner.compiled_loss(keras_model), "compiled on the live model"),
    )


def _arrays(value: Any, key: str) -> tuple[list[Any], list[str]]:
    """Arrays and their names: numpy arrays as given (named x, x[1], ...), file names read."""
    import numpy as np

    if value is None:
        return [], []
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    arrays, names = [], []
    for position, item in enumerate(items):
        if isinstance(item, (str, os.PathLike)):
            from rnnshape.files import load_data_array

            loaded = load_data_array(os.fspath(item), f"--{key}")
            arrays.append(loaded.array)
            names.append(os.path.basename(loaded.path))
            continue
        from rnnshape.files import check_values

        array = np.asarray(item)  # a view stays a view: the size guard comes before any copy
        if array.dtype.kind not in "biuf" or array.size == 0:
            raise UsageError(
                f"Invalid value for {key}: a non-empty numeric array is needed, got {array.dtype} {array.shape}"
            )
        name = key if len(items) == 1 else f"{key}[{position}]"
        check_values(array, key, name)  # the rule of --x files: no NaN, nothing beyond float32
        arrays.append(array)
        names.append(name)
    return arrays, names
