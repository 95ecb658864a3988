"""rnnshape.why(): a Keras shape error read, recognised, explained in rnnshape's words, and each
fix built as a stack (with Keras, or by the pure model under ``static``)."""

from __future__ import annotations

from typing import Any

from rnnshape.api._common import documented
from rnnshape.errors import RnnshapeError, UsageError
from rnnshape.results import WhyResult
from rnnshape.rules.kinds import PLAIN_BY_KERAS_CLASS
from rnnshape.rules.why import recognise
from rnnshape.rules.why_diagnosis import Diagnosis, Fix
from rnnshape.rules.why_targets import sequence_target
from rnnshape.rules.words import shape_text
from rnnshape.versions import versions


@documented(
    text="the pasted error text (or a whole log)",
    file="read the error from this file instead",
    model="a saved model file whose targets y are judged (with y)",
    y="the targets file (.npy) the model is trained on (with model)",
    keras="build each fix with Keras (imports TensorFlow: seconds) instead of rnnshape's rules, which agree "
    "with Keras on every stack the tests build and answer in well under a second",
)
def why(
    text: str | None = None,
    *,
    file: str | None = None,
    model: str | None = None,
    y: str | None = None,
    keras: bool = False,
) -> WhyResult:
    """Find the Keras shape error in ``text`` (a message or a whole log; or the ``file`` it is in),
    or the silent broadcast of a saved ``model`` trained against the array ``y`` (a .npy file).
    Text with no known Keras shape error raises NoShapeError (exit 1). Each fix is built as a stack
    by rnnshape's rules (``data["static"]``), or with Keras when ``keras`` is true."""
    sources = [name for name, value in (("TEXT", text), ("--file", file), ("--model", model)) if value is not None]
    if (model is None) != (y is None):
        raise UsageError("Invalid value for --model/--y: give both, --model FILE.keras --y Y.npy")
    if len(sources) > 1:
        raise UsageError(f"give one of TEXT, --file LOG or --model FILE.keras --y Y.npy, not {' and '.join(sources)}")
    if not sources:
        raise UsageError(
            "Missing TEXT: paste the error message, pipe a log (python train.py 2>&1 | rnnshape why), "
            "or give --file LOG or --model FILE.keras --y Y.npy"
        )
    from rnnshape import files

    if model is not None:
        diagnosis, source = _model_diagnosis(model, y), "model"
    else:
        if file is not None:
            text = files.read_log(file)
        diagnosis, source = recognise(str(text)), ("file" if file is not None else "text")
    static = not keras
    fixes = [_built(fix, static) for fix in diagnosis.fixes]
    data: dict[str, Any] = {
        **diagnosis.to_dict(),
        "source": source,
        "static": static,
        "fixes": fixes,
        "versions": versions(),
    }
    errors: list[RnnshapeError] = []
    for number, fix in enumerate(fixes, start=1):
        if fix["built"]["exit_code"] not in (0, 2):  # 2: numbers beyond rnnshape's limits, said in the fix
            from rnnshape.errors import BackendError, ExpectationFailed

            if fix["built"]["exit_code"] == 3:  # TensorFlow missing or failing: exit 3 with its own message, once
                if not any(isinstance(error, BackendError) for error in errors):
                    errors.append(BackendError(fix["built"].get("error", "TensorFlow/Keras failed")))
                continue
            errors.append(
                ExpectationFailed(
                    f"fix {number} ({fix['command']}) did not build: {fix['built'].get('error', 'incompatible stack')}"
                )
            )
    return WhyResult(data, errors)


def _model_diagnosis(model: str, y: str) -> Diagnosis:
    """The saved model's output against the targets y, judged by the one rule of model --y
    (measure/targets.py): the file's recorded loss (or the named assumption) computed on y as
    given and reshaped to the output's shape, on a seeded stand-in for the predictions."""
    import dataclasses

    from rnnshape import files

    if not str(y).lower().endswith(".npy"):
        files.npy_shape(y)  # the option's own message: --y takes a .npy file here
    targets = files.load_data_array(y, "--y").array
    y_shape = tuple(int(d) for d in targets.shape)
    from rnnshape.api.model import load_checked_model, read_model_config, recorded_loss
    from rnnshape.measure.model import layer_rows
    from rnnshape.measure.targets import judge, loss_choice, stand_in_prediction, verdict_text
    from rnnshape.rules.targets import output_activation, target_diagnosis_for_why
    from rnnshape.runner import model as model_runner

    try:  # the one way a user's model is loaded: Lambda and custom classes refused before anything runs
        saved = read_model_config(model)
        keras_model = load_checked_model(model, saved)
    except UsageError as exc:
        text = (
            exc.message
            if exc.message.startswith("Invalid value for --model")
            else (f"Invalid value for --model: {exc.message}")
        )
        raise UsageError(text) from exc
    loaded = model_runner.model_summary(keras_model)
    rows = layer_rows(model_runner.walk_model(keras_model))
    prediction = stand_in_prediction(loaded.output_shape, y_shape, loaded.input_shape, output_activation(rows))
    verdict = judge(
        targets,
        prediction,
        loss_choice(recorded_loss(saved.config), "recorded in the file's compile config", rows),
        model_runner.loss_probe,
    )
    measured = verdict_text(verdict, "y")
    output_text = shape_text(tuple("None" if d is None else d for d in loaded.output_shape))
    if verdict["agree"]:
        from rnnshape.rules.why_diagnosis import NoShapeError

        raise NoShapeError(
            f"no Keras shape error found: the model {loaded.name!r} returns {output_text} and y is "
            f"{shape_text(y_shape)}; {measured}"
        )
    recurrent = [
        (PLAIN_BY_KERAS_CLASS[layer["class"]], int(layer["units"]), layer["return_sequences"])
        for layer in loaded.layers
        if layer["class"] in PLAIN_BY_KERAS_CLASS and layer["units"]
    ]
    head = next((layer["units"] for layer in reversed(loaded.layers) if layer["class"] == "Dense"), None)
    found = (
        sequence_target(loaded.name, loaded.output_shape, y_shape, recurrent, head, loaded.input_shape)
        if verdict["verdict"] == "broadcast"
        else None
    )
    if found is not None:
        return dataclasses.replace(found, evidence=measured)
    return target_diagnosis_for_why(loaded.name, output_text, verdict, measured)


