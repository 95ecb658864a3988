"""rnnshape.port(): a Keras recurrent layer ported to torch.nn (or a torch.nn state_dict to Keras),
the mapping shown tensor by tensor and proved on numbers: both frameworks run on the same input."""

from __future__ import annotations

import os
from typing import Any

from rnnshape.api._common import documented, make_layer_spec, run_modes
from rnnshape.errors import BackendError, RnnshapeError, UsageError
from rnnshape.results import PortResult
from rnnshape.rules.catalogue import canonical_layer
from rnnshape.rules.cost import DEFAULT_MAX_MEMORY_MB, DEFAULT_MAX_SECONDS
from rnnshape.rules.limits import Limits, check_size
from rnnshape.rules.port import DIRECTIONS_TO, PORTABLE, TORCH_CLASS, Port, conversion_code, refuse_unportable
from rnnshape.rules.port_sources import (
    SavedLayer,
    check_state_dict,
    describe_state_dict,
    find_saved_layer,
    kind_of_state_dict,
    recurrent_paths,
    saved_layer,
    saved_layers,
    state_dict_options,
)
from rnnshape.versions import versions

MAX_TORCH_FILE_BYTES = 1 << 30


def keras_mode(mode: str):
    """The runner's eager/compiled mode for the Keras side of a port."""
    from rnnshape.runner import session as session_runner

    return session_runner.mode(mode)


@documented(
    to="port the Keras layer to this framework: 'torch' (None: torch, unless from_torch)",
    from_torch="a torch state_dict file (.pt) to port to Keras instead",
    num_layers="a stack of this many layers of the same kind (torch.nn's num_layers; None: 1, or the file's)",
    model="port the layer named layer of this saved Keras model (read in safe mode)",
    save="write the converted weights: a .pt state_dict (to torch) or a .weights.h5 file (from torch)",
    code="also give the conversion as a short Python function",
    layer="the layer kind to build ('lstm', 'gru', 'simplernn'), or with model the name of the model's layer (None: lstm, or the state_dict's kind)",
)
def port(
    layer: str | None = None,
    units: int | None = None,
    timesteps: int | None = None,
    features: int | None = None,
    batch: int | None = None,
    *,
    to: str | None = None,
    from_torch: str | None = None,
    num_layers: int | None = None,
    model: str | None = None,
    save: str | None = None,
    code: bool = False,
    return_sequences: bool = False,
    return_state: bool = False,
    bidirectional: bool | None = None,
    merge_mode: str | None = None,
    reset_after: bool | None = None,
    activation: str | None = None,
    recurrent_activation: str | None = None,
    use_bias: bool | None = None,
    seed: int = 0,
    input_data: Any = "random",
    kernel_init: Any = None,
    recurrent_init: Any = None,
    bias_init: Any = None,
    max_memory: int = DEFAULT_MAX_MEMORY_MB,
    max_seconds: int = DEFAULT_MAX_SECONDS,
) -> PortResult:
    """Port a Keras LSTM/GRU/SimpleRNN (Bidirectional, a stack of ``num_layers``) to torch.nn
    (``to="torch"``; ``layer`` defaults to "lstm"), or a torch.nn state_dict file to Keras
    (``from_torch="FILE.pt"``: its kind, layers, directions, bias and sizes are read from the file;
    an option that contradicts the file is a UsageError). Both frameworks run on the same input;
    every returned tensor is compared (max |diff| <= 1e-5, else a BackendError in
    ``result.errors``: exit 3). ``model``: port the layer named ``layer`` of that saved Keras model
    with its whole saved config (activation, use_bias, flags, Bidirectional merge mode); what
    torch.nn cannot compute is a UsageError naming the layer's setting, decided from the saved
    config before TensorFlow is imported. ``save``: write the converted weights (.pt for torch, a
    .weights.h5 for Keras). ``code``: include a dependency-free conversion function."""
    if to is not None and from_torch is not None:
        raise UsageError("Invalid value for --to/--from: give one direction: --to torch, or --from torch FILE.pt")
    if from_torch is None:
        to = "torch" if to is None else to
    if to is not None and (not isinstance(to, str) or to.lower() not in DIRECTIONS_TO):
        raise UsageError(f"Invalid value for --to: {to!r} is not one of {', '.join(DIRECTIONS_TO)}")
    if model is not None and from_torch is not None:
        raise UsageError("Invalid value for --model: --model ports a layer of a Keras model to torch (--to torch)")
    if model is not None and num_layers not in (None, 1):
        raise UsageError(
            "Invalid value for --num-layers: --model ports one layer of the model (its own weights); drop --num-layers"
        )
    direction = "to" if to is not None else "from"
    _check_save(save, direction)
    _require_torch()
    options = dict(
        units=units,
        timesteps=timesteps,
        features=features,
        batch=batch,
        return_sequences=return_sequences,
        return_state=return_state,
        bidirectional=bidirectional,
        merge_mode=merge_mode,
        reset_after=reset_after,
        activation=activation,
        recurrent_activation=recurrent_activation,
        use_bias=use_bias,
        seed=seed,
        input=input_data,
        kernel_init=kernel_init,
        recurrent_init=recurrent_init,
        bias_init=bias_init,
    )
    limits = Limits(max_memory, max_seconds)
    if model is not None:
        return _port_model(model, layer, options, save, code, limits)
    if direction == "from":
        return _port_from_torch(from_torch, layer, num_layers, options, save, code, limits)
    num_layers = 1 if num_layers is None else num_layers
    spec = make_layer_spec(layer=_kind("lstm" if layer is None else layer), **options)
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
        raise UsageError(
            f"Invalid value for --layer: port maps LSTM, GRU and SimpleRNN to torch.nn (nn.LSTM, nn.GRU, "
            f"nn.RNN), not {layer!r}"
        )
    return kind


