"""`rnnshape why` without TensorFlow: the real-world messages of tests/fixtures/why/ (each with its
source and the version that printed it) are recognised; text without a Keras shape error exits 1
with the first error line; the inputs (TEXT, stdin, --file) and their refusals; --static --json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import rnnshape
from rnnshape.model.why import NoShapeError, first_error_line, parse_shape, recognise

FIXTURES = sorted((Path(__file__).parent / "fixtures" / "why").glob("*.txt"))


def _fixture(path: Path) -> tuple[dict[str, str], str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = dict(line[2:].split(": ", 1) for line in lines if line.startswith("# "))
    return header, "\n".join(line for line in lines if not line.startswith("# "))


def test_twenty_real_world_messages_are_kept_with_their_source():
    assert len(FIXTURES) >= 20
    for path in FIXTURES:
        header, body = _fixture(path)
        assert header["source"].startswith("https://"), path.name
        assert header["printed by"] and header["kind"] and body.strip(), path.name


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_a_real_world_message_is_recognised(path):
    header, body = _fixture(path)
    diagnosis = recognise(body)
    assert diagnosis.kind == header["kind"]
    assert diagnosis.causes and diagnosis.fixes
    assert all(fix.command().startswith("rnnshape stack ") for fix in diagnosis.fixes)


def test_shapes_in_every_spelling():
    assert parse_shape("(None, 10)") == (None, 10)
    assert parse_shape("[None, 240, 94, 1]") == (None, 240, 94, 1)
    assert parse_shape("(100L, 9L, 15L)") == (100, 9, 15)
    assert parse_shape("(None,)") == (None,)


def test_text_without_a_keras_shape_error_names_its_first_error_line():
    log = "Epoch 1/3\nTraceback (most recent call last):\n  File 'x.py'\nKeyError: 'loss'\nValueError: later\n"
    assert first_error_line(log) == "KeyError: 'loss'"
    with pytest.raises(NoShapeError, match="no Keras shape error found; the first error line: KeyError: 'loss'"):
        recognise(log)
    with pytest.raises(NoShapeError, match="no line naming an Error"):
        recognise("all good")


def test_the_error_is_found_inside_a_whole_log():
    log = ("Epoch 1/5\n" * 50 + "Traceback (most recent call last):\n  File \"train.py\", line 9\n"
           "ValueError: Input 0 with name 'None' of layer 'lstm' is incompatible with the layer: expected\n"
           "ndim=3, found ndim=2. Full shape received: (None, 12)\n")
    diagnosis = recognise(log)
    assert diagnosis.kind == "no_timesteps_axis" and diagnosis.shapes[0].shape == (None, 12)
    assert [fix.command() for fix in diagnosis.fixes[:2]] == [
        "rnnshape stack --timesteps 12 --features 1 lstm:8 dense:1",
        "rnnshape stack --timesteps 1 --features 12 lstm:8 dense:1"]


def test_the_api_static_builds_every_fix_by_the_rules():
    result = rnnshape.why("Input 0 with name 'None' of layer 'gru_2' is incompatible with the layer: expected "
                          "ndim=3, found ndim=2. Full shape received: (None, 16)", static=True)
    assert result.kind == "stacked_without_return_sequences" and result.exit_code == 0
    first = result.fixes[0]
    assert first["tokens"] == ["gru:16:seq", "gru:8", "dense:1"]
    assert first["built"]["static"] and first["built"]["output_shape"] == [1, 1]
    assert "units 8" in first["assumed"]


MESSAGE = ("Input 0 with name 'None' of layer 'lstm' is incompatible with the layer: expected ndim=3, "
           "found ndim=2. Full shape received: (None, 10)")


def test_cli_json_envelope(invoke):
    result = invoke(["why", MESSAGE, "--static", "--json"])
    document = json.loads(result.stdout)
    assert result.exit_code == 0 and document["ok"] and document["command"] == "why"
    data = document["data"]
    assert data["kind"] == "no_timesteps_axis"
    assert data["shapes"][0] == {"role": "received", "shape": [None, 10], "axes": ["batch", "10"],
                                 "note": "no timesteps axis"}
    assert [c["rank"] for c in data["causes"]] == [1, 2, 3]
    assert all(fix["built"]["exit_code"] == 0 for fix in data["fixes"])
    assert data["fixes"][0]["command"].endswith("--static")


def test_cli_reads_stdin_and_files(invoke, tmp_path):
    from click.testing import CliRunner

    from rnnshape.cli import cli

    piped = CliRunner().invoke(cli, ["why", "--static", "--json"], input="Traceback...\n" + MESSAGE + "\n")
    assert piped.exit_code == 0 and json.loads(piped.stdout)["data"]["source"] == "text"
    dash = CliRunner().invoke(cli, ["why", "-", "--static"], input=MESSAGE)
    assert dash.exit_code == 0 and "[batch, 10]" in dash.stdout
    log = tmp_path / "train.log"
    log.write_text("loading\n" + MESSAGE + "\n")
    from_file = invoke(["why", "--file", str(log), "--static", "--json"])
    assert json.loads(from_file.stdout)["data"]["source"] == "file"


@pytest.mark.parametrize("args, words", [
    (["--file", "."], "--file"),
    (["--file", "missing.log"], "--file"),
    (["--model", "m.keras"], "--model/--y"),
    (["TEXT", "--file", "x.log"], "not TEXT and --file"),
])
def test_cli_usage_errors_exit_2_on_one_line(invoke, args, words):
    result = invoke(["why", *args])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and words in result.stderr


@pytest.mark.slow
def test_unrecognised_text_exits_1_in_a_real_process():
    command = [sys.executable, "-m", "rnnshape", "why", "--static"]
    proc = subprocess.run(command, input="Traceback\nRuntimeError: CUDA out of memory\n", capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr == ("rnnshape why: error: no Keras shape error found; the first error line: "
                           "RuntimeError: CUDA out of memory\n")
