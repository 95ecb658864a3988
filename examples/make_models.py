"""Make the example model files of the docs (python examples/make_models.py, from the
repository root): small Keras models with seeded weights, and data for --x and --y.

forecast.keras  LSTM(8, return_sequences=True) -> Dense(1): predicts (batch, 6, 1), one value
                per timestep; forecast_y.npy holds one target per sequence (4, 1): the silent
                broadcast rnnshape model diagnoses.
tagger.keras    Embedding(20, 4, mask_zero=True) -> Bidirectional(LSTM(3, return_sequences=True))
                -> LSTM(2, return_state=True) -> Dense(1); tagger_x.npy holds padded token ids.
sensor.keras    SimpleRNN(4, activation="relu", use_bias=False) -> LSTM(3, recurrent_activation=
                "hard_sigmoid") -> Bidirectional(GRU(3), merge_mode="sum") -> Dense(1): the layer
                settings rnnshape port reads (and the one torch.nn cannot compute).
known.npy       a known part (2, 5, 2) for rnnshape generate --input: 2 samples, 5 steps, 2 features.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = Path(__file__).parent


def main() -> None:
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    inp = keras.Input((6, 1), name="series")
    h = keras.layers.LSTM(8, return_sequences=True, name="lstm")(inp)
    keras.Model(inp, keras.layers.Dense(1, name="head")(h), name="forecast").save(HERE / "forecast.keras")
    np.save(HERE / "forecast_x.npy", np.round(rng.uniform(-1, 1, (4, 6, 1)), 2).astype(np.float32))
    np.save(HERE / "forecast_y.npy", np.round(rng.uniform(-1, 1, (4, 1)), 2).astype(np.float32))

    tokens = keras.Input((6,), dtype="int32", name="tokens")
    e = keras.layers.Embedding(20, 4, mask_zero=True, name="embed")(tokens)
    s = keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True), name="bi_lstm")(e)
    out, state_h, state_c = keras.layers.LSTM(2, return_state=True, name="summary")(s)
    model = keras.Model(tokens, keras.layers.Dense(1, name="head")(out), name="tagger")
    model.save(HERE / "tagger.keras")
    x = rng.integers(1, 20, (3, 6)).astype(np.int32)
    x[0, 4:] = 0  # padding: token 0, masked by mask_zero=True
    x[2, 2:] = 0
    np.save(HERE / "tagger_x.npy", x)
    known = np.random.default_rng(3).uniform(-1, 1, (2, 5, 2))
    np.save(HERE / "known.npy", np.round(known, 2).astype(np.float32))
    sensor()


def sensor() -> None:
    keras.utils.set_random_seed(0)
    inp = keras.Input((5, 3), name="readings")
    h = keras.layers.SimpleRNN(4, activation="relu", use_bias=False, return_sequences=True, name="encoder")(inp)
    h = keras.layers.LSTM(3, recurrent_activation="hard_sigmoid", return_sequences=True, name="legacy")(h)
    h = keras.layers.Bidirectional(keras.layers.GRU(3), merge_mode="sum", name="summary")(h)
    keras.Model(inp, keras.layers.Dense(1, name="head")(h), name="sensor").save(HERE / "sensor.keras")


if __name__ == "__main__":
    main()
