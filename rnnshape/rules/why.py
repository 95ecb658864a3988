"""``rnnshape why``: find a Keras shape error in pasted text, recognise its kind, and name its
causes and fixes in rnnshape's words. Pure: regexes over the text, shapes parsed, no Keras.

The catalogue (KINDS) holds every kind of message rnnshape recognises, with the wordings of the
Keras versions that printed it. Each current wording is produced by a real Keras 3 call in the
tests (tests/test_why_keras.py), and the recogniser is tested on that exact message; the older
TensorFlow 2 / Keras 2 wordings are kept as text fixtures (tests/fixtures/why/).

A diagnosis ranks the likely causes and gives, per cause, a fix as code and as `rnnshape stack`
tokens, which the API then builds for real. Numbers the message does not hold (the units of your
layer, often the timesteps) are filled with plain defaults and listed as ``assumed``.

This module holds the catalogue and the recogniser; why_diagnosis.py the parts of a diagnosis and
the reading of shapes, why_inputs.py, why_targets.py, why_states.py and why_runtime.py the
diagnoses of each family of errors.
"""

from __future__ import annotations

import re

from rnnshape.rules.why_diagnosis import SHAPE, Diagnosis, Kind, NoShapeError, first_error_line, normalise
from rnnshape.rules.why_fit import _bidirectional, _fit_input, _keras2_input_rank, _reshape, _time_distributed
from rnnshape.rules.why_inputs import _input_spec
from rnnshape.rules.why_runtime import _concatenate, _incompatible
from rnnshape.rules.why_states import (
    _initial_state_count,
    _initial_state_shape,
    _state_spec,
    _stateful_batch,
    _stateful_unknown_batch,
)
from rnnshape.rules.why_targets import _categorical_targets, _keras2_target_rank, _target

_INPUT_SPEC_K3 = (
    r"Input (?P<index>\d+) with name '[^']*' of layer [\"'](?P<layer>[^\"']+)[\"'] is incompatible with "
    r"the layer: expected ndim=(?P<expected>\d+), found ndim=(?P<found>\d+)\. Full shape received: "
    r"(?P<shape>" + SHAPE + ")"
)

_INPUT_SPEC_TF2 = (
    r"Input (?P<index>\d+) of layer [\"']?(?P<layer>[\w./-]+)[\"']? is incompatible with the layer: "
    r":? ?expected ndim=(?P<expected>\d+), found ndim=(?P<found>\d+)\.?(?: Full shape received: "
    r"(?P<shape>" + SHAPE + "))?"
)

_INPUT_SPEC_K2 = (
    r"Input (?P<index>\d+) is incompatible with layer (?P<layer>[\w./-]+): expected ndim=(?P<expected>\d+), "
    r"found ndim=(?P<found>\d+)(?P<shape>)"
)

_INPUT_SPEC_BARE = (
    r"(?P<layer>)(?P<index>)expected ndim=(?P<expected>\d+), found ndim=(?P<found>\d+)\.?(?: Full shape "
    r"received: (?P<shape>" + SHAPE + "))?"
)

SHAPE_KINDS = (
    "no_timesteps_axis",
    "stacked_without_return_sequences",
    "input_shape_includes_batch",
    "repeat_vector_on_sequence",
    "convlstm_input_rank",
)

