"""Small Keras models built by the tests (never shipped files): each architecture of issue 18,
saved as .keras files in a temporary folder, with data for --x and --y."""

from __future__ import annotations

from pathlib import Path

import numpy as np

# name -> (builder, x arrays); tiny sizes: the suite builds each once per session.
BATCH, T, F = 3, 5, 2


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def stacked_lstm(keras):
    inp = keras.Input((T, F), name="x")
    h = keras.layers.LSTM(4, return_sequences=True, name="lstm_a")(inp)
    h = keras.layers.LSTM(3, name="lstm_b")(h)
    return keras.Model(inp, keras.layers.Dense(1, name="head")(h), name="stacked_lstm")


def bi_gru_encoder(keras):
    inp = keras.Input((T, F), name="x")
    out, fwd, bwd = keras.layers.Bidirectional(keras.layers.GRU(3, return_state=True), name="bi_gru")(inp)
    merged = keras.layers.Concatenate(name="states")([fwd, bwd])
    return keras.Model(inp, [out, merged], name="bi_gru_encoder")


def encoder_decoder(keras):
    enc_in = keras.Input((T, F), name="enc_in")
    dec_in = keras.Input((4, 3), name="dec_in")
    _, h, c = keras.layers.LSTM(4, return_state=True, name="encoder")(enc_in)
    dec = keras.layers.LSTM(4, return_sequences=True, name="decoder")(dec_in, initial_state=[h, c])
    out = keras.layers.TimeDistributed(keras.layers.Dense(3), name="td_out")(dec)
    return keras.Model([enc_in, dec_in], out, name="encoder_decoder")


def embedding_mask(keras):
    inp = keras.Input((T,), dtype="int32", name="tokens")
    e = keras.layers.Embedding(10, 3, mask_zero=True, name="embed")(inp)
    h = keras.layers.LSTM(4, name="lstm")(e)
    return keras.Model(inp, keras.layers.Dense(2, name="head")(h), name="embedding_mask")


def time_distributed(keras):
    inp = keras.Input((T, F), name="x")
    h = keras.layers.SimpleRNN(3, return_sequences=True, name="rnn")(inp)
    return keras.Model(inp, keras.layers.TimeDistributed(keras.layers.Dense(2), name="td")(h), name="time_distributed")


def conv_lstm(keras):
    inp = keras.Input((3, 4, 4, 1), name="frames")
    h = keras.layers.ConvLSTM2D(2, 3, padding="same", return_state=True, name="convlstm")(inp)
    return keras.Model(inp, keras.layers.Flatten(name="flat")(h[0]), name="conv_lstm")


def nested(keras):
    inner_in = keras.Input((T, F), name="inner_x")
    inner = keras.Model(inner_in, keras.layers.GRU(3, return_sequences=True, name="gru")(inner_in), name="encoder")
    inp = keras.Input((T, F), name="x")
    h = inner(inp)
    h = keras.layers.LSTM(2, name="lstm")(h)
    return keras.Model(inp, keras.layers.Dense(1, name="head")(h), name="nested")


def silent_broadcast(keras):
    inp = keras.Input((T, F), name="x")
    h = keras.layers.LSTM(4, return_sequences=True, name="lstm")(inp)
    return keras.Model(inp, keras.layers.Dense(1, name="head")(h), name="silent_broadcast")


def sequential_bi(keras):
    return keras.Sequential(
        [
            keras.Input((T, F)),
            keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True), merge_mode="sum", name="bi_sum"),
            keras.layers.Masking(name="late_mask"),
            keras.layers.LSTM(2, name="lstm"),
            keras.layers.Dense(1, name="head"),
        ],
        name="sequential_bi",
    )


def masked_bidirectional(keras):
    inp = keras.Input((T,), dtype="int32", name="tokens")
    e = keras.layers.Embedding(10, 3, mask_zero=True, name="embed")(inp)
    s = keras.layers.Bidirectional(keras.layers.LSTM(2, return_sequences=True, return_state=True), name="bi")(e)
    return keras.Model(inp, keras.layers.GRU(2, name="gru")(s[0]), name="masked_bidirectional")


ARCHITECTURES = {
    f.__name__: f
    for f in (
        stacked_lstm,
        bi_gru_encoder,
        encoder_decoder,
        embedding_mask,
        time_distributed,
        conv_lstm,
        nested,
        silent_broadcast,
        sequential_bi,
        masked_bidirectional,
    )
}


def data_for(name: str) -> list[np.ndarray]:
    rng = _rng(1)
    if name == "encoder_decoder":
        return [
            rng.uniform(-1, 1, (BATCH, T, F)).astype(np.float32),
            rng.uniform(-1, 1, (BATCH, 4, 3)).astype(np.float32),
        ]
    if name in ("embedding_mask", "masked_bidirectional"):
        tokens = rng.integers(1, 10, (BATCH, T)).astype(np.int32)
        tokens[0, 3:] = 0  # padding: a masked sample
        tokens[2, 1:] = 0
        return [tokens]
    if name == "conv_lstm":
        return [rng.uniform(-1, 1, (2, 3, 4, 4, 1)).astype(np.float32)]
    return [rng.uniform(-1, 1, (BATCH, T, F)).astype(np.float32)]


def build_all(folder: Path) -> dict[str, dict]:
    """Save every architecture (seeded weights) and its data; returns name -> {path, x: [paths]}."""
    import keras

    keras.utils.set_random_seed(0)
    made = {}
    for name, builder in ARCHITECTURES.items():
        model = builder(keras)
        path = folder / f"{name}.keras"
        model.save(path)
        xs = []
        for i, array in enumerate(data_for(name)):
            xp = folder / f"{name}_x{i}.npy"
            np.save(xp, array)
            xs.append(str(xp))
        made[name] = {"path": str(path), "x": xs}
    return made
