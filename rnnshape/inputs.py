"""Where the input numbers come from (--input): the seeded default, arange, ones, zeros, or a
user's .npy/.csv file. numpy only. A file fixes batch, timesteps and features from its shape."""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass

import numpy as np

from rnnshape.errors import SpecError
from rnnshape.spec import INPUT_KINDS

FILE_SUFFIXES = (".npy", ".csv")


@dataclass(frozen=True)
class LoadedInput:
    array: np.ndarray  # float32, [batch, timesteps, features]
    sha256: str
    notes: tuple[str, ...]


def generated_input(kind: str, seed: int, shape: tuple[int, int, int]) -> np.ndarray:
    if kind == "arange":  # as Keras' own tests build their inputs
        return np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    if kind == "ones":
        return np.ones(shape, np.float32)
    if kind == "zeros":
        return np.zeros(shape, np.float32)
    # random: uniform in [-1, 1] rounded to 2 decimals so the numbers read easily
    rng = np.random.default_rng([seed, 1])
    return np.round(rng.uniform(-1.0, 1.0, size=shape), 2).astype(np.float32)


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
    import io

    import warnings

    try:
        text = raw.decode("utf-8")
        with warnings.catch_warnings():  # "input contained no data": the empty array is refused below
            warnings.simplefilter("ignore")
            return np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.float64, ndmin=1)
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SpecError("input", f"{name!r} is not a numeric CSV (rows of comma-separated numbers): {first}") from None
