"""The --json corpus: command lines over every command and the main flags, whose JSON
documents must stay byte-identical (the first 50 recorded before the library/CLI split; only the
versions block and a backend's version, which name the installed packages, are left out of the
comparison)."""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent / "golden" / "json"
LINES = [line for line in (HERE / "corpus.txt").read_text().splitlines() if line.strip() and not line.startswith("#")]
VERSIONS = re.compile(r'"versions": \{[^{}]*\}')
BACKEND_VERSIONS = re.compile(r'("(?:version|keras)": )"[^"]*"')  # in data.backend {backend, version, keras}


def golden_name(index: int, line: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", line.lower()).strip("_")[:80]
    return f"{index:02d}_{slug}.json"


def without_versions(text: str) -> str:
    return BACKEND_VERSIONS.sub(r'\1""', VERSIONS.sub('"versions": {}', text))


@pytest.mark.parametrize("index,line", list(enumerate(LINES)), ids=[line[:60] for line in LINES])
def test_json_document_is_unchanged(invoke, index: int, line: str) -> None:
    result = invoke([*shlex.split(line), "--json"])
    path = HERE / golden_name(index, line)
    if os.environ.get("RNNSHAPE_UPDATE_GOLDEN") or not path.exists():
        path.write_text(result.stdout)
    assert without_versions(result.stdout) == without_versions(path.read_text())
    json.loads(result.stdout)  # one JSON document, nothing else on stdout
