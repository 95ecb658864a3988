"""Each layer option is declared once (rnnshape/rules/options.py): the command line, the public
signatures, the spec's defaults, compare's grid and explore's checkboxes agree with the table."""

from __future__ import annotations

import inspect

import click
import pytest

import rnnshape
from rnnshape.cli import cli
from rnnshape.rules import catalogue as catalogue_rules
from rnnshape.rules import spec as spec_rules
from rnnshape.rules.grid import GRID_FLAGS
from rnnshape.rules.options import LAYER_OPTIONS, OPTIONS

# command -> the option groups its command line and its function take
GROUPS = {
    "inspect": ("layer", "conv", "cells"),
    "compare": ("layer", "conv", "cells"),
    "trace": ("layer",),
    "stateful": ("layer",),
    "generate": ("layer",),
    "explore": ("layer",),
}
# options a command fixes itself (stateful is always stateful)
FIXED = {"stateful": ("stateful",), "generate": ("stateful", "return_sequences")}


def table(command: str) -> list:
    return [
        option
        for option in LAYER_OPTIONS
        if option.group in GROUPS[command] and option.name not in FIXED.get(command, ())
    ]


@pytest.mark.parametrize("command", list(GROUPS))
def test_the_command_line_is_the_table(command):
    params = {param.name: param for param in cli.get_command(None, command).params if isinstance(param, click.Option)}
    for option in table(command):
        param = params.get(option.api_name)
        assert param is not None, f"{command} has no {option.flag}"
        assert option.flag in param.opts
        if option.kind == "flag":
            assert param.secondary_opts == [f"--no-{option.flag[2:]}"], option.name
        if option.kind != "layer" or command != "compare":  # compare's --layer repeats
            assert param.default == option.cli_default, option.name
            assert param.help == option.help, option.name
        if option.choices:
            assert tuple(param.type.choices) == option.choices, option.name


@pytest.mark.parametrize("command", ["inspect", "compare", "trace", "stateful", "generate"])
def test_the_public_function_takes_every_option_with_the_command_lines_default(command):
    parameters = inspect.signature(getattr(rnnshape, command)).parameters
    for option in table(command):
        name = "layers" if command == "compare" and option.name == "layer" else option.api_name
        assert name in parameters, f"rnnshape.{command}() has no {name}="
        if name != "layers":
            assert parameters[name].default == option.cli_default, (command, name)


def test_the_spec_defaults_the_grid_and_the_layer_only_rule_come_from_the_table():
    assert catalogue_rules.DEFAULTS == {option.name: option.default for option in LAYER_OPTIONS}
    assert GRID_FLAGS == tuple(option.name for option in sorted(LAYER_OPTIONS, key=lambda o: o.grid) if option.grid)
    vary = next(p for p in cli.get_command(None, "compare").params if p.name == "vary")
    assert vary.type.convert("reset-after", None, None) == "reset_after"
    assert OPTIONS["reset_after"].applies_to("gru") and not OPTIONS["reset_after"].applies_to("lstm")
    # the rule is the one make_spec enforces
    with pytest.raises(rnnshape.SpecError, match="applies only with --layer gru"):
        spec_rules.make_spec(layer="lstm", reset_after=False)
    for name, option in OPTIONS.items():
        if option.layers is not None and option.group == "layer" and option.kind == "flag":
            outsider = next(kind for kind in catalogue_rules.LAYERS if kind not in option.layers)
            with pytest.raises(rnnshape.SpecError):
                spec_rules.make_spec(layer=outsider, **{name: True})


def test_explore_has_a_checkbox_key_for_each_flag_the_table_gives_one():
    from rnnshape.api.explore import FLAGS

    assert FLAGS == tuple(option.name for option in LAYER_OPTIONS if option.explore_key)
    keys = [option.explore_key for option in LAYER_OPTIONS if option.explore_key]
    assert len(keys) == len(set(keys))


def test_explores_controls_are_the_tables():
    """The screen's text boxes (with their placeholders) and its command line's order come from
    the table: a record with explore_text gets its box, in the table's order."""
    pytest.importorskip("textual")
    from rnnshape.api.explore import CONTROLLED, Explorer
    from rnnshape.tui import explore as screen

    assert screen.TEXT_OPTIONS == tuple(o.name for o in LAYER_OPTIONS if o.explore_text is not None)
    assert screen.PLACEHOLDERS["lengths"] == "L1,L2,..." and "units" not in screen.PLACEHOLDERS
    assert CONTROLLED[:2] == ("layer", "units") and "merge_mode" in CONTROLLED and "use_cudnn" not in CONTROLLED
    explorer = Explorer({"layer": "gru", "units": 3, "input_data": "arange", "return_state": True})
    assert explorer.command_line().startswith("rnnshape inspect --layer gru --units 3 --return-state --input arange")


@pytest.mark.parametrize("command", rnnshape.COMMANDS)
def test_every_public_function_documents_every_parameter_with_its_default(command):
    function = getattr(rnnshape, command)
    doc = inspect.getdoc(function)
    assert function.__module__ == f"rnnshape.api.{command}", "rnnshape.<command> is the command's own function"
    for name, parameter in inspect.signature(function).parameters.items():
        default = "" if parameter.default is parameter.empty else f" (default {parameter.default!r})"
        assert f"\n    {name}{default}: " in doc, f"rnnshape.{command}(): {name} is not documented"


def test_no_public_parameter_shadows_a_builtin_and_the_old_keywords_still_work():
    import builtins
    import warnings

    for name in rnnshape.__all__:
        function = getattr(rnnshape, name)
        if inspect.isfunction(function):
            shadowing = set(inspect.signature(function).parameters) & set(dir(builtins))
            assert not shadowing, f"rnnshape.{name}() takes {shadowing}"
    new = rnnshape.inspect("lstm", units=2, input_data="arange", static=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = rnnshape.inspect("lstm", units=2, input="arange", static=True)
    assert [w.category for w in caught] == [DeprecationWarning]
    assert "input_data=" in str(caught[0].message)
    assert old.data == new.data and old.data["config"]["input"] == "arange"
    with pytest.raises(TypeError, match="give input_data= only"):
        rnnshape.inspect("lstm", input="arange", input_data="ones", static=True)
