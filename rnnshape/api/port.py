"""rnnshape.port(): a Keras recurrent layer ported to torch.nn (or a torch.nn state_dict to Keras),
the mapping shown tensor by tensor and proved on numbers: both frameworks run on the same input."""

from __future__ import annotations

import os
from typing import Any

from rnnshape.api._common import make_layer_spec, run_modes
from rnnshape.errors import BackendError, RnnshapeError, UsageError
from rnnshape.model.layer import DEFAULT_MAX_MEMORY_MB, DEFAULT_MAX_SECONDS, canonical_layer
from rnnshape.model.limits import Limits, check_size
from rnnshape.model.port import DIRECTIONS_TO, PORTABLE, Port, check_state_dict, conversion_code, describe_state_dict, refuse_unportable
from rnnshape.results import PortResult
from rnnshape.versions import versions

MAX_TORCH_FILE_BYTES = 1 << 30


def keras_mode(mode: str):
    """The runner's eager/compiled mode for the Keras side of a port."""
    from rnnshape.runner import keras as runner

    return runner.mode(mode)


def port(layer: str = "lstm", units: int | None = None, timesteps: int | None = None, features: int | None = None,
         batch: int | None = None, *, to: str | None = None, from_torch: str | None = None, num_layers: int = 1,
         model: str | None = None, save: str | None = None, code: bool = False,
         return_sequences: bool = False, return_state: bool = False, bidirectional: bool = False,
         merge_mode: str | None = None, reset_after: bool | None = None, activation: str | None = None,
         recurrent_activation: str | None = None, use_bias: bool | None = None, seed: int = 0,
         input: Any = "random", kernel_init: Any = None, recurrent_init: Any = None, bias_init: Any = None,
         max_memory: int = DEFAULT_MAX_MEMORY_MB, max_seconds: int = DEFAULT_MAX_SECONDS) -> PortResult:
    """Port a Keras LSTM/GRU/SimpleRNN (Bidirectional, a stack of ``num_layers``) to torch.nn
    (``to="torch"``), or a torch.nn state_dict file to Keras (``from_torch="FILE.pt"``, ``layer`` its
    kind). Both frameworks run on the same input; every returned tensor is compared (max |diff| <=
    1e-5, else a BackendError in ``result.errors``: exit 3). ``model``: port the layer named
    ``layer`` of that saved Keras model. ``save``: write the converted weights (.pt for torch, a
    .weights.h5 for Keras). ``code``: include a dependency-free conversion function."""
    if to is not None and from_torch is not None:
        raise UsageError("Invalid value for --to/--from: give one direction: --to torch, or --from torch FILE.pt")
    if from_torch is None:
        to = "torch" if to is None else to
    if to is not None and (not isinstance(to, str) or to.lower() not in DIRECTIONS_TO):
        raise UsageError(f"Invalid value for --to: {to!r} is not one of {', '.join(DIRECTIONS_TO)}")
    if model is not None and from_torch is not None:
        raise UsageError("Invalid value for --model: --model ports a layer of a Keras model to torch (--to torch)")
    if model is not None and num_layers != 1:
        raise UsageError("Invalid value for --num-layers: --model ports one layer of the model (its own weights); "
                         "drop --num-layers")
    direction = "to" if to is not None else "from"
    _check_save(save, direction)
    _require_torch()
    options = dict(units=units, timesteps=timesteps, features=features, batch=batch,
                   return_sequences=return_sequences, return_state=return_state, bidirectional=bidirectional,
                   merge_mode=merge_mode, reset_after=reset_after, activation=activation,
                   recurrent_activation=recurrent_activation, use_bias=use_bias, seed=seed, input=input,
                   kernel_init=kernel_init, recurrent_init=recurrent_init, bias_init=bias_init)
    limits = Limits(max_memory, max_seconds)
    if model is not None:
        return _port_model(model, layer, options, save, code, limits)
    if direction == "from":
        return _port_from_torch(from_torch, layer, num_layers, options, save, code, limits)
    spec = make_layer_spec(layer=_kind(layer), **options)
    port_ = Port(spec, num_layers)
    refuse_unportable(spec, num_layers)
    check_size(spec, limits, passes=2 * num_layers)
    from rnnshape.runner import keras_port

    mode, _ = run_modes([(spec, 2 * num_layers)], spec.keras_call())
    with keras_mode(mode):
        keras_run = keras_port.run_stack(spec, num_layers)
    return _finish(port_, "to", keras_run, None, save, code, {"kind": "options"})


def _require_torch() -> None:
    """PyTorch found (not imported) before any Keras work: without it, one line at once."""
    from rnnshape.runner import backend as backends
    from rnnshape.runner.torch import INSTALL

    if not backends.installed("torch"):
        raise BackendError(f"PyTorch is not installed: {INSTALL}")


