"""An old model file (a full model in HDF5 saved by Keras 1, Keras 2 or tf.keras / tf-keras)
explained anyway: which Keras saved it, its config translated and the equivalent Keras 3 model
rebuilt with the file's own weights, every changed meaning measured, and the rebuilt model's
outputs checked against tf_keras' own load of the file when tf_keras is installed."""

from __future__ import annotations

from typing import Any

from rnnshape.errors import UsageError
from rnnshape.rules import legacy as rules

NOT_CHECKED = 'tf_keras is not installed (pip install "rnnshape[legacy]"): the conversion was not checked'


def load_model(path: str, saved: Any, xs: list[Any] | None = None, check: bool = True) -> tuple[Any, dict | None]:
    """The Keras 3 model of a checked model file and, for an old HDF5 file, what its rebuild
    measured (the ``source.legacy`` object of --json); ``(model, None)`` for a Keras 3 file,
    loaded by Keras in safe mode. ``check=False`` skips the measurements (why, port)."""
    from rnnshape import model_files
    from rnnshape.runner import model as model_runner

    if saved.format != "h5":
        return model_runner.load_model_file(path), None
    version, backend = model_files.h5_versions(path)
    if not rules.needs_rebuild(version):
        return model_runner.load_model_file(path), None
    from rnnshape.runner import legacy as rebuilder

    who = rules.saved_by(version, backend)
    major = rules.keras_major(version)
    try:
        config, changes = rules.translate(saved.config, version)
    except rules.LegacyError as exc:
        raise UsageError(f"{path}: saved by {who}: {exc}") from None
    stored = model_files.read_legacy_h5(path)
    try:
        rebuilt = rebuilder.rebuild(config, stored, major)
    except UsageError as exc:
        raise UsageError(f"{path}: saved by {who}: {exc.args[0] if exc.args else exc}") from None
    info: dict[str, Any] = {
        "keras_version": version,
        "backend": backend,
        "saved_by": who,
        "keras_major": major,
        "changes": changes,
        "converted_weights": sorted(set(rebuilt.converted)),
        "scaled_weights": rebuilt.scaled,
    }
    loss = (stored.training_config or {}).get("loss")
    if isinstance(loss, str):  # the loss the old file was compiled with: model --y judges the targets with it
        info["loss"] = loss
    if check:
        info.update(_measure(path, config, stored, major, rebuilt, xs, changes))
    return rebuilt.model, info


def _measure(
    path: str,
    config: dict[str, Any],
    stored: Any,
    major: int,
    rebuilt: Any,
    xs: list[Any] | None,
    changes: list[dict[str, Any]],
) -> dict[str, Any]:
    from rnnshape.measure.checks import EQUAL_TOLERANCE, max_abs_diff
    from rnnshape.runner import legacy as rebuilder

    inputs, source = _inputs(rebuilt.model, xs)
    ours = rebuilder.predict(rebuilt.model, inputs)
    out: dict[str, Any] = {"input": source}
    if rebuilt.scaled:
        plain = rebuilder.rebuild(config, stored, major, restore=False)
        diff = max(max_abs_diff(a, b) for a, b in zip(ours, rebuilder.predict(plain.model, inputs)))
        out["meaning"] = {
            "settings": rebuilt.scaled,
            "max_abs_diff": diff,
            "text": f"Keras 3's hard_sigmoid would change the model's outputs by up to {diff:.3g} on "
            f"this input (measured: the same weights unscaled); rnnshape's rebuild restores "
            "Keras 2's clip(0.2x+0.5, 0, 1)",
        }
    unrestored = [f"{c['layer']}.{c['setting']}" for c in changes if c["kind"] == "meaning" and not c["restored"]]
    theirs = rebuilder.tf_keras_predictions(path, inputs)
    if theirs is None:
        out["tf_keras"] = {"checked": False, "text": NOT_CHECKED}
        return out
    version, predictions, problem = theirs
    if predictions is None:
        out["tf_keras"] = {
            "checked": False,
            "version": version,
            "text": f"tf_keras {version} cannot run this file here ({problem}): the conversion was not checked",
        }
        return out
    diff = max(max_abs_diff(a, b) for a, b in zip(ours, predictions)) if len(ours) == len(predictions) else float("inf")
    holds = diff <= EQUAL_TOLERANCE
    if unrestored:
        text = (
            f"the rebuilt model's outputs differ from tf_keras {version}'s own load of the file by up to "
            f"{diff:.3g} on this input: Keras 3's meaning of {', '.join(unrestored)} is kept (not restorable)"
        )
    else:
        text = (
            f"the rebuilt model's outputs {'equal' if holds else 'differ from'} tf_keras {version}'s own load of "
            f"the file (max |difference| {diff:.3g}, tolerance {EQUAL_TOLERANCE:g})"
        )
    out["tf_keras"] = {
        "checked": True,
        "version": version,
        "max_abs_diff": diff,
        "tolerance": EQUAL_TOLERANCE,
        "holds": holds or bool(unrestored),
        "expected_difference": unrestored,
        "text": text,
    }
    return out


def _inputs(model: Any, xs: list[Any] | None) -> tuple[list[Any], str]:
    """--x when it fits the model's inputs, else rnnshape's deterministic input."""
    import numpy as np

    from rnnshape.runner import legacy as rebuilder

    probe = rebuilder.probe_inputs(model)
    if (
        xs
        and len(xs) == len(probe)
        and all(
            np.ndim(x) == p.ndim and all(a == b or i <= 1 for i, (a, b) in enumerate(zip(np.shape(x), p.shape)))
            for x, p in zip(xs, probe)
        )
    ):
        return [np.asarray(x).astype(p.dtype) for x, p in zip(xs, probe)], "--x"
    shapes = ", ".join(str(tuple(p.shape)) for p in probe)
    return probe, f"rnnshape's deterministic input {shapes} (seed 0)"


def save_model(model: Any, path: str) -> dict[str, Any]:
    """--save: the Keras 3 model written as a .keras file, atomically."""
    from rnnshape import files
    from rnnshape.runner import legacy as rebuilder

    content = rebuilder.keras_file_bytes(model)
    files.write_bytes(path, content, "--save")
    return {"path": path, "bytes": len(content)}


def check_save_path(save: str | None, inputs: dict[str, str | None]) -> None:
    """--save before anything runs: a .keras name, never one of the input files."""
    from rnnshape import files

    if save is None:
        return
    files.refuse_same_files(inputs, {"--save": save})
    if not save.lower().endswith(".keras"):
        raise UsageError(
            f"Invalid value for --save: {save!r} does not end in .keras (the Keras 3 format the "
            "converted model is written in)"
        )