def _check_save(save: str | None, direction: str) -> None:
    if save is None:
        return
    wanted = (".pt", ".pth") if direction == "to" else (".weights.h5",)
    if not isinstance(save, str) or not save.lower().endswith(wanted) or os.path.isdir(save):
        what = (
            "a torch state_dict file ending in .pt or .pth"
            if direction == "to"
            else "a Keras weights file ending in .weights.h5 (Keras' own rule for save_weights)"
        )
        raise UsageError(f"Invalid value for --save: {save!r}: give {what}")


def _finish(
    port_: Port,
    direction: str,
    keras_run: Any,
    state: dict[str, Any] | None,
    save: str | None,
    code: bool,
    source: dict[str, Any],
) -> PortResult:
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
        raise BackendError(
            f"the Keras layer holds weights {[(p, list(a.shape)) for p, a in keras_run.weights]}, "
            f"not those the mapping reads {port_.keras_weight_paths()}"
        )
    if state is None:
        state = measured.to_torch(port_, keras_weights)
    torch_input = keras_run.input[:, ::-1] if port_.torch_input() != "x" else keras_run.input
    torch_run = torch_runner.run(port_.layer, port_.torch_constructor(), state, torch_input)
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
        "keras": {
            "calls": port_.keras_layer_calls() if source["kind"] != "model" else [source["keras_call"]],
            "input": {
                "shape": list(spec.input_shape),
                "axes": list(spec.input_axes),
                "source": spec.input,
                "seed": spec.seed,
            },
            "outputs": [
                {"name": t.name, "shape": list(t.shape), "axes": list(t.axes), "meaning": t.meaning}
                for t in spec.outputs()
            ],
        },
        "torch": {
            "call": port_.torch_call(),
            "input": port_.torch_input(),
            "outputs": port_.torch_outputs(),
            "state_dict": [{"name": n, "shape": list(s)} for n, s in port_.torch_names()],
        },
        "weights": (
            [{k: r[k] for k in ("torch", "torch_shape", "keras", "keras_shape", "how")} for r in rules]
            if direction == "to"
            else [{k: r[k] for k in ("keras", "keras_shape", "torch", "how")} for r in keras_rules]
        ),
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
        errors.append(
            BackendError(
                f"the port does not reproduce Keras: {worst.claim}: max |diff| {worst.max_abs_diff:.3g} > 1e-5"
            )
        )
    return PortResult(data, errors)


def _save(port_: Port, direction: str, state: dict[str, Any], path: str, keras_weights: list[Any]) -> dict[str, Any]:
    from rnnshape import files

    if direction == "to":
        from rnnshape.runner import torch as torch_runner

        files.write_bytes(path, torch_runner.state_dict_bytes(state), "--save")
        return {
            "path": path,
            "format": "torch state_dict (torch.save)",
            "load": f"module = {port_.torch_call()}; module.load_state_dict(torch.load({path!r}, weights_only=True))",
        }
    import tempfile

    from rnnshape.runner import keras_port

    with tempfile.TemporaryDirectory() as folder:
        temporary = os.path.join(folder, "port.weights.h5")
        keras_port.weights_file(port_.spec, port_.num_layers, keras_weights, temporary)
        with open(temporary, "rb") as handle:
            files.write_bytes(path, handle.read(), "--save")
    layers = ", ".join(port_.keras_layer_calls())
    return {
        "path": path,
        "format": "Keras weights (model.save_weights)",
        "load": f"model = keras.Sequential([keras.Input(shape=(None, {port_.spec.features})), {layers}]); "
        f"model.load_weights({path!r})",
    }


