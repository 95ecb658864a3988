"""The one place that reads and writes the user's files: --input arrays (.npy/.csv, never a
pickle), contract files (TOML), JUnit reports and the --svg/--html exports. numpy only where an
array is read."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from rnnshape.errors import RnnshapeError, SpecError, UsageError
from rnnshape.rules.catalogue import INPUT_KINDS
from rnnshape.rules.spec import FileInput

if TYPE_CHECKING:
    import numpy as np

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10 (pyproject requires tomli there)
    import tomli as tomllib  # type: ignore[no-redef]

FILE_SUFFIXES = (".npy", ".csv")


@dataclass(frozen=True)
class LoadedInput:
    array: np.ndarray  # float32, [batch, timesteps, features]
    sha256: str
    notes: tuple[str, ...]


def file_input(path: str) -> FileInput:
    """What the pure model needs of an --input file: its path, shape and sha256."""
    loaded = load_input_file(path)
    return FileInput(path, tuple(int(d) for d in loaded.array.shape), loaded.sha256)


def load_input_file(path: str) -> LoadedInput:
    """Read a user's array safely (never a pickle) and shape it [batch, timesteps, features]."""
    if not path.lower().endswith(FILE_SUFFIXES):
        raise SpecError("input", f"{path!r} is not one of {', '.join(INPUT_KINDS)} nor a .npy or .csv file")
    stat = regular_file(path, "input file", _input_error(path))
    return _load(os.path.abspath(path), stat.st_mtime_ns, stat.st_size)


def _input_error(path: str) -> Callable[[str], RnnshapeError]:
    return lambda problem: SpecError("input", f"{path!r} {problem}")


# ---- reading any of the user's files: one rule --------------------------------------------------
MAX_INPUT_BYTES = 1 << 30  # an --input array (1 GiB: far more than any layer the size guard lets run)
MAX_CONTRACT_BYTES = 16 << 20  # a contract file (16 MiB: some 100,000 cases)
STDIN = "-"


def regular_file(
    path: str, what: str, refuse: Callable[[str], RnnshapeError], limit: int = MAX_INPUT_BYTES
) -> os.stat_result:
    """The stat of ``path`` when it is a regular file of at most ``limit`` bytes; else
    ``refuse(problem)`` is raised, ``problem`` a phrase such as "is not a regular file (a
    device)", for a missing file, a folder, a device (/dev/zero), a pipe (a FIFO with no writer
    would hang), a socket, or a file too large. ``what`` names the file in the phrase."""
    try:
        stat = os.stat(path)
    except (OSError, ValueError) as exc:  # ValueError: a NUL character in the name (from a check file)
        raise refuse(f"cannot read the {what}: {getattr(exc, 'strerror', None) or exc}") from None
    _refuse_irregular(stat, what, refuse, limit)
    return stat


def _refuse_irregular(stat: os.stat_result, what: str, refuse: Callable[[str], RnnshapeError], limit: int) -> None:
    import stat as modes

    mode = stat.st_mode
    if modes.S_ISDIR(mode):
        raise refuse(f"is a directory, not a regular file; give the {what}")
    if not modes.S_ISREG(mode):
        kind = (
            "a device"
            if modes.S_ISCHR(mode) or modes.S_ISBLK(mode)
            else "a pipe"
            if modes.S_ISFIFO(mode)
            else "a socket"
            if modes.S_ISSOCK(mode)
            else "a special file"
        )
        raise refuse(f"is not a regular file ({kind}); give the {what}")
    if stat.st_size > limit:
        raise refuse(f"is {stat.st_size / 2**20:,.0f} MiB, above the limit of {limit / 2**20:,.0f} MiB for the {what}")


