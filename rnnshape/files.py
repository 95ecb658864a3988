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
from typing import TYPE_CHECKING, Any

from rnnshape.errors import SpecError, UsageError
from rnnshape.model.layer import INPUT_KINDS, FileInput

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
    stat = _stat(path)
    return _load(os.path.abspath(path), stat.st_mtime_ns, stat.st_size)


def _stat(path: str) -> os.stat_result:
    if not path.lower().endswith(FILE_SUFFIXES):
        raise SpecError("input", f"{path!r} is not one of {', '.join(INPUT_KINDS)} nor a .npy or .csv file")
    try:
        stat = os.stat(path)
    except (OSError, ValueError) as exc:  # ValueError: a NUL character in the name (from a check file)
        raise SpecError("input", f"cannot read {path!r}: {getattr(exc, 'strerror', None) or exc}") from None
    if not os.path.isfile(path):
        raise SpecError("input", f"{path!r} is not a file")
    return stat


@functools.lru_cache(maxsize=8)
def _load(path: str, _mtime_ns: int, _size: int) -> LoadedInput:
    import numpy as np

    name = os.path.basename(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise SpecError("input", f"cannot read {name!r}: {exc.strerror or exc}") from None
    digest = hashlib.sha256(raw).hexdigest()
    if path.lower().endswith(".npy"):
        if not raw.startswith(b"\x93NUMPY"):  # anything else np.load would try as a pickle
            raise SpecError("input", f"{name!r} is not a readable .npy array (no NumPy header)")
        array = _read_npy(path, name)
    else:
        array = _read_csv(raw, name)
    if array.dtype.kind not in "biuf":
        raise SpecError("input", f"{name!r} holds {array.dtype} values; a numeric array is needed")
    if array.ndim == 0 or array.ndim > 3 or array.size == 0:
        raise SpecError("input", f"{name!r} has shape {array.shape}; give 1-D (timesteps,), "
                                 "2-D (timesteps, features) or 3-D (batch, timesteps, features) data")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise SpecError("input", f"{name!r} contains NaN or infinite values")
    notes: list[str] = []
    if array.ndim == 1:
        notes.append(f"{name}: a 1-D series of {array.shape[0]} steps becomes (1, {array.shape[0]}, 1): "
                     "one sample, one feature per step, because Keras recurrent layers take "
                     "[batch, timesteps, features]")
        array = array.reshape(1, -1, 1)
    elif array.ndim == 2:
        notes.append(f"{name}: a 2-D array (timesteps, features) = {array.shape} becomes a batch of one, "
                     f"(1, {array.shape[0]}, {array.shape[1]}), because Keras recurrent layers take "
                     "[batch, timesteps, features]")
        array = array[None]
    return LoadedInput(array.astype(np.float32), digest, tuple(notes))


def _read_npy(path: str, name: str) -> np.ndarray:
    import numpy as np

    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise SpecError("input", f"{name!r} holds Python objects (a pickle); rnnshape never loads "
                                     "pickles: save a numeric array") from None
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
    try:
        stat = os.stat(path)
    except (OSError, ValueError) as exc:
        raise SpecError("initial_state", f"cannot read {path!r}: {getattr(exc, 'strerror', None) or exc}") from None
    if not os.path.isfile(path):
        raise SpecError("initial_state", f"{path!r} is not a regular file")
    if stat.st_size > 1 << 31:
        raise SpecError("initial_state", f"{path!r} is larger than 2 GiB")
    name = os.path.basename(path)
    with open(path, "rb") as handle:
        raw = handle.read()
    if not raw.startswith(b"\x93NUMPY"):
        raise SpecError("initial_state", f"{name!r} is not a readable .npy array (no NumPy header)")
    try:
        array = np.load(io.BytesIO(raw), allow_pickle=False)
    except Exception as exc:
        raise SpecError("initial_state", f"{name!r} is not a numeric .npy array (pickles are never loaded): "
                                         f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    if array.dtype.kind not in "biuf" or not 2 <= array.ndim <= 6:
        raise SpecError("initial_state", f"{name!r} holds a {array.dtype} array of shape {array.shape}: numbers of "
                                         "shape (states, batch, units) are needed (ConvLSTM: (states, batch, "
                                         "rows', cols', filters))")
    if not np.all(np.isfinite(array)):
        raise SpecError("initial_state", f"{name!r} holds NaN or infinite values")
    return LoadedStates(array.astype(np.float32), hashlib.sha256(raw).hexdigest())


# ---- reading a contract file ------------------------------------------------------------------
def read_toml(path: str) -> dict[str, Any]:
    """Read a contract file as a TOML document; every problem is a UsageError naming the file."""
    try:
        raw = Path(path).read_bytes()
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, not a TOML contract file") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL character in the name
        raise UsageError(f"{path}: cannot read the contract file: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: is not UTF-8 text (byte {exc.start}): TOML files are UTF-8") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: is not valid TOML: {exc}") from None
    return document



def check_writable(path: str) -> None:
    """Refuse a --junit path that cannot be written, before anything runs."""
    target = Path(path)
    try:
        if not path or target.is_dir():
            raise UsageError(f"Invalid value for --junit: {path!r} is a directory; give a file name such as "
                             "reports/rnnshape.xml")
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
    """A log or a pasted error saved as a file: regular files only, at most MAX_LOG_BYTES, UTF-8
    (undecodable bytes replaced)."""
    try:
        stat = os.stat(path)
    except (OSError, ValueError) as exc:
        raise UsageError(f"Invalid value for {option}: cannot read {path!r}: {getattr(exc, 'strerror', None) or exc}") from None
    import stat as stat_module

    if not stat_module.S_ISREG(stat.st_mode):
        raise UsageError(f"Invalid value for {option}: {path!r} is not a regular file")
    if stat.st_size > MAX_LOG_BYTES:
        raise UsageError(f"Invalid value for {option}: {path!r} has {stat.st_size} bytes; at most {MAX_LOG_BYTES} "
                         "are read (cut the log around the error)")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_LOG_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"Invalid value for {option}: cannot read {path!r}: {exc.strerror or exc}") from None
    return raw.decode("utf-8", errors="replace")


def read_stream(stream: Any, what: str = "standard input") -> str:
    """Text piped to the command (``python train.py 2>&1 | rnnshape why``), at most MAX_LOG_BYTES."""
    raw = stream.read(MAX_LOG_BYTES + 1)
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    if len(raw) > MAX_LOG_BYTES:
        raise UsageError(f"{what} holds more than {MAX_LOG_BYTES} characters; pipe the part around the error "
                         "(e.g. through tail -n 200)")
    return raw


def npy_shape(path: str, option: str = "--y") -> tuple[int, ...]:
    """The shape of a .npy array from its header alone (never a pickle, the data not read)."""
    import numpy as np

    if not path.lower().endswith(".npy"):
        raise UsageError(f"Invalid value for {option}: {path!r} is not a .npy file")
    try:
        stat = os.stat(path)
    except (OSError, ValueError) as exc:
        raise UsageError(f"Invalid value for {option}: cannot read {path!r}: {getattr(exc, 'strerror', None) or exc}") from None
    if not os.path.isfile(path) or stat.st_size == 0:
        raise UsageError(f"Invalid value for {option}: {path!r} is not a regular non-empty file")
    try:
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                      else np.lib.format.read_array_header_2_0)(handle)
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
    most ``max_bytes``, a .keras zip holding config.json or a legacy HDF5 file holding a
    model_config; every other case is a UsageError (exit 2) of one line."""
    import json
    import stat as stat_module
    import zipfile

    try:
        info = os.stat(path)
    except (OSError, ValueError) as exc:
        raise _model_file_error(path, f"cannot read the model file: {getattr(exc, 'strerror', None) or exc}") from None
    if stat_module.S_ISDIR(info.st_mode):
        raise _model_file_error(path, "is a directory, not a model file (rnnshape reads .keras files and legacy "
                                      ".h5 files; a TensorFlow SavedModel folder is not supported)")
    if not stat_module.S_ISREG(info.st_mode):
        raise _model_file_error(path, "is not a regular file (a FIFO, socket or device); give a .keras or .h5 file")
    if info.st_size == 0:
        raise _model_file_error(path, "is empty (0 bytes), not a Keras model")
    if info.st_size > max_bytes:
        raise _model_file_error(path, f"is {info.st_size:,} bytes, above --max-file-size {max_bytes:,}; raise "
                                      "--max-file-size BYTES to read it")
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise _model_file_error(path, f"cannot read the model file: {exc.strerror or exc}") from None
    if head.startswith(HDF5_MAGIC):
        return ModelFile(path, "h5", info.st_size, _h5_config(path))
    if not head.startswith(ZIP_MAGIC):
        raise _model_file_error(path, "is not a Keras model file: neither a .keras zip nor a legacy HDF5 (.h5) file")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "config.json" not in names:
                raise _model_file_error(path, "is a zip file without config.json: not a Keras .keras model")
            bad = archive.testzip()
            if bad is not None:
                raise _model_file_error(path, f"is corrupt: the member {bad} fails its CRC check")
            text = archive.read("config.json").decode("utf-8")
    except UsageError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise _model_file_error(path, f"is a truncated or corrupt .keras zip ({type(exc).__name__}: "
                                      f"{str(exc).splitlines()[0] if str(exc) else 'unreadable'})") from None
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise _model_file_error(path, f"holds a config.json that is not JSON ({exc})") from None
    if not isinstance(config, dict):
        raise _model_file_error(path, "holds a config.json that is not a Keras model config")
    return ModelFile(path, "keras", info.st_size, config)


def _h5_config(path: str) -> dict[str, Any]:
    import json

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
    try:
        config = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else str(raw))
    except ValueError as exc:
        raise _model_file_error(path, f"holds a model_config that is not JSON ({exc})") from None
    if not isinstance(config, dict):
        raise _model_file_error(path, "holds a model_config that is not a Keras model config")
    return config


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
        raise SpecError(key, f"{name!r} holds {array.dtype} values of shape {array.shape}; a non-empty numeric "
                             "array is needed")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise SpecError(key, f"{name!r} contains NaN or infinite values")
    return DataArray(path, array, hashlib.sha256(raw).hexdigest())
