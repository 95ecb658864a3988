"""Deterministic numbers: weights, inputs and masks from the seed, the same in every process."""

from __future__ import annotations

import numpy as np

from rnnshape.rules.catalogue import INPUT_KINDS
from rnnshape.rules.layer import LayerSpec


# ---- deterministic numbers ---------------------------------------------------------------
def deterministic_weights(seed: int, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """The tool's own weights: uniform in [-0.5, 0.5), drawn in Keras' weight order."""
    rng = np.random.default_rng([seed, 0])
    return [rng.uniform(-0.5, 0.5, size=shape).astype(np.float32) for shape in shapes]


def deterministic_input(spec: LayerSpec) -> np.ndarray:
    """Input [batch, timesteps, features] from --input (by default seeded uniform numbers in
    [-1, 1], rounded to 2 decimals); with --lengths the steps past each length are zero padding."""
    from rnnshape.files import load_input_file

    if spec.input in INPUT_KINDS:
        x = generated_input(spec.input, spec.seed, spec.input_shape)
    else:
        x = load_input_file(spec.input).array
    mask = input_mask(spec)
    if mask is not None:
        x = np.where(mask[:, :, None], x, np.float32(0.0)).astype(np.float32)
    return x


def input_mask(spec: LayerSpec) -> np.ndarray | None:
    if spec.lengths is None:
        return None
    steps = np.arange(spec.timesteps)[None, :]
    return steps < np.asarray(spec.lengths)[:, None]


def deterministic_stack_input(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    """The stack's input: uniform in [-1, 1] rounded to 2 decimals, drawn like inspect's."""
    rng = np.random.default_rng([seed, 1])
    return np.round(rng.uniform(-1.0, 1.0, size=shape), 2).astype(np.float32)


def generated_input(kind: str, seed: int, shape: tuple[int, int, int]) -> np.ndarray:
    if kind == "arange":  # as Keras' own tests build their inputs
        return np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    if kind == "ones":
        return np.ones(shape, np.float32)
    if kind == "zeros":
        return np.zeros(shape, np.float32)
    # random: uniform in [-1, 1] rounded to 2 decimals so the numbers read easily
    rng = np.random.default_rng([seed, 1])
    return np.round(rng.uniform(-1.0, 1.0, size=shape), 2).astype(np.float32)
