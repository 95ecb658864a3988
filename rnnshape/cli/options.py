"""Options declared once and shared by the commands: the layer options, --json, --static,
--max-memory/--max-seconds, and the picture and export options."""

from __future__ import annotations

from typing import Any, Callable

import click

from rnnshape.errors import RnnshapeError
from rnnshape.rules.catalogue import ALL_LAYERS, canonical_layer
from rnnshape.rules.cost import DEFAULT_MAX_MEMORY_MB, DEFAULT_MAX_SECONDS
from rnnshape.rules.options import ACTIVATIONS, LAYER_OPTIONS, LayerOption

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def json_option(help: str = "print one JSON document (the envelope of docs/cli.md)") -> Callable[[Callable], Callable]:
    return click.option("--json", "json_mode", is_flag=True, help=help)


def static_option(
    help: str = "names, shapes and parameters from the pure model, without TensorFlow",
) -> Callable[[Callable], Callable]:
    return click.option("--static", is_flag=True, help=help)


def backend_option(what: str = "the run") -> Callable[[Callable], Callable]:
    """--backend tensorflow|jax|torch (inspect, trace, stateful; compare has a repeatable one)."""
    from rnnshape.rules.catalogue import BACKENDS

    return click.option(
        "--backend",
        type=click.Choice(BACKENDS, case_sensitive=False),
        default=None,
        help=f"Keras' backend for {what}: jax and torch run in a child process with the same weights "
        "and input [default: tensorflow]",
    )


def max_memory_option(what: str) -> Callable[[Callable], Callable]:
    return click.option(
        "--max-memory",
        type=POSITIVE,
        default=DEFAULT_MAX_MEMORY_MB,
        show_default=True,
        metavar="MB",
        help=f"refuse {what} estimated to need more memory than this",
    )


def limit_options(what: str) -> Callable[[Callable], Callable]:
    """--max-memory MB and --max-seconds S."""

    def decorate(function: Callable) -> Callable:
        return max_memory_option(what)(max_seconds_option(what)(function))

    return decorate


def export_options(
    function: Callable | None = None,
    *,
    diagram_help: str = "draw the layer unrolled over the timesteps, the returned tensors highlighted",
) -> Callable:
    """--diagram, --ascii, --svg FILE and --html FILE, for commands that can draw a picture;
    ``@export_options`` or ``@export_options(diagram_help="what --diagram draws here")``."""
    if function is None:
        return lambda f: export_options(f, diagram_help=diagram_help)
    options = [
        click.option("--diagram", is_flag=True, help=diagram_help),
        click.option(
            "--ascii", "ascii_only", is_flag=True, help="draw with plain ASCII characters (no box-drawing characters)"
        ),
        click.option(
            "--svg",
            "svg",
            default=None,
            metavar="FILE",
            help="also save what is printed (tables; the picture with --diagram) as an SVG image",
        ),
        click.option("--html", "html", default=None, metavar="FILE", help="also save what is printed as an HTML page"),
    ]
    for option in reversed(options):
        function = option(function)
    return function


POSITIVE = click.IntRange(min=1)  # --max-memory MB, --max-seconds S


# ---- numbers are typed in ASCII digits ---------------------------------------------------------
def _ascii_number(number_class: Callable[[str], Any]) -> Callable[[Any], Any]:
    """``number_class`` (int, float) refusing other digits than 0-9: Python's int() and float()
    read fullwidth (\uff14) and other Unicode digits as numbers, which a command line should not
    (a value pasted from a document, or typed with an East Asian input method): refused, with the
    value to type instead."""

    def convert(value: Any) -> Any:
        if isinstance(value, str) and not value.isascii():
            import unicodedata

            plain = unicodedata.normalize(
                "NFKC", "".join(str(unicodedata.digit(c)) if c.isdigit() else c for c in value)
            )
            hint = f"; type {plain!r}" if plain.isascii() and plain != value else ""
            raise click.BadParameter(f"{value!r} is not a number in ASCII digits (0-9){hint}")
        return number_class(value)

    return convert


def ascii_numbers(command: click.Command) -> click.Command:
    """Every integer and float option of ``command`` refuses digits other than ASCII 0-9
    (exit 2); applied to each command by the group that loads it."""
    import copy

    for param in command.params:
        number_class = getattr(param.type, "_number_class", None)
        if number_class in (int, float) and isinstance(
            param.type, (click.types.IntParamType, click.types.FloatParamType)
        ):
            typed = copy.copy(param.type)
            typed._number_class = _ascii_number(number_class)  # type: ignore[attr-defined]
            param.type = typed
    return command


# ---- options shared by the layer commands --------------------------------------------------
class LayerType(click.ParamType):
    name = "layer"

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        # The layers as users type them, as click shows a Choice ([concat|sum|...]); click would
        # upper-case the type's name.
        return "[" + "|".join(ALL_LAYERS) + "]"

    def convert(self, value, param, ctx):
        try:
            return canonical_layer(value)
        except RnnshapeError:
            self.fail(
                f"{value!r} is not one of {', '.join(ALL_LAYERS)} (case-insensitive; simple_rnn, conv_lstm2d "
                "... accepted)",
                param,
                ctx,
            )


LAYER = LayerType()
ACTIVATION = click.Choice(ACTIVATIONS, case_sensitive=False)
FRACTION = click.FloatRange(0.0, 1.0, max_open=True)


def _click_option(option: LayerOption, multiple_layers: bool = False) -> Callable[[Callable], Callable]:
    """The click option of one record of the option table (rules/options.py)."""
    extra: dict[str, Any] = {"metavar": option.metavar} if option.metavar else {}
    if option.kind == "layer":
        return click.option(
            option.flag,
            option.name,
            type=LAYER,
            multiple=multiple_layers,
            default=None if multiple_layers else option.cli_default,
            show_default=not multiple_layers,
            help="recurrent layer; repeat to compare several" if multiple_layers else option.help,
        )
    if option.kind == "flag":
        declaration = f"{option.flag}/--no-{option.flag[2:]}"
        return click.option(declaration, option.api_name, default=option.cli_default, help=option.help)
    kind = {"int": int, "fraction": FRACTION, "text": None}.get(option.kind)
    if option.kind == "choice":
        kind = ACTIVATION if option.choices == ACTIVATIONS else click.Choice(option.choices, case_sensitive=False)
    return click.option(
        option.flag,
        option.api_name,
        type=kind,
        default=option.cli_default,
        show_default=option.show_default,
        help=option.help,
        **extra,
    )


def layer_options(multiple_layers: bool = False, conv: bool = False) -> Callable[[Callable], Callable]:
    """The layer options of docs/cli.md, made from the option table (rules/options.py), shared by
    inspect, compare, trace, stateful and explore (``conv``: also ConvLSTM's and --layer rnn's
    options)."""
    options = [_click_option(option, multiple_layers) for option in LAYER_OPTIONS if option.group == "layer" or conv]
    options += [max_memory_option("configurations"), max_seconds_option("configurations")]

    def decorate(function: Callable) -> Callable:
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


def max_seconds_option(what: str) -> Callable[[Callable], Callable]:
    return click.option(
        "--max-seconds",
        type=POSITIVE,
        default=DEFAULT_MAX_SECONDS,
        show_default=True,
        metavar="S",
        help=f"refuse {what} estimated to take longer than this (a rough estimate, made before TensorFlow is imported)",
    )


def without_view_options(options: dict[str, Any], *keys: str) -> dict[str, Any]:
    """The options the API takes: the CLI's own (--svg, --html, --json) left out."""
    return {key: value for key, value in options.items() if key not in ("svg", "html", "json_mode", *keys)}