def read_user_file(
    path: str, what: str, refuse: Callable[[str], RnnshapeError], limit: int = MAX_INPUT_BYTES, stdin: bool = False
) -> bytes:
    """The bytes of one of the user's files, by the one rule of every file rnnshape reads: a
    regular file (not a device, pipe, socket or folder) of at most ``limit`` bytes, else
    ``refuse(problem)`` is raised (see ``regular_file``). With ``stdin``, ``-`` reads standard
    input (up to ``limit`` bytes)."""
    if stdin and path == STDIN:
        return _read_stdin(what, refuse, limit)
    regular_file(path, what, refuse, limit)
    try:
        # O_NONBLOCK: should the name become a FIFO after the stat, open() still does not wait.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except (OSError, ValueError) as exc:
        raise refuse(f"cannot read the {what}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        _refuse_irregular(os.fstat(fd), what, refuse, limit)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            raw = handle.read(limit + 1)
    except OSError as exc:
        raise refuse(f"cannot read the {what}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(raw) > limit:
        raise refuse(f"grew above the limit of {limit / 2**20:,.0f} MiB for the {what} while it was read")
    return raw


def _read_stdin(what: str, refuse: Callable[[str], RnnshapeError], limit: int) -> bytes:
    import sys

    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise refuse(f"cannot read the {what} from standard input: it is closed")
    try:
        raw = stream.read(limit + 1)
    except (OSError, ValueError) as exc:
        raise refuse(f"cannot read the {what} from standard input: {getattr(exc, 'strerror', None) or exc}") from None
    if len(raw) > limit:
        raise refuse(f"holds more than the limit of {limit / 2**20:,.0f} MiB for the {what}")
    return raw


@functools.lru_cache(maxsize=8)
def _load(path: str, _mtime_ns: int, _size: int) -> LoadedInput:
    import numpy as np

    name = os.path.basename(path)
    raw = read_user_file(path, "input file", _input_error(name))
    digest = hashlib.sha256(raw).hexdigest()
    if path.lower().endswith(".npy"):
        if not raw.startswith(b"\x93NUMPY"):  # anything else np.load would try as a pickle
            raise SpecError("input", f"{name!r} is not a readable .npy array (no NumPy header)")
        array = _read_npy(raw, name)
    else:
        array = _read_csv(raw, name)
    if array.dtype.kind not in "biuf":
        raise SpecError("input", f"{name!r} holds {array.dtype} values; a numeric array is needed")
    if array.ndim == 0 or array.ndim > 3 or array.size == 0:
        raise SpecError(
            "input",
            f"{name!r} has shape {array.shape}; give 1-D (timesteps,), "
            "2-D (timesteps, features) or 3-D (batch, timesteps, features) data",
        )
    check_values(array, "input", name)
    array = array.astype(np.float64)
    notes: list[str] = []
    if array.ndim == 1:
        notes.append(
            f"{name}: a 1-D series of {array.shape[0]} steps becomes (1, {array.shape[0]}, 1): "
            "one sample, one feature per step, because Keras recurrent layers take "
            "[batch, timesteps, features]"
        )
        array = array.reshape(1, -1, 1)
    elif array.ndim == 2:
        notes.append(
            f"{name}: a 2-D array (timesteps, features) = {array.shape} becomes a batch of one, "
            f"(1, {array.shape[0]}, {array.shape[1]}), because Keras recurrent layers take "
            "[batch, timesteps, features]"
        )
        array = array[None]
    return LoadedInput(array.astype(np.float32), digest, tuple(notes))


# ---- the user's numbers: one rule for files and Python callers --------------------------------
FLOAT32_MAX = 3.4028234663852886e38  # numpy.finfo(numpy.float32).max: Keras runs float32


def check_values(array: np.ndarray, key: str, name: str) -> None:
    """The one rule for a user's numbers, whether read from a file (--input, --initial-state,
    --x, --y) or given by a Python caller (rnnshape.explain(model, x)): NaN and infinite values
    are refused, and so are values finite here but beyond the largest float32 (they become
    infinite when cast to the float32 Keras runs). A SpecError naming ``key`` and ``name``.
    Reductions only, on the distinct elements of a broadcast view: nothing is copied."""
    import numpy as np

    if array.dtype.kind != "f" or array.size == 0:
        return
    distinct = array[tuple(slice(0, 1) if stride == 0 else slice(None) for stride in array.strides)]
    low, high = distinct.min(), distinct.max()  # NaN propagates through both
    if not (np.isfinite(low) and np.isfinite(high)):
        raise SpecError(key, f"{name!r} contains NaN or infinite values")
    largest = high if abs(high) >= abs(low) else low
    if abs(float(largest)) > FLOAT32_MAX:
        raise SpecError(
            key,
            f"{name!r} holds {float(largest):.6g}, beyond the largest float32 value "
            "3.4028235e+38 (it would become infinite in the float32 Keras runs)",
        )


def _read_npy(raw: bytes, name: str) -> np.ndarray:
    import numpy as np

    try:
        return np.load(io.BytesIO(raw), allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise SpecError(
                "input", f"{name!r} holds Python objects (a pickle); rnnshape never loads pickles: save a numeric array"
            ) from None
        raise SpecError("input", f"{name!r} is not a readable .npy array: {exc}") from None
    except Exception as exc:
        raise SpecError("input", f"{name!r} is not a readable .npy array: {exc}") from None


def _read_csv(raw: bytes, name: str) -> np.ndarray:
    import warnings

    import numpy as np

    try:
        text = raw.decode("utf-8")
        with warnings.catch_warnings():  # "input contained no data": the empty array is refused below
            warnings.simplefilter("ignore")
            return np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.float64, ndmin=1)
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SpecError("input", f"{name!r} is not a numeric CSV (rows of comma-separated numbers): {first}") from None


# ---- --initial-state FILE.npy --------------------------------------------------------------------
@dataclass(frozen=True)
class LoadedStates:
    array: np.ndarray  # float32, (states, batch, units) or (batch, units)
    sha256: str


def file_state(path: str) -> FileInput:
    """What the pure model needs of an --initial-state file: its path, shape and sha256."""
    loaded = load_state_file(path)
    return FileInput(path, tuple(int(d) for d in loaded.array.shape), loaded.sha256)


def load_state_file(path: str) -> LoadedStates:
    """A .npy of initial states (never a pickle): one array per state, stacked on the first axis."""
    import numpy as np

    if not path.lower().endswith(".npy"):
        raise SpecError("initial_state", f"{path!r} is not one of zeros, random nor a .npy file")
    raw = read_user_file(
        path, "initial states (.npy)", lambda problem: SpecError("initial_state", f"{path!r} {problem}")
    )
    name = os.path.basename(path)
    if not raw.startswith(b"\x93NUMPY"):
        raise SpecError("initial_state", f"{name!r} is not a readable .npy array (no NumPy header)")
    try:
        array = np.load(io.BytesIO(raw), allow_pickle=False)
    except Exception as exc:
        raise SpecError(
            "initial_state",
            f"{name!r} is not a numeric .npy array (pickles are never loaded): "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
        ) from None
    if array.dtype.kind not in "biuf" or not 2 <= array.ndim <= 6:
        raise SpecError(
            "initial_state",
            f"{name!r} holds a {array.dtype} array of shape {array.shape}: numbers of "
            "shape (states, batch, units) are needed (ConvLSTM: (states, batch, "
            "rows', cols', filters))",
        )
    check_values(array, "initial_state", name)
    return LoadedStates(array.astype(np.float32), hashlib.sha256(raw).hexdigest())


# ---- reading a contract file ------------------------------------------------------------------
def read_toml(path: str) -> dict[str, Any]:
    """Read a contract file (``-``: standard input) as a TOML document; every problem is a
    UsageError naming the file."""
    shown = "<stdin>" if path == STDIN else path
    raw = read_user_file(
        path, "contract file", lambda problem: UsageError(f"{shown}: {problem}"), MAX_CONTRACT_BYTES, stdin=True
    )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{shown}: is not UTF-8 text (byte {exc.start}): TOML files are UTF-8") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{shown}: is not valid TOML: {exc}") from None
    except RecursionError:  # 1,000 nested [ or {a=: the parser recurses once per level
        raise UsageError(f"{shown}: is not valid TOML: arrays or tables nested too deeply") from None
    return document


def check_writable(path: str) -> None:
    """Refuse a --junit path that cannot be written, before anything runs."""
    target = Path(path)
    try:
        if not path or target.is_dir():
            raise UsageError(
                f"Invalid value for --junit: {path!r} is a directory; give a file name such as reports/rnnshape.xml"
            )
        for parent in target.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise UsageError(f"Invalid value for --junit: {parent} is not a directory")
                break
    except (OSError, ValueError) as exc:  # e.g. a name too long for the file system
        raise UsageError(f"Invalid value for --junit: {path!r}: {getattr(exc, 'strerror', None) or exc}") from None


def write_junit(path: str, tree: ET.ElementTree) -> None:
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        tree.write(buffer, encoding="utf-8", xml_declaration=True)
        _write_atomically(target, buffer.getvalue() + b"\n")
    except OSError as exc:
        raise UsageError(f"Invalid value for --junit: cannot write {path}: {exc.strerror or exc}") from None


# ---- writing the user's files -----------------------------------------------------------------
def write_text(path: str, text: str, option: str) -> None:
    """Write an --svg/--html file whole, creating missing folders (as for --junit): a temporary
    file in the same folder, then a rename, so a failed write leaves the old file as it was and
    parallel writers never mix their output."""
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)  # missing folders are created, as for --junit
        _write_atomically(Path(path), text.encode("utf-8"))
    except OSError as exc:
        raise UsageError(f"Invalid value for {option}: cannot write {path!r}: {exc.strerror or exc}") from exc


