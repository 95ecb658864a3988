"""rnnshape patterns: the canonical recurrent model shapes."""

from __future__ import annotations

from typing import Any

import click

from rnnshape.cli.app import execute
from rnnshape.cli.options import CONTEXT_SETTINGS, json_option, limit_options, static_option


@click.command(context_settings=CONTEXT_SETTINGS)
@click.option("--units", type=int, default=4, show_default=True, help="units of every recurrent layer")
@click.option(
    "--timesteps",
    type=int,
    default=3,
    show_default=True,
    help="timesteps of the input (and of the output of one-to-many and encoder-decoder)",
)
@click.option("--features", type=int, default=2, show_default=True, help="features per timestep")
@click.option("--batch", type=int, default=1, show_default=True, help="samples in the batch")
@click.option("--seed", type=int, default=0, show_default=True, help="seed of the deterministic weights and input")
@static_option("shapes and parameters from the pure model, without TensorFlow")
@limit_options("patterns")
@json_option()
def patterns(json_mode: bool, **options: Any) -> int:
    """The canonical recurrent model shapes, each built for real with these options.

    many-to-one, many-to-many, one-to-many with RepeatVector, an encoder-decoder (autoencoder)
    with RepeatVector, and stacked layers: each with its stack spec and the rnnshape stack
    command that shows it in full.

    \b
    Examples:
      rnnshape patterns
      rnnshape patterns --units 8 --timesteps 5 --features 3 --batch 2
      rnnshape patterns --json
    """
    from rnnshape.api.patterns import patterns as run

    return execute("patterns", json_mode, lambda: run(**options))