def _kind(layer: str) -> str:
    kind = canonical_layer(layer)
    if kind not in PORTABLE:
        raise UsageError(f"Invalid value for --layer: port maps LSTM, GRU and SimpleRNN to torch.nn (nn.LSTM, nn.GRU, "
                         f"nn.RNN), not {layer!r}")
    return kind


def _check_save(save: str | None, direction: str) -> None:
    if save is None:
        return
    wanted = (".pt", ".pth") if direction == "to" else (".weights.h5",)
    if not isinstance(save, str) or not save.lower().endswith(wanted) or os.path.isdir(save):
        what = "a torch state_dict file ending in .pt or .pth" if direction == "to" else \
            "a Keras weights file ending in .weights.h5 (Keras' own rule for save_weights)"
        raise UsageError(f"Invalid value for --save: {save!r}: give {what}")


def _finish(port_: Port, direction: str, keras_run: Any, state: dict[str, Any] | None, save: str | None,
            code: bool, source: dict[str, Any]) -> PortResult:
    from rnnshape.measure import port as measured
    from rnnshape.runner import torch as torch_runner

    keras_weights = [array for _, array in keras_run.weights]
    checks = measured.weight_checks(port_, keras_run.weights)
    rules = port_.weight_rules()
    paths = [path for path, _ in keras_run.weights]
    if checks[0].holds:  # show the real paths (a model's own layer names)
        for rule in rules:
            rule["keras"] = paths[rule["keras_index"]]
    else:
        raise BackendError(f"the Keras layer holds weights {[(p, list(a.shape)) for p, a in keras_run.weights]}, "
                           f"not those the mapping reads {port_.keras_weight_paths()}")
    if state is None:
        state = measured.to_torch(port_, keras_weights)
    torch_run = torch_runner.run(port_.layer, port_.torch_constructor(), state, keras_run.input)
    rows, output_checks = measured.compare_outputs(port_, keras_run.outputs, torch_run.outputs)
    checks += output_checks
    spec = port_.spec
    keras_rules = port_.keras_rules()
    for rule in keras_rules:
        index = [p for p, _ in port_.keras_weight_paths()].index(rule["keras"])
        rule["keras"] = paths[index]
    data: dict[str, Any] = {
        "direction": direction,
        "source": source,
        "config": {**spec.config(), "num_layers": port_.num_layers},
        "keras": {"calls": port_.keras_layer_calls() if source["kind"] != "model" else [source["keras_call"]],
                  "input": {"shape": list(spec.input_shape), "axes": list(spec.input_axes),
                            "source": spec.input, "seed": spec.seed},
                  "outputs": [{"name": t.name, "shape": list(t.shape), "axes": list(t.axes), "meaning": t.meaning}
                              for t in spec.outputs()]},
        "torch": {"call": port_.torch_call(), "outputs": port_.torch_outputs(),
                  "state_dict": [{"name": n, "shape": list(s)} for n, s in port_.torch_names()]},
        "weights": ([{k: r[k] for k in ("torch", "torch_shape", "keras", "keras_shape", "how")} for r in rules]
                    if direction == "to" else
                    [{k: r[k] for k in ("keras", "keras_shape", "torch", "how")} for r in keras_rules]),
        "outputs": rows,
        "checks": [c.to_dict() for c in checks],
        "versions": {**versions(), "torch": torch_run.version},
    }
    if code:
        data["code"] = conversion_code(port_, direction)
    if save is not None:
        data["saved"] = _save(port_, direction, state, save, keras_weights)
    errors: list[RnnshapeError] = []
    failed = [c for c in checks if not c.holds]
    if failed:
        worst = failed[0]
        errors.append(BackendError(f"the port does not reproduce Keras: {worst.claim}: max |diff| "
                                   f"{worst.max_abs_diff:.3g} > 1e-5"))
    return PortResult(data, errors)


def _save(port_: Port, direction: str, state: dict[str, Any], path: str, keras_weights: list[Any]) -> dict[str, Any]:
    from rnnshape import files

    if direction == "to":
        from rnnshape.runner import torch as torch_runner

        files.write_bytes(path, torch_runner.state_dict_bytes(state), "--save")
        return {"path": path, "format": "torch state_dict (torch.save)",
                "load": f"module = {port_.torch_call()}; "
                        f"module.load_state_dict(torch.load({path!r}, weights_only=True))"}
    import tempfile

    from rnnshape.runner import keras_port

    with tempfile.TemporaryDirectory() as folder:
        temporary = os.path.join(folder, "port.weights.h5")
        keras_port.weights_file(port_.spec, port_.num_layers, keras_weights, temporary)
        with open(temporary, "rb") as handle:
            files.write_bytes(path, handle.read(), "--save")
    layers = ", ".join(port_.keras_layer_calls())
    return {"path": path, "format": "Keras weights (model.save_weights)",
            "load": f"model = keras.Sequential([keras.Input(shape=(None, {port_.spec.features})), {layers}]); "
                    f"model.load_weights({path!r})"}


