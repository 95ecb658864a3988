"""Every layer option, declared once.

One record per option of a recurrent layer (``--units``, ``--reset-after``, ...): its name (the
API keyword, the spec's field and, with dashes, the command-line flag), its default, its help, the
layers that take it, and its place in compare's grid and explore's controls. From this table come
the click options of inspect, compare, trace, stateful and explore (cli/options.py), the spec's
defaults (rules/layer.py), compare's grid (rules/grid.py, api/compare.py), explore's flags and
keys, and the layer-only options of the pictures. tests/test_options.py checks that the command
line and the public signatures agree with it.

Adding an option: a record here, its effect in the runner (runner/build.py) and its measured
facts (measure/); the spec's field and the public functions' keywords (tests/test_options.py names
every function that lacks it). A plain constructor argument of the Keras layer (``keras_default``
set) needs no runner code: it is validated, shown in the Keras call and passed to the constructor
from the table. Pure: no click, no Keras.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The layer kinds, as --layer names them (the catalogue of each kind is rules/layer.py's).
RECURRENT = ("lstm", "gru", "simplernn")
CONV = ("convlstm1d", "convlstm2d", "convlstm3d")
CELLS = "rnn"
LSTM_FAMILY = ("lstm",) + CONV  # the layers with a cell state c, a forget gate and unit_forget_bias
GATED = ("lstm", "gru") + CONV  # the layers with gates: recurrent_activation
MERGE_MODES = ("concat", "sum", "mul", "ave", "none")
PADDINGS = ("valid", "same")
# Keras activation names rnnshape accepts (and measure.cells recomputes in numpy).
ACTIVATIONS = ("tanh", "sigmoid", "hard_sigmoid", "relu", "relu6", "linear", "softsign", "softplus", "exponential")


@dataclass(frozen=True)
class LayerOption:
    """One option of a recurrent layer.

    ``kind`` says how the command line reads it: "layer" (--layer), "int", "flag" (--x/--no-x),
    "choice" (one of ``choices``), "fraction" (0 <= F < 1) or "text". ``default`` is the spec's
    value before it is resolved for the layer (None: resolved, e.g. reset_after True for a GRU);
    ``cli_default`` is what the option holds when not given (None: not given). ``layers``: the
    layer kinds that take it (None: every kind); ``group``: "layer", "conv" (ConvLSTM's map and
    convolution) or "cells" (--layer rnn), the last two only where a command takes those layers.
    ``grid``: compare --vary can vary it, and its place in the grid's rows (the first changes
    slowest; 0: not varied); ``fixable``: compare keeps it in every row when given.
    ``explore_key``/``explore_label``: explore's checkbox for a flag; ``explore_text``, its text box
    (the placeholder), ``explore_select``, its drop-down list. ``shapes``: the option can
    change the shapes a layer returns (a layer-only option that cannot changes numbers, not the
    picture).
    """

    name: str
    kind: str
    default: Any
    help: str
    cli_default: Any = None
    show_default: bool = False
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    layers: tuple[str, ...] | None = None
    group: str = "layer"
    grid: int = 0
    fixable: bool = False
    explore_key: str | None = None
    explore_label: str | None = None
    shapes: bool = False
    explore_text: str | None = None  # explore's text box for it: its placeholder ("": none)
    explore_select: bool = False  # explore's drop-down list (the layer, the merge mode)
    keyword: str | None = None  # the Python keyword, when the name would shadow a builtin (input -> input_data)
    # a plain constructor argument of the Keras layer, under its own name, with Keras' default:
    # validated (its layers, its choices), shown in the Keras call when it differs and passed to
    # the constructor with no code of its own (None: the option has its own code)
    keras_default: Any = None

    @property
    def api_name(self) -> str:
        """The keyword of the public functions (and the click destination): ``input_data`` for
        ``--input``, the name itself otherwise."""
        return self.keyword or self.name

    @property
    def flag(self) -> str:
        """``reset_after`` -> ``--reset-after``."""
        return "--" + self.name.replace("_", "-")

    def applies_to(self, layer: str) -> bool:
        """Whether a layer of this kind takes the option (reset_after: GRU only)."""
        return self.layers is None or layer in self.layers


LAYER_OPTIONS: tuple[LayerOption, ...] = (
    LayerOption(
        "layer",
        "layer",
        "lstm",
        "recurrent layer (case-insensitive; simple_rnn accepted)",
        cli_default="lstm",
        show_default=True,
        explore_select=True,
    ),
    LayerOption(
        "units", "int", 4, "units (size of h and c) [default: 4]", layers=RECURRENT, shapes=True, explore_text=""
    ),
    LayerOption("timesteps", "int", 3, "timesteps T of the input [default: 3, or from --input FILE]", explore_text=""),
    LayerOption(
        "features",
        "int",
        2,
        "features per timestep [default: 2, or from --input FILE]",
        layers=RECURRENT + (CELLS,),
        shapes=True,
        explore_text="",
    ),
    LayerOption("batch", "int", 1, "samples in the batch [default: 1, or from --input FILE]", explore_text=""),
    LayerOption(
        "return_sequences",
        "flag",
        False,
        "return h at every timestep",
        cli_default=False,
        grid=1,
        fixable=True,
        explore_key="s",
        explore_label="Return sequences",
    ),
    LayerOption(
        "return_state",
        "flag",
        False,
        "also return the final states",
        cli_default=False,
        grid=2,
        fixable=True,
        explore_key="r",
        explore_label="Return state",
    ),
    LayerOption(
        "stateful",
        "flag",
        False,
        "keep the final state for the next batch",
        cli_default=False,
        grid=3,
        fixable=True,
        explore_key="t",
        explore_label="Stateful",
    ),
    LayerOption(
        "go_backwards",
        "flag",
        False,
        "read the input from x_T back to x_1",
        cli_default=False,
        grid=4,
        fixable=True,
        explore_key="g",
        explore_label="Go backwards",
    ),
    LayerOption(
        "bidirectional",
        "flag",
        False,
        "wrap in keras.layers.Bidirectional",
        cli_default=False,
        grid=5,
        fixable=True,
        explore_key="b",
        explore_label="Bidirectional",
    ),
    LayerOption(
        "merge_mode",
        "choice",
        None,
        "how Bidirectional merges the directions [default: concat]",
        choices=MERGE_MODES,
        fixable=True,
        explore_select=True,
    ),
    LayerOption(
        "reset_after",
        "flag",
        None,
        "GRU only: Keras' reset_after; --no-reset-after is the original GRU (TF1/Keras 2.2 default: reset "
        "before U_h, bias (3*units,)) [default: --reset-after, as Keras 3: bias (2, 3*units)]",
        layers=("gru",),
        grid=6,
        fixable=True,
        explore_key="a",
        explore_label="Reset after",
    ),
    LayerOption(
        "activation",
        "choice",
        None,
        "activation of the candidate and of h (LSTM: h = o * a(c)) [default: tanh]",
        choices=ACTIVATIONS,
    ),
    LayerOption(
        "recurrent_activation",
        "choice",
        None,
        "LSTM/GRU only: activation of the gates [default: sigmoid]",
        choices=ACTIVATIONS,
        layers=GATED,
    ),
    LayerOption("use_bias", "flag", True, "give the cell a bias [default: on]", grid=7, fixable=True),
    LayerOption(
        "unit_forget_bias",
        "flag",
        None,
        "LSTM only: start the forget gate's bias at 1 (seen with --bias-init) [default: on]",
        layers=LSTM_FAMILY,
        grid=8,
        fixable=True,
    ),
    LayerOption(
        "dropout",
        "fraction",
        0.0,
        "fraction of the inputs dropped, 0 <= F < 1, only with --training [default: 0]",
        metavar="F",
    ),
    LayerOption(
        "recurrent_dropout",
        "fraction",
        0.0,
        "fraction of h_{t-1} dropped, 0 <= F < 1, only with --training [default: 0]",
        metavar="F",
    ),
    LayerOption(
        "training",
        "flag",
        False,
        "call the layer with training=True, as model.fit does: dropout acts [default: off]",
        grid=10,
        fixable=True,
    ),
    LayerOption(
        "unroll", "flag", False, "unroll the loop (Keras: for short sequences) [default: off]", grid=9, fixable=True
    ),
    LayerOption(
        "initial_state",
        "text",
        None,
        "states to start from, in Keras' order (LSTM h0, c0; Bidirectional forward then backward); FILE.npy "
        "holds an array (states, batch, units) [default: zeros, as Keras]",
        metavar="zeros|random|FILE.npy",
    ),
    LayerOption("seed", "int", 0, "seed of the deterministic weights and input", cli_default=0, show_default=True),
    LayerOption(
        "lengths",
        "text",
        None,
        "valid length of each sample; the rest is zero padding under a mask",
        metavar="L1,L2,...",
        explore_text="L1,L2,...",
    ),
    LayerOption(
        "kernel_init",
        "text",
        None,
        "kernel initializer: a number means Constant(number); a name is a Keras initializer "
        "(glorot_uniform, orthogonal, zeros, ones, he_normal, ...) seeded by --seed [default: rnnshape's own "
        "seeded weights]",
        metavar="NUMBER|NAME",
        explore_text="default",
    ),
    LayerOption(
        "recurrent_init",
        "text",
        None,
        "recurrent kernel initializer (as --kernel-init)",
        metavar="NUMBER|NAME",
        explore_text="default",
    ),
    LayerOption(
        "bias_init", "text", None, "bias initializer (as --kernel-init)", metavar="NUMBER|NAME", explore_text="default"
    ),
    LayerOption(
        "input",
        "text",
        "random",
        "input numbers; arange is np.arange(batch*timesteps*features) as in Keras' tests; a .npy or .csv "
        "FILE fixes batch, timesteps and features from its shape",
        cli_default="random",
        show_default=True,
        metavar="random|arange|ones|zeros|FILE",
        keyword="input_data",
        explore_text="random",
    ),
    LayerOption(
        "use_cudnn",
        "choice",
        None,
        "LSTM and GRU only: Keras' cuDNN kernel: auto uses it where a GPU and the configuration allow, "
        "true demands it (Keras raises without it), false never; not saved in get_config() [default: auto]",
        choices=("auto", "true", "false"),
        layers=("lstm", "gru"),
        keras_default="auto",
    ),
    LayerOption(
        "filters",
        "int",
        None,
        "ConvLSTM only: filters (the last axis of h and c) [default: 4]",
        layers=CONV,
        group="conv",
        shapes=True,
    ),
    LayerOption(
        "kernel_size",
        "text",
        None,
        "ConvLSTM only: the convolution window, one size or one per spatial axis [default: 3]",
        metavar="N|N1,N2,...",
        layers=CONV,
        group="conv",
        shapes=True,
    ),
    LayerOption(
        "strides",
        "text",
        None,
        "ConvLSTM only: strides of the input convolution [default: 1]",
        metavar="N|N1,N2,...",
        layers=CONV,
        group="conv",
        shapes=True,
    ),
    LayerOption(
        "padding",
        "choice",
        None,
        "ConvLSTM only: padding of the input convolution (the recurrent one is always same) [default: valid]",
        choices=PADDINGS,
        layers=CONV,
        group="conv",
        shapes=True,
    ),
    LayerOption(
        "depth",
        "int",
        None,
        "ConvLSTM3D only: depth of the input map [default: 5]",
        layers=CONV,
        group="conv",
        shapes=True,
    ),
    LayerOption(
        "rows", "int", None, "ConvLSTM only: rows of the input map [default: 5]", layers=CONV, group="conv", shapes=True
    ),
    LayerOption(
        "cols",
        "int",
        None,
        "ConvLSTM2D/3D only: columns of the input map [default: 5]",
        layers=CONV,
        group="conv",
        shapes=True,
    ),
    LayerOption(
        "channels",
        "int",
        None,
        "ConvLSTM only: channels of each position of the input map [default: 1]",
        layers=CONV,
        group="conv",
        shapes=True,
    ),
    LayerOption(
        "cells",
        "text",
        None,
        "--layer rnn only: keras.layers.RNN with a list of cells, first to last, e.g. lstm:4,gru:3 (KIND "
        "lstm, gru or simplernn)",
        metavar="KIND:UNITS,...",
        layers=(CELLS,),
        group="cells",
        shapes=True,
    ),
)

OPTIONS: dict[str, LayerOption] = {option.name: option for option in LAYER_OPTIONS}
# the plain constructor arguments (see LayerOption.keras_default)
PLAIN: tuple[LayerOption, ...] = tuple(option for option in LAYER_OPTIONS if option.keras_default is not None)
# explore's controls, in the order they are laid out: drop-down lists, checkboxes, text boxes
EXPLORE_CONTROLLED = tuple(
    option.name
    for option in LAYER_OPTIONS
    if option.explore_select or option.explore_key or option.explore_text is not None
)
EXPLORE_TEXT = {option.name: option.explore_text for option in LAYER_OPTIONS if option.explore_text is not None}
# the public functions' keywords: the option of each (input_data -> the input option)
BY_KEYWORD: dict[str, LayerOption] = {option.api_name: option for option in LAYER_OPTIONS}
# The spec's defaults, in the table's order.
DEFAULTS: dict[str, Any] = {option.name: option.default for option in LAYER_OPTIONS}
# The options compare's grid can vary, in the order rows are laid out (the first changes slowest).
GRID_FLAGS = tuple(option.name for option in sorted(LAYER_OPTIONS, key=lambda option: option.grid) if option.grid)
# The options compare holds fixed in every row when they are given.
FIXABLE = tuple(option.name for option in LAYER_OPTIONS if option.fixable)
# The true/false options.
FLAG_KEYS = tuple(option.name for option in LAYER_OPTIONS if option.kind == "flag")
# Options only some layer kinds take: layer -> the others leave them unset.
LAYER_ONLY = {option.name: option.layers for option in LAYER_OPTIONS if option.layers is not None}
# Options only some layer kinds take that change numbers, not shapes (rows of other layers leave
# them null; the pictures group such rows together).
NUMBERS_ONLY = tuple(name for name, option in OPTIONS.items() if option.layers is not None and not option.shapes)
# explore's checkboxes: flag -> its key and its label, in the table's order.
EXPLORE_FLAGS = {
    option.name: (option.explore_key, option.explore_label) for option in LAYER_OPTIONS if option.explore_key
}


def applies(name: str, layer: str) -> bool:
    """Whether the layer kind ``layer`` takes the option ``name`` (reset_after: GRU only)."""
    return OPTIONS[name].applies_to(layer)
