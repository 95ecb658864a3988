"""rnnshape check: a shape contract file, case by case."""

from __future__ import annotations

import click

from rnnshape.cli.app import execute
from rnnshape.cli.options import CONTEXT_SETTINGS, json_option, limit_options, static_option


@click.command(context_settings=CONTEXT_SETTINGS)
@click.argument("file", metavar="FILE.toml")
@click.option(
    "--junit",
    metavar="FILE",
    default=None,
    help="also write a JUnit XML report (one testcase per case) for CI; folders are created",
)
@json_option()
@static_option("shapes from the pure model, without TensorFlow")
@limit_options("contract files")
def check(file: str, junit: str | None, json_mode: bool, static: bool, max_memory: int, max_seconds: int) -> int:
    """Check a shape contract file: every case's expected output shapes, in one process.

    Each [[case]] has a name, the layer options as keys (layer, units, timesteps, features,
    batch, return_sequences, return_state, stateful, go_backwards, bidirectional, merge_mode, reset_after,
    seed, lengths) and an expect table of output name -> shape. Exit 0 when every case holds,
    1 when any fails, 2 for an unreadable file, an unknown key or a bad value (naming the case
    and the key), 3 when TensorFlow/Keras fails. FILE.toml `-` reads the contract from standard
    input.

    \b
    Examples:
      rnnshape check examples/shapes.toml
      rnnshape check examples/shapes.toml --junit reports/rnnshape.xml --json
      cat examples/shapes.toml | rnnshape check -

    \b
    A case:
      [[case]]
      name = "encoder returns h and c"
      layer = "lstm"
      units = 6
      return_state = true
      [case.expect]
      output = [1, 6]
      state_h = [1, 6]
      state_c = [1, 6]
    """
    from rnnshape.api.check import check as run

    return execute(
        "check",
        json_mode,
        lambda: run(file, junit=junit, static=static, max_memory=max_memory, max_seconds=max_seconds),
    )
