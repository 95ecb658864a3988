"""rnnshape port: a Keras layer ported to torch.nn, or a torch state_dict to Keras, verified."""

from __future__ import annotations

from typing import Any

import click

from rnnshape.cli.app import execute
from rnnshape.cli.options import ACTIVATION, CONTEXT_SETTINGS, json_option, max_memory_option, max_seconds_option
from rnnshape.rules.options import MERGE_MODES
from rnnshape.rules.port import DIRECTIONS_FROM, DIRECTIONS_TO, MAX_NUM_LAYERS


@click.command(context_settings=CONTEXT_SETTINGS)
@click.option(
    "--to",
    "to",
    type=click.Choice(DIRECTIONS_TO, case_sensitive=False),
    default=None,
    help="port the Keras layer to this framework [default: torch, unless --from]",
)
@click.option(
    "--from",
    "from_",
    type=(click.Choice(DIRECTIONS_FROM, case_sensitive=False), str),
    default=None,
    metavar="torch FILE.pt",
    help="port a torch.nn state_dict file (torch.save) to Keras weights",
)
@click.option(
    "--layer",
    "layer",
    default=None,
    metavar="lstm|gru|simplernn|NAME",
    help="the layer kind [default: lstm; --from: the file's]; with --model, the name (or path) of a layer of the model",
)
@click.option(
    "--num-layers",
    type=click.IntRange(1, MAX_NUM_LAYERS),
    default=None,
    help="a stack of this many layers of the same kind (torch.nn's num_layers) [default: 1; --from: the file's]",
)
@click.option(
    "--model",
    "model",
    default=None,
    metavar="FILE.keras",
    help="port the layer --layer NAME of this saved Keras model (read in safe mode)",
)
@click.option("--units", type=int, default=None, help="units (torch's hidden_size) [default: 4; --from: the file's]")
@click.option("--timesteps", type=int, default=None, help="timesteps T of the input [default: 3]")
@click.option(
    "--features",
    type=int,
    default=None,
    help="features per timestep (torch's input_size) [default: 2; --from: the file's]",
)
@click.option("--batch", type=int, default=None, help="samples in the batch [default: 1]")
@click.option("--return-sequences/--no-return-sequences", default=False, help="Keras: return h at every timestep")
@click.option("--return-state/--no-return-state", default=False, help="Keras: also return the final states")
@click.option(
    "--bidirectional/--no-bidirectional",
    default=None,
    help="keras.layers.Bidirectional / bidirectional=True [default: off; --from: the file's]",
)
@click.option(
    "--merge-mode",
    type=click.Choice(MERGE_MODES, case_sensitive=False),
    default=None,
    help="how Keras' Bidirectional merges the directions (torch concatenates) [default: concat]",
)
@click.option(
    "--reset-after/--no-reset-after",
    "reset_after",
    default=None,
    help="GRU: Keras' reset_after (torch.nn.GRU computes reset_after=True only) [default: on]",
)
@click.option(
    "--activation",
    type=ACTIVATION,
    default=None,
    help="tanh (LSTM/GRU: the only one torch has); SimpleRNN: tanh or relu [default: tanh]",
)
@click.option(
    "--recurrent-activation",
    type=ACTIVATION,
    default=None,
    help="LSTM/GRU gates: sigmoid (the only one torch has) [default: sigmoid]",
)
@click.option(
    "--use-bias/--no-use-bias", "use_bias", default=None, help="bias (torch: bias=) [default: on; --from: the file's]"
)
@click.option("--seed", type=int, default=0, show_default=True, help="seed of the deterministic weights and input")
@click.option(
    "--input",
    "input_data",
    default="random",
    show_default=True,
    metavar="random|arange|ones|zeros|FILE",
    help="input numbers, as inspect's --input",
)
@click.option(
    "--save",
    default=None,
    metavar="FILE",
    help="write the converted weights: FILE.pt (--to torch: the state_dict) or FILE.weights.h5 "
    "(--from torch: Keras weights)",
)
@click.option("--code", is_flag=True, help="also print the conversion as a short Python function (no import)")
@json_option()
@max_memory_option("configurations")
@max_seconds_option("configurations")
@click.option("--svg", "svg", default=None, metavar="FILE", help="also save what is printed as an SVG image")
@click.option("--html", "html", default=None, metavar="FILE", help="also save what is printed as an HTML page")
def port(json_mode: bool, svg: str | None, html: str | None, from_: tuple[str, str] | None, **options: Any) -> int:
    """Port a Keras LSTM, GRU or SimpleRNN to torch.nn (or back), and prove it on numbers.

    Builds the Keras layer as inspect does (same options, seed, weights and input), prints the
    torch.nn call, each Keras output read from torch's output, h_n and c_n, and the weight mapping
    tensor by tensor (transposed; GRU's gate blocks z, r, h reordered to torch's r, z, n; Keras' one
    bias split into bias_ih and bias_hh). Then runs torch.nn with the converted weights on the same
    input and prints the max |difference| of every output: above 1e-5 the command exits 3.
    Needs PyTorch: pip install "rnnshape[torch]".

    \b
    Examples:
      rnnshape port --to torch --layer lstm --units 3 --return-state
      rnnshape port --to torch --layer gru --bidirectional --num-layers 2 --return-sequences
      rnnshape port --to torch --layer lstm --save lstm.pt --code
      rnnshape port --to torch --model model.keras --layer encoder
      rnnshape port --from torch lstm.pt --layer lstm --save lstm.weights.h5
    """
    from rnnshape.api.port import port as run

    if from_ is not None:
        options["from_torch"] = from_[1]
    return execute("port", json_mode, lambda: run(**options), svg=svg, html=html)