def write_bytes(path: str, content: bytes, option: str) -> None:
    """Write a binary file whole (--save), atomically, creating missing folders, as write_text."""
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(Path(path), content)
    except OSError as exc:
        raise UsageError(f"Invalid value for {option}: cannot write {path!r}: {exc.strerror or exc}") from exc


def _write_atomically(target: Path, content: bytes) -> None:
    import tempfile

    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.chmod(temporary, _mode_for(target))  # mkstemp makes 0600: keep what a plain open() gives
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _mode_for(target: Path) -> int:
    """The permissions of the file being replaced, else those of a new file under the umask."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


# ---- reading logs and arrays for `rnnshape why` -----------------------------------------------
MAX_LOG_BYTES = 5_000_000


def read_log(path: str, option: str = "--file") -> str:
    """A log or a pasted error saved as a file, by the rule of every file read (a regular file,
    at most MAX_LOG_BYTES); UTF-8, undecodable bytes replaced."""
    raw = read_user_file(
        path, "log", lambda problem: UsageError(f"Invalid value for {option}: {path!r} {problem}"), limit=MAX_LOG_BYTES
    )
    return raw.decode("utf-8", errors="replace")


def read_stream(stream: Any, what: str = "standard input") -> str:
    """Text piped to the command (``python train.py 2>&1 | rnnshape why``), at most MAX_LOG_BYTES."""
    raw = stream.read(MAX_LOG_BYTES + 1)
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    if len(raw) > MAX_LOG_BYTES:
        raise UsageError(
            f"{what} holds more than {MAX_LOG_BYTES} characters; pipe the part around the error "
            "(e.g. through tail -n 200)"
        )
    return raw


def npy_shape(path: str, option: str = "--y") -> tuple[int, ...]:
    """The shape of a .npy array from its header alone (never a pickle, the data not read)."""
    import numpy as np

    if not path.lower().endswith(".npy"):
        raise UsageError(f"Invalid value for {option}: {path!r} is not a .npy file")
    stat = regular_file(
        path, "targets (.npy)", lambda problem: UsageError(f"Invalid value for {option}: {path!r} {problem}")
    )
    if stat.st_size == 0:
        raise UsageError(f"Invalid value for {option}: {path!r} is empty")
    try:
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            header = (
                np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            )(handle)
    except (OSError, ValueError) as exc:
        raise UsageError(f"Invalid value for {option}: {path!r} is not a readable .npy array: {exc}") from None
    return tuple(int(d) for d in header[0])


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


@dataclass(frozen=True)
class DataArray:
    """--x or --y: the array as saved (no reshaping), its file name and sha256."""

    path: str
    array: np.ndarray
    sha256: str


def load_data_array(path: str, option: str) -> DataArray:
    """A model's --x/--y array from a .npy (never a pickle) or .csv file, kept as saved."""
    import numpy as np

    key = option.lstrip("-").replace("-", "_")
    if not path.lower().endswith(FILE_SUFFIXES):
        raise SpecError(key, f"{path!r} is not a .npy or .csv file")
    try:
        info = os.stat(path)
    except (OSError, ValueError) as exc:
        raise SpecError(key, f"cannot read {path!r}: {getattr(exc, 'strerror', None) or exc}") from None
    if not os.path.isfile(path):
        raise SpecError(key, f"{path!r} is not a regular file")
    del info
    name = os.path.basename(path)
    with open(path, "rb") as handle:
        raw = handle.read()
    if path.lower().endswith(".npy"):
        if not raw.startswith(b"\x93NUMPY"):
            raise SpecError(key, f"{name!r} is not a readable .npy array (no NumPy header)")
        try:
            array = np.load(path, allow_pickle=False)
        except Exception as exc:
            raise SpecError(key, f"{name!r} is not a readable numeric .npy array: {str(exc).splitlines()[0]}") from None
    else:
        try:
            array = _read_csv(raw, name)
        except SpecError as exc:
            raise SpecError(key, exc.problem) from None
    if array.dtype.kind not in "biuf" or array.size == 0 or array.ndim == 0:
        raise SpecError(
            key, f"{name!r} holds {array.dtype} values of shape {array.shape}; a non-empty numeric array is needed"
        )
    check_values(array, key, name)
    return DataArray(path, array, hashlib.sha256(raw).hexdigest())


