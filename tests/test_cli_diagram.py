"""inspect --diagram, --ascii, --svg FILE and --html FILE through the CLI: the picture among the
tables, the saved files (valid XML, tensor names, deterministic), JSON untouched, usage errors,
and colour only on a terminal."""

import json
import os
import pty
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import _command
from test_diagram import draw

from rnnshape.rules.spec import make_spec

# every test here runs Keras: the slow tier (the fast tier is pytest -m "not slow")
pytestmark = pytest.mark.slow

LSTM_ARGS = ["inspect", "--layer", "lstm", "--units", "6", "--timesteps", "3", "--return-sequences", "--return-state"]


def test_diagram_is_printed_before_the_tables(invoke):
    result = invoke(LSTM_ARGS + ["--diagram"])
    assert result.exit_code == 0 and result.stderr == ""
    picture = draw(make_spec(layer="lstm", units=6, timesteps=3, return_sequences=True, return_state=True))
    assert picture in result.stdout
    assert result.stdout.index(picture) < result.stdout.index("Outputs, in the order Keras returns them")
    assert "Measured in this run" in result.stdout  # the tables are all still there
    assert "unrolled over" not in invoke(LSTM_ARGS).stdout  # only on request


def test_svg_and_html_hold_the_picture_and_the_tables(invoke, tmp_path):
    svg, html = tmp_path / "lstm.svg", tmp_path / "lstm.html"
    result = invoke(LSTM_ARGS + ["--diagram", "--svg", str(svg), "--html", str(html)])
    assert result.exit_code == 0 and result.stderr == ""
    root = ET.parse(svg).getroot()  # valid XML
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    text = "".join(root.itertext()).replace("\xa0", " ")
    for needle in (
        "output (1, 3, 6)",
        "state_h (1, 6)",
        "state_c (1, 6)",
        "LSTM(6) unrolled over 3 timesteps",
        "Outputs, in the order Keras returns them",
        "Measured in this run",
        "x_3",
    ):
        assert needle in text, needle
    assert "rnnshape inspect --layer lstm --units 6" in text  # the window title: the command, without --svg
    assert str(svg) not in text
    page = html.read_text()
    assert page.startswith("<!DOCTYPE html>") and "state_c (1, 6)" in page and "unrolled over" in page


def test_json_stays_the_only_stdout_and_the_svg_is_deterministic(invoke, tmp_path):
    first, second = tmp_path / "a.svg", tmp_path / "b.svg"
    plain = invoke(LSTM_ARGS + ["--json"])
    with_svg = invoke(LSTM_ARGS + ["--json", "--diagram", "--svg", str(first)])
    assert with_svg.exit_code == 0 and with_svg.stderr == ""
    assert with_svg.stdout == plain.stdout  # one document, byte-identical to the run without pictures
    json.loads(with_svg.stdout)
    invoke(LSTM_ARGS + ["--diagram", "--svg", str(second)])
    assert first.read_bytes() == second.read_bytes()  # same options, same picture, JSON or not
    assert "LSTM(6) unrolled over" in "".join(ET.parse(first).getroot().itertext()).replace("\xa0", " ")


def test_missing_folders_are_created_for_svg_and_html_like_junit(invoke, tmp_path):
    svg, html = tmp_path / "a" / "b" / "x.svg", tmp_path / "c" / "x.html"
    junit = tmp_path / "d" / "e" / "report.xml"
    result = invoke(["inspect", "--static", "--diagram", "--svg", str(svg), "--html", str(html)])
    assert result.exit_code == 0 and result.stderr == ""
    assert svg.read_text().startswith("<svg") and "<html" in html.read_text().lower()
    contract = tmp_path / "c.toml"
    contract.write_text('[[case]]\nname = "one"\nlayer = "lstm"\nunits = 2\n[case.expect]\noutput = [1, 2]\n')
    checked = invoke(["check", str(contract), "--static", "--junit", str(junit)])
    assert checked.exit_code == 0 and junit.exists()  # the same behaviour as check --junit


def test_bad_export_paths_are_one_line_exit_2(invoke, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    under_file = blocker / "x.svg"
    result = invoke(["inspect", "--static", "--diagram", "--svg", str(under_file)])
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnnshape inspect: error: Invalid value for --svg: ")
    assert "is not a directory" in lines[0] and blocker.read_text() == "not a folder"
    as_json = invoke(["inspect", "--static", "--html", str(tmp_path), "--json"])
    doc = json.loads(as_json.stdout)
    assert as_json.exit_code == 2 and doc["exit_code"] == 2 and "--html" in doc["errors"][0]["message"]


def test_ascii_output_has_no_box_characters(invoke):
    result = invoke(
        [
            "inspect",
            "--layer",
            "gru",
            "--bidirectional",
            "--return-sequences",
            "--return-state",
            "--diagram",
            "--ascii",
            "--expect",
            "output=1,3,8",
        ]
    )
    assert result.exit_code == 0
    assert result.stdout.isascii()
    assert "|fwd t=1|-h_1->|fwd t=2|" in result.stdout and "backward_state_h (1, 4) <-h_1-|bwd t=1|" in result.stdout
    assert " ------" in result.stdout  # the tables' head rule, in ASCII


def _run_on_terminal(args, env):
    """Run the real command with stdout on a pseudo-terminal; return what it wrote."""
    leader, follower = pty.openpty()
    full_env = {**os.environ, "COLUMNS": "100", "TERM": "xterm-256color", **env}
    full_env.pop("RNNSHAPE_DEBUG", None)
    if "NO_COLOR" in env and env["NO_COLOR"] is None:
        full_env.pop("NO_COLOR")
    full_env = {k: v for k, v in full_env.items() if v is not None}
    proc = subprocess.Popen(_command() + args, stdout=follower, stderr=subprocess.PIPE, env=full_env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def test_colour_only_on_a_terminal_and_never_when_piped_or_no_color():
    args = ["inspect", "--layer", "lstm", "--return-state", "--diagram", "--static"]
    env_without_no_color = {"NO_COLOR": None}
    coloured = _run_on_terminal(args, env_without_no_color)
    assert "\x1b[" in coloured and "state_c (1, 4)" in coloured
    assert "\x1b[" not in _run_on_terminal(args, {"NO_COLOR": "1"})
    piped = subprocess.run(
        _command() + args,
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "NO_COLOR"},
    )
    assert piped.returncode == 0 and "\x1b" not in piped.stdout and "state_c (1, 4)" in piped.stdout


def test_the_readme_image_is_what_the_tool_draws(invoke, tmp_path):
    """docs/lstm.svg is regenerated by the command the README shows; it must not go stale."""
    fresh = tmp_path / "lstm.svg"
    result = invoke(LSTM_ARGS + ["--diagram", "--svg", str(fresh)])
    assert result.exit_code == 0
    committed = Path(__file__).parent.parent / "docs" / "lstm.svg"
    assert fresh.read_text() == committed.read_text(), (
        "regenerate with: rnnshape inspect --layer lstm --units 6 --timesteps 3 --return-sequences "
        "--return-state --diagram --svg docs/lstm.svg"
    )
