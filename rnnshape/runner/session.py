"""Keras in this process: imported once and quietly (TensorFlow's log lines kept off the user's
terminal by pointing file descriptor 2 at a private log while TensorFlow works), the run's mode,
the one place a layer is called on numbers (call_layer), and Keras' failures as one line.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import tempfile
import warnings
from typing import Any, Callable, Iterator

import numpy as np

from rnnshape.errors import BackendError
from rnnshape.rules import progress

_keras: Any = None


_native_log: Any = None  # binary temp file; fd 2 points here while TensorFlow works


_native_log_text: Any = None


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Send fd 2, sys.stderr and Python warnings to a private log while the block runs."""
    global _native_log, _native_log_text
    if _native_log is None:
        _native_log = tempfile.TemporaryFile(mode="w+b")
        _native_log_text = io.TextIOWrapper(_native_log, encoding="utf-8", errors="replace", write_through=True)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    saved_fd = os.dup(2)
    saved_stderr = sys.stderr
    os.dup2(_native_log.fileno(), 2)
    sys.stderr = _native_log_text
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        with contextlib.suppress(Exception):
            _native_log_text.flush()
        os.dup2(saved_fd, 2)
        os.close(saved_fd)
        sys.stderr = saved_stderr


def native_log() -> str:
    """What TensorFlow printed so far (for --debug)."""
    if _native_log is None:
        return ""
    _native_log.seek(0)
    text = _native_log.read().decode("utf-8", "replace")
    _native_log.seek(0, os.SEEK_END)
    return text


# KERAS_BACKEND as the environment set it, when it named another backend than TensorFlow: this
# process runs Keras on TensorFlow whatever it says (another backend is --backend's child process).
ignored_backend: str | None = None


def load_keras() -> Any:
    """Import Keras 3 on the TensorFlow backend, once per process, quietly."""
    global _keras
    global ignored_backend
    if _keras is not None:
        return _keras
    asked = os.environ.get("KERAS_BACKEND", "").strip()
    if asked and asked.lower() != "tensorflow":
        ignored_backend = asked  # the command line says so after the run (cli.app)
    os.environ["KERAS_BACKEND"] = "tensorflow"
    quiet_tensorflow_logging(keep_user_settings=os.environ.get("RNNSHAPE_DEBUG", "") not in ("", "0"))
    with quiet_native_stderr():
        try:
            import keras
            import tensorflow as tf
        except Exception as exc:  # ImportError, or a broken install raising anything
            raise BackendError(
                f"TensorFlow/Keras could not be imported ({type(exc).__name__}: {_first_line(exc)}); "
                "install it with: pip install tensorflow  (or run with --static for shapes without it)"
            ) from exc
        if not keras.__version__.startswith("3."):
            raise BackendError(f"rnnshape needs Keras 3, found keras {keras.__version__}; pip install -U keras")
        tf.get_logger().setLevel("ERROR")
        with contextlib.suppress(Exception):
            import absl.logging

            absl.logging.set_verbosity(absl.logging.ERROR)
    _keras = keras
    return keras


# TensorFlow's C++ log reads these when it is imported. Its lines are written to fd 2 at any
# time (a tensor freed after a run logs __LOG_MEMORY__ under TF_CPP_MAX_VLOG_LEVEL=3), not only
# while quiet_native_stderr holds it, so the user's own settings are overridden before the import.
QUIET_TF_ENVIRONMENT = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_CPP_MAX_VLOG_LEVEL": "0",
    "TF_CPP_VMODULE": "",
    "GRPC_VERBOSITY": "ERROR",
}


def quiet_tensorflow_logging(keep_user_settings: bool = False) -> None:
    """Set TensorFlow's log environment before it is imported: quiet whatever the user's
    environment says, or (``keep_user_settings``, under --debug) only where the user set nothing."""
    for key, value in QUIET_TF_ENVIRONMENT.items():
        if keep_user_settings:
            if value:
                os.environ.setdefault(key, value)
        elif value:
            os.environ[key] = value
        else:
            os.environ.pop(key, None)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


# ---- the one place where a layer is called on numbers --------------------------------------
# The run's mode: "eager" calls each layer as Keras does (one Python step per timestep);
# "compiled" calls it through tf.function (a graph: Keras' own while loop, not jit_compile),
# which gives the same numbers far faster on long sequences. api/ chooses (rules/layer.py
# LayerSpec.run_mode) and sets it with ``mode``; every layer call of every command goes
# through call_layer.
_mode = "eager"


_compiled: dict[int, tuple[Any, Any]] = {}  # id(layer) -> (layer, its tf.function), for this mode's block


@contextlib.contextmanager
def mode(name: str) -> Iterator[None]:
    """Run the block's layer calls ``name`` ("eager" or "compiled")."""
    global _mode
    if name not in ("eager", "compiled"):
        raise ValueError(f"unknown run mode {name!r}")
    saved = _mode
    _mode = name
    try:
        yield
    finally:
        _mode = saved
        _compiled.clear()


def current_mode() -> str:
    return _mode


def _tensor(tf: Any, value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return tf.convert_to_tensor(value)
    if isinstance(value, (list, tuple)):
        return [_tensor(tf, v) for v in value]
    return value


def call_layer(layer: Any, x: Any, **kwargs: Any) -> Any:
    """``layer(x, **kwargs)`` eagerly, or through tf.function in compiled mode (traced once per
    layer and input signature; a stateful layer's state variables are assigned inside the
    graph, as eagerly). Results are tensors either way."""
    progress.layer_pass(
        f"{_mode} {getattr(layer, 'name', 'layer')} on {tuple(int(d) for d in getattr(x, 'shape', ()))}"
    )
    if _mode != "compiled":
        return layer(x, **kwargs)
    import tensorflow as tf

    entry = _compiled.get(id(layer))
    if entry is None or entry[0] is not layer:
        entry = (layer, tf.function(layer.__call__, autograph=False))  # Keras builds its loop with tf ops itself
        _compiled[id(layer)] = entry
    return entry[1](_tensor(tf, x), **{k: _tensor(tf, v) for k, v in kwargs.items()})


def _keras_lines(exc: BaseException) -> list[str]:
    """Keras' own message, line by line: without its colour codes, its "Exception encountered
    when calling GRU.call()." wrapper (which says where, not what) and its 'Arguments received'
    listing."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    skipped = ("Exception encountered when calling", "•", "Arguments received by")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith(skipped)]


def keras_message(exc: BaseException) -> str:
    """Keras' own message on one line (_keras_lines joined)."""
    return " ".join(_keras_lines(exc)) or type(exc).__name__


def first_keras_line(exc: BaseException) -> str:
    """The first line of Keras' own message (_keras_lines)."""
    lines = _keras_lines(exc)
    return lines[0] if lines else _first_line(exc)


@contextlib.contextmanager
def keras_failures(
    what: str, detail: Callable[[BaseException], str] | None = None, passes: tuple[type, ...] = (BackendError,)
) -> Iterator[None]:
    """Whatever Keras raises inside the block, as one BackendError: "Keras failed running WHAT:
    Type: its first line" (``detail`` words the exception otherwise; ``passes``, rnnshape's own
    errors, pass as they are). The one wrapper of every runner call into Keras."""
    try:
        yield
    except passes:
        raise
    except Exception as exc:
        words = detail(exc) if detail is not None else f"{type(exc).__name__}: {first_keras_line(exc)}"
        raise BackendError(f"Keras failed running {what}: {words}") from exc
