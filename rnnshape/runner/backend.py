"""Runs on another Keras backend (jax, torch): Keras fixes its backend when it is imported, so the
run happens in a child process started with KERAS_BACKEND set, building the same layer with the
same seeded weights and input as on TensorFlow (the runner's own code, on that backend), and sending the
plain arrays back. The pipe carries pickles between this process and its own child only: nothing
a user gave is unpickled.

Run as ``python -m rnnshape.runner.backend``: reads the job from stdin, writes the answer to the
stdout it was given (anything Keras or the backend prints goes to stderr)."""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
from typing import Any

from rnnshape.errors import BackendError

BACKENDS = ("tensorflow", "jax", "torch")
INSTALL = {
    "tensorflow": "pip install tensorflow",
    "jax": 'pip install "rnnshape[jax]"  (or: pip install jax)',
    "torch": 'pip install "rnnshape[torch]"  (or: pip install torch)',
}
MODULE = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
CHILD_TIMEOUT = 600


def installed(backend: str) -> bool:
    """Whether ``backend``'s package can be imported, found without importing it (nor Keras)."""
    import importlib.util

    try:
        return importlib.util.find_spec(MODULE[backend]) is not None
    except (ImportError, ValueError):  # a parent package missing, a module without a spec
        return False


def require(*backends: str) -> None:
    """Before any Keras work: a backend of ``backends`` that is not installed is a BackendError
    naming the install (TensorFlow, which runs in this process, is not checked here)."""
    for backend in backends:
        if backend != "tensorflow" and not installed(backend):
            raise BackendError(f"the Keras backend {backend} is not installed: {INSTALL[backend]}")


# The runner functions a child may run, as module.function under rnnshape.runner: each returns
# plain arrays and dataclasses of them.
CALLS = (
    "layer.run_many",
    "trace.trace_many",
    "stateful.run_stateful",
    "stateful_loops.run_windows_loop",
    "stateful_loops.run_save_load",
    "generate.run_generate",
)


def run_many(specs: list[Any], backend: str, weights: list[Any] | None = None) -> tuple[list[Any], dict[str, str]]:
    """runner.layer.run_many(specs, weights) on Keras' ``backend``, in a child process: the
    RunResults and {backend, version, keras}. A backend not installed is a BackendError naming
    the install."""
    return call(backend, "layer.run_many", specs, weights=weights)


def call(backend: str, name: str, *args: Any, **kwargs: Any) -> tuple[Any, dict[str, str]]:
    """The runner's <name>(*args, **kwargs) (one of CALLS) on Keras' ``backend``, in a child
    process: its result and {backend, version, keras}."""
    if name not in CALLS:
        raise ValueError(f"{name} is not run on other backends")
    require(backend)
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, "-m", "rnnshape.runner.backend"],
        input=pickle.dumps((name, args, kwargs)),
        capture_output=True,
        env=env,
        timeout=CHILD_TIMEOUT,
    )
    if proc.returncode != 0 or not proc.stdout:
        lines = [line for line in proc.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
        last = lines[-1] if lines else f"exit code {proc.returncode}"
        raise BackendError(f"Keras on the {backend} backend failed: {last}")
    answer = pickle.loads(proc.stdout)
    if isinstance(answer, dict) and "error" in answer:
        hint = f"; install it with: {INSTALL[backend]}" if answer.get("import_error") else ""
        raise BackendError(f"Keras on the {backend} backend failed: {answer['error']}{hint}")
    return answer["runs"], answer["backend"]


def _function(name: str) -> Any:
    """rnnshape.runner.<module>.<function> for a name of CALLS (imported here, in the child)."""
    from rnnshape.runner import generate, layer, stateful, stateful_loops, trace

    modules = {
        "layer": layer,
        "trace": trace,
        "stateful": stateful,
        "stateful_loops": stateful_loops,
        "generate": generate,
    }
    if name not in CALLS:
        raise ValueError(f"{name} is not run on other backends")
    module, function = name.split(".")
    return getattr(modules[module], function)


def _child() -> None:
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints go to stderr, the answer to the saved stdout
    sys.stdout = sys.stderr
    backend = os.environ["KERAS_BACKEND"]
    name, args, kwargs = pickle.loads(sys.stdin.buffer.read())
    try:
        import keras

        from rnnshape.runner import session as session_runner

        if keras.backend.backend() != backend:
            raise RuntimeError(f"Keras runs on {keras.backend.backend()}, not {backend}")
        session_runner._keras = keras  # Keras imported on this backend: the runner builds and runs as everywhere
        module = __import__(MODULE[backend])
        # torch: plain tensors, readable as numpy
        with module.no_grad() if backend == "torch" else contextlib.nullcontext():
            runs = _function(name)(*args, **kwargs)
        answer = {
            "runs": runs,
            "backend": {"backend": backend, "version": module.__version__, "keras": keras.__version__},
        }
    except Exception as exc:
        text = str(exc).strip()
        answer = {
            "error": f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}",
            "import_error": isinstance(exc, ImportError),
        }
    out.write(pickle.dumps(answer))
    out.close()


if __name__ == "__main__":
    _child()