KINDS: tuple[Kind, ...] = (
    Kind(
        "input_spec",
        "a layer's input rank (no timesteps axis, stacked without return_sequences, batch in "
        "input_shape, RepeatVector on a sequence, ConvLSTM rank)",
        (
            (_INPUT_SPEC_K3, "Keras 3"),
            (_INPUT_SPEC_TF2, "tf.keras 2.x (TensorFlow 2.1-2.15)"),
            (_INPUT_SPEC_K2, "Keras 2.0-2.3 / TensorFlow 1.x"),
            (_INPUT_SPEC_BARE, "a part of Keras' input_spec message"),
        ),
        _input_spec,
    ),
    Kind(
        "stateful_batch_size",
        "a stateful layer fed another batch size",
        (
            (
                r"If an? RNN is stateful, the batch size of the input sequences must be the same as the batch size of "
                r"the initial state\.? -? ?Expected batch size: (?P<expected>\d+) -? ?Received batch size: "
                r"(?P<received>\d+)",
                "Keras 3",
            ),
        ),
        _stateful_batch,
    ),
    Kind(
        "stateful_needs_batch_size",
        "a stateful layer without a fixed batch size",
        (
            (
                r"When using `stateful=True` in a RNN, the batch size must be static\. Found dynamic batch size: "
                r"sequence\.shape=(?P<shape>" + SHAPE + ")",
                "Keras 3",
            ),
            (
                r"If a RNN is stateful, it needs to know its batch size\. Specify the batch size of your input tensors",
                "Keras 2 / tf.keras 2.x",
            ),
        ),
        _stateful_unknown_batch,
    ),
    Kind(
        "initial_state_count",
        "initial states of the wrong number",
        (
            (
                r"Exception encountered when calling (?P<cls>LSTM|GRU|SimpleRNN)\.call\(\)\. (?:list index out of range|"
                r"Too (?:few|many) leaves for PyTreeSpec[^.]*\.[^.]*\.).*? initial_state=\[(?P<states>[^\]]*)\]",
                "Keras 3",
            ),
        ),
        _initial_state_count,
    ),
    Kind(
        "initial_state_shape",
        "an initial state of the wrong size",
        (
            (
                r"Exception encountered when calling (?P<cls>LSTMCell|GRUCell|SimpleRNNCell)\.call\(\)\. .*?"
                r"Matrix size-incompatible: In\[0\]: \[(?P<b>\d+),(?P<s>\d+)\], In\[1\]: \[(?P<u>\d+),(?P<g>\d+)\]",
                "Keras 3 on TensorFlow",
            ),
        ),
        _initial_state_shape,
    ),
    Kind(
        "target_mismatch",
        "a Dense head on a sequence / y that does not match the output",
        (
            (
                r"Arguments `target` and `output` must have the same (?:shape|rank \(ndim\))\. Received: "
                r"target\.shape=(?P<target>" + SHAPE + r"), output\.shape=(?P<output>" + SHAPE + ")",
                "Keras 3",
            ),
            (
                r"Argument `output` must have rank \(ndim\) `target\.ndim - 1`\. Received: target\.shape=(?P<target>"
                + SHAPE
                + r"), output\.shape=(?P<output>"
                + SHAPE
                + ")",
                "Keras 3",
            ),
            (
                r"Shapes (?P<target>" + SHAPE + r") and (?P<output>" + SHAPE + r") are incompatible",
                "tf.keras 2.x (TensorFlow 2.x)",
            ),
            (
                r"(?:Error when checking (?:model )?target: )?expected (?P<layer>\w+)(?<!_input) to have shape (?P<output>"
                + SHAPE
                + r"),? but got array with shape (?P<target>"
                + SHAPE
                + ")",
                "Keras 2 / TensorFlow 1.x",
            ),
            (
                r"A target array with shape (?P<target>"
                + SHAPE
                + r") was passed for an output of shape (?P<output>"
                + SHAPE
                + r") while using as loss `(?P<loss>\w+)`",
                "Keras 2.2-2.3 / tf.keras (TensorFlow 1.13-2.1)",
            ),
        ),
        _target,
    ),
    Kind(
        "keras2_categorical_targets",
        "integer targets with categorical_crossentropy (Keras 2 wording)",
        (
            (
                r"You are passing a target array of shape (?P<target>" + SHAPE + r") while using as loss "
                r"`categorical_crossentropy`",
                "Keras 2.0-2.3 / tf.keras (TensorFlow 1.x-2.1)",
            ),
        ),
        _categorical_targets,
        current=False,
    ),
    Kind(
        "keras2_target_rank",
        "y of another rank than the output (Keras 2 wording)",
        (
            (
                r"(?:Error when checking (?:model )?target: )?expected (?P<layer>\w+)(?<!_input) to have (?P<expected>\d+) "
                r"dimensions,? but got array with shape (?P<shape>" + SHAPE + ")",
                "Keras 2 / TensorFlow 1.x-2.0",
            ),
        ),
        _keras2_target_rank,
        current=False,
    ),
    Kind(
        "reshape_size",
        "a Flatten or Reshape in the wrong place (Reshape of another size)",
        (
            (
                r"The total size of the tensor must be unchanged\. Received: input_shape=(?P<input>"
                + SHAPE
                + r"), target_shape=(?P<target>"
                + SHAPE
                + ")",
                "Keras 3",
            ),
            (
                r"total size of new array must be unchanged, input_shape = (?P<input>" + SHAPE + r"), output_shape = "
                r"(?P<target>" + SHAPE + ")",
                "tf.keras 2.x",
            ),
        ),
        _reshape,
    ),
    Kind(
        "fit_input_shape",
        "data of another shape than the model's Input",
        (
            (
                r"Invalid input shape for input .{0,300}?Expected shape (?P<expected>" + SHAPE + r"), but input has "
                r"incompatible shape (?P<got>" + SHAPE + ")",
                "Keras 3",
            ),
            (
                r"Input \d+ of layer [\"']?[\w./-]+[\"']? is incompatible with the layer: expected shape=(?P<expected>"
                + SHAPE
                + r"), found shape=(?P<got>"
                + SHAPE
                + ")",
                "tf.keras 2.x (TensorFlow 2.4-2.15)",
            ),
            (
                r"Input \d+ is incompatible with layer [\w./-]+: expected shape=(?P<expected>" + SHAPE + r"), found "
                r"shape=(?P<got>" + SHAPE + ")",
                "tf.keras 2.x (TensorFlow 2.2-2.5)",
            ),
            (
                r"(?:Error when checking (?:model )?input: expected (?P<layer>\w+)|expected (?P<named>\w+_input)) to have "
                r"shape (?P<expected>" + SHAPE + r"),? but got array with shape (?P<got>" + SHAPE + ")",
                "Keras 2 / TensorFlow 1.x",
            ),
        ),
        _fit_input,
    ),
    Kind(
        "keras2_input_rank",
        "data without a timesteps axis (Keras 2 wording)",
        (
            (
                r"(?:Error when checking ?(?:model )?(?:input)? ?: expected (?P<layer>\w+)|expected (?P<named>\w+_input)) "
                r"to have (?P<expected>\d+) dimensions,? but got array with shape (?P<shape>" + SHAPE + ")",
                "Keras 2 / TensorFlow 1.x-2.0",
            ),
        ),
        _keras2_input_rank,
        current=False,
    ),
    Kind(
        "bidirectional_go_backwards",
        "Bidirectional of a layer with go_backwards=True",
        (
            (
                r"Forward layer and backward layer should have different `go_backwards` value\.? ?(?:Received: )?"
                r"forward_layer\.go_backwards ?=? ?(?P<f>True|False), ?backward_layer\.go_backwards ?=? ?(?P<b>True|False)",
                "Keras 3 (and tf.keras 2.x)",
            ),
        ),
        _bidirectional,
    ),
    Kind(
        "time_distributed_2d",
        "TimeDistributed on a 2-D input",
        (
            (
                r"`TimeDistributed` Layer should be passed an `input_shape ?` with at least 3 dimensions, received: "
                r"(?P<shape>" + SHAPE + ")",
                "Keras 3 (and tf.keras 2.x)",
            ),
        ),
        _time_distributed,
    ),
    Kind(
        "incompatible_shapes",
        "TensorFlow's runtime broadcast of two shapes (a stateful batch, y against the output)",
        (
            (r"Incompatible shapes: \[(?P<a>[\d?, ]*)\] vs\. \[(?P<b>[\d?, ]*)\]", "TensorFlow's runtime op"),
            (
                r"Dimensions must be equal, but are \d+ and \d+ for '?\{\{node [^}]+\}\}.{0,300}? with input shapes: "
                r"\[(?P<a>[\d?, ]*)\], \[(?P<b>[\d?, ]*)\]",
                "TensorFlow's graph op",
            ),
        ),
        _incompatible,
    ),
    Kind(
        "concatenate_shapes",
        "Concatenate of inputs of other shapes (a sequence with a vector)",
        (
            (
                r"A `Concatenate` layer requires inputs with matching shapes except for the concatenation axis\. "
                r"Received: input_shape=(?P<shapes>\[.*?[\)\]]\])",
                "Keras 3",
            ),
            (
                r"`Concatenate` layer requires inputs with matching shapes except for the concat axis\. Got inputs "
                r"shapes: (?P<shapes>\[.*?\)\])",
                "Keras 2 / tf.keras 2.x",
            ),
        ),
        _concatenate,
    ),
    Kind(
        "initial_state_spec",
        "initial_state against cell.state_size (Keras 2 / tf.keras 2)",
        (
            (
                r"An `?initial_state`? was passed that is not compatible with `cell\.state_size`\. Received `state_spec`="
                r"(?P<spec>.*?\]\)?); [Hh]owever `cell\.state_size` is (?P<size>\[[\d, \[\]]*\]|\([\d, ]*\)|\d+)",
                "Keras 2.1-2.3 / tf.keras 2.x",
            ),
        ),
        _state_spec,
        current=False,
    ),
)

