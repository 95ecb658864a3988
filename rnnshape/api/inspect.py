"""rnnshape.inspect(): one recurrent layer built, run and explained."""

from __future__ import annotations

from typing import Any

from rnnshape.api._common import documented, make_layer_spec, on_backend, run_modes, spec_options, tensorflow_backend
from rnnshape.errors import ExpectationFailed, RnnshapeError, UsageError
from rnnshape.results import InspectResult, ViewOptions
from rnnshape.rules.cost import DEFAULT_MAX_MEMORY_MB, DEFAULT_MAX_SECONDS
from rnnshape.rules.expectations import compare_shapes, parse_expect
from rnnshape.rules.limits import Limits, check_size, run_passes
from rnnshape.rules.words import shape_text


@documented()
def inspect(
    layer: str = "lstm",
    units: int | None = None,
    timesteps: int | None = None,
    features: int | None = None,
    batch: int | None = None,
    *,
    return_sequences: bool = False,
    return_state: bool = False,
    stateful: bool = False,
    go_backwards: bool = False,
    bidirectional: bool = False,
    merge_mode: str | None = None,
    reset_after: bool | None = None,
    activation: str | None = None,
    recurrent_activation: str | None = None,
    use_bias: bool | None = None,
    unit_forget_bias: bool | None = None,
    dropout: float | None = None,
    recurrent_dropout: float | None = None,
    training: bool | None = None,
    unroll: bool | None = None,
    initial_state: Any = None,
    seed: int = 0,
    lengths: Any = None,
    kernel_init: Any = None,
    recurrent_init: Any = None,
    bias_init: Any = None,
    input_data: Any = "random",
    use_cudnn: str | None = None,
    filters: int | None = None,
    kernel_size: Any = None,
    strides: Any = None,
    padding: str | None = None,
    depth: int | None = None,
    rows: int | None = None,
    cols: int | None = None,
    channels: int | None = None,
    cells: Any = None,
    values: bool = False,
    static: bool = False,
    expect: Any = (),
    max_memory: int = DEFAULT_MAX_MEMORY_MB,
    max_seconds: int = DEFAULT_MAX_SECONDS,
    diagram: bool = False,
    ascii_only: bool = False,
    backend: str | None = None,
) -> InspectResult:
    """Build one recurrent layer, run a deterministic input through it, and explain every output.

    The options are those of ``rnnshape inspect`` with underscores. ``expect`` holds shapes to
    assert, as {"output": (1, 6)} or ["output=1,6"]; a failed one is in ``result.errors`` and
    makes ``result.ok`` False. ``static=True`` answers from the pure model without TensorFlow.
    ConvLSTM1D/2D/3D (``layer="convlstm2d"``) take ``filters``, ``kernel_size``, ``strides``,
    ``padding``, ``rows`` (and ``cols``, ``depth``) and ``channels`` instead of units and features;
    ``layer="rnn"`` takes ``cells`` ("lstm:4,gru:3": keras.layers.RNN with that list of cells).
    ``backend``: "tensorflow", "jax" or "torch": Keras' backend for the run (jax and torch in a
    child process, with the same weights and input); ``data["backend"]`` names it and its version.
    """
    arguments = dict(locals())  # the options as given (spec_options picks the layer's)
    spec = make_layer_spec(**spec_options(arguments))
    expectations = [parse_expect(text) for text in _expect_texts(expect)]
    from rnnshape.rules.catalogue import canonical_backend

    backend = canonical_backend(backend)
    if static and backend is not None:
        raise UsageError("Invalid value for --backend: a backend runs the layer; drop --static")
    if static and values:
        raise UsageError("Invalid value for --values: values need a real run; drop --static")
    if diagram and spec.cells is not None:
        raise UsageError(
            "Invalid value for --diagram: the unrolled picture draws one cell per step; --layer rnn "
            "(a list of cells) is not drawn: drop --diagram"
        )
    limits = Limits(max_memory, max_seconds)
    from rnnshape.measure.inspect import expectations_data, layer_data

    if static:  # --static builds nothing: any size can be answered
        data = layer_data(spec, None)
    else:
        check_size(spec, limits, passes=run_passes(spec), values=spec.value_count() if values else 0)
        if backend in (None, "tensorflow"):
            from rnnshape.runner import layer as layer_runner
            from rnnshape.runner import session as session_runner

            mode, run = run_modes([(spec, run_passes(spec))], spec.keras_call())
            with session_runner.mode(mode):
                result = layer_runner.run(spec)
            data = layer_data(spec, result, values=values)
            data["run"] = run
        else:
            runs, ran, run = on_backend(
                backend,
                [(spec, run_passes(spec))],
                limits,
                f"{spec.keras_call()} on input {spec.input_shape}",
                "layer.run_many",
                [spec],
            )
            data = layer_data(spec, runs[0], values=values)
            data["run"] = run
        if backend is not None:
            data["backend"] = ran if backend != "tensorflow" else tensorflow_backend()
    errors: list[RnnshapeError] = []
    if expectations:
        actual = {out["name"]: tuple(out["shape"]) for out in data["outputs"]}
        comparisons = compare_shapes(spec, actual, expectations)
        data["expectations"] = expectations_data(comparisons)
        for c in comparisons:
            if not c.holds:
                got = shape_text(c.actual) if c.actual is not None else f"no such output ({c.hint})"
                errors.append(ExpectationFailed(f"expected {c.name} {shape_text(c.expected)}, got {got}"))
    return InspectResult(data, errors, ViewOptions(values=values, diagram=diagram, ascii_only=ascii_only), spec=spec)


def _expect_texts(expect: Any) -> list[str]:
    """--expect NAME=D1,D2 texts, from those texts or from a {name: shape} mapping."""
    if isinstance(expect, str):
        return [expect]
    if isinstance(expect, dict):
        return [f"{name}={','.join(str(d) for d in shape)}" for name, shape in expect.items()]
    return list(expect or ())
