"""make_spec: raw options (the command line's, a check file's, the API's) validated into a LayerSpec,
each refusal naming the option and what is allowed. Pure: files are read by the caller.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from rnnshape.errors import SpecError, UsageError, option_name
from rnnshape.rules.catalogue import (
    CELLS_LAYER,
    CONV_DEFAULTS,
    CONV_KEYS,
    CONV_LAYERS,
    DEFAULT_ACTIVATION,
    DEFAULT_RECURRENT_ACTIVATION,
    DEFAULTS,
    FLAG_KEYS,
    INIT_KEYS,
    INITIAL_STATE_KINDS,
    INITIALIZERS,
    INPUT_KINDS,
    INT_LIMITS,
    KERAS_CLASS,
    LAYER_ALIASES,
    MATRIX_INITIALIZERS,
    SIZE_KEYS,
    SPATIAL_AXES,
    canonical_layer,
    canonical_merge_mode,
    conv_output_size,
)
from rnnshape.rules.layer import LayerSpec
from rnnshape.rules.options import ACTIVATIONS, LSTM_FAMILY, PADDINGS
from rnnshape.rules.words import shape_text


def make_spec(*, input_file: FileInput | None = None, state_file: FileInput | None = None, **options: Any) -> LayerSpec:
    """Validate raw options (from the CLI or a check file) into a LayerSpec.

    ``input_file`` is the file named by ``input``, ``state_file`` the one named by
    ``initial_state``, each already read by the caller.

    Unknown keys, wrong types and values out of range raise SpecError naming the key.
    """
    options = dict(options)
    pinned_sha256 = options.pop("input_sha256", None)  # derived; given back (config, check file): verified
    pinned_state_sha256 = options.pop("initial_state_sha256", None)
    values = _given_values(options)
    values["layer"] = canonical_layer(values["layer"])
    _resolve_conv(values, options)
    _resolve_cells(values, options)
    values["input_sha256"] = _resolve_input(values, {k: options.get(k) for k in SIZE_KEYS}, input_file)
    if pinned_sha256 is not None and pinned_sha256 != values["input_sha256"]:
        raise SpecError(
            "input_sha256",
            f"{pinned_sha256!r} does not match the input {values['input']!r} (sha256 {values['input_sha256']})",
        )
    _resolve_initializers(values)
    for key, (low, high) in INT_LIMITS.items():
        _check_int(key, values[key], low, high)
    for key in FLAG_KEYS:
        if not isinstance(values[key], bool):
            raise SpecError(key, f"{values[key]!r} is not true or false")
    values["merge_mode"] = _resolve_merge_mode(values["merge_mode"], values["bidirectional"])
    values["reset_after"] = resolve_reset_after(values["layer"], values["reset_after"])
    if values["layer"] != CELLS_LAYER:
        _resolve_cell_options(values)
    values["lengths"] = _check_lengths(values["lengths"], values["batch"], values["timesteps"])
    _resolve_plain(values)
    spec = LayerSpec(**values)
    if spec.initial_state is not None:
        spec = _resolve_initial_state(spec, state_file)
        if pinned_state_sha256 is not None and pinned_state_sha256 != spec.initial_state_sha256:
            raise SpecError(
                "initial_state_sha256",
                f"{pinned_state_sha256!r} does not match the initial state "
                f"{spec.initial_state!r} (sha256 {spec.initial_state_sha256})",
            )
    return spec


def _given_values(options: dict[str, Any]) -> dict[str, Any]:
    """DEFAULTS with the given options in place (None keeps the default, except merge_mode's);
    an unknown key is refused naming the allowed ones."""
    values = dict(DEFAULTS)
    for key, value in options.items():
        if key not in DEFAULTS:
            raise UsageError(f"unknown option {key!r}: allowed are {', '.join(DEFAULTS)}")
        if value is not None or key == "merge_mode":
            values[key] = value
    return values


def _resolve_initializers(values: dict[str, Any]) -> None:
    """The initializer options made canonical; a 2-D-only initializer refused for a 1-D bias."""
    for key in INIT_KEYS:
        values[key] = canonical_initializer(key, values[key])
    if values["bias_init"] in MATRIX_INITIALIZERS and values["layer"] != "gru":
        raise SpecError(
            "bias_init",
            f"{values['bias_init']} fills 2-D weights only, and the "
            f"{KERAS_CLASS[values['layer']]} bias is 1-D (Keras raises ValueError; rule of "
            "Keras): use it for the kernels, or give a number or zeros, ones, random_normal, ...",
        )


def _check_int(key: str, value: Any, low: int, high: int) -> None:
    """Refuse ``value`` unless it is an integer (not a bool) in low..high."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(key, f"{value!r} is not an integer")
    if not low <= value <= high:
        raise SpecError(key, f"{value} is not in the range {low}..{high}")


def _resolve_merge_mode(merge_mode: Any, bidirectional: bool) -> str | None:
    """--merge-mode only with --bidirectional, made canonical; concat when bidirectional and not given."""
    if merge_mode is not None:
        if not bidirectional:
            raise SpecError("merge_mode", "applies only with --bidirectional (bidirectional = true)")
        return canonical_merge_mode(merge_mode)
    return "concat" if bidirectional else None


CONV_INT_LIMITS = {
    "filters": (1, 1_000_000),
    "channels": (1, 1_000_000),
    "depth": (1, 1_000_000),
    "rows": (1, 1_000_000),
    "cols": (1, 1_000_000),
}

CONV_LAYER_WORDS = "--layer convlstm1d, convlstm2d or convlstm3d"
# What a recurrent layer takes instead of a ConvLSTM option (in the refusal of that option).
CONV_INSTEAD = {
    "filters": " (a recurrent layer counts --units)",
    "channels": " (a recurrent layer's inputs have --features)",
}
MAP_AXES = ("depth", "rows", "cols")


def _resolve_conv(values: dict[str, Any], given: dict[str, Any]) -> None:
    """ConvLSTM: --filters, --kernel-size, --strides, --padding and the map's sizes resolved into
    units (= filters), features (= channels), spatial, kernel_size, strides and padding; refused
    for the other layers, as --units and --features are for ConvLSTM."""
    layer = values["layer"]
    chosen = {key: values.pop(key) for key in CONV_KEYS}
    if layer not in CONV_LAYERS:
        _refuse_conv_options(layer, chosen)
        return
    cls = KERAS_CLASS[layer]
    _refuse_for_conv(cls, values, given)
    axes = SPATIAL_AXES[layer]
    _refuse_other_axes(cls, axes, chosen)
    resolved = {key: CONV_DEFAULTS[key] if value is None else value for key, value in chosen.items()}
    for key, (low, high) in CONV_INT_LIMITS.items():
        if key in MAP_AXES and key not in axes:
            continue
        _check_int(key, resolved[key], low, high)
    rank = len(axes)
    kernel = _conv_tuple("kernel_size", resolved["kernel_size"], rank)
    strides = _conv_tuple("strides", resolved["strides"], rank)
    padding = _conv_padding(resolved["padding"])
    spatial = tuple(resolved[axis] for axis in axes)
    _check_kernel_fits(axes, spatial, kernel, strides, padding)
    values.update(
        units=resolved["filters"],
        features=resolved["channels"],
        spatial=spatial,
        kernel_size=kernel,
        strides=strides,
        padding=padding,
    )


def _refuse_conv_options(layer: str, chosen: dict[str, Any]) -> None:
    """A ConvLSTM option given with another layer is refused (the first given, in CONV_KEYS' order)."""
    for key, value in chosen.items():
        if value is not None:
            raise SpecError(key, f"applies only with {CONV_LAYER_WORDS}, not {layer}{CONV_INSTEAD.get(key, '')}")


def _refuse_for_conv(cls: str, values: dict[str, Any], given: dict[str, Any]) -> None:
    """--units, --features, --lengths and a file input are refused for ConvLSTM."""
    for key, instead in (("units", "--filters"), ("features", "--channels")):
        if given.get(key) is not None:
            raise SpecError(
                key,
                f"{cls} takes {instead}, not {option_name(key)} (its h and c are feature maps "
                "with filters on the last axis; its input's last axis is channels)",
            )
    if values["lengths"] is not None:
        raise SpecError("lengths", f"masking is not explained for {cls} in rnnshape: drop --lengths")
    if input_file_name(values["input"]) is not None:
        raise SpecError(
            "input",
            f"{cls} runs on generated inputs only ({', '.join(INPUT_KINDS)}); a file input is "
            "not supported for ConvLSTM layers",
        )


def _refuse_other_axes(cls: str, axes: tuple[str, ...], chosen: dict[str, Any]) -> None:
    """--depth, --rows or --cols given for a ConvLSTM whose map has no such axis is refused."""
    for key in MAP_AXES:
        if key not in axes and chosen[key] is not None:
            owners = [name for name, names in SPATIAL_AXES.items() if key in names]
            raise SpecError(
                key,
                f"applies only with --layer {' or '.join(owners)}: {cls}'s input is "
                f"[batch, timesteps, {', '.join(axes)}, channels]",
            )


def _conv_padding(padding: Any) -> str:
    """--padding made canonical (valid or same)."""
    if not isinstance(padding, str) or padding.strip().lower() not in PADDINGS:
        raise SpecError("padding", f"{padding!r} is not one of {', '.join(PADDINGS)}")
    return padding.strip().lower()


def _check_kernel_fits(
    axes: tuple[str, ...], spatial: tuple[int, ...], kernel: tuple[int, ...], strides: tuple[int, ...], padding: str
) -> None:
    """Refuse a kernel that leaves no output along an axis (padding valid)."""
    for axis, size, k, stride in zip(axes, spatial, kernel, strides):
        if conv_output_size(size, k, stride, padding) < 1:
            raise SpecError(
                "kernel_size",
                f"{k} is larger than {axis} {size}: with padding valid the output "
                f"would have no {axis} (Keras raises ValueError); use --padding same, "
                f"a smaller --kernel-size or a larger --{axis}",
            )


CELLS_REFUSED = (
    "stateful",
    "bidirectional",
    "reset_after",
    "activation",
    "recurrent_activation",
    "unit_forget_bias",
    "dropout",
    "recurrent_dropout",
    "initial_state",
    "lengths",
)

_CELL = re.compile(r"^(lstm|gru|simplernn|simple_rnn):([0-9]+)$")


def _resolve_cells(values: dict[str, Any], given: dict[str, Any]) -> None:
    """--layer rnn --cells lstm:4,gru:3: keras.layers.RNN([LSTMCell(4), GRUCell(3)]); units is the
    last cell's. --cells with another layer, and the options rnnshape does not explain for a list
    of cells, are refused naming the option."""
    cells = values.pop("cells")
    if values["layer"] != CELLS_LAYER:
        if cells is not None:
            raise SpecError(
                "cells", f"applies only with --layer rnn (keras.layers.RNN with a list of cells), not {values['layer']}"
            )
        return
    if given.get("units") is not None:
        raise SpecError("units", "--layer rnn takes its cells' units from --cells (e.g. lstm:4,gru:3), not --units")
    if cells is None:
        raise SpecError(
            "cells",
            "--layer rnn needs its cells: --cells KIND:UNITS[,KIND:UNITS...] with KIND lstm, gru "
            "or simplernn, e.g. lstm:4,gru:3",
        )
    words = cells.split(",") if isinstance(cells, str) else list(cells)
    parsed = []
    for word in words:
        match = _CELL.match(str(word).strip().lower()) if len(str(word)) < 100 else None
        if not match or not 1 <= int(match.group(2)) <= 1_000_000:
            raise SpecError(
                "cells",
                f"{str(word)[:60]!r} is not KIND:UNITS with KIND lstm, gru or simplernn and "
                "UNITS in 1..1000000 (e.g. lstm:4,gru:3)",
            )
        parsed.append((LAYER_ALIASES[match.group(1)], int(match.group(2))))
    if not 1 <= len(parsed) <= 16:
        raise SpecError("cells", f"gives {len(parsed)} cells: give 1 to 16")
    for key in CELLS_REFUSED:
        value = values.get(key)
        if value not in (None, False, 0.0) and not (key == "merge_mode"):
            raise SpecError(
                key,
                "is not explained for --layer rnn (a list of cells) in rnnshape: drop it, or see "
                "the option on one layer with --layer lstm|gru|simplernn",
            )
    if values["use_bias"] is False:
        raise SpecError("use_bias", "is not explained for --layer rnn (a list of cells) in rnnshape: drop it")
    values.update(
        cells=tuple(parsed), units=parsed[-1][1], activation="tanh", recurrent_activation=None, unit_forget_bias=None
    )


def _conv_tuple(key: str, value: Any, rank: int) -> tuple[int, ...]:
    """--kernel-size/--strides: N for every axis, or one number per spatial axis (3,2)."""
    if isinstance(value, str):
        value = parse_int_list(key, value)
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise SpecError(key, f"{value!r} is not an integer or a list of {rank} integers")
    if len(value) not in (1, rank):
        raise SpecError(
            key, f"{','.join(map(str, value))} gives {len(value)} sizes: give one, or one per spatial axis ({rank})"
        )
    if not all(1 <= v <= 10_000 for v in value):
        raise SpecError(key, f"{','.join(map(str, value))}: each size must be in 1..10000")
    return tuple(value) * rank if len(value) == 1 else tuple(value)


def _canonical_activation(key: str, value: Any) -> str:
    if isinstance(value, str) and value.strip().lower() in ACTIVATIONS:
        return value.strip().lower()
    raise SpecError(key, f"{value!r} is not one of {', '.join(ACTIVATIONS)}")


def _resolve_cell_options(values: dict[str, Any]) -> None:
    """Activations, bias, dropout: resolved to Keras' defaults per layer, refused where the layer
    has no such option."""
    layer = values["layer"]
    cls = KERAS_CLASS[layer]
    values["activation"] = (
        DEFAULT_ACTIVATION[layer]
        if values["activation"] is None
        else _canonical_activation("activation", values["activation"])
    )
    if layer == "simplernn":
        if values["recurrent_activation"] is not None:
            raise SpecError(
                "recurrent_activation",
                "SimpleRNN has no gates, so no recurrent_activation: use --activation (only LSTM and GRU take it)",
            )
    else:
        values["recurrent_activation"] = (
            DEFAULT_RECURRENT_ACTIVATION[layer]
            if values["recurrent_activation"] is None
            else _canonical_activation("recurrent_activation", values["recurrent_activation"])
        )
    if layer not in LSTM_FAMILY:
        if values["unit_forget_bias"] is not None:
            raise SpecError(
                "unit_forget_bias", f"applies only with --layer lstm or convlstm1d/2d/3d (the forget gate), not {layer}"
            )
    elif values["unit_forget_bias"] is None:
        values["unit_forget_bias"] = True
    elif not isinstance(values["unit_forget_bias"], bool):
        raise SpecError("unit_forget_bias", f"{values['unit_forget_bias']!r} is not true or false")
    for key in ("dropout", "recurrent_dropout"):
        value = values[key]
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise SpecError(
                    key, f"{values[key]!r} is not a number in 0..1 (a fraction of {cls}'s inputs to drop)"
                ) from None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) < 1.0:
            raise SpecError(key, f"{values[key]!r} is not a number in the range 0 <= {key} < 1")
        values[key] = float(value)