# ---- outputs that would destroy inputs --------------------------------------------------------
def refuse_same_files(inputs: dict[str, str | None], outputs: dict[str, str | None]) -> None:
    """Refuse, before anything runs, an output file that is one of the inputs (``--svg in.npy``
    would replace the data) or another output (``--svg x --html x`` would lose the SVG):
    names are compared resolved (``./a`` and ``a``, symlinks) and by inode (hard links). Keys
    are how the files are named in the error (``--svg``, ``FILE``, ``--input``)."""
    given_outputs = [(key, path) for key, path in outputs.items() if path and path != STDIN]
    given_inputs = [(key, path) for key, path in inputs.items() if path and path != STDIN]
    for index, (key, path) in enumerate(given_outputs):
        for other_key, other in given_inputs + given_outputs[:index]:
            if _same_file(path, other):
                if (other_key, other) in given_inputs:
                    raise UsageError(
                        f"Invalid value for {key}: {path!r} is the file of {other_key} ({other!r}); "
                        "writing it would destroy that input: give another file name"
                    )
                raise UsageError(
                    f"Invalid value for {key}: {path!r} is also the file of {other_key} ({other!r}); "
                    "one would overwrite the other: give another file name"
                )


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)  # the same inode: also hard links and symlinks
    except (OSError, ValueError):  # one of them does not exist (yet): compare the resolved names
        try:
            return os.path.realpath(a) == os.path.realpath(b)
        except (OSError, ValueError):
            return False


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
