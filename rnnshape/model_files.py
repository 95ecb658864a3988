"""A user's model file, read before Keras sees it: its format decided by its name as Keras decides
it, its content checked against that name, a .keras zip bounded before anything is inflated, the
saved config parsed safely (depth, size), and an old HDF5 file's attributes and weights read
with h5py (numbers only, never a pickle).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rnnshape.errors import UsageError

if TYPE_CHECKING:
    import numpy as np


# ---- a model file (rnnshape model FILE) -------------------------------------------------------
ZIP_MAGIC = b"PK\x03\x04"


HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


DEFAULT_MAX_FILE_BYTES = 2 * 2**30  # --max-file-size default: 2 GiB


@dataclass(frozen=True)
class ModelFile:
    """What was read of a model file before Keras sees it: its format and its saved config."""

    path: str
    format: str  # "keras" (the zip of Keras 3) or "h5" (legacy HDF5)
    size: int
    config: dict[str, Any]  # the model's saved config (config.json, or the h5 model_config attribute)


def _model_file_error(path: str, problem: str) -> UsageError:
    return UsageError(f"{path}: {problem}")


def read_model_file(path: str, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> ModelFile:
    """Read a model file's saved config without running anything in it: only a regular file, at
    most ``max_bytes``, whose format is decided as Keras decides it (by the name: ``.keras`` a
    zip, ``.h5``/``.hdf5`` an HDF5 file) and whose content is that format and only that; a .keras
    zip holding config.json (no member inflating above ``max_bytes``, config.json at most
    MAX_CONFIG_BYTES, nothing inflated but config.json) or an HDF5 file holding a model_config.
    Every other case is a UsageError (exit 2) of one line."""
    import stat as stat_module

    path = str(os.fspath(path))  # a pathlib.Path too: the name decides the format
    try:
        info = os.stat(path)
    except (OSError, ValueError) as exc:
        raise _model_file_error(path, f"cannot read the model file: {getattr(exc, 'strerror', None) or exc}") from None
    if stat_module.S_ISDIR(info.st_mode):
        raise _model_file_error(
            path,
            "is a directory, not a model file (rnnshape reads .keras files and legacy "
            ".h5 files; a TensorFlow SavedModel folder is not supported)",
        )
    if not stat_module.S_ISREG(info.st_mode):
        raise _model_file_error(path, "is not a regular file (a FIFO, socket or device); give a .keras or .h5 file")
    if info.st_size == 0:
        raise _model_file_error(path, "is empty (0 bytes), not a Keras model")
    if info.st_size > max_bytes:
        raise _model_file_error(
            path,
            f"is {info.st_size:,} bytes, above --max-file-size {max_bytes:,}; raise --max-file-size BYTES to read it",
        )
    fmt = model_format(path)
    if fmt == "h5":
        return ModelFile(path, "h5", info.st_size, _h5_config(path))
    return ModelFile(path, "keras", info.st_size, _keras_zip_config(path, max_bytes))


# ---- which format Keras reads: by the name, as keras.saving.load_model decides ----------------
KERAS_SUFFIX = ".keras"


H5_SUFFIXES = (".h5", ".hdf5")


def model_format(path: str) -> str:
    """ "keras" or "h5": the format keras.saving.load_model will read this file as, decided as
    Keras decides it (saving_api.load_model: a name ending in ``.keras`` is read as a zip, one
    ending in ``.h5``/``.hdf5`` as HDF5, case-sensitive; nothing else loads). The content must be
    that format and only that: an HDF5 file named .keras, a zip named .h5, or one file that is
    both (a zip appended to an HDF5 file, a zip in an HDF5 user block) is refused, naming what
    the file is and what to call it, so that what is checked here is what Keras reads."""
    found = _model_content(path)
    name = os.path.basename(path)
    stem = name.rsplit(".", 1)[0] if "." in name else name
    both = (
        "is both an HDF5 file and a zip (one file appended to or hidden in the other): Keras reads one part "
        "by the name, rnnshape would vouch for the other; refused: save the model again with "
        'model.save("model.keras")'
    )
    zip_only = found.zip_at_start and found.is_zip and not found.hdf5_at_start
    if path.endswith(KERAS_SUFFIX):  # Keras: zipfile reads it; an HDF5 signature inside a stored member is data
        if found.zip_at_start and not found.is_zip:
            raise _model_file_error(
                path, "is a truncated or corrupt .keras zip (it starts as a zip but has no end of central directory)"
            )
        if zip_only:
            return "keras"
        if found.is_zip and (found.hdf5_at_start or found.hdf5_later):
            raise _model_file_error(path, both)
        if found.hdf5_at_start or found.hdf5_later:
            raise _model_file_error(
                path,
                f"is an HDF5 file (a legacy .h5 model), not the .keras zip its name says: "
                f"Keras reads a file by its name; rename it to {stem}.h5",
            )
    elif path.endswith(H5_SUFFIXES):  # Keras: h5py reads it, from byte 0 or after a user block
        if found.is_zip or found.zip_at_start:
            if found.hdf5_at_start or found.hdf5_later:
                raise _model_file_error(path, both)
            if found.is_zip:
                raise _model_file_error(
                    path,
                    f"is a zip (a .keras model), not the HDF5 file its name says: Keras "
                    f"reads a file by its name; rename it to {stem}.keras",
                )
        elif found.hdf5_at_start or found.hdf5_later:
            return "h5"
    elif zip_only or found.hdf5_at_start:
        suffix, what = (
            (".keras", "a zip (a .keras model?)") if zip_only else (".h5", "an HDF5 file (a legacy .h5 model?)")
        )
        raise _model_file_error(
            path,
            f"is {what}, but Keras loads only names ending in .keras, .h5 or .hdf5 "
            f"(lower case): rename it to {stem}{suffix}",
        )
    if found.zip_at_start and not found.is_zip:
        raise _model_file_error(
            path, "is a truncated or corrupt .keras zip (it starts as a zip but has no end of central directory)"
        )
    raise _model_file_error(
        path,
        "is not a Keras model file: neither a .keras zip nor a legacy HDF5 (.h5) file "
        "(Keras loads names ending in .keras, .h5 or .hdf5)",
    )


@dataclass(frozen=True)
class _Content:
    zip_at_start: bool  # a zip's local file header at byte 0
    is_zip: bool  # zipfile finds an end of central directory (where Keras' zipfile looks)
    hdf5_at_start: bool  # the HDF5 signature at byte 0
    hdf5_later: bool  # ... at 512, 1024, 2048, ... (after a user block: where h5py also looks)


def _model_content(path: str) -> _Content:
    import zipfile

    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
            size = os.fstat(handle.fileno()).st_size
            later = False
            offset = 512
            while not later and offset + 8 <= size:
                handle.seek(offset)
                later = handle.read(8) == HDF5_MAGIC
                offset *= 2
        is_zip = zipfile.is_zipfile(path)
    except OSError as exc:
        raise _model_file_error(path, f"cannot read the model file: {exc.strerror or exc}") from None
    return _Content(head.startswith(ZIP_MAGIC), is_zip, head.startswith(HDF5_MAGIC), later)


# ---- a .keras zip: only config.json is inflated, and never beyond the limits -----------------
MAX_CONFIG_BYTES = 64 << 20  # config.json / model_config: 64 MiB (the config of a 1,000-layer model is a few MB)


MAX_JSON_DEPTH = 100  # nesting of a saved config (a Keras model with 20 nested models is about 60 deep)


def _keras_zip_config(path: str, max_bytes: int) -> dict[str, Any]:
    """config.json of a .keras zip. Every member's declared uncompressed size, and their total,
    is checked against ``max_bytes`` (--max-file-size) from the central directory, before
    anything is inflated (zipfile never returns more than a member declares, so this bounds what
    Keras inflates later too); config.json is at most MAX_CONFIG_BYTES, declared and as read
    (the reading stops at the limit). No other member is inflated here (Keras reads the weights)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if "config.json" not in {m.filename for m in members}:
                raise _model_file_error(path, "is a zip file without config.json: not a Keras .keras model")
            for member in members:
                if member.file_size > max_bytes:
                    raise _model_file_error(
                        path,
                        f"its member {member.filename!r} declares {member.file_size:,} bytes "
                        f"uncompressed, above --max-file-size {max_bytes:,} (a zip bomb?); "
                        "nothing was inflated; raise --max-file-size BYTES to read it",
                    )
                if member.compress_size > member.file_size + member.file_size // 100 + 1024:
                    # more stored bytes than any compression of what it declares: it inflates to
                    # more than it declares (zipfile, and so Keras, would inflate that in one call)
                    raise _model_file_error(
                        path,
                        f"its member {member.filename!r} stores {member.compress_size:,} "
                        f"bytes for {member.file_size:,} declared: it inflates to more "
                        "than it declares (a zip bomb?); nothing was inflated",
                    )
            total = sum(member.file_size for member in members)
            if total > max_bytes:
                raise _model_file_error(
                    path,
                    f"its members declare {total:,} bytes uncompressed, above "
                    f"--max-file-size {max_bytes:,} (a zip bomb?); nothing was inflated; "
                    "raise --max-file-size BYTES to read it",
                )
            config = archive.getinfo("config.json")
            if config.file_size > MAX_CONFIG_BYTES:
                raise _model_file_error(
                    path,
                    f"holds a config.json that declares {config.file_size:,} bytes "
                    f"uncompressed, above the limit of {MAX_CONFIG_BYTES:,} for a model's "
                    "config (a zip bomb?); nothing was inflated",
                )
            raw = bytearray()
            with archive.open(config) as member:  # in small reads: zipfile inflates about what is asked
                while len(raw) <= config.file_size:
                    chunk = member.read(min(1 << 16, config.file_size + 1 - len(raw)))
                    if not chunk:
                        break
                    raw += chunk
            if len(raw) > config.file_size:  # pragma: no cover - zipfile stops at the declared size
                raise _model_file_error(path, "holds a config.json larger than it declares (a zip bomb?)")
    except UsageError:
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        EOFError,
        OSError,
        ValueError,
        RuntimeError,
        NotImplementedError,
    ) as exc:
        raise _model_file_error(
            path,
            f"is a truncated or corrupt .keras zip ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else 'unreadable'})",
        ) from None
    return parse_config_json(bytes(raw), path, "config.json")


