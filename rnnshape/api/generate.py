"""rnnshape.generate(): a stateful layer warmed up on a known part, then generating one step per
call, each output fed back as the next input; measured against the loops that must equal it
and the mistakes that change it."""

from __future__ import annotations

import dataclasses
from typing import Any

from rnnshape.api._common import documented, make_layer_spec, on_backend, spec_options, tensorflow_backend
from rnnshape.results import GenerateResult, ViewOptions
from rnnshape.rules import generate as rules
from rnnshape.rules.catalogue import canonical_backend
from rnnshape.rules.cost import DEFAULT_MAX_MEMORY_MB, DEFAULT_MAX_SECONDS
from rnnshape.rules.limits import Limits, check_time, memory_guard
from rnnshape.versions import versions


@documented(
    steps="steps generated one call at a time, each call fed the previous call's output",
    head="add keras.layers.Dense(features) after the layer (units may then differ from features)",
)
def generate(
    layer: str = "lstm",
    units: int | None = None,
    timesteps: int | None = None,
    features: int | None = None,
    batch: int | None = None,
    *,
    steps: int = rules.DEFAULT_STEPS,
    head: bool = False,
    return_sequences: bool = True,
    return_state: bool = False,
    stateful: bool = True,
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
    values: bool = False,
    diagram: bool = False,
    ascii_only: bool = False,
    backend: str | None = None,
) -> GenerateResult:
    """Generation by a stateful loop (``rnnshape generate``), measured.

    The layer ``keras.layers.<LAYER>(units, stateful=True, return_sequences=True)`` on
    ``keras.Input(batch_shape=(batch, None, features))`` reads the known part (``timesteps``
    steps) in one call, then is called ``steps`` times on one step, each call fed the previous
    call's last output; ``reset_state()`` before and after. Weights and known part are those of
    ``rnnshape.inspect`` with the same options and seed.

    Parameters:
        layer: "lstm", "gru" or "simplernn" (case-insensitive; simple_rnn accepted).
        units: size of h (and c); default ``features`` without a head (the output is fed back as the
            next input, so it must have the input's size), 4 with ``head``.
        timesteps: K, the known steps read before generating (the warm-up) [default 3, or from the file].
        features: features per step [default 2, or from the ``input`` file].
        batch: samples generated side by side [default 1, or from the ``input`` file].
        steps: N, the steps generated one call at a time, 1..100000 [default 5].
        head: add ``keras.layers.Dense(features)`` after the layer, so ``units`` may differ from ``features``.
        return_sequences: always True for the loop (False is refused).
        return_state: refused when True (the loop reads the states from the layer's variables).
        stateful: accepted and ignored: the loop's layer is always stateful.
        go_backwards, bidirectional, merge_mode: refused when set (generation runs forward layers).
        reset_after: GRU only: Keras' reset_after.
        activation: activation of the candidate and of h [default tanh].
        recurrent_activation: LSTM/GRU only: activation of the gates [default sigmoid].
        use_bias: give the cell a bias [default True].
        unit_forget_bias: LSTM only: start the forget gate's bias at 1 (seen with ``bias_init``).
        dropout, recurrent_dropout: fractions 0 <= F < 1; act only with ``training`` (refused with it).
        training: call with training=True (refused with dropout: every call would draw new masks).
        unroll: refused (the model declares None timesteps).
        initial_state: refused (the loop starts from reset_state(), zeros).
        seed: the seed of the deterministic weights (layer and head) and input.
        lengths: refused (no mask in generation).
        kernel_init, recurrent_init, bias_init: a number (Constant) or a Keras initializer name,
            as in inspect [default: rnnshape's seeded weights].
        input_data: the known part: "random", "arange", "ones", "zeros", or a .npy/.csv file of shape
            (batch, K, features) (it fixes batch, timesteps and features).
        max_memory: refuse a run estimated to need more MiB than this.
        max_seconds: refuse a run estimated to take longer than this.
        values: also put every value in ``data`` (known part, warm-up output, every generated
            step and its input, the states, the mistaken loops' steps).
        diagram: draw the calls, the known part and each generated step fed back.
        ascii_only: draw with ASCII characters only.
        backend: "tensorflow", "jax" or "torch": the Keras backend measured (jax and torch in a
            child process, same weights and input); ``data["backend"]`` names it.

    Returns a GenerateResult whose ``to_dict()`` is the ``data`` of ``rnnshape generate --json``.
    Raises UsageError (exit 2) for options the loop cannot run, BackendError (exit 3) when Keras fails.
    """
    arguments = dict(locals())
    from rnnshape.errors import UsageError

    backend = canonical_backend(backend)
    steps = rules.check_steps(steps)
    if not return_sequences:
        raise UsageError(
            "Invalid value for --no-return-sequences: the loop feeds back the last step of the "
            "output sequence, so the layer returns sequences"
        )
    rules.check_layer(layer)
    fixed = {"stateful": True, "return_sequences": True, "units": units if units is not None else 4}
    spec = make_layer_spec(**spec_options(arguments, **fixed))
    if units is None and not head:
        spec = dataclasses.replace(spec, units=spec.features)
    rules.check_options(spec)
    spec = rules.generating_spec(spec)
    limits = Limits(max_memory, max_seconds, sizes="--steps/--timesteps/--units/--batch", static=False)
    what = f"generating {steps} steps with {spec.keras_call()} after {rules.known_shape(spec)}"
    memory_guard(
        spec.estimated_bytes() + rules.value_bytes(spec, steps),
        limits,
        what,
        " (weights, activations, generated steps)",
        "--steps/--units/--timesteps/--batch",
    )
    seconds = rules.estimated_seconds(spec, steps, rules.value_count(spec, steps) if values else 0)
    check_time(seconds, what, limits)
    rules.check_units(spec, units_given=units is not None, head=head)  # after the guard: huge sizes name it
    from rnnshape.measure import generate as measured

    run_data = {
        "mode": "eager",
        "reason": "the loop calls the model once per generated step, eagerly, as a user's loop does",
    }
    if backend in (None, "tensorflow"):
        from rnnshape.rules import progress
        from rnnshape.runner.generate import run_generate

        progress.start(what, 1, seconds, "eager")
        run = run_generate(spec, steps, head)
        ran = tensorflow_backend() if backend else None
    else:
        run, ran, _ = on_backend(backend, [(spec, 1)], limits, what, "generate.run_generate", spec, steps, head)
    data = measured.generate_data(spec, steps, head, values, run, versions())
    data["run"] = run_data
    if ran is not None:
        data["backend"] = ran
    return GenerateResult(
        data,
        [],
        ViewOptions(values=values, diagram=diagram, ascii_only=ascii_only),
        spec=spec,
        rows=measured.step_rows(run),
    )
