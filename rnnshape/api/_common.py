"""What the command functions share: options to a validated spec (reading an --input file
first, since the pure model reads no files), and the seed check of stack and patterns."""

from __future__ import annotations

from typing import Any

from rnnshape.errors import UsageError
from rnnshape.rules.catalogue import INITIAL_STATE_KINDS, INT_LIMITS
from rnnshape.rules.layer import LayerSpec
from rnnshape.rules.spec import input_file_name, make_spec


def make_layer_spec(**options: Any) -> LayerSpec:
    """make_spec, with the --input and --initial-state files (if any) read by rnnshape.files."""
    files: dict[str, Any] = {}
    name = input_file_name(options.get("input"))
    if name is not None:
        from rnnshape.files import file_input

        files["input_file"] = file_input(name)
    state = options.get("initial_state")
    if isinstance(state, str) and state.strip().lower() not in INITIAL_STATE_KINDS and state.strip():
        from rnnshape.files import file_state

        files["state_file"] = file_state(state)
    return make_spec(**files, **options)


def spec_options(arguments: dict[str, Any], **fixed: Any) -> dict[str, Any]:
    """The layer options among a command function's arguments (its ``locals()`` on entry): the
    LayerSpec keys it takes, with ``fixed`` ones (e.g. stateful=True) over them."""
    from rnnshape.rules.options import LAYER_OPTIONS

    options = {o.name: arguments[o.api_name] for o in LAYER_OPTIONS if o.api_name in arguments}
    options.update(fixed)
    return options


def check_seed(seed: int) -> None:
    low, high = INT_LIMITS["seed"]
    if isinstance(seed, bool) or not isinstance(seed, int) or not low <= seed <= high:
        raise UsageError(f"Invalid value for --seed: {seed} is not in the range {low}..{high}")


def run_modes(items: list[tuple[LayerSpec, int]], what: str) -> tuple[str, dict[str, str]]:
    """The mode of a run of these (spec, passes), announced to the progress display:
    (mode, the ``run`` entry of the command's data)."""
    from rnnshape.rules import progress
    from rnnshape.rules.cost import group_mode

    mode, reason, seconds = group_mode(items)
    progress.start(what, len(items), seconds, mode)
    return mode, {"mode": mode, "reason": reason}


def stack_run_mode(plans: list[Any], what: str) -> tuple[str, dict[str, str]]:
    """run_modes for stacks (rnnshape stack, rnnshape patterns)."""
    from rnnshape.rules import progress
    from rnnshape.rules.stack import stacks_mode

    mode, reason, seconds = stacks_mode(plans)
    progress.start(what, len(plans), seconds, mode)
    return mode, {"mode": mode, "reason": reason}


def tensorflow_backend() -> dict[str, str]:
    """data.backend of a run on TensorFlow, in this process."""
    from rnnshape.versions import versions

    found = versions()
    return {"backend": "tensorflow", "version": found["tensorflow"], "keras": found["keras"]}


def on_backend(
    backend: str, items: list[tuple[LayerSpec, int]], limits: Any, what: str, function: str, *args: Any, **kwargs: Any
) -> tuple[Any, dict[str, str], dict[str, str]]:
    """rnnshape.runner.<module>.<function>(*args, **kwargs) (backend.CALLS) on Keras' ``backend`` (jax, torch) in a child
    process, after the time guard for eager passes (a child runs the layers eagerly): (its result,
    data.backend, data.run)."""
    from rnnshape.rules import progress
    from rnnshape.rules.limits import check_time
    from rnnshape.runner import backend as backends

    seconds = sum(spec.estimated_seconds(passes, "eager") for spec, passes in items)
    check_time(seconds, what, limits)
    progress.start(what, len(items), seconds, "eager")
    result, ran = backends.call(backend, function, *args, **kwargs)
    return result, ran, {"mode": "eager", "reason": f"Keras on {backend} ran in a child process, eagerly"}


# ---- the parameters' documentation: every public function lists every parameter and its default
COMMON_PARAMETERS = {
    "values": "also return the tensors' values in the data (elided in the terminal view)",
    "static": "answer from the pure model (names, shapes, parameters) without TensorFlow",
    "expect": "shapes to assert, as {'output': (1, 6)} or ['output=1,6']; a mismatch is in result.errors and "
    "makes result.ok False",
    "max_memory": "refuse work estimated to need more memory than this, in MiB (UsageError)",
    "max_seconds": "refuse work estimated to take longer than this, in seconds (UsageError)",
    "diagram": "add the command's picture to the rendered result",
    "ascii_only": "draw the picture with plain ASCII characters (the command line's --ascii)",
    "backend": "Keras' backend: 'tensorflow', 'jax' or 'torch' (jax and torch in a child process, with the same "
    "weights and input); data['backend'] names it and its version",
}


def documented(**own: str) -> Any:
    """Append to a public function's docstring one line per parameter, with its default: the
    layer options' help from the option table (rules/options.py), the shared ones from
    COMMON_PARAMETERS, the function's own from ``own``. A parameter with no description is a
    TypeError at import, so the docstrings cannot fall behind the signatures."""
    import inspect as introspect

    from rnnshape.rules.options import BY_KEYWORD

    def decorate(function: Any) -> Any:
        lines = []
        for name, parameter in introspect.signature(function).parameters.items():
            text = (
                own.get(name) or COMMON_PARAMETERS.get(name) or (BY_KEYWORD[name].help if name in BY_KEYWORD else None)
            )
            if text is None:
                raise TypeError(f"{function.__name__}(): the parameter {name!r} has no description")
            default = "" if parameter.default is parameter.empty else f" (default {parameter.default!r})"
            lines.append(f"    {name}{default}: {text}")
        doc = (function.__doc__ or "").rstrip()
        body = [line for line in doc.splitlines()[1:] if line.strip()]
        indent = min((len(line) - len(line.lstrip()) for line in body), default=0) * " "
        function.__doc__ = doc + f"\n\n{indent}Parameters:\n" + "\n".join(indent + line for line in lines) + "\n"
        return _renamed_keywords(function)

    return decorate


# Keywords renamed so that no parameter shadows a builtin: the old ones still work, with a warning.
RENAMED_KEYWORDS = {"input": "input_data", "ascii": "ascii_only"}


def _renamed_keywords(function: Any) -> Any:
    """``function`` taking its renamed keywords (``input=``, ``ascii=``) under their old names too,
    with a DeprecationWarning; its signature and docstring are the new ones."""
    import functools
    import inspect as introspect
    import warnings

    taken = {old: new for old, new in RENAMED_KEYWORDS.items() if new in introspect.signature(function).parameters}
    if not taken:
        return function

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for old, new in taken.items():
            if old in kwargs:
                if new in kwargs:
                    raise TypeError(f"{function.__name__}() got both {old}= and {new}=: give {new}= only")
                warnings.warn(
                    f"rnnshape.{function.__name__}({old}=...) is now {new}=...", DeprecationWarning, stacklevel=2
                )
                kwargs[new] = kwargs.pop(old)
        return function(*args, **kwargs)

    return wrapper
