"""The versions of everything that shaped the numbers, read without importing TensorFlow."""

from __future__ import annotations

import platform
from importlib import metadata

__version__ = "0.1.0"  # the one place it is written; pyproject.toml reads it


def versions() -> dict[str, str]:
    """Versions of everything that shaped the numbers, read without importing TensorFlow."""

    def dist(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    return {
        "rnnshape": __version__,
        "keras": dist("keras"),
        "backend": "tensorflow",
        "tensorflow": dist("tensorflow"),
        "numpy": dist("numpy"),
        "python": platform.python_version(),
    }
