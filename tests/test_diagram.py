"""The unrolled picture (rnnshape.diagram): golden text at a fixed width for each layer, the
return flags, Bidirectional, go_backwards, stateful and elision; built from the pure spec, so
these tests run without TensorFlow. The CLI wiring (--diagram, --ascii, --svg, --html) is in
test_cli_diagram.py."""

import io
import itertools
import os
import re
from pathlib import Path

import pytest
from rich.console import Console

from rnnshape.rules.catalogue import LAYERS
from rnnshape.rules.options import MERGE_MODES
from rnnshape.rules.spec import make_spec
from rnnshape.rules.words import shape_text
from rnnshape.views.pictures.unrolled import diagram_for as picture_of

GOLDEN = Path(__file__).parent / "golden"
WIDTH = 100


def diagram_for(spec_or_data, ascii_only=False):
    """The picture of a LayerSpec (shapes from the rules) or of an inspect data object."""
    if isinstance(spec_or_data, dict):
        return picture_of(make_spec(**spec_or_data["config"]), spec_or_data, ascii_only=ascii_only)
    return picture_of(spec_or_data, None, ascii_only=ascii_only)


def draw(spec_or_data, ascii_only=False, width=WIDTH) -> str:
    """The picture as plain text, as printed when piped (no colour)."""
    console = Console(
        file=io.StringIO(),
        width=width,
        no_color=True,
        color_system=None,
        force_terminal=False,
        highlight=False,
        markup=False,
        emoji=False,
    )
    console.print(diagram_for(spec_or_data, ascii_only=ascii_only))
    return console.file.getvalue()


