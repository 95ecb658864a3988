"""rnnshape.model(): a user's model file explained: every layer's shapes and parameters, the
recurrent layers' flags and returned tensors, the diagnoses, and with x= the measured facts on
the user's data. rnnshape.explain() (api/explain.py) does the same for a live keras.Model."""

from __future__ import annotations

import os
from typing import Any

from rnnshape.api._common import documented
from rnnshape.errors import ExpectationFailed, RnnshapeError, UsageError
from rnnshape.model_files import DEFAULT_MAX_FILE_BYTES
from rnnshape.results import ModelResult, ViewOptions
from rnnshape.rules.cost import DEFAULT_MAX_MEMORY_MB, DEFAULT_MAX_SECONDS
from rnnshape.rules.limits import Limits, check_model_run
from rnnshape.rules.network import refused_objects
from rnnshape.rules.options import ACTIVATIONS
from rnnshape.rules.spec import make_spec
from rnnshape.versions import versions

INSPECTABLE = ("lstm", "gru", "simplernn", "convlstm")
SPATIAL_NAMES = {1: ("rows",), 2: ("rows", "cols"), 3: ("depth", "rows", "cols")}  # a ConvLSTM's input axes


@documented(
    path="the model file (.keras, or .h5 of any Keras version)",
    x="data run through the model (a .npy/.csv path, or a list of them, one per model input)",
    y="targets judged with the model's own loss (a .npy/.csv path): a broadcast, a refusal or a wrong label encoding is in result.errors",
    layer="a recurrent layer's name or path, shown with inspect's full view and the model's weights",
    max_file_size="refuse a model file larger than this, in bytes",
    save="write the model as a Keras 3 .keras file (an old .h5 converted; never over an input)",
)
def model(
    path: str,
    *,
    x: Any = None,
    y: Any = None,
    layer: str | None = None,
    max_file_size: int = DEFAULT_MAX_FILE_BYTES,
    max_memory: int = DEFAULT_MAX_MEMORY_MB,
    max_seconds: int = DEFAULT_MAX_SECONDS,
    diagram: bool = False,
    ascii_only: bool = False,
    save: str | None = None,
) -> ModelResult:
    """Explain the model saved in ``path`` (.keras, or legacy .h5), loaded by Keras in safe mode.

    ``x``: a .npy/.csv file (or a list of them, one per model input) run through the model, each
    recurrent layer's outputs and final states captured and measured; ``y``: a file of targets
    compared with the model's output (a mismatch is an error: exit 1). ``layer``: a recurrent
    layer's name or path, shown with the full inspect view and the model's own weights.
    A file with a Lambda layer or an unregistered custom class is refused (UsageError) before
    anything in it runs. An old full model in HDF5 (Keras 1/2, tf.keras) is rebuilt in Keras 3
    with its own weights (api/legacy.py). ``save``: write the model as a Keras 3 .keras file."""
    from rnnshape import files
    from rnnshape.api import legacy

    if isinstance(max_file_size, bool) or not isinstance(max_file_size, int) or max_file_size < 1:
        raise UsageError(f"Invalid value for --max-file-size: {max_file_size!r} is not a positive number of bytes")
    limits = Limits(max_memory, max_seconds, sizes="data", static=False)
    legacy.check_save_path(
        save,
        {
            "FILE": path,
            "--y": (_paths(y) or [None])[0],
            **{"--x" if i == 0 else f"--x ({i + 1})": p for i, p in enumerate(_paths(x))},
        },
    )
    saved = read_model_config(path, max_file_size)
    xs = [files.load_data_array(p, "--x") for p in _paths(x)]
    ys = [files.load_data_array(p, "--y") for p in _paths(y)]
    if len(ys) > 1:
        raise UsageError("Invalid value for --y: give one targets file")
    _refuse(path, refused_objects(saved.config, _registered()))
    keras_model, rebuilt = legacy.load_model(path, saved, [d.array for d in xs])
    source = {"kind": "file", "path": path, "format": saved.format, "bytes": saved.size}
    if rebuilt is not None:
        source["legacy"] = rebuilt
    loss = (recorded_loss(saved.config), "recorded in the file's compile config")
    if rebuilt is not None and rebuilt.get("loss") is not None:
        loss = (rebuilt["loss"], f"recorded in the file's training_config ({rebuilt['saved_by']})")
    result = explain_model(
        keras_model,
        source,
        [d.array for d in xs],
        [os.path.basename(d.path) for d in xs],
        ys[0].array if ys else None,
        os.path.basename(ys[0].path) if ys else None,
        layer,
        limits,
        ViewOptions(diagram=diagram, ascii_only=ascii_only),
        loss=loss,
    )
    if rebuilt is not None and not rebuilt.get("tf_keras", {}).get("holds", True):
        result.errors.append(ExpectationFailed(f"{path}: {rebuilt['tf_keras']['text']}"))
    if save is not None:
        result.data["saved"] = legacy.save_model(keras_model, save)
    return result


