"""Options declared once and shared by the commands: the layer options, --json, --static,
--max-memory/--max-seconds, and the picture and export options."""

from __future__ import annotations

from typing import Any, Callable

import click

from rnnshape.errors import RnnshapeError
from rnnshape.rules.layer import (ACTIVATIONS, ALL_LAYERS, DEFAULT_MAX_MEMORY_MB, DEFAULT_MAX_SECONDS, MERGE_MODES,
                                  PADDINGS, canonical_layer)

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def json_option(help: str = "print one JSON document (the envelope of docs/cli.md)") -> Callable[[Callable], Callable]:
    return click.option("--json", "json_mode", is_flag=True, help=help)


def static_option(help: str = "names, shapes and parameters from the pure model, without TensorFlow"
                  ) -> Callable[[Callable], Callable]:
    return click.option("--static", is_flag=True, help=help)


def backend_option(what: str = "the run") -> Callable[[Callable], Callable]:
    """--backend tensorflow|jax|torch (inspect, trace, stateful; compare has a repeatable one)."""
    from rnnshape.rules.layer import BACKENDS

    return click.option("--backend", type=click.Choice(BACKENDS, case_sensitive=False), default=None,
                        help=f"Keras' backend for {what}: jax and torch run in a child process with the same weights "
                             "and input [default: tensorflow]")


def max_memory_option(what: str) -> Callable[[Callable], Callable]:
    return click.option("--max-memory", type=POSITIVE, default=DEFAULT_MAX_MEMORY_MB, show_default=True,
                        metavar="MB", help=f"refuse {what} estimated to need more memory than this")


def limit_options(what: str) -> Callable[[Callable], Callable]:
    """--max-memory MB and --max-seconds S."""
    def decorate(function: Callable) -> Callable:
        return max_memory_option(what)(max_seconds_option(what)(function))

    return decorate