def _resolve_initial_state(spec: LayerSpec, state_file: FileInput | None) -> LayerSpec:
    """--initial-state zeros|random|FILE.npy: refused with stateful; a file's shape must be the
    states' shapes, one array per state in Keras' order."""
    source = spec.initial_state
    expected = spec.initial_state_shapes()
    wanted = "[" + ", ".join(f"{name} {shape_text(shape)}" for name, shape in expected) + "]"
    if spec.stateful:
        raise SpecError(
            "initial_state",
            "a stateful layer keeps its own states between batches (set them with "
            "layer.reset_state() or by assigning layer.states): drop --initial-state "
            "or --stateful",
        )
    if not isinstance(source, str) or not source.strip():
        raise SpecError("initial_state", f"{source!r} is not one of {', '.join(INITIAL_STATE_KINDS)} nor a .npy file")
    if source.strip().lower() in INITIAL_STATE_KINDS:
        return dataclasses.replace(spec, initial_state=source.strip().lower())
    if state_file is None or state_file.path != source:
        raise UsageError(
            f"the initial state file {source!r} was not read: read it with "
            "rnnshape.files.file_state and pass it as state_file"
        )
    shape = tuple(state_file.shape)
    rank = len(expected[0][1])
    states = shape[0] if len(shape) == rank + 1 else 1 if len(shape) == rank else None
    if states != len(expected) or shape[-rank:] != expected[0][1]:
        raise SpecError(
            "initial_state",
            f"{source} holds an array of shape {shape_text(shape)}; "
            f"{spec.keras_call()} takes {len(expected)} state(s) {wanted}: "
            f"save an array of shape {shape_text((len(expected),) + expected[0][1])}"
            + (" (or one of shape " + shape_text(expected[0][1]) + ")" if len(expected) == 1 else ""),
        )
    return dataclasses.replace(spec, initial_state_sha256=state_file.sha256)