# Every kind a diagnosis can name, with the first words of its title (docs, tests).
DIAGNOSIS_KINDS = (
    "no_timesteps_axis",
    "stacked_without_return_sequences",
    "input_shape_includes_batch",
    "repeat_vector_on_sequence",
    "convlstm_input_rank",
    "stateful_batch_size",
    "stateful_needs_batch_size",
    "initial_state_count",
    "initial_state_shape",
    "target_mismatch",
    "reshape_size",
    "fit_input_shape",
    "bidirectional_go_backwards",
    "time_distributed_2d",
    "sequence_output_2d_target",
    "dense_on_sequence",
    "timesteps_axis_removed",
    "incompatible_shapes",
    "concatenate_shapes",
    "initial_state_spec",
)


def _loose(pattern: str) -> str:
    """A pattern that matches a message pasted without its backticks or its quotes: people paste
    from rendered pages (Markdown eats the backticks) and retype names."""
    return pattern.replace("`", "`?")


_COMPILED: list[tuple[Kind, list[tuple[re.Pattern, str]]]] = [
    (kind, [(re.compile(_loose(pattern)), wording) for pattern, wording in kind.patterns]) for kind in KINDS
]

_KERAS3_TRACE = re.compile(
    r"keras/src/|keras\\src\\|keras\.src\.|\bKeras 3\b|TensorFlow version:? ?2\.(?:1[6-9]|2\d)|"
    r"\btf 2\.(?:1[6-9]|2\d)\b|\bTF 2\.(?:1[6-9]|2\d)\b|\b2\.(?:1[6-9]|2\d)\.\d+\b|"
    r"Exception encountered when calling|When using `stateful=True` in a RNN"
)

