"""Models rebuilt from public projects' model-building code (the project's file in a comment
above each builder), built with Keras 3, compiled with the loss the project compiled with, and
given data x and targets y of the shapes the project used (fewer samples; seeded values).

Each entry: build(keras) -> a compiled keras.Model; data(rng) -> (list of x arrays, y); the
verdict the project's targets get (what the project's own fit does with them, checked by the
tests against Keras' own loss computed both ways). Variants with other targets (a user's other
encoding of the same labels) are separate entries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np


@dataclass(frozen=True)
class RealModel:
    name: str
    url: str
    build: Callable[[Any], Any]
    data: Callable[[np.random.Generator], tuple[list[np.ndarray], np.ndarray]]
    verdict: str  # agree | broadcast | refused | labels
    note: str = ""


def _series(rng: np.random.Generator, n: int, steps: int, features: int = 1) -> np.ndarray:
    return rng.normal(size=(n, steps, features)).astype(np.float32)


def _one_hot(labels: np.ndarray, classes: int) -> np.ndarray:
    return np.eye(classes, dtype=np.float32)[labels]


# https://github.com/aurea-soriano/PublicAnomalyDetection/blob/main/lstm_forecasting.py
# two relu LSTMs on windows of (window_size - 1) steps; y_train one value per window, shape (N,)
def anomaly_forecast(keras):
    L = keras.layers
    model = keras.Sequential(
        [
            keras.Input((29, 1)),
            L.LSTM(16, activation="relu", return_sequences=True),
            L.LSTM(16, activation="relu"),
            L.Dense(1),
        ],
        name="anomaly_forecast",
    )
    model.compile(optimizer="adam", loss="mse")
    return model


# https://github.com/Lucas-Rufino/Information-Retrieval-System-for-TV-Series/blob/master/classifier/classify.py
# the airline-passengers LSTM: look_back 1, input (1, 1), trainY of shape (N,)
def airline_lstm(keras):
    model = keras.Sequential([keras.Input((1, 1)), keras.layers.LSTM(4), keras.layers.Dense(1)], name="airline_lstm")
    model.compile(loss="mean_squared_error", optimizer="adam")
    return model


# https://github.com/imvikverma/ah-v1-beta/blob/main/Old_Files/Code_Files_Old/Pulse_Formula.py
# model.fit(np.random.rand(100, 10, 1), np.random.rand(100, 1))
def pulse_lstm(keras):
    model = keras.Sequential([keras.Input((10, 1)), keras.layers.LSTM(50), keras.layers.Dense(1)], name="pulse_lstm")
    model.compile(optimizer="adam", loss="mse")
    return model


# https://github.com/nmtri1912/kltn/blob/main/NMT/model.py
# the canonical Keras seq2seq: encoder states into a decoder (return_state kept for inference),
# softmax over the target tokens at every step, one-hot decoder_target_data
def nmt_seq2seq(keras):
    L = keras.layers
    enc_in = keras.Input((None, 40), name="encoder_inputs")
    _, h, c = L.LSTM(256, return_state=True, name="encoder")(enc_in)
    dec_in = keras.Input((None, 50), name="decoder_inputs")
    dec, _, _ = L.LSTM(256, return_sequences=True, return_state=True, name="decoder_lstm")(dec_in, initial_state=[h, c])
    out = L.Dense(50, activation="softmax", name="decoder_dense")(dec)
    model = keras.Model([enc_in, dec_in], out, name="nmt_seq2seq")
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy")
    return model


# https://github.com/timlackhan/ImageCaptioning/blob/master/Experiments/enc_dec.py
# num_encoder_tokens 48, latent_dim 128, num_decoder_tokens 21 (the project compiles it like
# the Keras example it copies: rmsprop, categorical_crossentropy, one-hot targets)
def caption_enc_dec(keras):
    L = keras.layers
    enc_in = keras.Input((None, 48), name="encoder_inputs")
    _, h, c = L.LSTM(128, return_state=True, name="encoder")(enc_in)
    dec_in = keras.Input((None, 21), name="decoder_inputs")
    dec = L.LSTM(128, return_sequences=True, name="decoder_lstm")(dec_in, initial_state=[h, c])
    out = L.Dense(21, activation="softmax", name="decoder_dense")(dec)
    model = keras.Model([enc_in, dec_in], out, name="caption_enc_dec")
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy")
    return model


# https://github.com/csprock/keras-NER/blob/master/models/blstm_model.py (+ the training script's
# compile: Adam, categorical_crossentropy); MAX_LEN_SENT 100, 50-d word vectors, CoNLL tags one-hot
def ner_blstm(keras):
    L = keras.layers
    x_in = keras.Input((100,), name="word_input")
    x = L.Embedding(2000, 50, mask_zero=False, name="embedding_layer")(x_in)
    x = L.Bidirectional(L.LSTM(100, dropout=0.3, return_sequences=True))(x)
    out = L.TimeDistributed(L.Dense(9, activation="softmax"))(x)
    model = keras.Model(x_in, out, name="ner_blstm")
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


# https://github.com/melisaaltinyelek/IANNwTF_Project/blob/main/LSTM_example.py
# stateful LSTM(10), batch_input_shape (1, 3, 1), Dense(1); the project reshapes y to (3, 3, 1):
# three targets per sample for one prediction per sample, which Keras broadcasts silently
def stateful_batches(keras):
    model = keras.Sequential(
        [keras.Input(batch_shape=(1, 3, 1)), keras.layers.LSTM(10, stateful=True), keras.layers.Dense(1)],
        name="stateful_batches",
    )
    model.compile(loss="mean_squared_error", optimizer="adam")
    return model


# https://github.com/seefs/Source_Insight/blob/master/node/Pythons/py_test/keras/keras_stateful.py
# the Keras guide's stacked stateful LSTMs: batch 32, 8 timesteps, 16 features, softmax over 10
def keras_guide_stateful(keras):
    L = keras.layers
    model = keras.Sequential(
        [
            keras.Input(batch_shape=(32, 8, 16)),
            L.LSTM(32, return_sequences=True, stateful=True),
            L.LSTM(32, return_sequences=True, stateful=True),
            L.LSTM(32, stateful=True),
            L.Dense(10, activation="softmax"),
        ],
        name="keras_guide_stateful",
    )
    model.compile(loss="categorical_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
    return model


# https://github.com/LUIGUI55/commitss/blob/main/python/tensorflow/lstm.py
# IMDB sentiment: Embedding(10000, 128), LSTM(128) with dropouts, sigmoid; labels (N,) of 0/1
# (the file builds without an input length; 80, the Keras IMDB example's maxlen)
def imdb_lstm(keras):
    L = keras.layers
    model = keras.Sequential(
        [
            keras.Input((80,), dtype="int32"),
            L.Embedding(10000, 128),
            L.LSTM(128, dropout=0.2, recurrent_dropout=0.2),
            L.Dense(1, activation="sigmoid"),
        ],
        name="imdb_lstm",
    )
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


# https://github.com/Marsrocky/ERP/blob/master/LSTM_sequence_classification/Simpe_LSTM_sc.py
# top_words 5000, reviews padded to 500, Embedding 32, LSTM(100), sigmoid; labels (N,)
def imdb_review_lstm(keras):
    L = keras.layers
    model = keras.Sequential(
        [keras.Input((500,), dtype="int32"), L.Embedding(5000, 32), L.LSTM(100), L.Dense(1, activation="sigmoid")],
        name="imdb_review_lstm",
    )
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


# https://github.com/slaily/deep-learning-bits/blob/master/rnn_jena_climate/stacked_gru_model.py
# Jena climate: 14 features, lookback 1440 sampled every 6 steps (240), a relu GRU; the
# generator's targets are one temperature per window, shape (batch,); loss mae (the tests feed 48
# of the 240 steps: the model takes any length, and the eager run of 240 steps takes long here)
def jena_stacked_gru(keras):
    L = keras.layers
    model = keras.Sequential(
        [
            keras.Input((None, 14)),
            L.GRU(32, dropout=0.1, recurrent_dropout=0.5, return_sequences=True),
            L.GRU(64, activation="relu", dropout=0.1, recurrent_dropout=0.5),
            L.Dense(1),
        ],
        name="jena_stacked_gru",
    )
    model.compile(optimizer=keras.optimizers.RMSprop(), loss="mae")
    return model


# https://github.com/Barleysack/Tensor101/blob/master/Handsonml2_py/1dconvtoseq.py
# Conv1D (kernel 4, stride 2, valid) then two GRUs and TimeDistributed(Dense(10)): 50 steps in,
# 24 out; the targets Y[:, 3::2] of shape (N, 24, 10)
def conv_gru_seq(keras):
    L = keras.layers
    model = keras.Sequential(
        [
            keras.Input((None, 1)),
            L.Conv1D(filters=20, kernel_size=4, strides=2, padding="valid"),
            L.GRU(20, return_sequences=True),
            L.GRU(20, return_sequences=True),
            L.TimeDistributed(L.Dense(10)),
        ],
        name="conv_gru_seq",
    )
    model.compile(loss="mse", optimizer="adam")
    return model


def _seq2seq_data(rng, enc_tokens, dec_tokens, n=4, enc_steps=7, dec_steps=6, integer_targets=False):
    enc = _one_hot(rng.integers(0, enc_tokens, (n, enc_steps)), enc_tokens)
    labels = rng.integers(0, dec_tokens, (n, dec_steps))
    dec = _one_hot(labels, dec_tokens)
    return [enc, dec], (labels if integer_targets else _one_hot(labels, dec_tokens))


CORPUS = [
    RealModel(
        "anomaly_forecast",
        "https://github.com/aurea-soriano/PublicAnomalyDetection",
        anomaly_forecast,
        lambda rng: ([_series(rng, 8, 29)], rng.normal(size=8).astype(np.float32)),
        "agree",
        "y (N,) against an output (N, 1)",
    ),
    RealModel(
        "airline_lstm",
        "https://github.com/Lucas-Rufino/Information-Retrieval-System-for-TV-Series",
        airline_lstm,
        lambda rng: ([_series(rng, 8, 1)], rng.random(8).astype(np.float32)),
        "agree",
    ),
    RealModel(
        "pulse_lstm",
        "https://github.com/imvikverma/ah-v1-beta",
        pulse_lstm,
        lambda rng: ([rng.random((8, 10, 1)).astype(np.float32)], rng.random((8, 1)).astype(np.float32)),
        "agree",
    ),
    RealModel(
        "nmt_seq2seq", "https://github.com/nmtri1912/kltn", nmt_seq2seq, lambda rng: _seq2seq_data(rng, 40, 50), "agree"
    ),
    RealModel(
        "caption_enc_dec",
        "https://github.com/timlackhan/ImageCaptioning",
        caption_enc_dec,
        lambda rng: _seq2seq_data(rng, 48, 21),
        "agree",
    ),
    RealModel(
        "caption_enc_dec_integer_labels",
        "https://github.com/timlackhan/ImageCaptioning",
        caption_enc_dec,
        lambda rng: _seq2seq_data(rng, 48, 21, integer_targets=True),
        "labels",
        "the same model given the token ids instead of one-hot rows",
    ),
    RealModel(
        "ner_blstm",
        "https://github.com/csprock/keras-NER",
        ner_blstm,
        lambda rng: ([rng.integers(1, 2000, (4, 100)).astype(np.int32)], _one_hot(rng.integers(0, 9, (4, 100)), 9)),
        "agree",
    ),
    RealModel(
        "stateful_batches",
        "https://github.com/melisaaltinyelek/IANNwTF_Project",
        stateful_batches,
        lambda rng: (
            [(np.arange(3, dtype=np.float32) / 10).reshape(1, 3, 1)],
            (np.arange(1, 4, dtype=np.float32) / 10).reshape(1, 3, 1),
        ),
        "broadcast",
        "y reshaped to (samples, 3, 1) for an output (samples, 1)",
    ),
    RealModel(
        "keras_guide_stateful",
        "https://github.com/seefs/Source_Insight",
        keras_guide_stateful,
        lambda rng: ([rng.random((32, 8, 16)).astype(np.float32)], rng.random((32, 10)).astype(np.float32)),
        "agree",
    ),
    RealModel(
        "imdb_lstm",
        "https://github.com/LUIGUI55/commitss",
        imdb_lstm,
        lambda rng: ([rng.integers(1, 10000, (6, 80)).astype(np.int32)], rng.integers(0, 2, 6)),
        "agree",
    ),
    RealModel(
        "imdb_review_lstm",
        "https://github.com/Marsrocky/ERP",
        imdb_review_lstm,
        lambda rng: ([rng.integers(1, 5000, (2, 500)).astype(np.int32)], rng.integers(0, 2, 2)),
        "agree",
    ),
    RealModel(
        "jena_stacked_gru",
        "https://github.com/slaily/deep-learning-bits",
        jena_stacked_gru,
        lambda rng: ([_series(rng, 4, 48, 14)], rng.normal(size=4).astype(np.float32)),
        "agree",
    ),
    RealModel(
        "conv_gru_seq",
        "https://github.com/Barleysack/Tensor101",
        conv_gru_seq,
        lambda rng: ([_series(rng, 4, 50)], rng.normal(size=(4, 24, 10)).astype(np.float32)),
        "agree",
    ),
    RealModel(
        "conv_gru_seq_last_step",
        "https://github.com/Barleysack/Tensor101",
        conv_gru_seq,
        lambda rng: ([_series(rng, 4, 50)], rng.normal(size=(4, 10)).astype(np.float32)),
        "refused",
        "the same model given only the last step's 10 targets: Keras cannot broadcast (4, 10) against "
        "(4, 24, 10) and says so",
    ),
]
