"""One numbering for what a person reads (issue 14): a state is named by the input step it has
just read (h_t after x_t; reading backwards the final state is h_1), steps are counted from 1 in
words and pictures, masked meanings name each sample's last valid step, Keras' own names stand
beside the standard ones. Pure: built from specs and the installed Keras *source text*, without
importing TensorFlow (the same sentences, from real runs, are in the slow modules)."""

import importlib.util
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_diagram import draw

from rnnshape.cli import cli
from rnnshape.rules import stateful as chunking
from rnnshape.rules.spec import make_spec
from rnnshape.rules.trace import reading_text
from rnnshape.rules.window import LIMITS


def _meanings(spec):
    return {t.name: t.meaning for t in spec.outputs()}


@pytest.mark.parametrize("layer", ["lstm", "gru", "simplernn"])
def test_go_backwards_table_and_diagram_name_the_final_state_alike(layer):
    spec = make_spec(layer=layer, units=2, timesteps=4, go_backwards=True, return_state=True)
    meanings = _meanings(spec)
    picture = draw(spec, ascii_only=True)
    # The diagram: the output above x_1's cell and the arrow leaving for state_h carry h_1 ...
    assert re.search(r"output \(1, 2\) = h_1: the last step read only", picture)
    assert re.search(r"state_h \(1, 2\) <-h_1-", picture)
    # ... and the table names the same state h_1, saying why: x_1 is the last step read.
    for name in ["output", "state_h"] + (["state_c"] if layer == "lstm" else []):
        assert "_1 (after reading x_T back to x_1: its last read step is x_1" in meanings[name]
        assert "h_T" not in meanings[name] and "c_T" not in meanings[name]
    assert "the final state is h_1" in " ".join(picture.split())
    forward = _meanings(make_spec(layer=layer, units=2, timesteps=4, return_state=True))
    assert "h_T" in forward["state_h"] and "h_1" not in forward["state_h"]


def test_go_backwards_sequence_meaning_names_both_ends():
    spec = make_spec(layer="gru", units=2, timesteps=4, go_backwards=True, return_sequences=True)
    meaning = _meanings(spec)["output"]
    assert "output[:, 0] is h_T (after reading x_T)" in meaning and "output[:, -1] is h_1" in meaning
    plain = _meanings(make_spec(layer="gru", units=2, timesteps=4, return_sequences=True))["output"]
    assert "output[:, t-1] = h_t for t = 1..T" in plain  # an index from 0 next to a label from 1, said so


def test_bidirectional_backward_states_end_at_h_1():
    spec = make_spec(layer="lstm", units=2, timesteps=4, bidirectional=True, return_state=True)
    meanings = _meanings(spec)
    assert meanings["forward_state_h"].startswith("forward layer's final hidden state h_T")
    assert meanings["backward_state_h"].startswith("backward layer's final hidden state h_1 (after reading x_T")
    assert meanings["backward_state_c"].startswith("backward layer's final cell state c_1")
    assert "forward final h_T and backward final h_1" in meanings["output"]


@pytest.mark.parametrize(
    "options", [dict(layer="lstm"), dict(layer="gru", bidirectional=True), dict(layer="simplernn", go_backwards=False)]
)
def test_masked_meanings_name_each_samples_last_valid_step(options):
    spec = make_spec(units=2, timesteps=4, batch=2, lengths=(2, 4), return_state=True, **options)
    meanings = _meanings(spec)
    finals = [n for n in meanings if "state_h" in n or "state_c" in n or n == "output"]
    for name in finals:
        if name.startswith("backward"):
            assert "_1 (after reading x_T back to x_1" in meanings[name]
            continue
        assert "after each sample's last valid step (steps 2, 4)" in meanings[name], (name, meanings[name])
        assert "h_T" not in meanings[name] and "c_T" not in meanings[name]


def test_masked_go_backwards_still_ends_at_h_1():
    spec = make_spec(layer="lstm", units=2, timesteps=4, batch=2, lengths=(2, 4), go_backwards=True, return_state=True)
    meaning = _meanings(spec)["state_h"]
    assert meaning.startswith("final hidden state h_1") and "the padding, read first, changes no state" in meaning


def _keras_lstm_source() -> str:
    """keras/src/layers/rnn/lstm.py of the installed Keras, read as text (nothing imported)."""
    origin = importlib.util.find_spec("keras").submodule_search_locations[0]
    return (Path(origin) / "src" / "layers" / "rnn" / "lstm.py").read_text()


@pytest.mark.slow  # reads the installed Keras' source: the fast tier runs where Keras is not installed
def test_h_versus_c_table_gives_keras_own_names_as_in_its_source():
    source = _keras_lstm_source()
    # The LSTM docstring unpacks (output, h, c) under these names; the code calls c the carry state.
    names = re.search(r"whole_seq_output, (\w+), (\w+) = lstm\(inputs\)", source)
    assert names, "the Keras LSTM docstring changed"
    h_name, c_name = names.groups()
    assert (h_name, c_name) == ("final_memory_state", "final_carry_state")
    assert "carry state" in source
    h_row, c_row = make_spec(layer="lstm", return_state=True).h_vs_c()
    assert h_name in h_row["what"] and "hidden state" in h_row["what"]
    assert c_name in c_row["what"] and "carry state" in c_row["what"] and "cell state" in c_row["what"]
    gru_h = make_spec(layer="gru").h_vs_c()[0]["what"]
    assert "final_state" in gru_h and "final_memory_state" not in gru_h


def test_trace_reading_backwards_says_the_final_h_is_h_1():
    assert reading_text("forward", 4) == "reads x_1 -> x_4 (time order)"
    backward = reading_text("backward", 4)
    assert backward.startswith("reads x_4 -> x_1") and "the final h is h_1" in backward
    assert "h_(t+1)" in backward and "zeros before x_4" in backward


def test_stateful_steps_are_counted_from_1_in_words():
    bounds = chunking.chunk_bounds((2, 4))
    assert bounds == [(0, 2), (2, 6)]  # [start, stop) indices stay 0-based
    assert chunking.order_text(bounds, True) == "2 1 | 6 5 4 3"
    assert chunking.order_text(bounds, False) == "1 2 | 3 4 5 6"


@pytest.mark.parametrize(
    "split,shape,text",
    [
        ((2, 4), (2, None, 2), "keras.Input(batch_shape=(2, None, 2))"),
        ((3, 3), (2, 3, 2), "keras.Input(batch_shape=(2, 3, 2))"),
        ((6,), (2, 6, 2), "keras.Input(batch_shape=(2, 6, 2))"),
    ],
)
def test_stateful_model_input_follows_the_chunk_lengths(split, shape, text):
    spec = make_spec(layer="lstm", units=3, timesteps=6, batch=2, stateful=True)
    assert chunking.input_batch_shape(spec, split) == shape
    assert chunking.keras_input(spec, split) == text


def test_window_show_help_states_its_range():
    result = CliRunner().invoke(cli, ["window", "--help"], env={"COLUMNS": "200"})
    low, high = LIMITS["show"]
    assert result.exit_code == 0 and f"windows to list, {low}..{high}" in result.stdout
    assert (low, high) == (0, 1000)