def parse_config_json(raw: str | bytes, path: str, what: str = "config.json") -> dict[str, Any]:
    """A model's saved config (a .keras config.json, an .h5 model_config attribute) parsed
    safely, the one way every saved config is parsed: at most MAX_CONFIG_BYTES, UTF-8, JSON,
    nested at most MAX_JSON_DEPTH levels (a deeper document would exhaust Python's recursion in
    the parser, the checks or Keras), an object at the top. Any other document is a UsageError
    "``path``: holds a ``what`` that ..." (exit 2), never a RecursionError."""
    import json

    if len(raw) > MAX_CONFIG_BYTES:
        raise _model_file_error(
            path, f"holds a {what} of {len(raw):,} bytes, above the limit of {MAX_CONFIG_BYTES:,} for a model's config"
        )
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _model_file_error(path, f"holds a {what} that is not UTF-8 text (byte {exc.start})") from None
    try:
        config = json.loads(raw)
    except RecursionError:
        config = None
        deep = True
    except ValueError as exc:
        raise _model_file_error(path, f"holds a {what} that is not JSON ({exc})") from None
    else:
        deep = json_depth(config) > MAX_JSON_DEPTH
    if deep:
        raise _model_file_error(
            path,
            f"holds a {what} nested more than {MAX_JSON_DEPTH} levels deep, which no "
            "Keras model is: refused, nothing in it was run",
        )
    if not isinstance(config, dict):
        raise _model_file_error(path, f"holds a {what} that is not a Keras model config")
    return config


