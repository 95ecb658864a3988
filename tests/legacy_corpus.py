"""Old model files for the tests, saved by tf-keras in the legacy HDF5 format (model.save("x.h5")),
rebuilt from public projects' model-building code (URL above each), with data and targets of the
shapes those projects used. Run as a script in its own process (tf_keras only, no Keras 3):

    python tests/legacy_corpus.py OUTDIR

writes NAME.h5, NAME_x.npy, NAME_y.npy, NAME_pred.npy (tf_keras' own predictions on x) and
manifest.json (each layer's output shape as tf_keras computes it). Where a project ran on
Keras 2.0-2.2, the defaults of that Keras are written out (LSTM/GRU recurrent_activation=
'hard_sigmoid', GRU reset_after=False): the project's code saved with those versions gets them."""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
KERAS22 = {"recurrent_activation": "hard_sigmoid"}  # Keras 2.0-2.2's default for LSTM and GRU


def models(k):
    L = k.layers
    rng = __import__("numpy").random.RandomState(7)
    made = {}

    # https://github.com/AA0001BP/PSTP/blob/HEAD/2-LSTM-code.py : four stacked LSTMs (relu), 60-day
    # windows of one closing price, y = the next price (N,); saved by Keras 2.2 (hard_sigmoid gates).
    m = k.Sequential(
        [
            L.LSTM(50, activation="relu", return_sequences=True, input_shape=(60, 1), **KERAS22),
            L.Dropout(0.2),
            L.LSTM(60, activation="relu", return_sequences=True, **KERAS22),
            L.Dropout(0.3),
            L.LSTM(80, activation="relu", return_sequences=True, **KERAS22),
            L.Dropout(0.4),
            L.LSTM(120, activation="relu", **KERAS22),
            L.Dropout(0.5),
            L.Dense(1),
        ]
    )
    m.compile(optimizer="adam", loss="mean_squared_error")
    made["stock_lstm"] = (m, rng.rand(16, 60, 1).astype("float32"), rng.rand(16).astype("float32"))

    # https://github.com/Ayesh17/Flight_Price/blob/HEAD/Scripts/Long_Sequence_Models/GRU_model.py :
    # GRU(50, return_sequences) -> GRU(50) -> Dense(1), Keras 2.0-2.2's GRU (reset_after=False, hard_sigmoid).
    m = k.Sequential(
        [
            L.GRU(50, return_sequences=True, input_shape=(30, 8), reset_after=False, **KERAS22),
            L.Dropout(0.2),
            L.GRU(50, reset_after=False, **KERAS22),
            L.Dropout(0.2),
            L.Dense(1),
        ]
    )
    m.compile(optimizer="adam", loss="mean_squared_error", metrics=["mae"])
    made["flight_gru"] = (m, rng.rand(16, 30, 8).astype("float32"), rng.rand(16).astype("float32"))

    # https://github.com/tintinrevient/space-of-sound/blob/HEAD/sound/rnn/test_imdb_bidirectional.py :
    # Embedding(10000, 32) -> Bidirectional(LSTM(32)) -> Dense(1, sigmoid), reviews padded to 500 words.
    m = k.Sequential(
        [L.Embedding(10000, 32, input_length=500), L.Bidirectional(L.LSTM(32)), L.Dense(1, activation="sigmoid")]
    )
    m.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["acc"])
    made["imdb_bilstm"] = (
        m,
        rng.randint(0, 10000, size=(8, 500)).astype("int32"),
        rng.randint(0, 2, size=(8,)).astype("float32"),
    )

    # https://github.com/kushagra1599/Keras_NLP/blob/HEAD/IMDB_dataset.py : functional, any length,
    # two stacked Bidirectional LSTMs (the first return_sequences=True), reviews padded to 200 words.
    inputs = k.Input(shape=(None,), dtype="int32")
    x = L.Embedding(20000, 128)(inputs)
    x = L.Bidirectional(L.LSTM(64, return_sequences=True))(x)
    x = L.Bidirectional(L.LSTM(64))(x)
    m = k.Model(inputs, L.Dense(1, activation="sigmoid")(x))
    m.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    made["imdb_stacked_bilstm"] = (
        m,
        rng.randint(0, 20000, size=(8, 200)).astype("int32"),
        rng.randint(0, 2, size=(8,)).astype("float32"),
    )

    # https://github.com/PedroOliveiraPT/Electricity-Forecasting/blob/HEAD/GRUDense.py : GRU(10) on one
    # timestep of the features -> Dense(dense_cell) -> Dense(1), loss mae (tf.keras 2.x: reset_after=True).
    m = k.Sequential([L.GRU(10, input_shape=(1, 6)), L.Dense(16), L.Dense(1)])
    m.compile(loss="mae", optimizer="adam")
    made["electricity_gru"] = (m, rng.rand(32, 1, 6).astype("float32"), rng.rand(32, 1).astype("float32"))
    return made


def main(folder: str) -> None:
    import numpy as np
    import tf_keras as k

    k.utils.set_random_seed(0)
    manifest = {}
    for name, (model, x, y) in models(k).items():
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)  # trained a step: biases are not zeros
        model.save(os.path.join(folder, f"{name}.h5"))
        np.save(os.path.join(folder, f"{name}_x.npy"), x)
        np.save(os.path.join(folder, f"{name}_y.npy"), y)
        np.save(os.path.join(folder, f"{name}_pred.npy"), model.predict(x, verbose=0))
        manifest[name] = {
            "layers": {
                layer.name: list(layer.output_shape)
                for layer in model.layers
                if not isinstance(layer, k.layers.InputLayer)
            }
        }
    # A CuDNNLSTM saved by tf-keras (the class of tf.keras 1.x / Keras 2 GPU models): tf_keras' own
    # numbers come from loading its weights into the LSTM it converts them to (hdf5_format.py).
    from tf_keras.src.layers.rnn.cudnn_lstm import CuDNNLSTM

    # https://github.com/vagabundoo/predicting_financial_markets_deep_learning/blob/HEAD/lstm-models.md :
    # CuDNNLSTM(lstm_size) on 30 steps of 2 features -> Dropout -> Dense(1, sigmoid).
    cudnn = k.Sequential(
        [CuDNNLSTM(16, input_shape=(30, 2)), k.layers.Dropout(0.2), k.layers.Dense(1, activation="sigmoid")]
    )
    for variable in cudnn.weights:
        variable.assign(np.random.RandomState(1).standard_normal(variable.shape).astype("float32") * 0.3)
    cudnn.save(os.path.join(folder, "cudnn_lstm.h5"))
    twin = k.Sequential(
        [
            k.layers.LSTM(16, input_shape=(30, 2), recurrent_activation="sigmoid"),
            k.layers.Dropout(0.2),
            k.layers.Dense(1, activation="sigmoid"),
        ]
    )
    twin.load_weights(os.path.join(folder, "cudnn_lstm.h5"))
    x = np.random.RandomState(2).rand(4, 30, 2).astype("float32")
    np.save(os.path.join(folder, "cudnn_lstm_x.npy"), x)
    np.save(os.path.join(folder, "cudnn_lstm_pred.npy"), twin.predict(x, verbose=0))
    manifest["cudnn_lstm"] = {"layers": {layer.name: list(layer.output_shape) for layer in cudnn.layers}}
    with open(os.path.join(folder, "manifest.json"), "w") as out:
        json.dump(manifest, out)


if __name__ == "__main__":
    main(sys.argv[1])