def resolve_reset_after(layer: str, reset_after: Any) -> bool | None:
    """GRU: True (Keras 3's default) unless given; every other layer: None (it has no such option)."""
    if layer != "gru":
        if reset_after is not None:
            flag = "--reset-after" if reset_after else "--no-reset-after"
            raise SpecError("reset_after", f"{flag} applies only with --layer gru (a GRU option of Keras), not {layer}")
        return None
    if reset_after is None:
        return True
    if not isinstance(reset_after, bool):
        raise SpecError("reset_after", f"{reset_after!r} is not true or false")
    return reset_after


def canonical_initializer(key: str, value: Any) -> float | str | None:
    """A number (or numeric string) means Constant(value); else a Keras initializer name."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise SpecError(key, f"{value!r} is neither a number nor an initializer name")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = str(value).strip()
        if text.lower() in INITIALIZERS:
            return text.lower()
        try:
            number = float(text)
        except ValueError:
            raise SpecError(
                key, f"{value!r} is neither a number (a constant) nor one of {', '.join(INITIALIZERS)}"
            ) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise SpecError(key, f"{value!r} is not a finite number")
    return number


@dataclass(frozen=True)
class FileInput:
    """What the caller read from an --input FILE: the model reads no files itself."""

    path: str
    shape: tuple[int, ...]
    sha256: str


def input_file_name(source: Any) -> str | None:
    """The file an --input value names, or None for a generated input (random, arange, ...)."""
    if isinstance(source, str) and source.strip() and source.strip().lower() not in INPUT_KINDS:
        return source
    return None


def _resolve_input(values: dict[str, Any], explicit: dict[str, Any], input_file: FileInput | None) -> str | None:
    """For a file input: take batch, timesteps and features from its shape (refusing explicit
    sizes that contradict it) and return its sha256; None for generated inputs."""
    source = values["input"]
    if not isinstance(source, str) or not source.strip():
        raise SpecError("input", f"{source!r} is not one of {', '.join(INPUT_KINDS)} nor a .npy or .csv file")
    if source.strip().lower() in INPUT_KINDS:
        values["input"] = source.strip().lower()
        return None
    if input_file is None or input_file.path != source:
        raise UsageError(
            f"the input file {source!r} was not read: read it with rnnshape.files.load_input_file "
            "and pass it as input_file"
        )
    for key, size in zip(SIZE_KEYS, input_file.shape):
        given = explicit.get(key)
        if given is not None and given != size:
            raise SpecError(
                key,
                f"{given} contradicts --input {source}, whose data has {key} {size} "
                f"(shape {tuple(input_file.shape)} as [batch, timesteps, features]); "
                f"drop {option_name(key)} or change the file",
            )
        values[key] = int(size)
    return input_file.sha256


def _check_lengths(lengths: Any, batch: int, timesteps: int) -> tuple[int, ...] | None:
    if lengths is None:
        return None
    if isinstance(lengths, str):
        lengths = parse_int_list("lengths", lengths)
    if not isinstance(lengths, (list, tuple)) or not all(
        isinstance(n, int) and not isinstance(n, bool) for n in lengths
    ):
        raise SpecError("lengths", f"{lengths!r} is not a list of integers")
    if len(lengths) != batch:
        raise SpecError("lengths", f"gives {len(lengths)} lengths for a batch of {batch}: give one per sample")
    bad = [n for n in lengths if not 1 <= n <= timesteps]
    if bad:
        raise SpecError("lengths", f"{bad[0]} is not a valid length: each must be in 1..{timesteps} (timesteps)")
    return tuple(lengths)


_INT_LIST = re.compile(r"^\s*[0-9]+\s*(,\s*[0-9]+\s*)*$")  # ASCII digits only, as every number option


def parse_int_list(key: str, text: str) -> tuple[int, ...]:
    if not _INT_LIST.match(text or "") or len(text) > 10_000:
        raise SpecError(key, f"{text!r} is not a comma-separated list of non-negative integers, e.g. 3,5")
    return tuple(int(part) for part in text.split(","))


def _resolve_plain(values: dict[str, Any]) -> None:
    """The table's plain constructor arguments (rules/options.PLAIN): refused for the layers that
    do not take them, resolved to Keras' default when not given, a choice among its choices."""
    from rnnshape.rules.options import PLAIN

    layer = values["layer"]
    for option in PLAIN:
        value = values[option.name]
        if not option.applies_to(layer):
            if value is not None:
                raise SpecError(option.name, f"applies only with --layer {' or '.join(option.layers)}, not {layer}")
            continue
        value = option.keras_default if value is None else value
        if option.choices is not None:
            value = str(value).lower()
            if value not in option.choices:
                raise SpecError(option.name, f"{values[option.name]!r} is not one of {', '.join(option.choices)}")
        values[option.name] = value