def recorded_loss(config: dict[str, Any]) -> Any:
    """The loss a .keras file's compile config records (its first output's), or None."""
    compiled = config.get("compile_config") if isinstance(config, dict) else None
    loss = compiled.get("loss") if isinstance(compiled, dict) else None
    if isinstance(loss, list):
        return loss[0] if loss else None
    if isinstance(loss, dict) and "class_name" not in loss:  # one loss per output name
        return next(iter(loss.values()), None)
    return loss


def _paths(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, os.PathLike)):
        return [os.fspath(value)]
    return [os.fspath(v) for v in value]


def read_model_config(path: str, max_file_size: int = DEFAULT_MAX_FILE_BYTES) -> Any:
    """A model file's saved config, read without Keras, refused (UsageError) when it holds a
    Lambda or a custom class: the first half of every command that loads a user's model."""
    from rnnshape import model_files

    saved = model_files.read_model_file(path, max_file_size)
    _refuse(path, refused_objects(saved.config))
    return saved


def load_checked_model(path: str, saved: Any) -> Any:
    """The second half: refuse classes not registered with Keras, then load in safe mode (an
    old HDF5 model: rebuilt in Keras 3, api/legacy.py)."""
    from rnnshape.api.legacy import load_model

    _refuse(path, refused_objects(saved.config, _registered()))
    return load_model(path, saved, check=False)[0]


def _registered() -> frozenset[str]:
    from rnnshape.runner import model as model_runner

    return model_runner.registered_classes()


def _refuse(path: str, reasons: list[str]) -> None:
    if reasons:
        more = f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else ""
        raise UsageError(f"{path}: refused, nothing in it was run: {reasons[0]}{more}")


def _check_inputs(model_data: dict[str, Any], xs: list[Any], names: list[str]) -> None:
    """The --x arrays against the model's inputs: one per input, the same rank and the known
    dimensions equal, the same number of samples. Shapes only: nothing is copied (the size guard
    comes next, before any array is cast)."""
    inputs = model_data["model"]["inputs"]
    if len(xs) != len(inputs):
        raise UsageError(
            f"Invalid value for --x: the model takes {len(inputs)} input(s) "
            f"({', '.join(i['name'] for i in inputs)}), {len(xs)} array(s) given; repeat --x FILE once "
            "per input, in that order"
        )
    batches = set()
    for array, name, spec in zip(xs, names, inputs):
        shape = spec["shape"]
        wanted = "(" + ", ".join("batch" if d is None and i == 0 else str(d) for i, d in enumerate(shape)) + ")"
        if (
            array.ndim != len(shape)
            or any(d is not None and d != a for d, a in zip(shape[1:], array.shape[1:]))
            or (shape[0] is not None and shape[0] != array.shape[0])
        ):
            raise UsageError(
                f"Invalid value for --x: {name} has shape {tuple(array.shape)}, the model input "
                f"{spec['name']!r} takes {wanted}{_reshape_hint(array.shape, shape)}"
            )
        batches.add(array.shape[0])
    if len(batches) > 1:
        raise UsageError(f"Invalid value for --x: the arrays hold different numbers of samples ({sorted(batches)})")


