"""The pure model: names, shapes, parameters and validation, without TensorFlow."""

import pytest

from rnnshape.errors import SpecError, UsageError
from rnnshape.rules.catalogue import canonical_layer
from rnnshape.rules.expectations import parse_expect
from rnnshape.rules.spec import make_spec, parse_int_list


@pytest.mark.parametrize(
    "raw,canonical",
    [("lstm", "lstm"), ("LSTM", "lstm"), ("Gru", "gru"), ("SimpleRNN", "simplernn"), ("simple_rnn", "simplernn")],
)
def test_layer_spellings(raw, canonical):
    assert canonical_layer(raw) == canonical


def test_output_names_follow_cli_md():
    assert make_spec(layer="lstm", return_state=True).output_names() == ["output", "state_h", "state_c"]
    assert make_spec(layer="gru", return_state=True).output_names() == ["output", "state_h"]
    assert make_spec(layer="lstm", return_state=True, bidirectional=True).output_names() == [
        "output",
        "forward_state_h",
        "forward_state_c",
        "backward_state_h",
        "backward_state_c",
    ]
    assert make_spec(layer="simplernn", return_state=True, bidirectional=True, merge_mode="none").output_names() == [
        "forward_output",
        "backward_output",
        "forward_state_h",
        "backward_state_h",
    ]
    assert make_spec(layer="lstm").output_names() == ["output"]


def test_shapes_and_axes():
    spec = make_spec(
        layer="lstm",
        units=3,
        timesteps=5,
        features=2,
        batch=4,
        return_sequences=True,
        bidirectional=True,
        return_state=True,
    )
    outputs = {t.name: t for t in spec.outputs()}
    assert outputs["output"].shape == (4, 5, 6)
    assert outputs["output"].axes == ("batch", "timesteps", "2*units")
    assert outputs["backward_state_c"].shape == (4, 3)


@pytest.mark.parametrize(
    "layer,units,features,total",
    [("lstm", 6, 2, 4 * (6 * 8 + 6)), ("gru", 4, 3, 3 * (4 * 7 + 8)), ("simplernn", 5, 1, 5 * 6 + 5)],
)
def test_param_formula_numbers(layer, units, features, total):
    spec = make_spec(layer=layer, units=units, features=features)
    assert spec.param_total() == total
    assert spec.param_formula().endswith(f"= {total}")
    assert make_spec(layer=layer, units=units, features=features, bidirectional=True).param_total() == 2 * total


def test_gru_bias_has_two_rows():
    weights = {w.name.rsplit("/", 1)[1]: w.shape for w in make_spec(layer="gru", units=4).weights()}
    assert weights["bias"] == (2, 12)


def test_keras_call_is_python():
    assert make_spec(layer="lstm", units=6, return_state=True).keras_call() == "keras.layers.LSTM(6, return_state=True)"
    assert (
        make_spec(layer="gru", units=3, bidirectional=True, merge_mode="none").keras_call()
        == "keras.layers.Bidirectional(keras.layers.GRU(3), merge_mode=None)"
    )
    assert (
        make_spec(layer="simplernn", bidirectional=True, merge_mode="sum").keras_call()
        == 'keras.layers.Bidirectional(keras.layers.SimpleRNN(4), merge_mode="sum")'
    )


@pytest.mark.parametrize(
    "options,key",
    [
        ({"units": 0}, "units"),
        ({"timesteps": -3}, "timesteps"),
        ({"layer": "transformer"}, "layer"),
        ({"merge_mode": "sum"}, "merge_mode"),
        ({"bidirectional": True, "merge_mode": "max"}, "merge_mode"),
        ({"batch": 2, "lengths": (3,)}, "lengths"),
        ({"lengths": (0,)}, "lengths"),
        ({"lengths": (9,)}, "lengths"),
        ({"units": 2.5}, "units"),
        ({"return_state": "yes"}, "return_state"),
    ],
)
def test_bad_values_name_the_option(options, key):
    with pytest.raises(SpecError) as info:
        make_spec(**options)
    assert info.value.key == key
    assert f"--{key.replace('_', '-')}" in info.value.message


def test_unknown_key_is_refused():
    with pytest.raises(UsageError, match="unknown option 'colour'"):
        make_spec(colour="red")


def test_parse_expect_and_lists():
    expectation = parse_expect("output=1,6")
    assert (expectation.name, expectation.shape) == ("output", (1, 6))
    for bad in ("output", "output=", "output=1,,2", "=1", "output=a"):
        with pytest.raises(SpecError):
            parse_expect(bad)
    assert parse_int_list("lengths", "3, 5") == (3, 5)


def test_a_spec_error_is_a_usage_error_as_docs_python_md_says():
    import rnnshape

    assert issubclass(rnnshape.SpecError, rnnshape.UsageError)
    with pytest.raises(rnnshape.UsageError) as caught:  # the except clause docs/python.md shows
        rnnshape.inspect("lstm", units=0, static=True)
    assert isinstance(caught.value, SpecError) and caught.value.key == "units"
    assert caught.value.exit_code == 2
