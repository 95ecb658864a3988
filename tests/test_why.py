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
from rnnshape.rules.why import recognise
from rnnshape.rules.why_diagnosis import NoShapeError, first_error_line, parse_shape

FIXTURES = sorted((Path(__file__).parent / "fixtures" / "why").glob("*.txt"))


def _fixture(path: Path) -> tuple[dict[str, str], str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = dict(line[2:].split(": ", 1) for line in lines if line.startswith("# "))
    return header, "\n".join(line for line in lines if not line.startswith("# "))


def test_thirty_real_world_messages_are_kept_with_their_source_and_fix():
    assert len(FIXTURES) >= 30
    for path in FIXTURES:
        header, body = _fixture(path)
        assert header["source"].startswith("https://"), path.name
        assert header["printed by"] and header["kind"] and header["top cause"] and body.strip(), path.name
    # the newer fixtures also quote the fix the thread accepted
    assert sum("thread fix" in _fixture(path)[0] for path in FIXTURES) >= 10


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_a_real_world_message_gets_the_threads_fix_first(path):
    header, body = _fixture(path)
    diagnosis = recognise(body)
    assert diagnosis.kind == header["kind"]
    assert diagnosis.causes[0].id == header["top cause"], [c.id for c in diagnosis.causes]
    assert diagnosis.fixes and diagnosis.fixes[0].cause == 1
    assert all(fix.command().startswith(("rnnshape stack ", "rnnshape inspect ")) for fix in diagnosis.fixes)
    assert diagnosis.title and diagnosis.wording


def _top(text: str) -> tuple[str, str]:
    diagnosis = recognise(text)
    return diagnosis.kind, diagnosis.causes[0].id


def test_pasted_without_backticks_prefix_or_line_breaks_the_same_error_is_found():
    keras2 = "ValueError: Error when checking target: expected dense_1 to have 3 dimensions, but got array with shape (118, 1)"
    assert (
        _top(keras2)
        == _top("expected dense_1 to have 3 dimensions, but got array with shape (118, 1)")
        == ("target_mismatch", "return_sequences_before_head")
    )
    assert (
        _top("expected lstm_1_input to have 3 dimensions, but got array with shape (50, 9)")[0] == "no_timesteps_axis"
    )
    concat = (
        "A `Concatenate` layer requires inputs with matching shapes except for the concatenation axis. "
        "Received: input_shape=[(None, 10, 4), (None, 2)]"
    )
    assert (
        _top(concat)
        == _top(concat.replace("`", ""))
        == _top(concat.replace(" ", "\n    ", 6))
        == ("concatenate_shapes", "concat_sequence_with_vector")
    )
    spec = (
        "An initial_state was passed that is not compatible with cell.state_size. Received state_spec="
        "[InputSpec(shape=(None, 50, 128), ndim=3)]; however cell.state_size is (128, 128)"
    )
    assert _top(spec) == ("initial_state_spec", "state_is_a_sequence")


def test_keras_1_and_2_layer_names_and_version_labels():
    conv = recognise("Input 0 is incompatible with layer conv_lst_m2d_5: expected ndim=5, found ndim=4")
    assert conv.kind == "convlstm_input_rank" and conv.title == "ConvLSTM2D got a 4-D input, 5-D needed"
    assert conv.fixes[0].command().startswith("rnnshape inspect --layer convlstm2d")
    assert recognise(
        "Exception: Input 0 is incompatible with layer lstm_28: expected ndim=3, found ndim=2"
    ).wording.startswith("Keras 1.x")
    assert recognise(
        "ValueError: Input 0 is incompatible with layer lstm_2: expected ndim=3, found ndim=2"
    ).wording.startswith("Keras 2")
    # a message Keras 3 still prints in tf.keras 2's words: the traceback decides
    tf216 = (
        'File "/usr/lib/python3.10/site-packages/keras/src/layers/input_spec.py", line 186\n'
        'ValueError: Input 0 of layer "lstm" is incompatible with the layer: expected ndim=3, found ndim=4. '
        "Full shape received: (None, 1, 60, 5)"
    )
    assert recognise(tf216).wording.startswith("Keras 3")
    assert "TensorFlow 2.1-2.15" not in recognise(tf216).wording


def test_a_title_never_contradicts_the_message():
    both_false = (
        "Forward layer and backward layer should have different `go_backwards` value. "
        "Received: forward_layer.go_backwards False, backward_layer.go_backwards False"
    )
    both_true = both_false.replace("False", "True")
    assert "both sides" not in recognise(both_false).title.replace("go_backwards=False on both sides", "")
    assert recognise(both_false).causes[0].id == "backward_layer_not_backwards"
    assert recognise(both_true).title == "Bidirectional with go_backwards=True on both sides"


def test_a_convlstm_fix_whose_kernel_exceeds_the_map_is_never_first():
    # (10, 64, 2): as 10 frames of 64 x 2 the 3 x 3 kernel does not fit; as 1 frame of 10 x 64 x 2 channels it does
    diagnosis = recognise(
        "Input 0 with name 'None' of layer 'conv_lstm2d' is incompatible with the layer: expected "
        "ndim=5, found ndim=4. Full shape received: (None, 10, 64, 2)"
    )
    assert [c.id for c in diagnosis.causes] == ["convlstm_missing_time", "convlstm_missing_channels"]
    assert "--rows 10 --cols 64 --channels 2" in diagnosis.fixes[0].command()
    assert "kernel 3 is larger than the map 64 x 2" in diagnosis.fixes[1].note
    # RGB frames keep their channels: the time axis is the missing one
    rgb = recognise(
        "ValueError: Error when checking input: expected conv_lst_m2d_1_input to have 5 dimensions, "
        "but got array with shape (1, 120, 19, 3)"
    )
    assert rgb.kind == "convlstm_input_rank" and rgb.causes[0].id == "convlstm_missing_time"


def test_the_paste_ranks_the_causes():
    pooled = (
        'model.add(GlobalMaxPooling1D())\nmodel.add(LSTM(32))\nValueError: Input 0 of layer "lstm" is '
        "incompatible with the layer: expected ndim=3, found ndim=2. Full shape received: (None, 64)"
    )
    assert _top(pooled) == ("timesteps_axis_removed", "layer_removed_timesteps")
    regression = "model.compile(loss='mse')\nError when checking target: expected dense_2 to have shape (None, 10) but got array with shape (500, 1)"
    classifier = regression.replace("'mse'", "'categorical_crossentropy'")
    assert _top(regression)[1] == "head_units_vs_target_width"
    assert _top(classifier)[1] == "integer_labels_with_categorical_loss"


def test_without_a_cause_in_the_paste_the_candidates_are_said_as_candidates():
    diagnosis = recognise("InvalidArgumentError: Incompatible shapes: [1,44,44,256] vs. [1,43,43,256]")
    assert diagnosis.kind == "incompatible_shapes" and diagnosis.causes[0].id == "shapes_differ"
    assert "names no cause" in diagnosis.title and "not a ranking" in diagnosis.evidence


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
    log = (
        "Epoch 1/5\n" * 50 + 'Traceback (most recent call last):\n  File "train.py", line 9\n'
        "ValueError: Input 0 with name 'None' of layer 'lstm' is incompatible with the layer: expected\n"
        "ndim=3, found ndim=2. Full shape received: (None, 12)\n"
    )
    diagnosis = recognise(log)
    assert diagnosis.kind == "no_timesteps_axis" and diagnosis.shapes[0].shape == (None, 12)
    assert [fix.command() for fix in diagnosis.fixes[:2]] == [
        "rnnshape stack --timesteps 12 --features 1 lstm:8 dense:1",
        "rnnshape stack --timesteps 1 --features 12 lstm:8 dense:1",
    ]


def test_the_api_builds_every_fix_by_the_rules_by_default():
    result = rnnshape.why(
        "Input 0 with name 'None' of layer 'gru_2' is incompatible with the layer: expected "
        "ndim=3, found ndim=2. Full shape received: (None, 16)",
    )
    assert result.kind == "stacked_without_return_sequences" and result.exit_code == 0
    first = result.fixes[0]
    assert first["tokens"] == ["gru:16:seq", "gru:8", "dense:1"]
    assert first["built"]["static"] and first["built"]["output_shape"] == [1, 1]
    assert "units 8" in first["assumed"]


MESSAGE = (
    "Input 0 with name 'None' of layer 'lstm' is incompatible with the layer: expected ndim=3, "
    "found ndim=2. Full shape received: (None, 10)"
)


def test_cli_json_envelope(invoke):
    result = invoke(["why", MESSAGE, "--static", "--json"])
    document = json.loads(result.stdout)
    assert result.exit_code == 0 and document["ok"] and document["command"] == "why"
    data = document["data"]
    assert data["kind"] == "no_timesteps_axis"
    assert data["shapes"][0] == {
        "role": "received",
        "shape": [None, 10],
        "axes": ["batch", "10"],
        "note": "no timesteps axis",
    }
    assert [c["rank"] for c in data["causes"]] == [1, 2, 3]
    assert all(fix["built"]["exit_code"] == 0 for fix in data["fixes"])
    # the stack line runs as shown and builds with Keras (by the rules with --static)
    assert data["fixes"][0]["command"].startswith("rnnshape stack ") and "--static" not in data["fixes"][0]["command"]
    assert data["static"] is True and all(fix["built"]["static"] for fix in data["fixes"])


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


@pytest.mark.parametrize(
    "args, words",
    [
        (["--file", "."], "--file"),
        (["--file", "missing.log"], "--file"),
        (["--model", "m.keras"], "--model/--y"),
        (["TEXT", "--file", "x.log"], "not TEXT and --file"),
    ],
)
def test_cli_usage_errors_exit_2_on_one_line(invoke, args, words):
    result = invoke(["why", *args])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and words in result.stderr


@pytest.mark.slow
def test_unrecognised_text_exits_1_in_a_real_process():
    command = [sys.executable, "-m", "rnnshape", "why", "--static"]
    proc = subprocess.run(
        command, input="Traceback\nRuntimeError: CUDA out of memory\n", capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr == (
        "rnnshape why: error: no Keras shape error found; the first error line: RuntimeError: CUDA out of memory\n"
    )


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_the_first_fix_of_every_real_world_message_builds_by_the_rules(path):
    _, body = _fixture(path)
    result = rnnshape.why(body)
    assert result.exit_code == 0, result.errors
    first = result.fixes[0]["built"]
    assert first["exit_code"] == 0 and first["compatible"] and first["output_shape"], first


def test_keras_2_state_spec_of_a_bidirectional_encoder_and_of_stacked_cells():
    spec = "InputSpec(shape=(None, 64), ndim=2)"
    bidirectional = (
        "ValueError: An `initial_state` was passed that is not compatible with `cell.state_size`. "
        f"Received `state_spec`=[{', '.join([spec] * 4)}]; however `cell.state_size` is (64, 64)"
    )
    diagnosis = recognise(bidirectional)  # forward_h, forward_c, backward_h, backward_c given to an LSTM(64)
    assert diagnosis.causes[0].id == "bidirectional_states_not_merged"
    assert "LSTM(128)" in diagnosis.fixes[0].code and diagnosis.fixes[0].tokens == "lstm:64:bi"
    # tensorflow/tensorflow#27817 (TF 1.13 tf.keras), verbatim: three stacked LSTMCell(8)
    stacked = (
        "ValueError: An `initial_state` was passed that is not compatible with `cell.state_size`. Received "
        "`state_spec`=[InputSpec(shape=(None, 8), ndim=2), InputSpec(shape=(None, 8), ndim=2), "
        "InputSpec(shape=(None, 8), ndim=2), InputSpec(shape=(None, 8), ndim=2), InputSpec(shape=(None, 8), "
        "ndim=2), InputSpec(shape=(None, 8), ndim=2)]; however `cell.state_size` is [[8, 8], [8, 8], [8, 8]]"
    )
    assert recognise(stacked).causes[0].id == "nested_state_structure"
