"""Property-based tests of the whole command line: random command lines over every command,
every option and hostile values, run in-process.

Commands and options are discovered from ``rnnshape.cli.cli`` (click's own parameter
objects), so a command or option added later is covered without touching this file. Values
come from pools keyed by option name, with a fallback by click type. Every command line must
end with exit 0, 1, 2 or 3, never show a traceback or our "internal error" catch-all, print
exactly one JSON envelope under --json (also on errors), and finish within a time limit.
"""

from __future__ import annotations

import faulthandler
import json
import os
import signal
import sys
import time
import warnings
from contextlib import contextmanager

import click
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import COMMANDS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnshape.cli import cli

# every test here runs Keras: the slow tier (the fast tier is pytest -m "not slow")
pytestmark = pytest.mark.slow

ENVELOPE_KEYS = {"schema", "command", "ok", "exit_code", "data", "errors"}
# one command line: a valid run takes well under a second, but a size the guard lets through may
# run for tens of seconds (check with 300,000 timesteps: 17 s of CPU on 2 cores); a hang never answers
SECONDS_PER_LINE = 60
EXAMPLES_PER_COMMAND = int(os.environ.get("RNNSHAPE_PROPERTY_EXAMPLES", "90"))
# a check line runs every case of its contract (3 to 5 layers): fewer lines run as many layers
EXAMPLES_FOR = {"check": max(1, EXAMPLES_PER_COMMAND * 4 // 9)}
TRIED: dict[str, int] = {}  # command -> generated command lines run, reported at the end
DISTINCT: set[tuple[str, ...]] = set()
FOUND_EXIT_CODES: dict[str, set[int]] = {}

# ---- value pools ---------------------------------------------------------------------------
HUGE = [str(10**30), str(2**31), str(2**63), "1" * 5000]
HOSTILE_INT = [
    "0",
    "-1",
    "-7",
    "1.5",
    "nan",
    "inf",
    "",
    " ",
    "1e3",
    "0x10",
    "٣",
    "x" * 5000,
    *HUGE,
    "100000",
    "10000000",
]
HOSTILE_TEXT = ["", " ", "nan", "-1", "0", "☃", "ünïcödé,✓", "x" * 5000, "1," * 2500, ",", "--", "a\tb", "\x7f"]

# Files for FILE arguments and --input, made once per session in a temporary directory.
FILE_KINDS = [
    "good.npy",
    "good.csv",
    "series.csv",
    "missing.npy",
    "folder.npy",
    "empty.csv",
    "garbage.npy",
    "pickle.npy",
    "words.csv",
    "nan.csv",
    "rank4.npy",
    "strings.npy",
    "truncated.npy",
    "long.npy",
    "latin1.csv",
    "unicodé.csv",
    "noext",
    "zero.npy",
    "fifo.csv",
]
TOML_KINDS = [
    "good.toml",
    "failing.toml",
    "missing.toml",
    "folder.toml",
    "empty.toml",
    "malformed.toml",
    "binary.toml",
    "unknown_key.toml",
    "bad_types.toml",
    "huge.toml",
    "nul_input.toml",
    "bad_expect.toml",
    "not_cases.toml",
    "duplicate.toml",
    "long.toml",
    "input_file.toml",
    "nested.toml",
    "nested_inline.toml",
    "fifo.toml",
    "zero.toml",
    "big.toml",
]


def _model_files(root, paths: dict[str, str]) -> None:
    """rnnshape model: a tiny model taking good.npy (1, 3, 2), its targets, and bad model files."""
    from rnnshape.runner import session as session_runner

    keras = session_runner.load_keras()
    inp = keras.Input((3, 2))
    seq = keras.layers.LSTM(2, return_sequences=True, name="lstm")(inp)
    keras.Model(inp, keras.layers.Dense(1)(keras.layers.GRU(2, name="gru")(seq))).save(root / "tiny.keras")
    np.save(root / "y.npy", np.zeros((1, 1), np.float32))
    (root / "empty.keras").write_bytes(b"")
    (root / "garbage.keras").write_bytes(os.urandom(64))
    paths.update({name: str(root / name) for name in ("tiny.keras", "y.npy", "empty.keras", "garbage.keras")})


def make_files(root) -> dict[str, str]:
    """Every file kind above (some missing on purpose), keyed by kind."""
    paths = {kind: str(root / kind) for kind in FILE_KINDS + TOML_KINDS}
    np.save(paths["good.npy"], np.arange(6, dtype=np.float32).reshape(1, 3, 2))
    (root / "good.csv").write_text("0.1,0.2\n0.3,0.4\n0.5,0.6\n")
    (root / "series.csv").write_text("1\n2\n3\n4\n")
    (root / "folder.npy").mkdir()
    (root / "folder.toml").mkdir()
    (root / "empty.csv").write_text("")
    (root / "garbage.npy").write_bytes(os.urandom(64))
    np.save(paths["pickle.npy"], np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (root / "words.csv").write_text("a,b\nc,d\n")
    (root / "nan.csv").write_text("1,nan\n2,3\n")
    np.save(paths["rank4.npy"], np.zeros((1, 1, 1, 1), np.float32))
    np.save(paths["strings.npy"], np.array(["a", "b"]))
    # many timesteps: must be refused fast (compiled runs take 200,000 steps within the limits now)
    np.save(paths["long.npy"], np.zeros((1, 5_000_000, 1), np.float32))
    _model_files(root, paths)
    good = (root / "good.npy").read_bytes()
    (root / "truncated.npy").write_bytes(good[: len(good) - 8])
    (root / "latin1.csv").write_bytes("1,2\n3,\xe9\n".encode("latin-1"))
    (root / "unicodé.csv").write_text("1,2\n3,4\n")
    (root / "noext").write_text("1,2\n")
    (root / "good.toml").write_text('[[case]]\nname = "ok"\nlayer = "gru"\nunits = 2\n[case.expect]\noutput = [1, 2]\n')
    (root / "failing.toml").write_text(
        '[[case]]\nname = "wrong"\nunits = 2\n[case.expect]\noutput = [1, 3]\nstate_c = [1, 2]\n'
    )
    (root / "empty.toml").write_text("")
    (root / "malformed.toml").write_text("[[case]\nname = \n")
    (root / "binary.toml").write_bytes(b"\xff\xfe\x00garbage\x00")
    (root / "unknown_key.toml").write_text('[[case]]\nname = "x"\ncolour = "red"\n[case.expect]\noutput = [1, 4]\n')
    (root / "bad_types.toml").write_text(
        '[[case]]\nname = "x"\nunits = "four"\nbatch = 1.5\nlengths = "1,,2"\n[case.expect]\noutput = [1, 4]\n'
    )
    (root / "huge.toml").write_text(
        f'[[case]]\nname = "x"\nunits = {10**6}\ntimesteps = {10**7}\n[case.expect]\noutput = [1, 4]\n'
    )
    (root / "nul_input.toml").write_text(
        '[[case]]\nname = "x"\ninput = "a\\u0000b.npy"\n[case.expect]\noutput = [1, 4]\n'
    )
    (root / "bad_expect.toml").write_text('[[case]]\nname = "x"\n[case.expect]\noutput = [1, -4]\n"☃" = [1]\n')
    (root / "not_cases.toml").write_text("case = 3\n")
    (root / "duplicate.toml").write_text('[[case]]\nname = "a"\n[case.expect]\noutput = [1, 4]\n' * 2)
    (root / "long.toml").write_text('[[case]]\nname = "long"\ntimesteps = 300000\n[case.expect]\noutput = [1, 4]\n')
    # special files (a device, a FIFO with no writer: reading either never ends) and a file too large
    (root / "zero.npy").symlink_to("/dev/zero")
    (root / "zero.toml").symlink_to("/dev/zero")
    os.mkfifo(root / "fifo.csv")
    os.mkfifo(root / "fifo.toml")
    with open(root / "big.toml", "wb") as handle:  # sparse, above the 16 MiB limit of a contract
        handle.truncate(17 * 2**20)
    (root / "nested.toml").write_text("a = " + "[" * 1000 + "\n")
    (root / "nested_inline.toml").write_text("a = " + "{a=" * 1000 + "\n")
    (root / "input_file.toml").write_text(
        f'[[case]]\nname = "file"\ninput = "{paths["good.csv"]}"\n[case.expect]\noutput = [1, 4]\n'
    )
    return paths


def pools(files: dict[str, str], outdir) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(valid, hostile) values keyed by the click parameter's name."""
    out = str(outdir)
    bad_paths = [
        "",
        out,
        "/nonexistent-dir/x.out",
        "/dev/full",
        "/proc/self/x.out",
        "ü/" * 200 + "x",
        out + "/" + "x" * 300,
    ]
    valid = {
        "layer": ["lstm", "gru", "simplernn", "SimpleRNN", "simple_rnn", "GRU"],
        "merge_mode": ["concat", "sum", "mul", "ave", "none", "SUM"],
        "seed": ["0", "1", "7", str(2**32 - 1)],
        "lengths": ["1", "2", "1,2", "3", "2,3"],
        "kernel_init": ["0.5", "-1", "ones", "zeros", "glorot_uniform", "orthogonal", "1e-3"],
        "input": [
            "random",
            "arange",
            "ones",
            "zeros",
            "ARANGE",
            files["good.npy"],
            files["good.csv"],
            files["series.csv"],
        ],
        "max_memory": ["1", "64", "4096", str(2**40)],
        "max_seconds": ["1", "60", str(10**6)],
        "expect": ["output=1,4", "output=1,3", "state_h=1,4", "state_c=1,4", "output=2,3,4", "forward_output=1,4"],
        "vary": [
            "return-sequences",
            "return-state",
            "stateful",
            "go-backwards",
            "bidirectional",
            "RETURN_STATE",
            "return_sequences",
        ],
        "svg": [out + "/pic.svg"],
        "html": [out + "/page.html"],
        "junit_path": [out + "/reports/junit.xml"],
        "split": ["1,2", "3", "1,1,1", "2,1"],
        "steps": ["1", "1-3", "2,3", "3", "1-2,3"],
        "sample": ["0", "1"],
        "file": [files["good.toml"], files["failing.toml"], files["input_file.toml"]],
        "model_file": [files["tiny.keras"]],
        "x": [files["good.npy"]],
        "y": [files["y.npy"]],
        "max_file_size": [str(2**31), "100000000"],
        "tokens": [
            "lstm:2",
            "gru:2:seq",
            "simplernn:1:bi",
            "dense:1",
            "td:1",
            "repeat:2",
            "lstm:2:seq:back",
            "gru:1:bi:seq",
            "LSTM:2",
            "lstm:2:seq lstm:1",
        ],
        "text": [
            "expected ndim=3, found ndim=2. Full shape received: (None, 10)",
            'Input 0 of layer "lstm_2" is incompatible with the layer: expected ndim=3, found ndim=2. '
            "Full shape received: (None, 8)",
            "no error here",
        ],
        # jax and torch start a child process of several seconds each: tests/test_backends.py runs them
        "backend": ["tensorflow", "TensorFlow"],
        # window
        "length": ["2", "5", "10", "20"],
        "look_back": ["1", "2", "3"],
        "horizon": ["1", "2"],
        "stride": ["1", "2", "3"],
        "show": ["0", "1", "3", "1000"],
    }
    valid["recurrent_init"] = valid["bias_init"] = valid["kernel_init"]
    valid["junit"] = valid["junit_path"]  # check --junit (the click parameter is named junit)
    hostile = {
        "layer": ["transformer", "", "lstm2", "ЛСТМ", "lstm,gru", "x" * 5000, "simple-rnn"],
        "merge_mode": ["avg", "", "None", "x" * 5000],
        "seed": ["-1", str(2**32), "1.5", *HUGE],
        "lengths": ["0", "4", "1,,2", ",", "1;2", "-1", "9" * 40, "1," * 2500, "1, 2", "٣", "1,2,3,4,5", ""],
        "kernel_init": [
            "nan",
            "inf",
            "-inf",
            "1e309",
            "1e-400",
            "foo",
            "",
            "Glorot_Uniform",
            "identity",
            "x" * 5000,
            "0x1p3",
            "1_000",
        ],
        "input": [files[kind] for kind in FILE_KINDS if kind not in ("good.npy", "good.csv", "series.csv")]
        + ["", "foo", "random.npy", "x" * 5000 + ".npy", "/dev/null.csv", "/dev/zero"],
        "max_memory": ["0", "-1", "1.5", *HUGE],
        "max_seconds": ["0", "-1", "1.5", *HUGE],
        "expect": [
            "nope=1",
            "output=",
            "=1",
            "output=1,,4",
            "output=0,4",
            "x" * 5000,
            "output=" + "9" * 40,
            "output=1,4=5",
            "",
            "☃=1",
            "output = 1, 4",
        ],
        "vary": ["nope", "", "-", "x" * 5000, "units"],
        "svg": bad_paths,
        "html": bad_paths,
        "junit_path": bad_paths,
        "split": ["0", "4", "", "a", ",", "1," * 3000, "0,3", "1,1,1,1", "-1,4", "9" * 40],
        "steps": ["0", "3-1", "1-", "-1", "99", "", "a-b", "1--2", "1-" + "9" * 40, "1,,2"],
        "sample": ["-1", "2", "99", *HUGE],
        "file": [files[kind] for kind in TOML_KINDS if kind not in ("good.toml", "failing.toml", "input_file.toml")]
        + ["", "/dev/null", "-", "x" * 5000, "/dev/zero", "/dev/urandom"],
        "model_file": [
            files["empty.keras"],
            files["garbage.keras"],
            files["good.toml"],
            files["folder.npy"],
            files["missing.npy"],
            "",
            "x" * 5000,
        ],
        "text": HOSTILE_TEXT,
        "tokens": [
            "lstm",
            "lstm:0",
            "lstm:-1",
            "lstm:1e3",
            ":",
            "",
            "dense:" + str(10**30),
            "foo:1",
            "lstm:2:seq:seq",
            "lstm 2",
            "x" * 5000,
            "☃:1",
            "lstm:2:bi:back",
            "dense:1:seq",
            "repeat:0",
            "lstm:2:",
            "lstm::2",
            "--",
            "lstm:1000000",
            "repeat:1000000",
        ],
    }
    for key in ("recurrent_init", "bias_init"):
        hostile[key] = hostile["kernel_init"]
    hostile["x"] = hostile["y"] = hostile["input"] + [files["good.csv"], files["series.csv"]]
    hostile["junit"] = hostile["junit_path"]
    return valid, hostile


# Surroundings drawn with each command line: the terminal's width (a huge COLUMNS is clamped)
# and stdout's encoding (one that cannot encode the pictures' glyphs gets the --ascii ones).
COLUMNS = ["100", "100", "100", "100", "99999999", "1000000000", "1"]
CHARSETS = ["utf-8", "utf-8", "utf-8", "utf-8", "ascii", "latin-1"]


# ---- command lines ---------------------------------------------------------------------------
def parameters(command: click.Command) -> list[click.Parameter]:
    return [p for p in command.params if p.name not in ("json_mode", "help")]


def value_strategy(param: click.Parameter, valid: dict, hostile: dict) -> st.SearchStrategy[str]:
    """Mostly valid values (so that real runs happen), sometimes hostile ones."""
    good = valid.get(param.name)
    if good is None and isinstance(param.type, click.Choice):
        good = list(param.type.choices)
    if good is None:
        good = ["1", "2", "3"] if isinstance(param.type, click.types.IntParamType) else ["1"]
    bad = hostile.get(param.name) or (HOSTILE_INT if isinstance(param.type, click.types.IntParamType) else HOSTILE_TEXT)
    return st.one_of(st.sampled_from(good), st.sampled_from(good), st.sampled_from(good), st.sampled_from(bad))


@st.composite
def fragments(draw, param: click.Parameter, valid: dict, hostile: dict) -> list[str]:
    """One parameter as it could appear on a command line."""
    if isinstance(param, click.Argument):
        if param.nargs == -1:  # SPEC...: zero or more tokens
            return draw(st.lists(value_strategy(param, valid, hostile), max_size=4))
        return [draw(value_strategy(param, valid, hostile))]
    if getattr(param, "is_flag", False) and not param.secondary_opts:
        flag = draw(st.sampled_from(param.opts))
        return [flag] if draw(st.integers(0, 9)) else [flag + "=1"]  # a flag given a value: usage error
    if getattr(param, "is_flag", False):
        return [draw(st.sampled_from(param.opts + param.secondary_opts))]
    value = draw(value_strategy(param, valid, hostile))
    option = draw(st.sampled_from(param.opts))
    repeat = draw(st.integers(1, 3)) if param.multiple else 1
    out: list[str] = []
    for _ in range(repeat):
        out += [f"{option}={value}"] if draw(st.integers(0, 4)) == 0 else [option, value]
        value = draw(value_strategy(param, valid, hostile))
    return out


@st.composite
def command_lines(draw, name: str, valid: dict, hostile: dict) -> tuple[list[str], bool]:
    """(argv, json) for one command: a random subset of its options, required arguments
    usually present, sometimes a stray unknown option or an option missing its value."""
    command = COMMANDS[name]
    params = parameters(command)
    json_mode = draw(st.booleans())
    args = [name] + (["--json"] if json_mode else [])
    chosen = draw(st.lists(st.sampled_from([p for p in params if isinstance(p, click.Option)]), max_size=5))
    for param in chosen:
        args += draw(fragments(param, valid, hostile))
    for param in params:
        if isinstance(param, click.Argument) and (param.required or param.nargs == -1):
            if draw(st.integers(0, 14)):  # rarely left out: "Missing argument"
                args += draw(fragments(param, valid, hostile))
    tail = draw(st.integers(0, 29))
    if tail == 0:
        args.append("--no-such-option")
    elif tail == 1:
        takes_value = [p for p in params if isinstance(p, click.Option) and not p.is_flag]
        if takes_value:
            args.append(draw(st.sampled_from(takes_value)).opts[0])  # the value is missing
    elif tail == 2:
        args.append("stray-argument")
    surroundings = {"COLUMNS": draw(st.sampled_from(COLUMNS)), "charset": draw(st.sampled_from(CHARSETS))}
    return args, json_mode, surroundings


# ---- running one command line -----------------------------------------------------------------
class Hang(BaseException):
    """Raised by the alarm: a BaseException, so no `except Exception` in the CLI swallows it."""


@contextmanager
def time_limit(seconds: int, argv: list[str]):
    def on_alarm(_signum, _frame):
        raise Hang(f"no answer after {seconds} s: rnnshape {' '.join(a[:80] for a in argv)}")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    # The alarm cannot interrupt native TensorFlow code: then faulthandler ends the run loudly.
    faulthandler.dump_traceback_later(seconds * 3, exit=True)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        faulthandler.cancel_dump_traceback_later()
        signal.signal(signal.SIGALRM, previous)


def run_line(
    argv: list[str],
    json_mode: bool,
    *,
    debug: bool = False,
    command: str | None = None,
    columns: str = "100",
    charset: str = "utf-8",
) -> click.testing.Result:
    if os.environ.get("RNNSHAPE_PROPERTY_LOG"):  # to see which line hangs when faulthandler ends the run
        with open(os.environ["RNNSHAPE_PROPERTY_LOG"], "a") as log:
            log.write(json.dumps(argv)[:300] + "\n")
    runner = CliRunner(charset=charset)
    env = {"COLUMNS": columns, "NO_COLOR": "1", "RNNSHAPE_DEBUG": None}
    started = time.monotonic()
    with time_limit(SECONDS_PER_LINE, argv), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = runner.invoke(cli, argv, env=env, catch_exceptions=True)
    took = time.monotonic() - started
    DISTINCT.add(tuple(argv))
    shown = " ".join(a if len(a) < 60 else a[:57] + "..." for a in argv)
    if columns != "100" or charset != "utf-8":
        shown = f"(COLUMNS={columns}, stdout {charset}) {shown}"

    def tail(text: str) -> str:
        return text if len(text) < 1500 else text[:700] + " [...] " + text[-700:]

    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"rnnshape {shown} raised {result.exception!r}") from result.exception
    assert result.exit_code in (0, 1, 2, 3), f"rnnshape {shown}: exit {result.exit_code}\n{result.stderr}"
    # A Python warning would reach the user's stderr as extra lines.
    assert not caught, f"rnnshape {shown}: warnings {[str(w.message)[:300] for w in caught]}"
    if os.environ.get("RNNSHAPE_PROPERTY_LOG"):
        with open(os.environ["RNNSHAPE_PROPERTY_LOG"], "a") as log:
            log.write(f"  -> {took:.2f} s exit {result.exit_code}: {(result.stderr or result.stdout)[-300:]!r}\n")
    for stream, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        assert "internal error" not in text, f"rnnshape {shown}: {stream}:\n{tail(text)}"
        if not debug:
            assert "Traceback" not in text, f"rnnshape {shown}: {stream}:\n{tail(text)}"
    if json_mode:
        try:
            document = json.loads(result.stdout)
        except ValueError as exc:
            raise AssertionError(
                f"rnnshape {shown}: stdout is not one JSON document ({exc}):\n"
                f"{result.stdout[:2000]}\nstderr: {result.stderr[-1000:]}"
            ) from None
        assert set(document) == ENVELOPE_KEYS, f"rnnshape {shown}: {sorted(document)}"
        assert document["exit_code"] == result.exit_code and document["ok"] is (result.exit_code == 0), shown
        assert document["schema"] == "rnnshape/v1" and document["command"] == (command or argv[0]), shown
        assert bool(document["errors"]) is (result.exit_code != 0), f"rnnshape {shown}: {document['errors']}"
        if result.exit_code in (2, 3):
            assert document["errors"][0]["type"] in ("usage", "backend"), shown
        if not debug:
            assert result.stderr == "", f"rnnshape {shown}: stderr under --json:\n{result.stderr[-1000:]}"
    elif result.exit_code in (2, 3) and not debug:
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("rnnshape"), (
            f"rnnshape {shown}: stderr:\n{result.stderr[-2000:]}"
        )
        assert result.stdout == "", f"rnnshape {shown}: stdout on exit {result.exit_code}:\n{result.stdout[:1000]}"
    if charset == "ascii":
        assert result.stdout_bytes.isascii(), f"rnnshape {shown}: stdout is not ASCII"
    if columns != "1" and not json_mode:
        assert max(map(len, result.stdout.splitlines()), default=0) <= 500, f"rnnshape {shown}: wider than 500"
    return result


# ---- the properties ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def value_pools(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    outdir = tmp_path_factory.mktemp("outputs")
    return pools(make_files(root), outdir)


@pytest.fixture(scope="module", autouse=True)
def scratch_directory(tmp_path_factory):
    """Run in an empty directory: a relative file name generated for --svg, --junit ... lands there."""
    previous = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    yield
    os.chdir(previous)


@pytest.fixture(scope="module", autouse=True)
def report_count(request, record_testsuite_property):
    started = time.monotonic()
    yield
    total = sum(TRIED.values())
    if not total:
        return
    by_command = ", ".join(f"{name} {count} (exits {sorted(FOUND_EXIT_CODES[name])})" for name, count in TRIED.items())
    line = (
        f"property tests: {total} generated command lines ({len(DISTINCT)} distinct) in "
        f"{time.monotonic() - started:.1f} s: {by_command}"
    )
    record_testsuite_property("generated_command_lines", total)  # for --junitxml reports
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("\n" + line)
    else:  # pragma: no cover - pytest without its terminal
        print(line, file=sys.stderr)


# Importing TensorFlow raises the recursion limit, which hypothesis notes; harmless here.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")
@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_generated_command_line_ends_cleanly(name, value_pools):
    valid, hostile = value_pools

    @settings(
        max_examples=EXAMPLES_FOR.get(name, EXAMPLES_PER_COMMAND),
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(command_lines(name, valid, hostile))
    def check(line):
        argv, json_mode, surroundings = line
        result = run_line(argv, json_mode, columns=surroundings["COLUMNS"], charset=surroundings["charset"])
        TRIED[name] = TRIED.get(name, 0) + 1
        FOUND_EXIT_CODES.setdefault(name, set()).add(result.exit_code)

    check()
    # The pools are mostly valid values: real runs, and refusals, both happened.
    assert 0 in FOUND_EXIT_CODES[name] and 2 in FOUND_EXIT_CODES[name], FOUND_EXIT_CODES[name]


def single_fault_lines(name: str, valid: dict, hostile: dict) -> list[tuple[list[str], bool, tuple[str, ...]]]:
    """Every hostile value of every option of one command, alone on an otherwise valid
    command line (JSON and human output alternately), with the words a refusal must name: the
    random lines above combine values, this makes sure none of them is left out."""
    command = COMMANDS[name]
    params = parameters(command)
    required: list[str] = []
    for param in params:
        if isinstance(param, click.Argument):  # FILE, and SPEC... (optional to click, needed by stack)
            required.append(valid.get(param.name, ["1"])[0])
    lines = []
    for param in params:
        if isinstance(param, click.Option) and param.is_flag:
            continue
        bad = hostile.get(param.name) or (
            HOSTILE_INT if isinstance(param.type, click.types.IntParamType) else HOSTILE_TEXT
        )
        for value in bad:
            if isinstance(param, click.Argument):
                own = valid.get(param.name, ["1"])[0]
                argv = [name, *(r for r in required if r != own), value]
                # FILE.toml, SPEC...: a refusal names the argument or quotes the value given
                names = ((param.metavar or param.name.upper()).split(".")[0], value[:18])  # long values are cut
            else:
                argv = [name, *required, param.opts[0], value]
                names = tuple(param.opts)
            json_mode = len(lines) % 2 == 0
            lines.append((argv[:1] + (["--json"] if json_mode else []) + argv[1:], json_mode, names))
    return lines


GUARDS = ("--max-memory", "--max-seconds")  # the size guard names its own limits


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_hostile_value_of_every_option_alone(name, value_pools):
    valid, hostile = value_pools
    for argv, json_mode, names in single_fault_lines(name, valid, hostile):
        result = run_line(argv, json_mode)
        TRIED[name] = TRIED.get(name, 0) + 1
        FOUND_EXIT_CODES.setdefault(name, set()).add(result.exit_code)
        if result.exit_code == 2:  # one line naming what is wrong
            message = json.loads(result.stdout)["errors"][0]["message"] if json_mode else result.stderr
            assert any(word in message for word in names + GUARDS), (argv[:6], names, message[:500])


OUTPUTS = {"svg": "--svg", "html": "--html", "junit": "--junit"}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_an_output_named_like_an_input_or_another_output_is_refused(name, value_pools, tmp_path):
    """--svg/--html/--junit naming the --input file, the contract FILE (also through a hard link
    or ./) or each other: exit 2 naming both options, and the input is left as it was."""
    valid, _ = value_pools
    params = {p.name: p for p in parameters(COMMANDS[name])}
    outputs = [key for key in OUTPUTS if key in params]
    if not outputs:
        pytest.skip(f"{name} writes no file")
    data, contract = tmp_path / "data.csv", tmp_path / "contract.toml"
    data.write_text("0.1,0.2\n0.3,0.4\n0.5,0.6\n")
    contract.write_text(open(valid["file"][0]).read())
    os.link(contract, tmp_path / "link.toml")
    before = (data.read_bytes(), contract.read_bytes())
    required = [valid.get(p.name, ["1"])[0] for p in params.values() if isinstance(p, click.Argument)]
    static = ["--static"] if "static" in params else []  # refused before anything runs, in any case
    lines = []
    for key in outputs:
        option = OUTPUTS[key]
        if "input" in params:
            lines.append(([name, *required, "--input", str(data), option, str(data)], ("--input", option)))
        if "file" in params:
            for alias in (str(contract), str(tmp_path / "link.toml"), str(tmp_path / "." / "contract.toml")):
                lines.append(([name, str(contract), *static, option, alias], ("FILE", option)))
        for other in outputs:
            if other != key:
                lines.append(
                    (
                        [
                            name,
                            *required,
                            *static,
                            option,
                            str(tmp_path / "x.out"),
                            OUTPUTS[other],
                            str(tmp_path / "x.out"),
                        ],
                        (option, OUTPUTS[other]),
                    )
                )
    for argv, options in lines:
        result = run_line(argv, False)
        assert result.exit_code == 2, (argv, result.stderr)
        assert all(o in result.stderr for o in options), (argv, result.stderr)
    assert (data.read_bytes(), contract.read_bytes()) == before and not (tmp_path / "x.out").exists()


GROUP_LINES = [
    ["--version"],
    ["--no-such-option"],
    ["no-such-command"],
    ["INSPECT"],
    ["--debug"],
    ["--units", "3", "inspect"],
    ["--json"],
    ["--json", "inspect", "--static"],
    ["--debug", "inspect", "--units", "0"],
    ["--debug", "--json", "stack", "lstm:0"],
    ["☃"],
    ["x" * 5000],
    ["--version", "--json"],
    ["inspect", "--", "--json"],
]


@pytest.mark.parametrize("argv", GROUP_LINES, ids=lambda argv: " ".join(a[:20] for a in argv) or "(none)")
def test_group_level_command_lines_end_cleanly(argv):
    json_mode = "--json" in argv
    result = run_line(argv, json_mode, debug="--debug" in argv, command=None if argv[:1] == ["inspect"] else "rnnshape")
    TRIED["(group)"] = TRIED.get("(group)", 0) + 1
    FOUND_EXIT_CODES.setdefault("(group)", set()).add(result.exit_code)


def test_rnnshape_alone_shows_the_help_on_stderr_as_a_usage_error():
    result = CliRunner().invoke(cli, [])
    assert result.exit_code == 2 and result.stdout == "" and result.stderr.startswith("Usage: rnnshape")
    assert all(name in result.stderr for name in COMMANDS)
