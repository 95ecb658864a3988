"""The one module that imports PyTorch, always inside its functions: torch.nn.LSTM/GRU/RNN
built with given weights and run on given input, state_dicts to and from bytes (loaded with
weights_only=True: a file's pickled code is never run). Plain numpy arrays in and out."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnshape.errors import BackendError, UsageError
from rnnshape.rules.port import TORCH_CLASS

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
        raise BackendError(
            f"PyTorch is not installed or failed to import ({type(exc).__name__}: "
            f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}): {INSTALL}"
        ) from exc
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    _torch = torch
    return torch


@dataclass
class TorchRun:
    outputs: dict[str, np.ndarray]  # output, h_n (and c_n)
    version: str


def run(layer: str, constructor: dict[str, Any], state: dict[str, np.ndarray], x: np.ndarray) -> TorchRun:
    """torch.nn.<LSTM|GRU|RNN>(**constructor) with ``state`` loaded (strict), run on ``x`` in float32."""
    torch = load_torch()
    try:
        module = getattr(torch.nn, TORCH_CLASS[layer])(**constructor)
        module.load_state_dict(
            {k: torch.from_numpy(np.ascontiguousarray(v, np.float32)) for k, v in state.items()}, strict=True
        )
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
        raise BackendError(
            f"PyTorch failed running torch.nn.{TORCH_CLASS[layer]}: {type(exc).__name__}: "
            f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        ) from exc


def state_dict_bytes(state: dict[str, np.ndarray]) -> bytes:
    """The bytes of torch.save(state_dict) (tensors only: loadable with weights_only=True)."""
    torch = load_torch()
    buffer = io.BytesIO()
    torch.save({k: torch.from_numpy(np.ascontiguousarray(v, np.float32)) for k, v in state.items()}, buffer)
    return buffer.getvalue()


# torch.save's format before torch 1.6 (_use_new_zipfile_serialization=False): a pickled magic number
LEGACY_TORCH_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19"


def read_state_dict(raw: bytes, name: str) -> dict[str, np.ndarray]:
    """A state_dict from torch.save bytes, loaded with weights_only=True (tensors, no code), its
    values checked: dense real tensors with values (not sparse, meta, quantized or complex), every
    value finite and within float32 (NaN, infinities and 1e300 are named, exit 2). torch's own
    warnings (a raw pickle, a legacy file) do not reach the terminal: rnnshape says one line."""
    import warnings

    torch = load_torch()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded = torch.load(io.BytesIO(raw), weights_only=True, map_location="cpu")
    except Exception as exc:
        if not raw.startswith(b"PK") and not raw.startswith(LEGACY_TORCH_MAGIC):
            raise UsageError(
                f"Invalid value for --from: {name} is not a torch.save file (a raw pickle?): "
                "torch.load(weights_only=True) refuses it and rnnshape never unpickles code; save it "
                "with torch.save(module.state_dict(), PATH)"
            ) from exc
        raise UsageError(
            f"Invalid value for --from: {name}: torch.load(weights_only=True) refuses it "
            f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]})"
        ) from exc
    if not isinstance(loaded, dict) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise UsageError(
            f"Invalid value for --from: {name} does not hold a state_dict (a mapping of names to "
            "tensors), as module.state_dict() saved with torch.save gives"
        )
    return {str(k): _tensor_values(torch, v, name, str(k)) for k, v in loaded.items()}


def _tensor_values(torch: Any, tensor: Any, name: str, key: str) -> np.ndarray:
    """One tensor of a state_dict as float32 numbers, or a UsageError saying what it is."""
    from rnnshape.files import FLOAT32_MAX

    def refuse(problem: str) -> UsageError:
        return UsageError(
            f"Invalid value for --from: {name}: the tensor {key!r} is {problem}; a state_dict of "
            "dense real tensors is needed, as module.state_dict() of torch.nn.LSTM/GRU/RNN gives"
        )

    if tensor.layout != torch.strided:
        raise refuse(
            f"sparse (layout {str(tensor.layout).removeprefix('torch.')}): call .to_dense() on it before torch.save"
        )
    if tensor.is_meta or tensor.device.type == "meta":
        raise refuse("a meta tensor: a shape without values (the module was built on the meta device)")
    if tensor.is_quantized:
        raise refuse(f"quantized ({tensor.dtype}): save the float module's state_dict")
    if tensor.is_complex():
        raise refuse(
            f"complex ({str(tensor.dtype).removeprefix('torch.')}): Keras' weights are real numbers, and "
            "dropping the imaginary part would port other weights"
        )
    values = tensor.detach().to(torch.float64).numpy()
    bad = ~np.isfinite(values)
    if bad.any():
        nan, inf = int(np.isnan(values).sum()), int(np.isinf(values).sum())
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        words = " and ".join(w for w in (f"{nan} NaN" if nan else "", f"{inf} infinite" if inf else "") if w)
        raise UsageError(
            f"Invalid value for --from: {name}: the tensor {key!r} holds {words} value(s) (the first at "
            f"index {first}); the port needs finite weights (a training run that diverged?)"
        )
    largest = float(np.abs(values).max()) if values.size else 0.0
    if largest > FLOAT32_MAX:
        raise UsageError(
            f"Invalid value for --from: {name}: the tensor {key!r} holds {largest:.6g}, beyond the "
            "largest float32 value 3.4028235e+38 (it would become infinite in the float32 Keras runs)"
        )
    return values.astype(np.float32)