_TFKERAS2_TRACE = re.compile(
    r"tensorflow/python/keras|tensorflow\\python\\keras|keras/engine/|keras\\engine\\|"
    r"TensorFlow version:? ?2\.(?:[0-9]|1[0-5])\b|\bTF 2\.(?:[0-9]|1[0-5])\b"
)


def _refine_wording(flat: str, match: re.Match, wording: str) -> str:
    """The version a wording belongs to, narrowed by what the paste shows: Keras 1 raised a bare
    Exception (Keras 2 a ValueError); a traceback through keras/src/ is Keras 3, through keras/engine/
    or tensorflow/python/keras is Keras 2 / tf.keras 2."""
    before = flat[max(0, match.start() - 30) : match.start()]
    if wording.startswith("Keras 2") and re.search(r"(?<![\w.])Exception: ?$", before):
        return "Keras 1.x (it raised a bare Exception; Keras 2 raises ValueError)"
    if wording.startswith("Keras 2") and "checking model " in match.group(0):
        return 'Keras 1.x-2.0 ("Error when checking model ...")'
    if wording.startswith("TensorFlow's"):  # a runtime op: which Keras ran it shows in the traceback
        if _KERAS3_TRACE.search(flat) or "compile_loss" in flat:
            return "Keras 3, " + wording
        if _TFKERAS2_TRACE.search(flat) or re.search(r"training/\w+/gradients|_loss/", flat):
            return "Keras 2 / tf.keras 2, " + wording
        return wording
    if wording.startswith("tf.keras 2.x") and "-2.15" in wording:  # wordings Keras 3 prints too
        if _KERAS3_TRACE.search(flat):
            return "Keras 3 (on TensorFlow 2.16+: the paste shows Keras 3; this wording is also tf.keras 2's)"
        if not _TFKERAS2_TRACE.search(flat):
            return wording + " or Keras 3 (the paste shows no version)"
    return wording


def recognise(text: str) -> Diagnosis:
    """The first Keras shape error in ``text`` (a message or a whole log), diagnosed; NoShapeError
    (exit 1) when there is none, with the first error line seen."""
    flat = normalise(text)
    found: list[tuple[int, int, Kind, re.Match, str]] = []
    for order, (kind, patterns) in enumerate(_COMPILED):
        for pattern, wording in patterns:
            match = pattern.search(flat)
            if match is not None:
                found.append((match.start(), order, kind, match, wording))
                break
    if not found:
        line = first_error_line(text)
        raise NoShapeError(
            "no Keras shape error found"
            + (f"; the first error line: {line}" if line else " (and no line naming an Error or Exception)")
        )
    _, _, kind, match, wording = min(found, key=lambda item: (item[0], item[1]))
    return kind.diagnose(match, flat, _refine_wording(flat, match, wording))
