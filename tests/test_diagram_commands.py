"""--diagram on stack, stateful and compare (rnnshape.views.pictures: stack_diagram,
stateful_diagram, compare_diagrams): golden text at 100 columns without colour, the pictures' claims checked
against the data they draw, --ascii, --svg/--html and JSON left untouched.

stack and compare are drawn from --static data (pure, no TensorFlow); stateful draws measured
chunks, so its pictures come from real stateful Keras layers (run in this process)."""

import io
import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from rich.console import Console

from rnnshape.measure.inspect import layer_data
from rnnshape.measure.stack import plan_data
from rnnshape.measure.stateful import picture_facts
from rnnshape.rules.spec import make_spec
from rnnshape.rules.stack import parse_tokens, plan_stack
from rnnshape.views.pictures import compare as compare_pictures
from rnnshape.views.pictures import stack as stack_pictures
from rnnshape.views.pictures import stateful as stateful_pictures

# every test here runs Keras: the slow tier (the fast tier is pytest -m "not slow")
pytestmark = pytest.mark.slow

GOLDEN = Path(__file__).parent / "golden"
WIDTH = 100


def draw(renderable, width=WIDTH) -> str:
    """A picture as plain text, as printed when piped (no colour)."""
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
    console.print(renderable)
    return console.file.getvalue()


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    # Regenerate on purpose with: RNNSHAPE_UPDATE_GOLDEN=1 pytest tests/test_diagram_commands.py
    if os.environ.get("RNNSHAPE_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def stack_diagram(data: dict, ascii_only=False):
    """The stack picture of a data object (its tokens parsed again here, as the API keeps them)."""
    return stack_pictures.stack_diagram(
        data, parse_tokens([layer["spec"] for layer in data["layers"]]), ascii_only=ascii_only
    )


def compare_diagrams(rows: list):
    return compare_pictures.compare_diagrams(rows, [make_spec(**row["config"]) for row in rows])


def structure_groups(rows: list):
    return compare_pictures.structure_groups(rows, [make_spec(**row["config"]) for row in rows])


def stateful_diagram(data: dict, ascii_only=False):
    """The stateful picture of a data object, with the differences measured from that data."""
    return stateful_pictures.stateful_diagram(
        make_spec(**data["config"]), data, picture_facts(data), ascii_only=ascii_only
    )


def stack_data(words: str, timesteps=5, features=2, batch=1) -> dict:
    return plan_data(plan_stack(parse_tokens(words.split()), batch, timesteps, features))


# ---- stack -------------------------------------------------------------------------------------
STACKS = {
    "stack_lstm_32_16_dense": ("lstm:32:seq lstm:16 dense:1", False),
    "stack_classic_mistake": ("lstm:8 lstm:4 dense:1", False),
    "stack_repeat_bi_td_ascii": ("repeat:4 lstm:3:seq:bi td:1", True),
}


@pytest.mark.parametrize("name", sorted(STACKS))
def test_stack_golden(name):
    words, ascii_only = STACKS[name]
    golden(f"diagram_{name}.txt", draw(stack_diagram(stack_data(words), ascii_only=ascii_only)))


@pytest.mark.parametrize(
    "words",
    [
        "lstm:32:seq lstm:16 dense:1",
        "repeat:4 lstm:3:seq:bi td:1",
        "gru:8:seq:bi dense:1",
        "simplernn:4:back lstm:2",
        "lstm:8:seq repeat:3",
        "td:2 lstm:3",
        "dense:3 lstm:2:seq gru:2 dense:1",
    ],
)
def test_every_edge_carries_the_shape_drawn_by_its_rank(words):
    """Between two boxes: the shape the next token receives, a double line for a sequence
    (rank 3) and a single one for one vector per sample (rank 2); the refused edge is marked."""
    data = stack_data(words)
    lines = draw(stack_diagram(data)).splitlines()
    edges = [line for line in lines if re.match(r"^     [║│]( |$)", line)]
    built = [layer for layer in data["layers"] if layer["status"] != "not reached"]
    received = [data["input"]["shape"]] + [layer["output_shape"] for layer in built if layer["output_shape"]]
    assert len(edges) == len(received)
    for line, shape in zip(edges, received):
        glyph = "║" if len(shape) == 3 else "│"
        assert line.startswith(f"     {glyph}"), (line, shape)
        if line.strip() != glyph:  # the input's own edge has no label: the input line above says it
            assert f"({', '.join(str(d) for d in shape)})" in line
    refused = [line for line in lines if line.startswith("     ✗")]
    if data["compatible"]:
        assert not refused and lines[-2].startswith(f"  output ({', '.join(str(d) for d in data['output']['shape'])}")
    else:
        diagnosis = data["diagnosis"]
        assert len(refused) == 1 and f"receives ndim={diagnosis['found_ndim']}" in refused[0]
        box = [line for line in lines if f"│ {diagnosis['index']}  {diagnosis['spec']}" in line]
        assert box and box[0].endswith("refused (rule of Keras)")
        assert lines.index(refused[0]) < lines.index(box[0])
        reached = diagnosis["index"]
        assert sum("not reached" in line for line in lines) == len(data["layers"]) - reached


def test_stack_narrow_terminal_keeps_the_tokens_and_the_width():
    text = draw(stack_diagram(stack_data("lstm:8:seq:bi gru:4:seq td:1")), width=40)
    assert "Bidirectional" not in text and "│ 1  lstm:8:seq:bi" in text and "│ 3  td:1" in text
    assert max(len(line) for line in text.splitlines()) <= 40


# ---- compare -------------------------------------------------------------------------------------
def test_compare_golden_one_picture_per_distinct_structure(invoke_json):
    result, doc = invoke_json(
        ["compare", "--layer", "lstm", "--layer", "gru", "--layer", "simplernn", "--return-state", "--static"]
    )
    rows = doc["data"]["rows"]
    assert len(rows) == 6
    golden("diagram_compare_lstm_gru_simplernn_state.txt", draw(compare_diagrams(rows)))


def test_compare_groups_share_a_picture_only_when_it_would_be_the_same():
    specs = [
        make_spec(layer=layer, return_sequences=seq, return_state=state, stateful=stateful)
        for layer in ("lstm", "gru", "simplernn")
        for stateful in (False, True)
        for seq in (False, True)
        for state in (False, True)
    ]
    rows = [layer_data(spec, None) for spec in specs]
    groups = structure_groups(rows)
    assert sorted(i for group in groups for i in group) == list(range(len(rows)))
    assert len(groups) == 16  # 8 flag combinations x (with c, without c): GRU and SimpleRNN share
    for group in groups:
        layers = {rows[i]["config"]["layer"] for i in group}
        assert layers in ({"lstm"}, {"gru", "simplernn"})
        flags = {tuple(rows[i]["config"][k] for k in ("return_sequences", "return_state", "stateful")) for i in group}
        assert len(flags) == 1
    text = draw(compare_diagrams(rows))
    flat = " ".join(text.split())
    assert "one picture per distinct output structure, 16 for 24 rows" in flat
    assert "rows whose pictures would differ only in the layer's name share one" in flat
    # every row is named in a heading, and every tensor it returns is named with its shape
    for index, row in enumerate(rows):
        heading = [line for line in text.splitlines() if re.match(rf"rows? (\d+, )*{index}(,|:)", line)]
        assert len(heading) == 1, index
        block = text.split(heading[0])[1].split("\nrow")[0]
        for out in row["outputs"]:
            assert f"{out['name']} ({', '.join(str(d) for d in out['shape'])})" in block, (index, out["name"])
    # the notes are printed once, after the pictures
    assert flat.count("stateful=True keeps the final h and c in the layer") == 1
    assert flat.count("stateful=True keeps the final h in the layer") == 1
    assert flat.count("0: h starts as zeros") == 1


# ---- stateful (real Keras) -------------------------------------------------------------------------
STATEFUL = {
    "stateful_lstm_split_2_4": [
        "--layer",
        "lstm",
        "--units",
        "3",
        "--timesteps",
        "6",
        "--batch",
        "2",
        "--split",
        "2,4",
    ],
    "stateful_gru_backwards_1_1_3_ascii": [
        "--layer",
        "gru",
        "--timesteps",
        "5",
        "--split",
        "1,1,3",
        "--go-backwards",
        "--return-sequences",
    ],
    "stateful_bi_lstm_none_seq": [
        "--layer",
        "lstm",
        "--units",
        "3",
        "--timesteps",
        "6",
        "--batch",
        "2",
        "--split",
        "2,4",
        "--bidirectional",
        "--merge-mode",
        "none",
        "--return-sequences",
    ],
}


@pytest.fixture(scope="module")
def stateful_runs():
    """The data of each STATEFUL case, from one real run each (in this process)."""
    from click.testing import CliRunner

    from rnnshape.cli import cli

    runner, out = CliRunner(), {}
    for name, args in STATEFUL.items():
        result = runner.invoke(cli, ["stateful", *args, "--json"], env={"COLUMNS": "100", "NO_COLOR": "1"})
        assert result.exit_code == 0, result.stdout
        out[name] = json.loads(result.stdout)["data"]
    return out


@pytest.mark.parametrize("name", sorted(STATEFUL))
def test_stateful_golden(name, stateful_runs):
    golden(f"diagram_{name}.txt", draw(stateful_diagram(stateful_runs[name], ascii_only=name.endswith("_ascii"))))


def test_stateful_picture_follows_the_measured_chunks(stateful_runs):
    data = stateful_runs["stateful_bi_lstm_none_seq"]
    text = draw(stateful_diagram(data))
    for name in data["state_names"]:
        assert f"{name} (2, 3)" in text  # the state variables, with their measured shapes
    assert "forward_output" in text and "(2, 2, 3) each" in text and "(2, 4, 3) each" in text
    assert "fwd 1 → 2" in text and "bwd 2 → 1" in text and "bwd 6 → 3" in text  # the reading order, t from 1
    # h and c of both directions leave each of the 3 boxes (2 batches, then batch 2 again): kept
    assert text.count("│═h") == 2 * 3 and text.count("│═c") == 2 * 3 and "│─" not in text
    assert "backward_lstm reads each batch backwards" in " ".join(text.split())
    # A picture of the data, not of the rules: were batch 2 to start from zeros, it would say so.
    broken = json.loads(json.dumps(data))
    broken["chunks"][1]["initial_state"] = broken["after_reset"]
    changed = draw(stateful_diagram(broken))
    assert "does NOT start from the previous batch's final state" in " ".join(changed.split())
    assert changed.count("│─h") == 2 and changed.count("│─c") == 2  # out of batch 1: not kept
    assert changed.count("│═h") == 2 * 2 and changed.count("│═c") == 2 * 2


def test_many_chunks_elide_the_middle_batches():
    """One real run of 12 one-step batches: the first and last fit, the rest is marked."""
    from rnnshape.measure.stateful import stateful_data
    from rnnshape.rules import stateful as chunking
    from rnnshape.runner import stateful as stateful_runner
    from rnnshape.versions import versions

    spec = make_spec(layer="gru", units=2, timesteps=12, stateful=True)
    split = (1,) * 12
    run = stateful_runner.run_stateful(spec, chunking.chunk_bounds(split), None, chunking.shuffle_rows(spec.batch))
    data = stateful_data(spec, split, True, run, versions())
    text = draw(stateful_diagram(data))
    assert "batch 1 " in text and "batch 12" in text and "batch 6 " not in text
    assert "⋯ batches 2 .. 11 not drawn" in text
    assert max(len(line) for line in text.splitlines()) <= WIDTH
    wide = draw(stateful_diagram(data), width=300)
    assert "batch 6 " in wide and "not drawn" not in wide


# ---- through the CLI ----------------------------------------------------------------------------------
def test_stateful_diagram_svg_html_and_untouched_json(invoke, tmp_path):
    args = ["stateful", *STATEFUL["stateful_lstm_split_2_4"]]
    svg, html = tmp_path / "stateful.svg", tmp_path / "stateful.html"
    shown = invoke(args + ["--diagram", "--svg", str(svg), "--html", str(html)])
    assert shown.exit_code == 0 and shown.stderr == ""
    data = json.loads(invoke(args + ["--json"]).stdout)["data"]
    picture = draw(stateful_diagram(data))
    assert picture in shown.stdout  # the picture of the measured data, before the chunk tables
    assert shown.stdout.index(picture) < shown.stdout.index("Chunk 1: steps 1..2")
    root = ET.parse(svg).getroot()  # valid XML
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    text = "".join(root.itertext()).replace("\xa0", " ")
    for needle in (
        "state_h (2, 3)",
        "state_c (2, 3)",
        "output",
        "x[:, 2:6]",
        "reset_state()",
        "batch 2",
        "Measured in this run",
    ):
        assert needle in text, needle
    assert "state_c (2, 3)" in html.read_text()
    with_picture = invoke(args + ["--json", "--diagram", "--svg", str(tmp_path / "again.svg")])
    assert with_picture.stdout == invoke(args + ["--json"]).stdout  # one document, the same bytes


@pytest.mark.parametrize(
    "args",
    [
        ["stack", "--timesteps", "5", "--features", "2", "lstm:8", "lstm:4", "dense:1", "--static"],
        ["compare", "--layer", "lstm", "--layer", "gru", "--vary", "bidirectional", "--static"],
        ["stateful", "--layer", "gru", "--timesteps", "5", "--split", "1,1,3", "--go-backwards"],
    ],
)
def test_ascii_gives_pure_ascii_pictures_and_tables(invoke, args):
    result = invoke(args + ["--diagram", "--ascii"])
    assert result.exit_code in (0, 1)  # the stack is incompatible on purpose: exit 1
    assert result.stdout.isascii(), sorted({c for c in result.stdout if not c.isascii()})
    assert " -----" in result.stdout  # the tables' head rule, in ASCII
    assert ("+--" in result.stdout) and ("->" in result.stdout or "v\n" in result.stdout)
    plain = invoke(args)
    assert "unrolled" not in plain.stdout.lower() and "top to bottom" not in plain.stdout  # only on request


def test_stack_and_compare_pictures_sit_where_they_help(invoke):
    stack = invoke(["stack", "--timesteps", "5", "--features", "2", "lstm:8", "lstm:4", "--static", "--diagram"])
    assert stack.exit_code == 1 and stack.stdout.index("Stack lstm:8 lstm:4, top to bottom") < stack.stdout.index(
        "Layers, in order"
    )
    assert stack.stdout.index("✗  LSTM(4) needs a sequence (ndim=3) but receives ndim=2") < stack.stdout.index(
        "Incompatible stack"
    )
    compare = invoke(["compare", "--layer", "gru", "--static", "--diagram"])
    assert compare.exit_code == 0
    assert compare.stdout.index("What each change does alone") < compare.stdout.index("one picture per distinct")
    assert (
        compare.stdout.count("row ") >= 4
        and "row 3: GRU(4, return_sequences=True, return_state=True)" in compare.stdout
    )