def json_depth(document: Any) -> int:
    """How deeply lists and objects nest in a parsed JSON document (a scalar: 0), counted
    without recursion."""
    deepest = 0
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:  # deep enough to refuse: no need to walk the rest
            return depth
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _h5_config(path: str) -> dict[str, Any]:
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py comes with Keras
        raise _model_file_error(path, "is an HDF5 file and h5py is not installed (pip install h5py)") from None
    try:
        with h5py.File(path, "r") as h5:
            raw = h5.attrs.get("model_config")
    except Exception as exc:  # h5py raises OSError, KeyError, ... on a damaged file
        raise _model_file_error(path, f"is a truncated or corrupt HDF5 file ({type(exc).__name__})") from None
    if raw is None:
        raise _model_file_error(path, "is an HDF5 file without a model_config: weights only, not a whole Keras model")
    return parse_config_json(raw if isinstance(raw, bytes) else str(raw), path, "model_config")


# ---- an old full-model HDF5 file (saved by Keras 1/2 or tf.keras) ------------------------------
@dataclass(frozen=True)
class LegacyFile:
    """What rnnshape reads of an old .h5 model with h5py: which Keras saved it and its weights,
    each top-level layer's arrays in the order the file lists them (numbers only: no pickle)."""

    keras_version: str | None  # None: no attribute (Keras 1)
    backend: str | None
    layer_names: list[str]
    weights: dict[str, list[np.ndarray]]
    training_config: dict[str, Any] | None


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def h5_versions(path: str) -> tuple[str | None, str | None]:
    """The keras_version and backend attributes of an HDF5 model file (None when absent)."""
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            return tuple(
                _text(h5.attrs[key]) if key in h5.attrs else None  # type: ignore[return-value]
                for key in ("keras_version", "backend")
            )
    except Exception as exc:  # read_model_file opened it a moment ago
        raise _model_file_error(path, f"is a truncated or corrupt HDF5 file ({type(exc).__name__})") from None


