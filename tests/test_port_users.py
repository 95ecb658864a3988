"""rnnshape port on real users' layers: models rebuilt from public projects' model-building code
(the URL above each), saved by Keras 3 in tmp_path, their layers ported with --model; torch.nn run
here on the saved state_dict, the rest of the model computed from its own weights, compared with
Keras' own predict. The layers torch.nn cannot compute are refused (exit 2) from the saved config
alone, before TensorFlow is imported, naming the layer's own setting. And torch state_dicts read
without --num-layers/--bidirectional."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import rnnshape
from rnnshape.errors import UsageError

pytestmark = pytest.mark.slow
torch = pytest.importorskip("torch")

TOLERANCE = 1e-5


def keras():
    from rnnshape.runner.session import load_keras

    return load_keras()


def torch_run(module, state_dict_path, x):
    """torch.nn ``module`` with the saved state_dict loaded (strict), run on x: (output, hidden)."""
    module.load_state_dict(torch.load(state_dict_path, weights_only=True), strict=True)
    module.eval()
    with torch.no_grad():
        return module(torch.from_numpy(np.ascontiguousarray(x, np.float32)))


def dense(layer, x, activation=None):
    kernel, bias = layer.get_weights()
    y = x @ kernel + bias
    if activation == "relu":
        return np.maximum(y, 0)
    if activation == "tanh":
        return np.tanh(y)
    if activation == "softmax":
        e = np.exp(y - y.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    return y


def port_layer(model_path, name, tmp_path, x=None, **options):
    """rnnshape.port of one layer of the saved model (--save): the result and the .pt path."""
    save = tmp_path / f"{name}.pt"
    if x is not None:
        np.save(tmp_path / f"{name}_x.npy", x)
        options["input"] = str(tmp_path / f"{name}_x.npy")
    result = rnnshape.port(name, to="torch", model=str(model_path), save=str(save), **options)
    assert result.ok, result.errors
    assert all(d <= TOLERANCE for d in result.differences.values()), result.differences
    return result, save


def test_a_relu_simple_rnn_becomes_nn_rnn_nonlinearity_relu(tmp_path):
    # https://github.com/enuguru/GenAI/blob/main/transformers_from_scratch/building_transformer_models_with_attention_code/rnn-with-additional-layer/04_rnn.py
    # create_RNN(hidden_units, dense_units, input_shape, activation), called with a relu RNN
    k = keras()

    def create_RNN(hidden_units, dense_units, input_shape, activation):
        model = k.Sequential()
        model.add(k.Input(shape=input_shape))
        model.add(k.layers.SimpleRNN(hidden_units, activation=activation[0]))
        model.add(k.layers.Dense(units=dense_units, activation=activation[1]))
        model.compile(loss="mse", optimizer="adam")
        return model

    model = create_RNN(hidden_units=2, dense_units=1, input_shape=(20, 1), activation=["relu", "tanh"])
    path = tmp_path / "rnn.keras"
    model.save(path)
    x = np.random.default_rng(0).normal(size=(4, 20, 1)).astype(np.float32)
    rnn = model.layers[0]
    result, pt = port_layer(path, rnn.name, tmp_path, x)
    assert result.torch_call == 'torch.nn.RNN(input_size=1, hidden_size=2, nonlinearity="relu", batch_first=True)'
    assert result.data["keras"]["calls"][0].startswith(
        f'keras.layers.SimpleRNN(2, activation="relu", name="{rnn.name}")'
    )
    _, h_n = torch_run(torch.nn.RNN(1, 2, nonlinearity="relu", batch_first=True), pt, x)
    ours = dense(model.layers[1], h_n[-1].numpy(), "tanh")
    assert np.abs(ours - model.predict(x, verbose=0)).max() <= TOLERANCE
    # the same weights in a tanh nn.RNN give other numbers: the nonlinearity was read from the layer
    _, h_tanh = torch_run(torch.nn.RNN(1, 2, batch_first=True), pt, x)
    assert np.abs(h_tanh.numpy() - h_n.numpy()).max() > 1e-3


def test_a_stack_of_two_bidirectional_grus(tmp_path):
    # https://github.com/Ayesh17/Sliding_Window_Approach/blob/main/Python_Scripts/DL_Models/Bidirectional_GRU_model.py
    # (their input_shape= on the first layer is written as a keras.Input, as Keras 3 asks)
    k = keras()

    def Bidirectional_GRU_model(input_shape, num_classes):
        model = k.Sequential()
        model.add(k.Input(shape=input_shape))
        model.add(k.layers.Bidirectional(k.layers.GRU(128, return_sequences=True)))
        model.add(k.layers.Dropout(0.2))
        model.add(k.layers.Bidirectional(k.layers.GRU(64)))
        model.add(k.layers.Dropout(0.2))
        model.add(k.layers.Dense(64, activation="relu"))
        model.add(k.layers.Dense(num_classes, activation="softmax"))
        return model

    model = Bidirectional_GRU_model((12, 3), 4)
    path = tmp_path / "bigru.keras"
    model.save(path)
    x = np.random.default_rng(1).normal(size=(3, 12, 3)).astype(np.float32)
    first, second = model.layers[0], model.layers[2]
    result1, pt1 = port_layer(path, first.name, tmp_path, x)
    assert result1.torch_call == "torch.nn.GRU(input_size=3, hidden_size=128, batch_first=True, bidirectional=True)"
    result2, pt2 = port_layer(path, second.name, tmp_path, timesteps=12, batch=3)
    assert result2.torch_call == "torch.nn.GRU(input_size=256, hidden_size=64, batch_first=True, bidirectional=True)"
    sequence, _ = torch_run(torch.nn.GRU(3, 128, batch_first=True, bidirectional=True), pt1, x)
    _, h_n = torch_run(torch.nn.GRU(256, 64, batch_first=True, bidirectional=True), pt2, sequence.numpy())
    features = torch.cat([h_n[-2], h_n[-1]], dim=-1).numpy()
    ours = dense(model.layers[5], dense(model.layers[4], features, "relu"), "softmax")
    assert np.abs(ours - model.predict(x, verbose=0)).max() <= TOLERANCE


def test_two_named_lstms_of_a_sign_language_model(tmp_path):
    # https://github.com/Jhong098/SignSense/blob/main/tools/train.py (build_model; holistic's
    # HAND_LANDMARK_COUNT * 2 = 42 landmarks of 3 coordinates per frame, 100 frames)
    k = keras()
    TIMESTEPS, LANDMARK_COUNT, POINT_DIM = 100, 42, 3

    def build_model(labels):
        model = k.Sequential()
        model.add(k.Input(shape=(TIMESTEPS, LANDMARK_COUNT * POINT_DIM)))
        model.add(k.layers.LSTM(64, name="lstm1", return_sequences=True))
        model.add(k.layers.LSTM(32, name="lstm2"))
        model.add(k.layers.Dense(labels))
        model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
        return model

    model = build_model(10)
    path = tmp_path / "signsense.keras"
    model.save(path)
    x = np.random.default_rng(2).normal(size=(2, TIMESTEPS, 126)).astype(np.float32)
    result1, pt1 = port_layer(path, "lstm1", tmp_path, x)
    result2, pt2 = port_layer(path, "lstm2", tmp_path, batch=2)
    assert result1.data["keras"]["calls"][0].startswith('keras.layers.LSTM(64, return_sequences=True, name="lstm1")')
    assert result2.data["keras"]["input"]["shape"] == [2, 100, 64]  # the model's own timesteps
    sequence, _ = torch_run(torch.nn.LSTM(126, 64, batch_first=True), pt1, x)
    _, (h_n, _) = torch_run(torch.nn.LSTM(64, 32, batch_first=True), pt2, sequence.numpy())
    ours = dense(model.layers[2], h_n[-1].numpy())
    assert np.abs(ours - model.predict(x, verbose=0)).max() <= TOLERANCE


def test_a_gru_with_dropout_ported_on_the_users_data_from_the_command_line(tmp_path):
    # https://github.com/sunho/goranireader/blob/master/backend/dataserver/gorani/tfmodels.py
    # time_model(feature_len, neuron, dropout): any number of timesteps (input_shape=(None, 5))
    from tests.conftest import run_process

    k = keras()

    def time_model(feature_len, neuron, dropout):
        model = k.Sequential()
        model.add(k.Input(shape=(None, feature_len)))
        model.add(k.layers.GRU(neuron, dropout=dropout, recurrent_dropout=dropout, kernel_initializer="he_uniform"))
        model.add(k.layers.Dense(neuron, activation="relu"))
        model.add(k.layers.Dense(1))
        return model

    model = time_model(5, 8, 0.2)
    path = tmp_path / "time.keras"
    model.save(path)
    x = np.random.default_rng(3).normal(size=(3, 9, 5)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    pt = tmp_path / "gru.pt"
    name = model.layers[0].name
    proc = run_process(
        [
            "port",
            "--to",
            "torch",
            "--model",
            str(path),
            "--layer",
            name,
            "--input",
            str(tmp_path / "x.npy"),
            "--save",
            str(pt),
            "--json",
        ],
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    data = json.loads(proc.stdout)["data"]
    assert data["keras"]["input"]["shape"] == [3, 9, 5] and data["keras"]["input"]["source"].endswith("x.npy")
    assert data["keras"]["calls"][0].startswith(
        f'keras.layers.GRU(8, dropout=0.2, recurrent_dropout=0.2, name="{name}")'
    )
    _, h_n = torch_run(torch.nn.GRU(5, 8, batch_first=True), pt, x)
    ours = dense(model.layers[2], dense(model.layers[1], h_n[-1].numpy(), "relu"))
    assert np.abs(ours - model.predict(x, verbose=0)).max() <= TOLERANCE


def test_go_backwards_and_use_bias_false_read_from_the_layer(tmp_path):
    k = keras()
    inputs = k.Input(shape=(6, 3))
    h = k.layers.LSTM(4, use_bias=False, go_backwards=True, return_sequences=True, name="back")(inputs)
    model = k.Model(inputs, k.layers.RNN(k.layers.GRUCell(2), return_state=True, name="head")(h))
    path = tmp_path / "back.keras"
    model.save(path)
    x = np.random.default_rng(4).normal(size=(2, 6, 3)).astype(np.float32)
    result, pt = port_layer(path, "back", tmp_path, x)
    assert result.torch_call == "torch.nn.LSTM(input_size=3, hidden_size=4, bias=False, batch_first=True)"
    assert result.data["torch"]["input"] == "x.flip(1)"
    output, _ = torch_run(torch.nn.LSTM(3, 4, bias=False, batch_first=True), pt, x[:, ::-1].copy())
    keras_sequence = model.get_layer("back")(x).numpy()
    assert np.abs(output.numpy() - keras_sequence).max() <= TOLERANCE
    # keras.layers.RNN around one GRUCell is ported as the GRU it computes
    head, _ = port_layer(path, "head", tmp_path)
    assert head.torch_call == "torch.nn.GRU(input_size=4, hidden_size=2, batch_first=True)"
    assert head.data["keras"]["calls"][0].startswith("keras.layers.RNN(keras.layers.GRUCell(2), return_state=True")
    with pytest.raises(UsageError, match="layer 'back' of back.keras has use_bias=False"):
        rnnshape.port("back", to="torch", model=str(path), use_bias=True)


REFUSED = [
    # https://github.com/AA0001BP/PSTP/blob/main/2-LSTM-code.py
    (
        "pstp",
        lambda k: [
            k.Input(shape=(60, 1)),
            k.layers.LSTM(units=50, activation="relu", return_sequences=True),
            k.layers.Dropout(0.2),
            k.layers.LSTM(units=120, activation="relu"),
            k.layers.Dense(1),
        ],
        0,
        "has activation='relu': torch.nn.LSTM has only tanh",
    ),
    # https://github.com/bekerov/Stock-prediction-lstm/blob/master/src/model.py
    (
        "stock",
        lambda k: [
            k.Input(shape=(12, 1)),
            k.layers.LSTM(30, return_sequences=True, recurrent_activation="tanh"),
            k.layers.Dense(1),
        ],
        0,
        "has recurrent_activation='tanh': torch.nn.LSTM computes its gates with sigmoid only",
    ),
    # https://github.com/kootenpv/neural_complete/blob/master/backend/data/stephenhky/RNNQFin1/blob/c495235ac02e0724f2c9754559355a3d88372e13/QFinRNNModels.py
    # Keras 1's LSTM(128, dropout_W=0.2, dropout_U=0.2): its inner_activation defaulted to hard_sigmoid
    (
        "qfin",
        lambda k: [
            k.Input(shape=(20, 4)),
            k.layers.LSTM(128, dropout=0.2, recurrent_dropout=0.2, recurrent_activation="hard_sigmoid"),
            k.layers.Dense(1),
            k.layers.Activation("sigmoid"),
        ],
        0,
        "has recurrent_activation='hard_sigmoid'",
    ),
    # https://github.com/hanglearning/BFRT/blob/master/build_gru.py (keras.layers.recurrent: Keras 2.2,
    # whose GRU defaulted to reset_after=False)
    (
        "bfrt",
        lambda k: [
            k.Input(shape=(12, 1)),
            k.layers.GRU(64, return_sequences=True, reset_after=False),
            k.layers.GRU(64, reset_after=False),
            k.layers.Dropout(0.2),
            k.layers.Dense(1, activation="sigmoid"),
        ],
        1,
        "has reset_after=False: torch.nn.GRU applies the reset gate after the recurrent matmul",
    ),
    # https://github.com/KrisCheng/Deep4Cli/blob/master/ENSO/grid_pattern/sequence_model/ConvLSTM2D.py
    (
        "enso",
        lambda k: [
            k.Input(shape=(None, 10, 50, 1)),
            k.layers.ConvLSTM2D(filters=6, kernel_size=(3, 3), padding="same", return_sequences=True),
            k.layers.BatchNormalization(),
            k.layers.Conv3D(filters=1, kernel_size=(3, 3, 3), activation="relu", padding="same"),
        ],
        0,
        "is a ConvLSTM2D: its gates are convolutions over a feature map; torch.nn has no convolutional LSTM",
    ),
    # https://github.com/melisaaltinyelek/IANNwTF_Project/blob/main/LSTM_example.py
    (
        "stateful",
        lambda k: [k.Input(batch_shape=(1, 3, 1)), k.layers.LSTM(10, stateful=True), k.layers.Dense(1)],
        0,
        "has stateful=True: torch.nn.LSTM keeps no state between calls",
    ),
]


def test_what_torch_nn_cannot_compute_is_refused_from_the_file_before_tensorflow(tmp_path):
    """One fresh process runs every refusal: exit 2, one line naming the layer's own setting, and
    neither TensorFlow nor torch imported (the saved config decides)."""
    k = keras()
    commands, expected = [], []
    for name, build, index, words in REFUSED:
        layers = build(k)
        model = k.Sequential(layers)
        path = tmp_path / f"{name}.keras"
        model.save(path)
        layer = model.layers[index]
        commands.append(["port", "--to", "torch", "--model", str(path), "--layer", layer.name])
        expected.append(f"Invalid value for --layer: layer {layer.name!r} {words}")
    script = (
        "import json, sys\nfrom rnnshape.cli import cli\n"
        f"codes = [cli.main(args, standalone_mode=False) for args in {commands!r}]\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'torch') if m in sys.modules]\n"
        "print('REPORT:' + json.dumps({'codes': codes, 'heavy': heavy}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    report = json.loads(proc.stdout.strip().splitlines()[-1].removeprefix("REPORT:"))
    assert report == {"codes": [2] * len(REFUSED), "heavy": []}, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == len(REFUSED) and "Traceback" not in proc.stderr
    for line, words in zip(lines, expected):
        assert words in line, (line, words)
        assert "--stateful" not in line and "--activation" not in line  # no option the user never passed


def test_state_dicts_read_without_num_layers_or_bidirectional(invoke, tmp_path):
    torch.manual_seed(0)
    stack = torch.nn.LSTM(3, 5, num_layers=2, batch_first=True)
    both = torch.nn.GRU(4, 3, bidirectional=True, bias=False, batch_first=True)
    torch.save(stack.state_dict(), tmp_path / "stack.pt")
    torch.save(both.state_dict(), tmp_path / "both.pt")
    result = rnnshape.port(from_torch=str(tmp_path / "stack.pt"), return_sequences=True, batch=2)
    assert result.ok and result.data["config"]["num_layers"] == 2 and result.data["config"]["layer"] == "lstm"
    assert max(result.differences.values()) <= TOLERANCE
    x = result.data["keras"]["input"]
    result = rnnshape.port(from_torch=str(tmp_path / "both.pt"), return_sequences=True, return_state=True)
    config = result.data["config"]
    assert result.ok and config["bidirectional"] and config["use_bias"] is False and config["layer"] == "gru"
    assert (
        result.torch_call
        == "torch.nn.GRU(input_size=4, hidden_size=3, bias=False, batch_first=True, bidirectional=True)"
    )
    assert max(result.differences.values()) <= TOLERANCE and x["shape"] == [2, 3, 3]
    # a contradiction between an option and the file is refused, naming both
    cli = invoke(["port", "--from", "torch", str(tmp_path / "stack.pt"), "--num-layers", "1"])
    assert cli.exit_code == 2
    assert "--num-layers: 1 contradicts stack.pt, whose state_dict holds 2 layers" in cli.stderr
    cli = invoke(["port", "--from", "torch", str(tmp_path / "both.pt"), "--no-bidirectional"])
    assert cli.exit_code == 2 and "--no-bidirectional" in cli.stderr and "both directions" in cli.stderr
    cli = invoke(["port", "--from", "torch", str(tmp_path / "both.pt"), "--layer", "lstm"])
    assert cli.exit_code == 2 and "a torch.nn.GRU state_dict" in cli.stderr and "--layer gru" in cli.stderr
