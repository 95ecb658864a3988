"""Make the old model file of the docs (python examples/make_legacy_model.py, from the repository
root, with tf-keras installed: pip install "rnnshape[legacy]"): a model saved by tf-keras in the
legacy HDF5 format, as Keras 2 saved whole models.

old_forecast.h5  LSTM(8, return_sequences=True, recurrent_activation='hard_sigmoid') -> GRU(4,
                 reset_after=False, recurrent_activation='hard_sigmoid') -> Dense(1), on 12 steps of
                 one value: the defaults of Keras 2.0-2.2's LSTM and GRU written out, seeded weights.
                 old_forecast_x.npy holds 4 sequences.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tf_keras  # noqa: E402

HERE = Path(__file__).parent


def main() -> None:
    tf_keras.utils.set_random_seed(0)
    layers = tf_keras.layers
    model = tf_keras.Sequential(
        [
            layers.LSTM(
                8, return_sequences=True, recurrent_activation="hard_sigmoid", input_shape=(12, 1), name="lstm"
            ),
            layers.GRU(4, reset_after=False, recurrent_activation="hard_sigmoid", name="gru"),
            layers.Dense(1, name="head"),
        ],
        name="old_forecast",
    )
    rng = np.random.default_rng(0)
    for variable in model.weights:  # seeded, non-zero biases
        variable.assign(rng.normal(0, 0.5, variable.shape).astype(np.float32))
    model.compile(optimizer="adam", loss="mse")
    model.save(HERE / "old_forecast.h5")
    np.save(HERE / "old_forecast_x.npy", np.round(rng.uniform(-2, 2, (4, 12, 1)), 2).astype(np.float32))


if __name__ == "__main__":
    main()