def read_legacy_h5(path: str) -> LegacyFile:
    """An old full-model HDF5 file's attributes and weights, read with h5py (never Keras)."""

    import h5py
    import numpy as np

    try:
        with h5py.File(path, "r") as h5:
            version, backend = (
                _text(h5.attrs[key]) if key in h5.attrs else None for key in ("keras_version", "backend")
            )
            training = h5.attrs.get("training_config")
            group = h5["model_weights"] if "model_weights" in h5 else h5
            names = [_text(n) for n in group.attrs.get("layer_names", [])]
            weights: dict[str, list[np.ndarray]] = {}
            for name in names:
                layer = group[name]
                arrays = []
                for weight_name in layer.attrs.get("weight_names", []):
                    dataset = layer[_text(weight_name)]
                    if dataset.dtype.kind not in "biuf":
                        raise _model_file_error(
                            path, f"holds a weight {_text(weight_name)!r} of type {dataset.dtype}, not numbers"
                        )
                    arrays.append(np.asarray(dataset[()]))
                weights[name] = arrays
    except UsageError:
        raise
    except Exception as exc:  # h5py raises OSError, KeyError, ... on a damaged file
        raise _model_file_error(
            path, f"is a truncated or corrupt HDF5 file: its weights cannot be read ({type(exc).__name__})"
        ) from None
    config = None
    if training is not None:  # the loss it was compiled with; a damaged one is left out, never fatal
        with contextlib.suppress(UsageError):
            config = parse_config_json(_text(training), path, "training_config")
    return LegacyFile(version, backend, names, weights, config)
