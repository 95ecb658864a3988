"""The records a result holds, typed: what ``result.outputs``, ``result.checks``, ``result.cases``,
``result.fixes``, ``result.layers`` ... return, key by key, as the ``--json`` document carries them.

They are TypedDicts: plain dicts at run time (``result.to_dict()`` and the JSON are unchanged),
typed for an editor and a type checker. ``tests/test_records.py`` checks every key against the
JSON golden corpus and live results, so these declarations cannot fall behind the output.
"""

from __future__ import annotations

from typing import Any, TypedDict


class Check(TypedDict):
    """One measured claim: ``holds`` when ``max_abs_diff`` is within the tolerance of ``kind``."""

    claim: str
    holds: bool
    max_abs_diff: float | None
    kind: str  # "equal", "differ", ...


class _OutputTensor(TypedDict):
    name: str  # output, state_h, state_c, forward_state_h, ...
    shape: list[int]
    axes: list[str]  # ["batch", "units"], ...
    dtype: str
    meaning: str


class OutputTensor(_OutputTensor, total=False):
    """One tensor a layer returns, in Keras' order."""

    values: Any  # nested lists, with values=True


class Weight(TypedDict):
    name: str  # kernel, recurrent_kernel, bias
    shape: list[int]


class _Params(TypedDict):
    total: int
    formula: str
    weights: list[Weight]


class Params(_Params, total=False):
    """The layer's parameter count, its formula and each weight's shape."""

    keras_count_params: int  # Keras' own count_params(), when a layer was built


class CheckCase(TypedDict):
    """One case of a check file: its expectations and what was found."""

    index: int
    name: str
    keras_call: str
    config: dict[str, Any]
    expectations: dict[str, Any]
    outputs: list[dict[str, Any]]
    passed: bool
    problems: list[str]


class CheckSummary(TypedDict):
    cases: int
    passed: int
    failed: int


class FixBuild(TypedDict, total=False):
    """A fix built (by rnnshape's rules, or by Keras with ``keras=True``) and what it gave."""

    static: bool
    compatible: bool
    exit_code: int
    input_shape: list[Any]
    input_axes: list[str]
    output_shape: list[Any]
    output_axes: list[str]
    layers: list[dict[str, Any]]
    checks_hold: bool


class WhyFix(TypedDict, total=False):
    """One fix of a recognised error: the cause it answers, the code, and its build."""

    cause: str
    title: str
    code: str
    tokens: list[str]
    command: str
    built: FixBuild
    assumed: Any
    batch: int | None
    timesteps: int | None
    features: int | None
    note: str | None


class WhyCause(TypedDict):
    id: str
    rank: int
    cause: str


class RecurrentDetails(TypedDict):
    """A recurrent layer of a user's model: its kind, flags, config and what it returns."""

    kind: str
    bidirectional: bool
    merge_mode: str | None
    config: dict[str, Any]
    flags: dict[str, Any]
    initial_state: bool
    returns: list[dict[str, Any]]


# "class" is a Python keyword: that key is declared in the functional form
_LayerClass = TypedDict("_LayerClass", {"class": str})


class _ModelLayer(_LayerClass):
    index: int
    path: str  # "encoder/lstm" inside a nested model
    name: str
    depth: int
    container: bool
    input_shapes: list[list[Any]]
    output_shapes: list[list[Any]]
    params: int
    config: dict[str, Any]
    consumers: list[list[str]]
    mask_in: bool
    mask_out: bool
    calls: int
    recurrent: RecurrentDetails | None


class ModelLayer(_ModelLayer, total=False):
    """One layer of a user's model, in order; ``class`` is its Keras class."""

    inner_class: str  # the wrapped layer of Bidirectional / TimeDistributed


class ModelDiagnosis(TypedDict):
    kind: str
    severity: str
    layer: str | None
    text: str
    fix: str | None
    basis: str


class StackLayer(TypedDict):
    """One layer of a stack: its token, Keras call, shapes and status."""

    index: int
    spec: str
    keras_call: str
    input_shape: list[Any]
    input_axes: list[str]
    output_shape: list[Any]
    output_axes: list[str]
    params: int | None
    param_formula: str | None
    status: str