def _port_from_torch(
    path: str,
    layer: str | None,
    num_layers: int | None,
    options: dict[str, Any],
    save: str | None,
    code: bool,
    limits: Limits,
) -> PortResult:
    """A torch.nn state_dict file: what it holds (kind, layers, directions, bias, sizes) is taken
    from the file; an option that says otherwise is refused, naming both."""
    from rnnshape import files
    from rnnshape.measure import port as measured
    from rnnshape.runner import keras_port
    from rnnshape.runner import torch as torch_runner

    kind = None if layer is None else _kind(layer)
    raw = files.read_user_file(
        path,
        "torch file",
        lambda problem: UsageError(f"Invalid value for --from: {path}: {problem}"),
        MAX_TORCH_FILE_BYTES,
    )
    state = torch_runner.read_state_dict(raw, path)
    shapes = {k: tuple(v.shape) for k, v in state.items()}
    found = describe_state_dict(shapes)
    name = os.path.basename(path)
    held = kind_of_state_dict(found, path)
    if kind is not None and kind != held:
        raise UsageError(
            f"Invalid value for --layer: {layer} contradicts {name}, a torch.nn.{TORCH_CLASS[held]} "
            f"state_dict (weight_ih_l0 holds {found['gate_rows'] // found['hidden_size']} gate blocks of "
            f"hidden_size {found['hidden_size']}): drop --layer, or give --layer {held}"
        )
    kind = held
    fixed = state_dict_options(found, name)
    options = dict(options)
    for key, (value, option, words) in fixed.items():
        given = num_layers if key == "num_layers" else options.get(key)
        if given is not None and given != value:
            shown = given if not isinstance(given, bool) else ""
            raise UsageError(
                f"Invalid value for {option(given)}: {f'{shown} ' if shown != '' else ''}contradicts "
                f"{name}, whose state_dict holds {words}: drop {option(given)}"
            )
        if key == "num_layers":
            num_layers = value
        else:
            options[key] = value
    spec = make_layer_spec(layer=kind, **options)
    port_ = Port(spec, num_layers)
    refuse_unportable(spec, num_layers)
    check_state_dict(port_, shapes)
    check_size(spec, limits, passes=2 * num_layers)
    ordered = {name: state[name] for name, _ in port_.torch_names()}
    weights = measured.to_keras(port_, ordered)
    mode, _ = run_modes([(spec, 2 * num_layers)], spec.keras_call())
    with keras_mode(mode):
        keras_run = keras_port.run_stack(spec, num_layers, weights)
    return _finish(
        port_, "from", keras_run, ordered, save, code, {"kind": "torch_file", "path": path, "bytes": len(raw)}
    )


# the options the --model layer fixes, with their option names
_FIXED_BY_LAYER = {
    "units": "--units",
    "bidirectional": "--bidirectional",
    "merge_mode": "--merge-mode",
    "reset_after": "--reset-after",
    "activation": "--activation",
    "recurrent_activation": "--recurrent-activation",
    "use_bias": "--use-bias",
    "return_sequences": "--return-sequences",
    "return_state": "--return-state",
}


def _refuse_options(layer: SavedLayer, options: dict[str, Any], path: str) -> None:
    """--model ports the layer as saved: an option that says otherwise is refused (exit 2)."""
    own = layer.spec_options()
    for key, option in _FIXED_BY_LAYER.items():
        given = options.get(key)
        if given is None or (key in ("return_sequences", "return_state") and given is False):
            continue
        value = own.get(key)
        if key == "merge_mode" and isinstance(given, str):
            given = given.lower()
        if key in ("activation", "recurrent_activation") and isinstance(given, str):
            given = given.lower()
        if given != value:
            shown = option if not isinstance(given, bool) or given else option.replace("--", "--no-", 1)
            raise UsageError(
                f"Invalid value for {shown}: layer {layer.path!r} of {os.path.basename(path)} has "
                f"{key}={value!r}; with --model the layer's own settings are ported: drop {shown}"
            )
    for key, option in (
        ("kernel_init", "--kernel-init"),
        ("recurrent_init", "--recurrent-init"),
        ("bias_init", "--bias-init"),
    ):
        if options.get(key) is not None:
            raise UsageError(
                f"Invalid value for {option}: with --model the layer's own weights are ported: drop {option}"
            )


def _input_file(options: dict[str, Any]) -> Any:
    """The --input file (read now, before Keras), or None for a generated input."""
    from rnnshape.rules.spec import input_file_name

    name = input_file_name(options.get("input"))
    if name is None:
        return None
    from rnnshape.files import file_input

    return file_input(name)


