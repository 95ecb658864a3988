"""Hostile model files and numbers, round three (issue 27), without TensorFlow: configs nested
deeply enough to exhaust Python's recursion, zip bombs (a config.json that inflates to more than
its limit, a zip64 member declaring 200 GB, a member inflating beyond what it declares), polyglot
files (an HDF5 file and a zip in one), files whose content is not what their name says, a module
path that only starts like Keras', numbers finite in float64 but not in float32, fullwidth digits.
Every fixture is built here, in tmp_path, small enough to keep each test well under a second."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest

from rnnshape import files, model_files
from rnnshape.errors import RnnshapeError, SpecError, UsageError
from rnnshape.rules.network import refused_objects

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = {
    "module": "keras",
    "class_name": "Sequential",
    "config": {
        "name": "m",
        "layers": [{"module": "keras.layers", "class_name": "LSTM", "config": {"name": "lstm", "units": 2}}],
    },
}


def _cli(*args: str) -> subprocess.CompletedProcess:
    """The command in a real process (these cases are refused before TensorFlow is imported)."""
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("RNNSHAPE_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "rnnshape", *args], capture_output=True, text=True, timeout=60, env=env
    )


def _refused(proc: subprocess.CompletedProcess, *words: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr[-2000:]
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def _keras_zip(path, config_text: str) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("metadata.json", '{"keras_version": "3.15.1"}')
        archive.writestr("config.json", config_text)


def _forged_zip(path, members: list[tuple[str, bytes, int, int]]) -> None:
    """A zip written byte by byte: each member (name, deflated bytes, declared size, crc), its
    declared uncompressed size whatever the data inflates to; zip64 sizes when above 4 GiB."""
    out = bytearray()
    central = bytearray()
    for name, data, declared, crc in members:
        raw_name = name.encode()
        big = declared >= 0xFFFFFFFF
        extra = struct.pack("<HHQQ", 1, 16, declared, len(data)) if big else b""
        sizes = (0xFFFFFFFF, 0xFFFFFFFF) if big else (len(data), declared)
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 8, 0, 0x21, crc, *sizes, len(raw_name), len(extra))
        out += raw_name + extra + data
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            45,
            45,
            0,
            8,
            0,
            0x21,
            crc,
            *sizes,
            len(raw_name),
            len(extra),
            0,
            0,
            0,
            0,
            offset,
        )
        central += raw_name + extra
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(out), 0)
    with open(path, "wb") as handle:
        handle.write(bytes(out + central + end))


def _deflate(chunks) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return b"".join(compressor.compress(chunk) for chunk in chunks) + compressor.flush()


def _peak_bytes(function, *args) -> tuple[int, object]:
    tracemalloc.start()
    try:
        try:
            outcome: object = function(*args)
        except RnnshapeError as exc:
            outcome = exc
        return tracemalloc.get_traced_memory()[1], outcome
    finally:
        tracemalloc.stop()


# ---- 1. deeply nested configs -------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_a_deeply_nested_config_is_bad_input_naming_the_file(tmp_path, suffix):
    import rnnshape

    if suffix == ".h5":
        pytest.importorskip("h5py")  # Keras' own dependency: the fast tier also runs where Keras is not installed

    nested = '{"a":' * 990 + "1" + "}" * 990
    path = tmp_path / f"deep{suffix}"
    if suffix == ".keras":
        _keras_zip(path, nested)
    else:
        import h5py

        with h5py.File(path, "w") as h5:
            h5.attrs["model_config"] = nested.encode()
    with pytest.raises(UsageError, match="nested more than 100 levels") as caught:
        rnnshape.model(str(path))
    assert str(path) in str(caught.value)
    # past the parser's own limit too (json.loads raises RecursionError there)
    with pytest.raises(UsageError, match="nested more than"):
        model_files.parse_config_json("[" * 100_000 + "]" * 100_000, "x.keras")
    assert model_files.parse_config_json(json.dumps(CONFIG).encode(), "x.keras") == CONFIG
    if suffix == ".keras":
        _refused(_cli("model", str(path)), str(path), "nested more than 100 levels")


# ---- 2, 3. zip bombs -------------------------------------------------------------------------
def test_a_config_bomb_is_refused_from_its_declared_size_without_inflating(tmp_path):
    # config.json inflating to 65 MiB, above the real limit of 64 MiB (the file is 65 KB)
    size = 65 * 2**20
    zeros = bytes(2**20)
    data = _deflate([zeros] * 65)
    crc = 0
    for _ in range(65):
        crc = zlib.crc32(zeros, crc)
    path = tmp_path / "bomb.keras"
    _forged_zip(path, [("config.json", data, size, crc)])
    assert os.path.getsize(path) < 100_000
    peak, outcome = _peak_bytes(model_files.read_model_file, str(path))
    assert isinstance(outcome, UsageError) and "declares 68,157,440 bytes" in str(outcome), outcome
    assert peak < 2**20, peak  # nothing was inflated
    _refused(_cli("model", str(path)), "bomb.keras", "config.json", "64")


def test_a_member_inflating_beyond_what_it_declares_is_refused_or_stops_at_the_declared_size(tmp_path):
    # more stored bytes than two declared bytes can compress to: refused from the directory
    data = _deflate([b"{}"] + [bytes(range(256)) * 4096] * 20)  # 20 MiB after the two bytes declared
    path = tmp_path / "liar.keras"
    _forged_zip(path, [("config.json", data, 2, zlib.crc32(b"{}"))])
    peak, outcome = _peak_bytes(model_files.read_model_file, str(path))
    assert isinstance(outcome, UsageError) and "inflates to more than it declares" in str(outcome), outcome
    assert peak < 2**20, peak
    # a stream of zeros small enough to pass that test: reading stops at the declared size
    data = _deflate([b"{}"] + [bytes(2**20)] * 20)  # 20 MiB of zeros in about 20 KB
    _forged_zip(path, [("config.json", data, 20_000, zlib.crc32(b"{}" + bytes(19_998)))])
    peak, outcome = _peak_bytes(model_files.read_model_file, str(path))
    assert isinstance(outcome, UsageError) and "not UTF-8" not in str(outcome) and "config.json" in str(outcome)
    assert peak < 2**20, peak


def test_a_zip64_member_declaring_200_gb_is_refused_before_anything_is_inflated(tmp_path):
    config = json.dumps(CONFIG).encode()
    zeros = _deflate([bytes(2**20)] * 4)  # 4 MiB of zeros, declared as 200 GB
    path = tmp_path / "zip64.keras"
    _forged_zip(
        path,
        [
            ("config.json", _deflate([config]), len(config), zlib.crc32(config)),
            ("model.weights.h5", zeros, 200 * 10**9, 0),
        ],
    )
    peak, outcome = _peak_bytes(model_files.read_model_file, str(path))
    assert isinstance(outcome, UsageError), outcome
    assert "'model.weights.h5' declares 200,000,000,000 bytes" in str(outcome) and "--max-file-size" in str(outcome)
    assert peak < 2**20, peak
    # members under the limit one by one but not together
    path2 = tmp_path / "many.keras"
    _forged_zip(
        path2,
        [("config.json", _deflate([config]), len(config), zlib.crc32(config))]
        + [(f"w{i}.h5", zeros, 2**30, 0) for i in range(3)],
    )
    with pytest.raises(UsageError, match="its members declare 3,221,225,[0-9]+ bytes"):
        model_files.read_model_file(str(path2))
    # the same file with a limit raised on purpose (--max-file-size) is read: only config.json inflated
    peak, outcome = _peak_bytes(model_files.read_model_file, str(path2), 4 * 2**30)
    assert not isinstance(outcome, Exception) and outcome.config == CONFIG and peak < 2**20
    proc = _cli("model", str(path), "--json")
    document = json.loads(proc.stdout)
    assert proc.returncode == 2 and proc.stderr == "" and document["exit_code"] == 2
    assert "200,000,000,000" in document["errors"][0]["message"]


# ---- 4, 6. the format Keras reads: by the name ---------------------------------------------
def _h5(path, userblock: bytes = b"", config=CONFIG) -> None:
    import h5py

    with h5py.File(path, "w", userblock_size=512 if userblock else 0) as h5:
        h5.attrs["model_config"] = json.dumps(config).encode()
    if userblock:
        with open(path, "r+b") as handle:
            handle.write(userblock)


def test_content_must_be_what_the_name_says(tmp_path):
    pytest.importorskip("h5py")  # the HDF5 files are written with it (Keras' own dependency)
    lam = {
        "module": "keras",
        "class_name": "Sequential",
        "config": {
            "name": "m",
            "layers": [{"module": "keras.layers", "class_name": "Lambda", "config": {"name": "evil"}}],
        },
    }
    # a benign .keras zip, and its bytes
    _keras_zip(tmp_path / "benign.keras", json.dumps(CONFIG))
    benign = (tmp_path / "benign.keras").read_bytes()
    assert len(benign) < 512
    cases = {}
    # an .h5 (a Lambda inside) with a benign .keras zip appended, named .keras and named .h5
    _h5(tmp_path / "evil.h5", config=lam)
    for name in ("appended.keras", "appended.h5"):
        (tmp_path / name).write_bytes((tmp_path / "evil.h5").read_bytes() + benign)
        cases[name] = "both an HDF5 file and a zip"
    # a benign zip in the user block of an HDF5 file holding a Lambda, named .h5 and .keras
    _h5(tmp_path / "userblock.h5", userblock=benign, config=lam)
    (tmp_path / "userblock.keras").write_bytes((tmp_path / "userblock.h5").read_bytes())
    cases["userblock.h5"] = "both an HDF5 file and a zip"
    # an HDF5 model named .keras, a zip named .h5, both named otherwise
    _h5(tmp_path / "model.keras")
    cases["model.keras"] = (
        "is an HDF5 file (a legacy .h5 model), not the .keras zip its name says: Keras reads a "
        "file by its name; rename it to model.h5"
    )
    (tmp_path / "zipped.h5").write_bytes(benign)
    cases["zipped.h5"] = "rename it to zipped.keras"
    (tmp_path / "model.KERAS").write_bytes(benign)
    cases["model.KERAS"] = "rename it to model.keras"
    _h5(tmp_path / "weights.bin")
    cases["weights.bin"] = "rename it to weights.h5"
    for name, words in cases.items():
        with pytest.raises(UsageError) as caught:
            model_files.read_model_file(str(tmp_path / name))
        assert words in str(caught.value), (name, str(caught.value))
    assert model_files.read_model_file(str(tmp_path / "benign.keras")).config == CONFIG
    # named .keras, Keras reads its zip (zipfile finds the end record) and so does the check: the
    # HDF5 bytes behind it are data to both (as an HDF5 weights file stored in a real .keras zip)
    assert model_files.read_model_file(str(tmp_path / "userblock.keras")).config == CONFIG
    assert model_files.read_model_file(str(tmp_path / "evil.h5")).format == "h5"  # refused later for its Lambda
    line = _refused(_cli("model", str(tmp_path / "model.keras")), "rename it to model.h5")
    assert "File not found" not in line


# ---- 5. module paths -------------------------------------------------------------------------
def test_a_module_that_only_starts_like_keras_is_a_custom_class():
    def config(module):
        return {
            "module": "keras",
            "class_name": "Sequential",
            "config": {
                "name": "m",
                "layers": [
                    {"module": module, "class_name": "Evil", "config": {"name": "evil"}, "registered_name": "Evil"}
                ],
            },
        }

    for module in ("kerasevil", "keras_hub.layers", "kerasx.layers", "tf.keras"):
        reasons = refused_objects(config(module))
        assert len(reasons) == 1 and "'evil'" in reasons[0] and "custom class" in reasons[0], module
    for module in ("keras", "keras.layers", "keras.src.layers.core"):
        assert refused_objects(config(module)) == [], module


# ---- 11, 13. numbers float32 cannot hold -------------------------------------------------------
def test_values_beyond_float32_are_refused_like_nan_by_every_reader(tmp_path):
    big = np.array([[0.5, 1e300], [0.1, 0.2]])
    np.save(tmp_path / "big.npy", big)
    np.save(tmp_path / "state.npy", np.array([[[1e39, 0.0]]]))
    np.save(tmp_path / "fine.npy", np.array([[[3.4e38, -3.4e38]]]))
    for reader, path, key in [
        (files.load_input_file, "big.npy", "input"),
        (files.load_state_file, "state.npy", "initial_state"),
        (lambda p: files.load_data_array(p, "--x"), "big.npy", "x"),
    ]:
        with pytest.raises(SpecError) as caught:
            reader(str(tmp_path / path))
        assert caught.value.key == key and "3.4028235e+38" in str(caught.value), str(caught.value)
    assert files.load_state_file(str(tmp_path / "fine.npy")).array.dtype == np.float32
    # a Python caller's arrays pass the same rule, before any copy
    with pytest.raises(SpecError, match="NaN"):
        files.check_values(np.array([1.0, np.nan]), "x", "x")
    with pytest.raises(SpecError, match="largest float32"):
        files.check_values(np.broadcast_to(np.float64(1e300), (10**8, 50)), "x", "x")
    files.check_values(np.arange(5), "x", "x")  # integers (token ids) pass


def test_fullwidth_digits_are_refused(invoke):
    line = _refused(_cli("inspect", "--static", "--units", "\uff14"), "--units")
    assert "'\uff14' is not a number in ASCII digits (0-9); type '4'" in line
    for args, option in [
        (["inspect", "--static", "--dropout", "\uff10.\uff15"], "--dropout"),
        (["window", "--length", "\u0663\u0660"], "--length"),
        (["inspect", "--static", "--lengths", "\uff12"], "--lengths"),
        (["inspect", "--static", "--expect", "output=1,\uff14"], "--expect"),
        (["inspect", "--static", "--layer", "rnn", "--cells", "lstm:\uff12"], "--cells"),
        (["stack", "lstm:\uff14", "--static"], "SPEC"),
    ]:
        result = invoke(args)
        assert result.exit_code == 2 and result.stdout == "", (args, result.output)
        assert len(result.stderr.splitlines()) == 1 and option in result.stderr, (args, result.stderr)
    assert invoke(["inspect", "--static", "--units", "4"]).exit_code == 0
