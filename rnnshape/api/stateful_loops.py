"""rnnshape.stateful(fit=..., windows=..., save_load=True): the tutorials' stateful loops, run and measured."""

from __future__ import annotations

from typing import Any

from rnnshape.errors import UsageError
from rnnshape.results import StatefulResult, ViewOptions
from rnnshape.rules import stateful as chunking
from rnnshape.rules import stateful_loops as loops
from rnnshape.rules.limits import Limits, check_size
from rnnshape.rules.spec import input_file_name
from rnnshape.versions import versions

FIT_DEFAULT_BATCH = 2  # two series: a row can continue the wrong one


def loop_defaults(loop: str, options: dict[str, Any]) -> dict[str, Any]:
    """The sizes a loop uses when neither the option nor an --input FILE gives them."""
    options = dict(options)
    if input_file_name(options.get("input")) is None:
        if options.get("timesteps") is None:
            options["timesteps"] = loops.default_timesteps(loop)
        if loop == "fit" and options.get("batch") is None:
            options["batch"] = FIT_DEFAULT_BATCH
    return options


def refuse_options(loop: str, spec: Any, backend: str | None) -> None:
    flag = {"fit": "--fit", "windows": "--windows", "save_load": "--save-load"}[loop]
    if spec.bidirectional or spec.go_backwards:
        which = "--bidirectional" if spec.bidirectional else "--go-backwards"
        raise UsageError(
            f"Invalid value for {which}: {flag} runs a forward layer; see a stateful {which} layer's "
            "chunks with rnnshape stateful (without " + flag + ")"
        )
    if spec.initial_state is not None:
        raise UsageError(f"Invalid value for --initial-state: {flag} starts from the stateful layer's own states")
    if loop == "fit" and (spec.dropout or spec.recurrent_dropout):
        raise UsageError(
            "Invalid value for --dropout: fit calls the layer with training=True, so dropout draws new "
            "masks and the forward passes cannot be compared; --fit measures without dropout"
        )
    if loop == "fit" and backend in loops.FIT_BACKEND_REFUSALS:
        raise UsageError(
            f"Invalid value for --backend: {backend}: {loops.FIT_BACKEND_REFUSALS[backend]} "
            "(rule of Keras 3.15, measured by rnnshape's tests); --fit runs on tensorflow"
        )


def run_loop(
    loop: str,
    spec_options: dict[str, Any],
    *,
    fit: int | None,
    windows: int | None,
    shuffle: bool,
    reset: bool,
    split: str | None,
    max_memory: int,
    max_seconds: int,
    diagram: bool,
    ascii_only: bool,
    backend: str | None,
) -> StatefulResult:
    from rnnshape.api._common import make_layer_spec, on_backend, run_modes, tensorflow_backend

    spec = make_layer_spec(**loop_defaults(loop, spec_options))
    refuse_options(loop, spec, backend)
    limits = Limits(max_memory, max_seconds, static=False)
    from rnnshape.measure import stateful_loops as measured
    from rnnshape.runner import session as session_runner

    if loop == "fit":
        parts = chunking.parse_split(split, spec.timesteps) if split is not None else None
        chunk = loops.fit_chunk(spec.timesteps, parts)
        if spec.timesteps % chunk:
            raise UsageError(
                f"Invalid value for --split: chunks of {chunk} steps do not cover --timesteps {spec.timesteps}"
            )
        plan = loops.FitPlan(spec.batch, spec.timesteps // chunk, chunk, fit, shuffle, reset)
        states = 2 if spec.has_cell_state else 1
        check_size(
            spec,
            limits,
            passes=loops.fit_passes(plan),
            values=loops.fit_values(spec.batch, spec.timesteps, spec.units, states, plan),
        )
        from rnnshape.runner import stateful_loops as runner

        mode, mode_data = run_modes([(spec, loops.fit_passes(plan))], spec.keras_call())
        with session_runner.mode(mode):
            run = runner.run_fit(spec, plan)
        data = measured.fit_data(spec, plan, run)
        ran = tensorflow_backend() if backend else None
    else:
        if loop == "windows":
            count = loops.window_count(spec.timesteps, windows)
            passes = count * windows // max(1, spec.timesteps) + 3
            args: tuple[Any, ...] = (spec, windows)
            function = "run_windows_loop"
        else:
            chunks = chunking.parse_split(split, spec.timesteps)
            if len(chunks) < 2:
                raise UsageError(
                    "Invalid value for --timesteps: --save-load feeds one chunk before saving and the "
                    "last after loading: give at least 2 steps"
                )
            passes = 6
            bounds = chunking.chunk_bounds(chunks)
            args = (spec, bounds, chunking.input_batch_shape(spec, chunks))
            function = "run_save_load"
        check_size(spec, limits, passes=passes, values=spec.batch * spec.timesteps * (spec.features + 3 * spec.units))
        if backend in (None, "tensorflow"):
            from rnnshape.runner import stateful_loops as runner

            mode, mode_data = run_modes([(spec, passes)], spec.keras_call())
            with session_runner.mode(mode):
                run = getattr(runner, function)(*args)
            ran = tensorflow_backend() if backend else None
        else:
            run, ran, mode_data = on_backend(
                backend,
                [(spec, passes)],
                limits,
                f"{spec.keras_call()} on input {spec.input_shape}",
                f"stateful_loops.{function}",
                *args,
            )
        data = (
            measured.windows_data(spec, windows, run)
            if loop == "windows"
            else measured.save_load_data(spec, args[1], run)
        )
    data["run"] = mode_data
    if ran is not None:
        data["backend"] = ran
    data["versions"] = versions()
    return StatefulResult(data, [], ViewOptions(diagram=diagram, ascii_only=ascii_only), spec=spec)