def export_options(function: Callable | None = None, *,
                   diagram_help: str = "draw the layer unrolled over the timesteps, the returned tensors highlighted"
                   ) -> Callable:
    """--diagram, --ascii, --svg FILE and --html FILE, for commands that can draw a picture;
    ``@export_options`` or ``@export_options(diagram_help="what --diagram draws here")``."""
    if function is None:
        return lambda f: export_options(f, diagram_help=diagram_help)
    options = [
        click.option("--diagram", is_flag=True, help=diagram_help),
        click.option("--ascii", "ascii", is_flag=True,
                     help="draw with plain ASCII characters (no box-drawing characters)"),
        click.option("--svg", "svg", default=None, metavar="FILE",
                     help="also save what is printed (tables; the picture with --diagram) as an SVG image"),
        click.option("--html", "html", default=None, metavar="FILE",
                     help="also save what is printed as an HTML page"),
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

            plain = unicodedata.normalize("NFKC", "".join(str(unicodedata.digit(c)) if c.isdigit() else c
                                                          for c in value))
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
        if number_class in (int, float) and isinstance(param.type, (click.types.IntParamType,
                                                                    click.types.FloatParamType)):
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
            self.fail(f"{value!r} is not one of {', '.join(ALL_LAYERS)} (case-insensitive; simple_rnn, conv_lstm2d "
                      "... accepted)", param, ctx)


LAYER = LayerType()
ACTIVATION = click.Choice(ACTIVATIONS, case_sensitive=False)
FRACTION = click.FloatRange(0.0, 1.0, max_open=True)


def conv_options() -> list[Callable[[Callable], Callable]]:
    """ConvLSTM1D/2D/3D's options (inspect and compare): refused with the other layers."""
    return [
        click.option("--filters", type=int, default=None,
                     help="ConvLSTM only: filters (the last axis of h and c) [default: 4]"),
        click.option("--kernel-size", "kernel_size", default=None, metavar="N|N1,N2,...",
                     help="ConvLSTM only: the convolution window, one size or one per spatial axis [default: 3]"),
        click.option("--strides", default=None, metavar="N|N1,N2,...",
                     help="ConvLSTM only: strides of the input convolution [default: 1]"),
        click.option("--padding", type=click.Choice(PADDINGS, case_sensitive=False), default=None,
                     help="ConvLSTM only: padding of the input convolution (the recurrent one is always same) "
                          "[default: valid]"),
        click.option("--depth", type=int, default=None, help="ConvLSTM3D only: depth of the input map [default: 5]"),
        click.option("--rows", type=int, default=None, help="ConvLSTM only: rows of the input map [default: 5]"),
        click.option("--cols", type=int, default=None,
                     help="ConvLSTM2D/3D only: columns of the input map [default: 5]"),
        click.option("--channels", type=int, default=None,
                     help="ConvLSTM only: channels of each position of the input map [default: 1]"),
    ]


def layer_options(multiple_layers: bool = False, conv: bool = False) -> Callable[[Callable], Callable]:
    """The layer options of docs/cli.md, shared by inspect, compare, trace and stateful
    (``conv``: also ConvLSTM's options)."""
    layer_help = ("recurrent layer; repeat to compare several" if multiple_layers
                  else "recurrent layer (case-insensitive; simple_rnn accepted)")
    options = [
        click.option("--layer", "layer", type=LAYER, multiple=multiple_layers,
                     default=None if multiple_layers else "lstm", show_default=not multiple_layers, help=layer_help),
        click.option("--units", type=int, default=None, help="units (size of h and c) [default: 4]"),
        click.option("--timesteps", type=int, default=None, help="timesteps T of the input [default: 3, or from --input FILE]"),
        click.option("--features", type=int, default=None, help="features per timestep [default: 2, or from --input FILE]"),
        click.option("--batch", type=int, default=None, help="samples in the batch [default: 1, or from --input FILE]"),
        click.option("--return-sequences/--no-return-sequences", default=False, help="return h at every timestep"),
        click.option("--return-state/--no-return-state", default=False, help="also return the final states"),
        click.option("--stateful/--no-stateful", default=False, help="keep the final state for the next batch"),
        click.option("--go-backwards/--no-go-backwards", default=False, help="read the input from x_T back to x_1"),
        click.option("--bidirectional/--no-bidirectional", default=False, help="wrap in keras.layers.Bidirectional"),
        click.option("--merge-mode", type=click.Choice(MERGE_MODES, case_sensitive=False), default=None,
                     help="how Bidirectional merges the directions [default: concat]"),
        click.option("--reset-after/--no-reset-after", "reset_after", default=None,
                     help="GRU only: Keras' reset_after; --no-reset-after is the original GRU (TF1/Keras 2.2 "
                          "default: reset before U_h, bias (3*units,)) [default: --reset-after, as Keras 3: "
                          "bias (2, 3*units)]"),
        click.option("--activation", type=ACTIVATION, default=None,
                     help="activation of the candidate and of h (LSTM: h = o * a(c)) [default: tanh]"),
        click.option("--recurrent-activation", type=ACTIVATION, default=None,
                     help="LSTM/GRU only: activation of the gates [default: sigmoid]"),
        click.option("--use-bias/--no-use-bias", "use_bias", default=None, help="give the cell a bias [default: on]"),
        click.option("--unit-forget-bias/--no-unit-forget-bias", "unit_forget_bias", default=None,
                     help="LSTM only: start the forget gate's bias at 1 (seen with --bias-init) [default: on]"),
        click.option("--dropout", type=FRACTION, default=None, metavar="F",
                     help="fraction of the inputs dropped, 0 <= F < 1, only with --training [default: 0]"),
        click.option("--recurrent-dropout", type=FRACTION, default=None, metavar="F",
                     help="fraction of h_{t-1} dropped, 0 <= F < 1, only with --training [default: 0]"),
        click.option("--training/--no-training", "training", default=None,
                     help="call the layer with training=True, as model.fit does: dropout acts [default: off]"),
        click.option("--unroll/--no-unroll", "unroll", default=None,
                     help="unroll the loop (Keras: for short sequences) [default: off]"),
        click.option("--initial-state", default=None, metavar="zeros|random|FILE.npy",
                     help="states to start from, in Keras' order (LSTM h0, c0; Bidirectional forward then "
                          "backward); FILE.npy holds an array (states, batch, units) [default: zeros, as Keras]"),
        *([click.option("--cells", default=None, metavar="KIND:UNITS,...",
                        help="--layer rnn only: keras.layers.RNN with a list of cells, first to last, e.g. "
                             "lstm:4,gru:3 (KIND lstm, gru or simplernn)")] if conv else []),
        click.option("--seed", type=int, default=0, show_default=True, help="seed of the deterministic weights and input"),
        click.option("--lengths", default=None, metavar="L1,L2,...",
                     help="valid length of each sample; the rest is zero padding under a mask"),
        click.option("--kernel-init", default=None, metavar="NUMBER|NAME",
                     help="kernel initializer: a number means Constant(number); a name is a Keras "
                          "initializer (glorot_uniform, orthogonal, zeros, ones, he_normal, ...) seeded by "
                          "--seed [default: rnnshape's own seeded weights]"),
        click.option("--recurrent-init", default=None, metavar="NUMBER|NAME", help="recurrent kernel initializer (as --kernel-init)"),
        click.option("--bias-init", default=None, metavar="NUMBER|NAME", help="bias initializer (as --kernel-init)"),
        click.option("--input", "input", default="random", show_default=True, metavar="random|arange|ones|zeros|FILE",
                     help="input numbers; arange is np.arange(batch*timesteps*features) as in Keras' tests; "
                          "a .npy or .csv FILE fixes batch, timesteps and features from its shape"),
        *(conv_options() if conv else []),
        max_memory_option("configurations"),
        max_seconds_option("configurations"),
    ]

    def decorate(function: Callable) -> Callable:
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


def max_seconds_option(what: str) -> Callable[[Callable], Callable]:
    return click.option("--max-seconds", type=POSITIVE, default=DEFAULT_MAX_SECONDS, show_default=True, metavar="S",
                        help=f"refuse {what} estimated to take longer than this (a rough estimate, made before "
                             "TensorFlow is imported)")




def without_view_options(options: dict[str, Any], *keys: str) -> dict[str, Any]:
    """The options the API takes: the CLI's own (--svg, --html, --json) left out."""
    return {key: value for key, value in options.items() if key not in ("svg", "html", "json_mode", *keys)}
