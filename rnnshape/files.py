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
