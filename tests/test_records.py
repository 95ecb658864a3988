"""The typed records (rnnshape/records.py) say exactly what the results hold: every key of every
record in the JSON golden corpus, and in live results, is declared, and every required key is there.
No TensorFlow: the corpus is read from disk, the live results are static."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_type_hints

import pytest

import rnnshape
from rnnshape import records

CORPUS = sorted((Path(__file__).parent / "golden" / "json").glob("*.json"))


def _records(command: str, data: dict[str, Any]) -> list[tuple[type, dict[str, Any]]]:
    """(record type, record) for every typed record of one command's data."""
    found: list[tuple[type, dict[str, Any]]] = [(records.Check, c) for c in data.get("checks") or []]
    if command == "inspect":
        found += [(records.OutputTensor, o) for o in data.get("outputs", [])]
        if "params" in data:
            found.append((records.Params, data["params"]))
            found += [(records.Weight, w) for w in data["params"]["weights"]]
    elif command == "check":
        found += [(records.CheckCase, c) for c in data["cases"]] + [(records.CheckSummary, data["summary"])]
    elif command == "why":
        found += [(records.WhyFix, f) for f in data["fixes"]] + [(records.WhyCause, c) for c in data["causes"]]
        found += [(records.FixBuild, f["built"]) for f in data["fixes"] if f.get("built")]
    elif command == "model":
        found += [(records.ModelLayer, layer) for layer in data["layers"]]
        found += [(records.RecurrentDetails, layer["recurrent"]) for layer in data["layers"] if layer["recurrent"]]
        found += [(records.ModelDiagnosis, d) for d in data["diagnoses"]]
    elif command == "stack":
        found += [(records.StackLayer, layer) for layer in data["layers"]]
    return found


def _assert_fits(kind: type, record: dict[str, Any], where: str) -> None:
    declared = set(get_type_hints(kind))
    assert set(record) <= declared, f"{where}: {kind.__name__} does not declare {sorted(set(record) - declared)}"
    missing = set(kind.__required_keys__) - set(record)
    assert not missing, f"{where}: {kind.__name__} requires {sorted(missing)}, absent"


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem[:50] for p in CORPUS])
def test_every_record_of_the_json_corpus_is_declared(path):
    document = json.loads(path.read_text())
    for kind, record in _records(document["command"], document["data"] or {}):
        _assert_fits(kind, record, path.name)


def test_the_corpus_covers_every_record_type():
    seen = set()
    for path in CORPUS:
        document = json.loads(path.read_text())
        seen |= {kind for kind, _ in _records(document["command"], document["data"] or {})}
    public = {
        value
        for name, value in vars(records).items()
        if not name.startswith("_") and hasattr(value, "__required_keys__")
    }
    assert public <= seen, sorted(kind.__name__ for kind in public - seen)


def test_live_results_fit_their_records():
    result = rnnshape.inspect("lstm", units=6, return_state=True, static=True)
    for output in result.outputs:
        _assert_fits(records.OutputTensor, output, "inspect")
    _assert_fits(records.Params, result.params, "inspect")
    why = rnnshape.why(
        "ValueError: Input 0 of layer lstm is incompatible with the layer: expected ndim=3, found ndim=2"
    )
    assert why.fixes
    for fix in why.fixes:
        _assert_fits(records.WhyFix, fix, "why")
        _assert_fits(records.FixBuild, fix["built"], "why")