def _port_model(
    path: str, name: str | None, options: dict[str, Any], save: str | None, code: bool, limits: Limits
) -> PortResult:
    """The layer ``name`` of a saved model with its whole saved config, read with the model
    command's safety checks. What torch.nn cannot compute is refused from the file's config
    before TensorFlow is imported."""
    from rnnshape.api.model import load_checked_model, read_model_config

    try:
        saved = read_model_config(path)
    except UsageError as exc:
        raise UsageError(f"Invalid value for --model: {exc.message}") from exc
    recurrent = recurrent_paths(saved.config)
    if name is None:
        raise UsageError(
            f"Invalid value for --layer: with --model, give the name of the layer to port (this "
            f"model's recurrent layers: {', '.join(recurrent) or 'none'})"
        )
    found = find_saved_layer(saved.config, name)
    known = saved_layers(saved.config)
    if found is None and known and not any(path == name or path.rsplit("/", 1)[-1] == name for path, _ in known):
        raise UsageError(
            f"Invalid value for --layer: {name!r} is not a layer of this model (its recurrent layers: "
            f"{', '.join(recurrent) or 'none'})"
        )
    if found is not None:
        layer = saved_layer(found[0], found[1], recurrent)  # the refusals, from the file alone
        _refuse_options(layer, options, path)
        _check_features(layer.path, _saved_features(found[1]), options, path)
    input_file = _input_file(options)
    if found is not None and input_file is not None:
        _check_input(layer.path, _saved_features(found[1]), input_file)

    from rnnshape.measure.model import model_data
    from rnnshape.runner import keras_port
    from rnnshape.runner import model as model_runner

    try:
        keras_model = load_checked_model(path, saved)
    except UsageError as exc:
        raise UsageError(f"Invalid value for --model: {exc.message}") from exc
    rows = model_data(model_runner.walk_model(keras_model), {"kind": "file", "path": path})["layers"]
    matches = [row for row in rows if row["path"] == name] or [row for row in rows if row["name"] == name]
    listed = ", ".join(row["path"] for row in rows if row["recurrent"]) or "none"
    if len(matches) != 1:
        problem = "is not a layer of this model" if not matches else "names several layers; give its path"
        raise UsageError(f"Invalid value for --layer: {name!r} {problem} (its recurrent layers: {listed})")
    row = matches[0]
    keras_layer = model_runner.find_layer(keras_model, row["path"])
    # the live layer's own config decides (the same rules as the file's)
    layer = saved_layer(row["path"], keras_port.layer_config(keras_layer), listed.split(", "))
    _refuse_options(layer, options, path)
    shape = row["input_shapes"][0]
    features = shape[-1] if len(shape) == 3 else None
    _check_features(layer.path, features, options, path)
    sizes: dict[str, Any] = {"timesteps": options.get("timesteps"), "batch": options.get("batch")}
    if input_file is not None:
        _check_input(layer.path, features, input_file)
    else:
        sizes["features"] = features
        if sizes["timesteps"] is None and len(shape) == 3 and shape[1] is not None:
            sizes["timesteps"] = shape[1]
    spec = make_layer_spec(
        **layer.spec_options(),
        **{k: v for k, v in sizes.items() if v is not None},
        seed=options["seed"],
        input=options["input"],
    )
    refuse_unportable(spec, 1, option="--layer")
    check_size(spec, limits, passes=2)
    port_ = Port(spec, 1, keras_names=(row["name"],))
    keras_run = keras_port.run_layer(keras_layer, spec)
    return _finish(
        port_,
        "to",
        keras_run,
        None,
        save,
        code,
        {
            "kind": "model",
            "path": path,
            "layer": row["path"],
            "keras_call": f"{layer.keras_call}  # {row['path']} of {os.path.basename(path)}, its own weights",
        },
    )


def _saved_features(obj: dict[str, Any]) -> int | None:
    """The features a saved layer was built for (Keras 3's build_config), when the file says."""
    build = obj.get("build_config")
    shape = build.get("input_shape") if isinstance(build, dict) else None
    if isinstance(shape, list) and len(shape) == 3 and isinstance(shape[-1], int):
        return shape[-1]
    return None


def _check_features(path: str, features: int | None, options: dict[str, Any], model: str) -> None:
    given = options.get("features")
    if features is not None and given is not None and given != features:
        raise UsageError(
            f"Invalid value for --features: {given} contradicts layer {path!r} of "
            f"{os.path.basename(model)}, which reads {features} features per step: drop --features"
        )


def _check_input(path: str, features: int | None, input_file: Any) -> None:
    shape = tuple(input_file.shape)
    if features is not None and shape[-1] != features:
        raise UsageError(
            f"Invalid value for --input: {input_file.path} holds {shape[-1]} features per step (shape "
            f"{shape} as [batch, timesteps, features]); layer {path!r} reads {features}"
        )