def _built(fix: Fix, static: bool) -> dict[str, Any]:
    """The fix as data, with the stack built (Keras, or the pure model with ``static``)."""
    from rnnshape.api.stack import stack

    entry: dict[str, Any] = {
        "cause": fix.cause,
        "title": fix.title,
        "code": fix.code,
        "tokens": fix.tokens.split(),
        "command": fix.command(),
        "timesteps": fix.timesteps,
        "features": fix.features,
        "batch": fix.batch,
        "assumed": list(fix.assumed),
        "note": fix.note,
    }
    if fix.layer:  # a ConvLSTM fix: the layer itself, built by `rnnshape inspect`
        entry["tokens"] = []
        entry["built"] = _built_layer(dict(fix.layer), static)
        return entry
    too_large = None
    try:
        result = stack(fix.tokens, timesteps=fix.timesteps, features=fix.features, batch=fix.batch, static=static)
    except RnnshapeError as exc:
        if static or exc.exit_code != 2:
            entry["built"] = {"exit_code": int(exc.exit_code), "error": exc.message, "static": static}
            return entry
        # the size guard refuses to build sizes this large (the message's own numbers): the rules answer
        too_large = exc.message
        try:
            result = stack(fix.tokens, timesteps=fix.timesteps, features=fix.features, batch=fix.batch, static=True)
        except RnnshapeError as again:
            entry["built"] = {"exit_code": int(again.exit_code), "error": again.message, "static": True}
            return entry
    data = result.to_dict()
    entry["built"] = {
        "exit_code": result.exit_code,
        "static": static or too_large is not None,
        "compatible": data["compatible"],
        "input_shape": data["input"]["shape"],
        "input_axes": data["input"]["axes"],
        "output_shape": data["output"]["shape"] if data["compatible"] else None,
        "output_axes": data["output"]["axes"] if data["compatible"] else None,
        "layers": [
            {"spec": layer["spec"], "output_shape": layer["output_shape"], "output_axes": layer["output_axes"]}
            for layer in data["layers"]
        ],
        "checks_hold": all(check["holds"] for check in data["checks"]),
    }
    if too_large is not None:
        entry["built"]["not_run"] = f"too large to build here, shapes by rnnshape's rules: {too_large}"
    if result.errors:
        entry["built"]["error"] = result.errors[0].message
    return entry


def _built_layer(options: dict[str, Any], static: bool) -> dict[str, Any]:
    """A ConvLSTM fix built as the layer alone (Keras, or the rules with ``static``); a size the guard
    refuses is answered by the rules, a kernel larger than the map is exit 2 with inspect's reason."""
    from rnnshape.api.inspect import inspect

    layer = options.pop("layer")
    not_run = None
    try:
        result = inspect(layer, static=static, **options)
    except RnnshapeError as exc:
        if static or exc.exit_code != 2 or "larger than" in exc.message:
            return {"exit_code": int(exc.exit_code), "error": exc.message, "static": static}
        not_run = exc.message
        try:
            result = inspect(layer, static=True, **options)
        except RnnshapeError as again:
            return {"exit_code": int(again.exit_code), "error": again.message, "static": True}
    data = result.to_dict()
    output = data["outputs"][0]
    built = {
        "exit_code": result.exit_code,
        "static": static or not_run is not None,
        "compatible": True,
        "input_shape": data["input"]["shape"],
        "input_axes": data["input"]["axes"],
        "output_shape": output["shape"],
        "output_axes": output["axes"],
        "layers": [{"spec": layer, "output_shape": output["shape"], "output_axes": output["axes"]}],
        "checks_hold": all(check.get("holds", True) for check in data.get("checks", [])),
    }
    if not_run is not None:
        built["not_run"] = f"too large to build here, shapes by rnnshape's rules: {not_run}"
    return built
