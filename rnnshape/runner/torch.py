"""The one module that imports PyTorch, always inside its functions: torch.nn.LSTM/GRU/RNN
built with given weights and run on given input, state_dicts to and from bytes (loaded with
weights_only=True: a file's pickled code is never run). Plain numpy arrays in and out."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnshape.errors import BackendError, UsageError

INSTALL = 'pip install "rnnshape[torch]"  (or: pip install torch)'
_torch: Any = None


def load_torch() -> Any:
    """Import torch once per process; a missing torch is a BackendError naming the install."""
    global _torch
    if _torch is not None:
        return _torch
    try:
        import torch
    except Exception as exc:  # ImportError, or a broken install raising anything
        raise BackendError(f"PyTorch is not installed or failed to import ({type(exc).__name__}: "
                           f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}): {INSTALL}") from exc
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    _torch = torch
    return torch


@dataclass
class TorchRun:
    outputs: dict[str, np.ndarray]  # output, h_n (and c_n)
    version: str


MODULES = {"lstm": "LSTM", "gru": "GRU", "simplernn": "RNN"}


def run(layer: str, constructor: dict[str, Any], state: dict[str, np.ndarray], x: np.ndarray) -> TorchRun:
    """torch.nn.<LSTM|GRU|RNN>(**constructor) with ``state`` loaded (strict), run on ``x`` in float32."""
    torch = load_torch()
    try:
        module = getattr(torch.nn, MODULES[layer])(**constructor)
        module.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v, np.float32)) for k, v in state.items()},
                               strict=True)
        module.eval()
        with torch.no_grad():
            output, hidden = module(torch.from_numpy(np.ascontiguousarray(x, np.float32)))
        outputs = {"output": output.numpy()}
        if layer == "lstm":
            outputs["h_n"], outputs["c_n"] = hidden[0].numpy(), hidden[1].numpy()
        else:
            outputs["h_n"] = hidden.numpy()
        return TorchRun(outputs, torch.__version__)
    except Exception as exc:
        raise BackendError(f"PyTorch failed running torch.nn.{MODULES[layer]}: {type(exc).__name__}: "
                           f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}") from exc


def state_dict_bytes(state: dict[str, np.ndarray]) -> bytes:
    """The bytes of torch.save(state_dict) (tensors only: loadable with weights_only=True)."""
    torch = load_torch()
    buffer = io.BytesIO()
    torch.save({k: torch.from_numpy(np.ascontiguousarray(v, np.float32)) for k, v in state.items()}, buffer)
    return buffer.getvalue()


def read_state_dict(raw: bytes, name: str) -> dict[str, np.ndarray]:
    """A state_dict from torch.save bytes, loaded with weights_only=True (tensors, no code)."""
    torch = load_torch()
    try:
        loaded = torch.load(io.BytesIO(raw), weights_only=True, map_location="cpu")
    except Exception as exc:
        raise UsageError(f"Invalid value for --from: {name}: torch.load(weights_only=True) refuses it "
                         f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]})") from exc
    if not isinstance(loaded, dict) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise UsageError(f"Invalid value for --from: {name} does not hold a state_dict (a mapping of names to "
                         "tensors), as module.state_dict() saved with torch.save gives")
    return {str(k): v.detach().to(torch.float32).numpy() for k, v in loaded.items()}