def _cast_inputs(model_data: dict[str, Any], xs: list[Any], names: list[str]) -> list[Any]:
    """The --x arrays cast to each input's dtype (after the size guard: this copies them)."""
    import numpy as np

    cast = []
    for array, name, spec in zip(xs, names, model_data["model"]["inputs"]):
        dtype = np.dtype(spec["dtype"])
        if dtype.kind in "iu" and array.dtype.kind == "f" and not np.all(array == np.round(array)):
            raise UsageError(
                f"Invalid value for --x: {name} holds fractions, the model input {spec['name']!r} takes "
                f"integers ({spec['dtype']}, e.g. token ids)"
            )
        cast.append(array.astype(dtype))
    return cast


def _reshape_hint(given: tuple[int, ...], wanted: list[Any]) -> str:
    """For 2-D data against a [samples, timesteps, features] input: the reshape that gives it."""
    if len(given) != 2 or len(wanted) != 3:
        return ""
    n, width = int(given[0]), int(given[1])
    steps, features = wanted[1], wanted[2]
    if steps is None and features is not None and width % features == 0:
        steps = width // features
    if features is None and steps is not None and width % steps == 0:
        features = width // steps
    if steps is None or features is None or steps * features != width:
        return (
            f"; each sample holds {width} numbers, which do not fill [timesteps, features] = "
            f"[{'?' if wanted[1] is None else wanted[1]}, {'?' if wanted[2] is None else wanted[2]}]"
        )
    return (
        f"; 2-D data is [samples, {width}]: x.reshape({n}, {steps}, {features}) gives [samples, timesteps, "
        f"features] for this model"
    )


def explain_model(
    keras_model: Any,
    source: dict[str, Any],
    xs: list[Any],
    x_names: list[str],
    y: Any,
    y_name: str | None,
    layer: str | None,
    limits: Limits,
    view: ViewOptions,
    loss: tuple[Any, str] = (None, ""),
) -> ModelResult:
    """The shared work of rnnshape.model and rnnshape.explain on a loaded keras.Model; ``loss``:
    (the recorded loss or None, where it was recorded), the loss y is judged with."""
    from rnnshape.measure.model import model_data, run_data
    from rnnshape.runner import model as model_runner

    data = model_data(model_runner.walk_model(keras_model), source)
    errors: list[RnnshapeError] = []
    rows = data["layers"]
    target = _find_row(rows, layer) if layer is not None else None
    if y is not None and not xs:
        raise UsageError(
            "Invalid value for --y: the targets are compared with the model's predictions on --x: give --x FILE too"
        )
    run = None
    if xs:
        _check_inputs(data, xs, x_names)
        batch = int(xs[0].shape[0])
        steps = int(xs[0].shape[1]) if xs[0].ndim > 1 else None
        check_model_run(rows, batch, steps, limits, f"running the model on --x ({batch} samples)")
        xs = _cast_inputs(data, xs, x_names)
        paths = [row["path"] for row in rows if row["recurrent"]]
        run = model_runner.run_model(keras_model, xs, paths)
        data["run"] = {
            "mode": run.mode,
            "reason": "the model runs as a graph, as model.predict runs it, each recurrent layer's input recorded "
            "inside it as Keras passes it"
            if run.mode == "compiled"
            else "a model of another Keras backend runs eagerly",
        }
        captured, checks = run_data(rows, run, xs)
        data["data"] = {
            "x": [{"file": n, "shape": list(a.shape), "dtype": str(a.dtype)} for n, a in zip(x_names, xs)],
            "prediction_shapes": [list(p.shape) for p in run.predictions],
            "captured": captured,
        }
        data["checks"] = [c.to_dict() for c in checks]
        if y is not None:
            from rnnshape.measure.targets import judge, loss_choice, target_diagnosis

            target_data = judge(y, run.predictions[0], loss_choice(loss[0], loss[1], rows), model_runner.loss_probe)
            problem = target_diagnosis(rows, target_data, "--y" if source["kind"] == "file" else "y")
            target_data["file"] = y_name
            if target_data["agree"]:  # measured: the targets fit the time axis, the rule's warning is answered
                data["diagnoses"] = [d for d in data["diagnoses"] if d["kind"] != "time_axis_head"]
            data["data"]["y"] = target_data
            if problem is not None:
                data["diagnoses"].insert(0, problem)
                errors.append(ExpectationFailed(f"{problem['text']}; fix: {problem['fix']}"))
    spec = None
    if target is not None:
        spec, data["inspect"] = _inspect_layer(keras_model, target, run)
    data["versions"] = versions()
    return ModelResult(data, errors, view, layer_spec=spec)


