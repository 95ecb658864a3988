"""rnnshape.stateful(): one sequence cut into consecutive batches of a stateful layer."""

from __future__ import annotations

from typing import Any

from rnnshape.api._common import documented, make_layer_spec, on_backend, run_modes, spec_options, tensorflow_backend
from rnnshape.errors import UsageError
from rnnshape.results import StatefulResult, ViewOptions
from rnnshape.rules import stateful as chunking
from rnnshape.rules.catalogue import CONV_LAYERS, KERAS_CLASS, canonical_layer
from rnnshape.rules.cost import DEFAULT_MAX_MEMORY_MB, DEFAULT_MAX_SECONDS
from rnnshape.rules.limits import Limits, check_size
from rnnshape.versions import versions

STATEFUL_PASSES = 5  # the chunks, the last chunk again and fresh, one whole pass, readers, a shuffled batch


@documented(
    split="chunk lengths along time, adding up to timesteps, e.g. '2,4' (None: two halves)",
    fit="train for this many model.fit epochs on consecutive chunks, reading the states at every batch (None: no training)",
    shuffle="with fit: model.fit(shuffle=True), to show rows continuing the wrong sample",
    reset="with fit: reset_state() at each epoch's start",
    windows="feed create_dataset's overlapping windows of this look_back to the stateful layer in order (None: not)",
    save_load="save a stateful model after the first chunks, load it, and measure what came back",
)
def stateful(
    layer: str = "lstm",
    units: int | None = None,
    timesteps: int | None = None,
    features: int | None = None,
    batch: int | None = None,
    *,
    split: str | None = None,
    return_sequences: bool = False,
    return_state: bool = False,
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
    max_memory: int = DEFAULT_MAX_MEMORY_MB,
    max_seconds: int = DEFAULT_MAX_SECONDS,
    diagram: bool = False,
    ascii_only: bool = False,
    backend: str | None = None,
    fit: int | None = None,
    shuffle: bool = False,
    reset: bool = True,
    windows: int | None = None,
    save_load: bool = False,
) -> StatefulResult:
    """The inspect layer built with stateful=True and fed the chunks of ``split`` ("2,4": chunk
    lengths along time; default two halves) as consecutive batches, its states measured.
    ``backend``: "tensorflow", "jax" or "torch": the Keras backend measured (jax and torch in a
    child process, same weights and input); ``data["backend"]`` names it and its version.

    The tutorials' loops (one at a time; ``data["loop"]`` names it): ``fit=EPOCHS`` trains the
    layer with a Dense head by model.fit on the series cut into consecutive chunks (``shuffle``,
    ``reset=False`` show what goes wrong); ``windows=LOOK_BACK`` feeds the overlapping windows of
    create_dataset to the stateful layer; ``save_load=True`` saves and loads a stateful model."""
    arguments = dict(locals())  # the options as given (spec_options picks the layer's)
    from rnnshape.rules.catalogue import canonical_backend
    from rnnshape.rules.stateful_loops import chosen_loop

    backend = canonical_backend(backend)
    loop = chosen_loop(fit, windows, save_load, shuffle, not reset)
    if loop is not None:
        if canonical_layer(layer) in (*CONV_LAYERS, "rnn"):
            raise UsageError(
                f"Invalid value for --layer: the stateful loops run LSTM, GRU and SimpleRNN layers, not "
                f"{KERAS_CLASS[canonical_layer(layer)]}"
            )
        if lengths is not None:
            raise UsageError("Invalid value for --lengths: the stateful loops feed whole sequences without a mask")
        from rnnshape.api.stateful_loops import run_loop

        return run_loop(
            loop,
            spec_options(arguments, stateful=True),
            fit=fit,
            windows=windows,
            shuffle=shuffle,
            reset=reset,
            split=split,
            max_memory=max_memory,
            max_seconds=max_seconds,
            diagram=diagram,
            ascii_only=ascii_only,
            backend=backend,
        )
    if canonical_layer(layer) in (*CONV_LAYERS, "rnn"):
        raise UsageError(
            f"Invalid value for --layer: stateful chunks LSTM, GRU and SimpleRNN layers, not "
            f"{KERAS_CLASS[canonical_layer(layer)]}; see its outputs and states with rnnshape inspect"
        )
    if lengths is not None:
        raise UsageError(
            "Invalid value for --lengths: stateful feeds whole sequences without a mask; "
            "see padding under a mask with rnnshape inspect --lengths"
        )
    spec = make_layer_spec(**spec_options(arguments, stateful=True))
    if spec.training and (spec.dropout or spec.recurrent_dropout):
        raise UsageError(
            "Invalid value for --training: with dropout every call draws new dropout masks, so the "
            "chunks cannot equal one pass; stateful measures inference (drop --training)"
        )
    chunks = chunking.parse_split(split, spec.timesteps)
    limits = Limits(max_memory, max_seconds, static=False)
    check_size(spec, limits, passes=STATEFUL_PASSES, values=chunking.value_count(spec, chunks))
    from rnnshape.measure import stateful as measured
    from rnnshape.runner import session as session_runner
    from rnnshape.runner import stateful as stateful_runner

    bounds = chunking.chunk_bounds(chunks)
    dirs = chunking.directions(spec)
    orders = None
    if len(bounds) > 1 and any(d.reversed for d in dirs):
        orders = [chunking.read_order(bounds, d.reversed) for d in dirs]
    run_args = (spec, bounds, orders, chunking.shuffle_rows(spec.batch), chunking.input_batch_shape(spec, chunks))
    if backend in (None, "tensorflow"):
        mode, mode_data = run_modes([(spec, STATEFUL_PASSES)], spec.keras_call())
        with session_runner.mode(mode):
            run = stateful_runner.run_stateful(*run_args)
        ran = tensorflow_backend() if backend else None
    else:
        run, ran, mode_data = on_backend(
            backend,
            [(spec, STATEFUL_PASSES)],
            limits,
            f"{spec.keras_call()} on input {spec.input_shape}",
            "stateful.run_stateful",
            *run_args,
        )
    data = measured.stateful_data(spec, chunks, split is not None, run, versions())
    data["run"] = mode_data
    if ran is not None:
        data["backend"] = ran
    return StatefulResult(
        data,
        [],
        ViewOptions(diagram=diagram, ascii_only=ascii_only),
        spec=spec,
        picture_facts=measured.picture_facts(data) if diagram else {},
    )