def _port_from_torch(path: str, layer: str, num_layers: int, options: dict[str, Any], save: str | None, code: bool,
                     limits: Limits) -> PortResult:
    from rnnshape import files
    from rnnshape.measure import port as measured
    from rnnshape.runner import keras_port
    from rnnshape.runner import torch as torch_runner

    kind = _kind(layer)
    raw = files.read_user_file(path, "torch file", lambda problem: UsageError(f"Invalid value for --from: {path}: "
                                                                              f"{problem}"), MAX_TORCH_FILE_BYTES)
    state = torch_runner.read_state_dict(raw, path)
    found = describe_state_dict({k: tuple(v.shape) for k, v in state.items()})
    for key, value in (("units", found["hidden_size"]), ("features", found["input_size"])):
        if options.get(key) is not None and options[key] != value:
            raise UsageError(f"Invalid value for --{key}: the state_dict fixes it at {value}")
    options = {**options, "units": found["hidden_size"], "features": found["input_size"]}
    if options.get("use_bias") is None:
        options["use_bias"] = found["bias"]
    spec = make_layer_spec(layer=kind, **options)
    port_ = Port(spec, num_layers)
    refuse_unportable(spec, num_layers)
    check_state_dict(port_, {k: tuple(v.shape) for k, v in state.items()})
    check_size(spec, limits, passes=2 * num_layers)
    ordered = {name: state[name] for name, _ in port_.torch_names()}
    weights = measured.to_keras(port_, ordered)
    mode, _ = run_modes([(spec, 2 * num_layers)], spec.keras_call())
    with keras_mode(mode):
        keras_run = keras_port.run_stack(spec, num_layers, weights)
    return _finish(port_, "from", keras_run, ordered, save, code,
                   {"kind": "torch_file", "path": path, "bytes": len(raw)})


def _port_model(path: str, name: str, options: dict[str, Any], save: str | None, code: bool,
                limits: Limits) -> PortResult:
    """The layer ``name`` of a saved model, read with the model command's safety checks."""
    from rnnshape.api.model import _cell_options, _find_row, load_checked_model, read_model_config
    from rnnshape.measure.model import model_data
    from rnnshape.model.layer import make_spec
    from rnnshape.runner import keras as runner
    from rnnshape.runner import keras_port

    try:
        keras_model = load_checked_model(path, read_model_config(path))
    except UsageError as exc:
        raise UsageError(f"Invalid value for --model: {exc.message}") from exc
    rows = model_data(runner.walk_model(keras_model), {"kind": "file", "path": path})["layers"]
    row = _find_row(rows, name)
    rec, config = row["recurrent"], row["recurrent"]["config"]
    shape = row["input_shapes"][0]
    fixed = {"features": shape[-1], "timesteps": shape[1] if len(shape) == 3 else None}
    sizes = {key: options[key] if options.get(key) is not None else fixed.get(key)
             for key in ("timesteps", "features", "batch")}
    if fixed["features"] is not None and sizes["features"] != fixed["features"]:
        raise UsageError(f"Invalid value for --features: the layer {name!r} reads {fixed['features']} features")
    spec = make_spec(layer=rec["kind"], units=int(config["units"]), **{k: v for k, v in sizes.items() if v is not None},
                     return_sequences=bool(config.get("return_sequences")), return_state=bool(config.get("return_state")),
                     stateful=bool(config.get("stateful")), go_backwards=bool(config.get("go_backwards")),
                     bidirectional=rec["bidirectional"], seed=options["seed"], input=options["input"],
                     merge_mode=("none" if rec["merge_mode"] is None else rec["merge_mode"]) if rec["bidirectional"] else None,
                     **_cell_options(rec["kind"], config))
    refuse_unportable(spec, 1, option="--layer")
    check_size(spec, limits, passes=2)
    port_ = Port(spec, 1, keras_names=(row["name"],))
    keras_run = keras_port.run_layer(runner.find_layer(keras_model, row["path"]), spec)
    return _finish(port_, "to", keras_run, None, save, code,
                   {"kind": "model", "path": path, "layer": row["path"],
                    "keras_call": f"{spec.keras_call()}  # {row['path']} of {os.path.basename(path)}, its own weights"})