def _find_row(rows: list[dict[str, Any]], name: str) -> dict[str, Any]:
    matches = [row for row in rows if row["path"] == name] or [row for row in rows if row["name"] == name]
    recurrent = ", ".join(row["path"] for row in rows if row["recurrent"]) or "none"
    if len(matches) != 1:
        problem = "is not a layer of this model" if not matches else "names several layers; give its path"
        raise UsageError(f"Invalid value for --layer: {name!r} {problem} (its recurrent layers: {recurrent})")
    row = matches[0]
    rec = row["recurrent"]
    if not rec or rec["kind"] not in INSPECTABLE:
        raise UsageError(
            f"Invalid value for --layer: {name!r} is a {row['class']}; the inspect view covers LSTM, GRU, "
            f"SimpleRNN and ConvLSTM1D/2D/3D layers and their Bidirectional wrappers (this model's recurrent "
            f"layers: {recurrent})"
        )
    config = row["config"]  # the layer's whole config (rec["config"] keeps only its flags)
    if rec["kind"] == "convlstm":
        dilation = config.get("dilation_rate", 1)
        odd = (
            [f"dilation_rate={dilation}"]
            if any(d != 1 for d in (dilation if isinstance(dilation, (list, tuple)) else [dilation]))
            else []
        )
        if config.get("data_format") not in (None, "channels_last"):
            odd.append(f"data_format={config['data_format']!r}")
        if odd:
            raise UsageError(
                f"Invalid value for --layer: {name!r} has {', '.join(odd)}; the inspect view builds "
                "ConvLSTM layers with dilation_rate=1 and channels_last (the model view above still "
                "describes it)"
            )
    unsupported = [
        f"{key}={config[key]}"
        for key in ("activation", "recurrent_activation")
        if config.get(key) is not None and config[key] not in ACTIVATIONS
    ]
    if unsupported:
        raise UsageError(
            f"Invalid value for --layer: {name!r} has {', '.join(unsupported)}; the inspect view "
            f"recomputes the activations {', '.join(ACTIVATIONS)} (the model view above still describes it)"
        )
    return row


def _conv_spec(row: dict[str, Any], x: Any, sizes: dict[str, Any]) -> Any:
    """The spec of a ConvLSTM1D/2D/3D layer of the model: its filters, kernel, strides, padding
    and cell options, on the input shape it receives (batch, timesteps, *spatial, channels)."""
    rec, config = row["recurrent"], row["config"]
    shape = tuple(x.shape) if x is not None else tuple(row["input_shapes"][0])
    rank = len(shape) - 3
    kind = f"convlstm{rank}d"
    dims: dict[str, Any] = {"timesteps": shape[1], "channels": shape[-1]}
    dims.update(zip(SPATIAL_NAMES[rank], shape[2:-1]))
    dims = {key: int(value) for key, value in dims.items() if value is not None}
    if "batch" in sizes:
        dims["batch"] = int(sizes["batch"])
    return make_spec(
        layer=kind,
        filters=int(config["filters"]),
        kernel_size=list(config["kernel_size"]),
        strides=list(config.get("strides") or [1] * rank),
        padding=config.get("padding", "valid"),
        return_sequences=bool(config.get("return_sequences")),
        return_state=bool(config.get("return_state")),
        stateful=bool(config.get("stateful")),
        go_backwards=bool(config.get("go_backwards")),
        bidirectional=rec["bidirectional"],
        merge_mode=("none" if rec["merge_mode"] is None else rec["merge_mode"]) if rec["bidirectional"] else None,
        **dims,
        **_cell_options("lstm", config),
    )


