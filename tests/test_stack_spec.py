"""The stack language and the pure shape model (no TensorFlow): tokens, shapes, parameters,
diagnosis and repair. Agreement with real Keras is in test_cli_stack.py."""

import pytest

from rnnshape.errors import UsageError
from rnnshape.measure.stack import plan_data
from rnnshape.rules.patterns import PATTERNS
from rnnshape.rules.stack import GRAMMAR, parse_tokens, plan_stack, repair


def plan(spec, timesteps=5, features=2, batch=1):
    return plan_stack(parse_tokens([spec]), batch, timesteps, features)


def test_tokens_parse_flags_in_any_order_and_aliases():
    tokens = parse_tokens(["LSTM:8:bi:seq", "simple_rnn:3:back gru:2", "dense:1", "td:4", "repeat:6"])
    assert [t.text for t in tokens] == ["lstm:8:seq:bi", "simplernn:3:back", "gru:2", "dense:1", "td:4", "repeat:6"]
    assert [t.index for t in tokens] == [1, 2, 3, 4, 5, 6]
    assert tokens[0].keras_call() == "keras.layers.Bidirectional(keras.layers.LSTM(8, return_sequences=True))"
    assert tokens[1].keras_call() == "keras.layers.SimpleRNN(3, go_backwards=True)"
    assert tokens[4].keras_call() == "keras.layers.TimeDistributed(keras.layers.Dense(4))"
    assert tokens[5].keras_call() == "keras.layers.RepeatVector(6)"


@pytest.mark.parametrize(
    "word,needle",
    [
        ("lstm", "lstm needs UNITS"),
        ("lstm:x", "UNITS 'x' is not a positive integer"),
        ("gru:0", "UNITS 0 is not in the range 1..1000000"),
        ("lstm:8:foo", "unknown flag 'foo'"),
        ("dense:1:seq", "flag 'seq' applies only to lstm, gru, simplernn"),
        ("conv:3", "unknown layer 'conv'"),
        ("lstm:4:bi:back", "'bi' and 'back' cannot be combined"),
        ("lstm:4:seq:seq", "flag 'seq' is given twice"),
        ("repeat:", "repeat needs N (repeats)"),
        ("lstm:8,", "a token is KIND:N[:flag...]"),
    ],
)
def test_bad_tokens_name_the_token_and_the_grammar(word, needle):
    with pytest.raises(UsageError) as info:
        parse_tokens(["lstm:8", word])
    message = info.value.message
    assert f"token 2 {word!r}" in message and needle in message and message.endswith(f"grammar: {GRAMMAR}")


def test_shapes_and_params_of_the_issue_examples():
    first = plan("lstm:32:seq lstm:16 dense:1")
    assert [l.output_shape for l in first.layers] == [(1, 5, 32), (1, 16), (1, 1)]
    assert [l.params for l in first.layers] == [4 * (32 * 34 + 32), 4 * (16 * 48 + 16), 17]
    second = plan("lstm:8:seq lstm:4:seq td:1")
    assert second.output_shape == (1, 5, 1) and second.output_axes == ("batch", "timesteps", "units")
    third = plan("repeat:4 lstm:3:seq")
    assert third.input_shape == (1, 2) and third.timesteps is None
    assert [l.output_shape for l in third.layers] == [(1, 4, 2), (1, 4, 3)]
    assert third.command() == "rnnshape stack --features 2 repeat:4 lstm:3:seq"


def test_bidirectional_doubles_the_last_axis_and_the_params():
    p = plan("gru:4:seq:bi dense:3", batch=2)
    assert p.layers[0].output_shape == (2, 5, 8) and p.layers[0].output_axes[-1] == "2*units"
    assert p.layers[0].params == 2 * 3 * (4 * 6 + 8)
    assert p.layers[1].input_shape == (2, 5, 8) and p.layers[1].params == 9 * 3


def test_the_classic_mistake_is_diagnosed_with_the_fix():
    p = plan("lstm:8 lstm:4")
    assert not p.compatible and p.problem.token.index == 2
    assert [l.status for l in p.layers] == ["built", "incompatible"]
    diagnosis = plan_data(p)["diagnosis"]
    assert diagnosis["found_shape"] == [1, 8] and diagnosis["expected_ndim"] == "3"
    assert (
        "receives rank 2 (1, 8) [batch, units], because token 1 'lstm:8' has return_sequences=False" in diagnosis["why"]
    )
    assert diagnosis["fix"].startswith("add :seq to token 1 -> lstm:8:seq, i.e. return_sequences=True")
    assert diagnosis["fixed_spec"] == "lstm:8:seq lstm:4" and diagnosis["fixed_output_shape"] == [1, 4]


def test_diagnosis_looks_through_dense_layers_and_repairs_every_token():
    p = plan("lstm:8 dense:3 lstm:4 gru:2")
    assert (
        p.problem.token.index == 3
        and "token 1 'lstm:8'" in p.problem.why
        and "token 2 'dense:3' keeps the rank" in p.problem.why
    )
    fixed, edits = repair(p)
    assert fixed.compatible and fixed.output_shape == (1, 2)
    assert edits == ["add :seq to token 1 -> lstm:8:seq", "add :seq to token 3 -> lstm:4:seq"]
    assert "then the stack also needs: add :seq to token 3" in plan_data(p)["diagnosis"]["fix"]


def test_td_on_a_vector_and_repeat_on_a_sequence_have_their_own_fixes():
    td = plan("gru:8 td:1")
    assert td.problem.expected_ndim == ">=3" and "or use dense:1 for one output per sample" in td.problem.fix
    repeat = plan("lstm:8:seq repeat:3")
    assert repeat.problem.expected_ndim == "2" and repeat.problem.found_ndim == 3
    assert repeat.problem.fix.startswith("remove :seq from token 1 -> lstm:8, i.e. return_sequences=False")
    assert repair(repeat)[0].output_shape == (1, 3, 8)
    from_input = plan("dense:4 repeat:3")
    assert "the model input [batch, timesteps, features] is a sequence" in from_input.problem.why
    assert from_input.problem.fixed_tokens is None and repair(from_input) is None


def test_dense_on_a_sequence_is_a_hint_not_an_error():
    p = plan("lstm:8:seq dense:1")
    assert p.compatible and p.output_shape == (1, 5, 1)
    (hint,) = p.hints
    assert hint.token.index == 2 and "one output per timestep, as td:1 would" in hint.text
    assert "remove :seq from token 1 -> lstm:8" in hint.text
    assert plan("lstm:8 dense:1").hints == ()


def test_patterns_are_compatible_and_have_their_shapes():
    shapes = {}
    for pattern in PATTERNS:
        p = plan(pattern.template.format(units=4, timesteps=5, features=3), features=3)
        assert p.compatible, pattern.name
        shapes[pattern.name] = (p.input_shape, p.output_shape)
    assert shapes == {
        "many-to-one": ((1, 5, 3), (1, 1)),
        "many-to-many": ((1, 5, 3), (1, 5, 1)),
        "one-to-many": ((1, 3), (1, 5, 1)),
        "encoder-decoder": ((1, 5, 3), (1, 5, 3)),
        "encoder-decoder (RepeatVector only)": ((1, 5, 3), (1, 5, 3)),
        "stacked": ((1, 5, 3), (1, 1)),
    }