# name -> options of make_spec; one golden file each: tests/golden/diagram_<name>.txt
CASES = {
    "lstm_plain": dict(layer="lstm"),
    "lstm_seq_state": dict(layer="lstm", units=6, return_sequences=True, return_state=True),
    "gru_state": dict(layer="gru", return_state=True),
    "simplernn_seq": dict(layer="simplernn", return_sequences=True, timesteps=4),
    "lstm_go_backwards_seq_state": dict(layer="lstm", return_sequences=True, return_state=True, go_backwards=True),
    "gru_go_backwards": dict(layer="gru", go_backwards=True),
    "bi_lstm_concat_seq_state": dict(
        layer="lstm", units=3, bidirectional=True, return_sequences=True, return_state=True
    ),
    "bi_gru_sum": dict(layer="gru", bidirectional=True, merge_mode="sum"),
    "bi_simplernn_none_state": dict(layer="simplernn", bidirectional=True, merge_mode="none", return_state=True),
    "lstm_stateful_state": dict(layer="lstm", stateful=True, return_state=True),
    "gru_long_elided": dict(layer="gru", timesteps=50, return_sequences=True, return_state=True),
    "lstm_seq_state_ascii": dict(layer="lstm", units=6, return_sequences=True, return_state=True),
    "bi_gru_seq_state_ascii": dict(layer="gru", bidirectional=True, return_sequences=True, return_state=True),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_diagram(name):
    text = draw(make_spec(**CASES[name]), ascii_only=name.endswith("_ascii"))
    golden = GOLDEN / f"diagram_{name}.txt"
    # Regenerate on purpose with: RNNSHAPE_UPDATE_GOLDEN=1 pytest tests/test_diagram.py
    if os.environ.get("RNNSHAPE_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


def _grid():
    for layer, seq, state, bidirectional, backwards in itertools.product(LAYERS, *[(False, True)] * 4):
        modes = [m for m in MERGE_MODES] if bidirectional else [None]
        for mode in modes:
            if bidirectional and backwards:
                continue  # Keras refuses it; see test_bidirectional_go_backwards_is_refused_in_words
            yield make_spec(
                layer=layer,
                return_sequences=seq,
                return_state=state,
                bidirectional=bidirectional,
                merge_mode=mode,
                go_backwards=backwards,
                timesteps=3,
                units=5,
            )


@pytest.mark.parametrize("ascii_only", [False, True])
def test_every_returned_tensor_is_named_with_its_shape_and_nothing_else(ascii_only):
    for spec in _grid():
        text = draw(spec, ascii_only=ascii_only)
        picture = text.split("returns:")[0]
        for tensor in spec.outputs():
            assert f"{tensor.name} {shape_text(tensor.shape)}" in picture, (spec, tensor.name)
        returned = set(spec.output_names())
        for name in ("state_c", "forward_state_h", "backward_state_h", "forward_output", "backward_output"):
            if name not in returned:
                assert not re.search(rf"(?<![a-z_]){name} \(", picture), (spec, name)
        if not spec.return_state:
            assert "(not returned)" in picture
        if not spec.has_cell_state:
            assert "c_1" not in text
        assert max(len(line) for line in text.splitlines()) <= WIDTH
        if ascii_only:
            assert text.isascii(), spec


def test_return_sequences_feeds_every_step_and_otherwise_only_the_last_read():
    seq = draw(make_spec(layer="gru", return_sequences=True, timesteps=4)).splitlines()
    last = draw(make_spec(layer="gru", timesteps=4)).splitlines()
    back = draw(make_spec(layer="gru", timesteps=4, go_backwards=True)).splitlines()
    arrows = lambda lines: [line for line in lines if "▲" in line][0].count("▲")  # noqa: E731
    assert arrows(seq) == 4 and arrows(last) == 1 and arrows(back) == 1
    label_row = lambda lines: [line for line in lines if line.strip().startswith("h_")][0]  # noqa: E731
    assert label_row(last).strip() == "h_4"
    assert label_row(back).strip() == "h_1"
    # the one arrow up sits over the last cell read: t=4 reading forwards, t=1 reading backwards
    assert label_row(last).index("h_4") > label_row(back).index("h_1")


def test_go_backwards_reverses_reading_and_output_order():
    text = draw(make_spec(layer="lstm", return_sequences=True, return_state=True, go_backwards=True))
    assert "reads x_3 → x_1 (go_backwards=True)" in text
    assert "output (1, 3, 4) = [h_3, h_2, h_1]" in text
    assert "state_h (1, 4) ◀─h_1─" in text  # the final state leaves at t=1, on the left
    assert "◀─h_2─" in text and "─h_1─▶" not in text


def test_bidirectional_backward_final_state_leaves_at_the_first_step():
    text = draw(make_spec(layer="lstm", bidirectional=True, return_state=True))
    lines = text.splitlines()
    backward_h = [line for line in lines if "backward_state_h" in line and "◀" in line][0]
    forward_h = [line for line in lines if "forward_state_h" in line and "▶" in line][0]
    assert backward_h.index("backward_state_h") < backward_h.index("bwd t=1") < backward_h.index("bwd t=3")
    assert forward_h.index("fwd t=3") < forward_h.index("forward_state_h")
    assert "output (1, 8) = concat(forward h_3, backward h_1)" in text


def test_long_sequences_elide_the_middle_with_a_mark():
    text = draw(make_spec(layer="lstm", timesteps=1000, return_sequences=True))
    assert "t=1000" in text and "t=1 " in text and "t=500" not in text
    assert "h_1─" in text and "⋯ ─h_999─" in text  # the states leaving t=1 and entering t=1000
    assert "⋯ t=2 .. t=999: 998 steps not drawn" in text
    assert "output (1, 1000, 4) = [h_1, ..., h_1000]" in text
    wide = draw(make_spec(layer="lstm", timesteps=1000, return_sequences=True), width=160)
    cells = lambda t: len(re.findall(r"[│|] *t=\d+", t))  # noqa: E731
    assert cells(text) == 2 and cells(wide) > 2
    assert max(len(line) for line in wide.splitlines()) <= 160
    short = draw(make_spec(layer="lstm", timesteps=9, return_sequences=True), width=160)
    assert cells(short) == 9 and "⋯" not in short


def test_stateful_draws_the_state_crossing_into_the_next_batch():
    text = draw(make_spec(layer="gru", stateful=True, return_state=True))
    assert "kept ═════▶" in text and "═h_3═▶ state_h (1, 4)" in text
    assert "next batch's initial state" in " ".join(text.split())
    plain = draw(make_spec(layer="gru", return_state=True))
    assert "═" not in plain and "0 ─────▶" in plain


def test_bidirectional_go_backwards_is_refused_in_words():
    text = draw(make_spec(layer="lstm", bidirectional=True, go_backwards=True))
    assert "Keras refuses Bidirectional around a layer with go_backwards=True" in text


def test_lengths_are_mentioned():
    text = draw(make_spec(layer="lstm", batch=2, lengths=(2, 3)))
    assert "at a masked step h and c pass through unchanged" in text


def test_drawn_from_the_data_object_like_from_the_spec():
    from rnnshape.measure.inspect import layer_data

    spec = make_spec(layer="lstm", bidirectional=True, merge_mode="none", return_sequences=True, return_state=True)
    assert draw(layer_data(spec, None)) == draw(spec)


def test_colour_marks_the_returned_tensors():
    console = Console(file=io.StringIO(), width=WIDTH, force_terminal=True, color_system="standard")
    console.print(diagram_for(make_spec(layer="lstm", return_sequences=True, return_state=True)))
    coloured = console.file.getvalue()
    assert "\x1b[1;32moutput (1, 3, 4)" in coloured  # bold green output
    assert "\x1b[1;36mstate_h (1, 4)" in coloured and "\x1b[1;33mstate_c (1, 4)" in coloured