def _cell_options(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """The layer's own activations, bias and reset_after, as make_spec takes them."""
    options: dict[str, Any] = {"activation": config.get("activation"), "use_bias": config.get("use_bias")}
    if kind != "simplernn":
        options["recurrent_activation"] = config.get("recurrent_activation")
    if kind == "gru":
        options["reset_after"] = config.get("reset_after")
    return {key: value for key, value in options.items() if value is not None}


def _inspect_layer(keras_model: Any, row: dict[str, Any], run: Any) -> tuple[Any, dict[str, Any]]:
    """The inspect object of one recurrent layer with the model's own weights: on the input it
    received from --x (its mask as --lengths when it is padding at the end), else on inspect's
    deterministic input."""
    import numpy as np

    from rnnshape.measure.inspect import layer_data
    from rnnshape.runner import model as model_runner
    from rnnshape.runner import session as session_runner

    rec = row["recurrent"]
    config = row["config"]  # the layer's whole config: flags and cell options (activations, use_bias, reset_after)
    capture = next((c for c in (run.captures if run else []) if c.path == row["path"]), None)
    notes = []
    shape = row["input_shapes"][0]
    sizes = {"timesteps": shape[1], "features": shape[2]} if len(shape) == 3 else {}
    lengths = None
    x = None
    if capture is not None:
        x = capture.input
        sizes = {"batch": int(x.shape[0]), "timesteps": int(x.shape[1]), "features": int(x.shape[2])}
        if capture.mask is not None:
            mask = np.asarray(capture.mask, bool)
            counts = mask.sum(axis=1)
            if np.array_equal(mask, np.arange(mask.shape[1])[None, :] < counts[:, None]) and counts.min() >= 1:
                lengths = [int(n) for n in counts]
            else:
                notes.append(
                    "the layer's mask in the model is not padding at the end of each sample: this view runs "
                    "it without the mask"
                )
        if capture.initial_state is not None:
            notes.append(
                "in the model this layer starts from the states given as initial_state; this view runs it "
                "alone, from zero states"
            )
    elif rec["initial_state"]:
        notes.append(
            "in the model this layer starts from the states given as initial_state; this view runs it "
            "alone, from zero states"
        )
    if shape[0] is not None and "batch" not in sizes:
        sizes["batch"] = int(shape[0])
    if rec["kind"] == "convlstm":
        spec = _conv_spec(row, x, sizes)
    else:
        spec = make_spec(
            layer=rec["kind"],
            units=int(config["units"]),
            **{k: (int(v) if v is not None else None) for k, v in sizes.items()},
            return_sequences=bool(config.get("return_sequences")),
            return_state=bool(config.get("return_state")),
            stateful=bool(config.get("stateful")),
            go_backwards=bool(config.get("go_backwards")),
            bidirectional=rec["bidirectional"],
            merge_mode=("none" if rec["merge_mode"] is None else rec["merge_mode"]) if rec["bidirectional"] else None,
            lengths=lengths,
            **_cell_options(rec["kind"], config),
        )
    mask = None if lengths is None else np.arange(spec.timesteps)[None, :] < np.asarray(lengths)[:, None]
    if x is not None and mask is not None:
        x = np.where(mask[:, :, None], x, np.float32(0.0)).astype(np.float32)
    keras_layer = model_runner.find_layer(keras_model, row["path"])
    from rnnshape.api._common import run_modes
    from rnnshape.rules.limits import run_passes

    mode, mode_data = run_modes([(spec, run_passes(spec))], spec.keras_call())
    with session_runner.mode(mode):
        result = model_runner.run_model_layer(spec, keras_layer, x, mask)
    data = layer_data(spec, result)
    data["run"] = mode_data
    data["layer_path"] = row["path"]
    data["input"]["source"] = "the model's data (--x) at this layer" if x is not None else "random"
    data["input"]["notes"] = notes + data["input"]["notes"]
    data["keras_call"] = data["keras_call"] + f"  # {row['path']}, with the model's own weights"
    return spec, data
