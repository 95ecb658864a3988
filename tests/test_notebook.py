"""rnnshape.explain in a real Jupyter notebook, executed headless (nbclient, ipykernel): the
result displays itself (rich's JupyterMixin) and the displayed output holds the layer table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

# every test here runs Keras: the slow tier (the fast tier is pytest -m "not slow")
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent

CELLS = [
    f"import sys\nsys.path.insert(0, {str(ROOT)!r})  # this checkout's rnnshape",
    "import os\nos.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'\nimport numpy as np\nimport keras\nimport rnnshape",
    "inp = keras.Input((4, 2))\n"
    "h = keras.layers.LSTM(3, return_sequences=True, name='encoder_lstm')(inp)\n"
    "model = keras.Model(inp, keras.layers.Dense(1, name='head')(h))\n"
    "x = np.random.default_rng(0).uniform(-1, 1, (2, 4, 2)).astype('float32')",
    "rnnshape.explain(model, x)",
]


def test_explain_displays_in_a_notebook(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in CELLS])
    client = nbclient.NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    outputs = notebook.cells[-1].outputs
    assert outputs and outputs[0]["output_type"] == "execute_result"
    data = outputs[0]["data"]
    text = re.sub(r"\x1b\[[0-9;]*m", "", data.get("text/plain", ""))
    assert "Layers, in order" in text
    assert "encoder_lstm" in text and "(batch, 4, 3)" in text and "head" in text
    assert "Diagnoses" in text and "(rule of Keras)" in text
    assert "encoder_lstm" in data.get("text/html", "")
