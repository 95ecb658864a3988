"""rnnshape explore: the session behind the explorer screen (rnnshape.tui.explore).

The screen has no logic of its own: its controls edit the options of one Explorer, and it
shows what ``rnnshape.inspect()`` returns for them, the static answer first (no TensorFlow),
then the measured one. This module holds those options, the words of each change ("units
4 -> 6", "return_sequences on") and the equivalent ``rnnshape inspect ...`` command line.
"""

from __future__ import annotations

import shlex
from typing import Any

from rnnshape.api.inspect import inspect
from rnnshape.results import InspectResult
from rnnshape.rules.cost import DEFAULT_MAX_MEMORY_MB, DEFAULT_MAX_SECONDS
from rnnshape.rules.options import BY_KEYWORD, EXPLORE_CONTROLLED, EXPLORE_FLAGS, OPTIONS, applies

# The options the screen has a control for, in the order the controls are laid out (the table's).
CONTROLLED = EXPLORE_CONTROLLED
FLAGS = tuple(EXPLORE_FLAGS)  # the flags with a checkbox (rules/options.py)
# Values the command line leaves out, as its options' defaults (cli/options.py).
COMMAND_DEFAULTS: dict[str, Any] = {
    "input": "random",
    "seed": 0,
    "max_memory": DEFAULT_MAX_MEMORY_MB,
    "max_seconds": DEFAULT_MAX_SECONDS,
}
# Options that are not inspect's own options but how the screen draws (--ascii).
VIEW_KEYS = ("ascii_only",)
INT_KEYS = ("units", "timesteps", "features", "batch")  # typed as text: digits become integers


class Explorer:
    """The options of one exploring session (keyword arguments of rnnshape.inspect) and the
    results for them. ``set`` never validates: a bad value is refused by the next ``result``
    with the one-line message the command line prints."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        options = dict(options or {})
        self.ascii_only = bool(options.pop("ascii_only", False))
        # kept by the options' own names (the spec's and the flags': input, not input_data)
        named = {BY_KEYWORD[key].name if key in BY_KEYWORD else key: value for key, value in options.items()}
        self.options: dict[str, Any] = {"layer": "lstm", **named}

    def copy(self) -> "Explorer":
        """These options, frozen (for a run in another thread while the controls go on)."""
        return Explorer(dict(self.options, ascii_only=self.ascii_only))

    def get(self, key: str) -> Any:
        return self.options.get(key)

    def flag(self, key: str) -> bool:
        """A flag as its control shows it: reset_after is on unless turned off (Keras 3's default)."""
        value = self.options.get(key)
        return value is not False if key == "reset_after" else bool(value)

    def set(self, key: str, value: Any) -> str | None:
        """Change one option; returns the words of the change ("units 4 -> 6", "return_state on"),
        or None when nothing changed. Empty text means the option's default; text of digits an
        integer for the sizes. reset_after is sent only when off (on is Keras' default)."""
        if isinstance(value, str):
            value = value.strip()
            value = None if value == "" else int(value) if key in INT_KEYS and value.isdigit() else value
        if key == "reset_after":
            value = None if value else False
        if key == "merge_mode" and value == "concat":
            value = None
        old = self.options.get(key)
        if old == value:
            return None
        if value is None:
            self.options.pop(key, None)
        else:
            self.options[key] = value
        if key in FLAGS:
            return f"{key} {'on' if self.flag(key) else 'off'}"
        return f"{key} {_word(old, key)} -> {_word(value, key)}"

    def not_applicable(self, key: str) -> str | None:
        """Why the option ``key`` does not apply to the layer as it is (None when it does):
        reset_after is GRU's alone, merge_mode Bidirectional's. Its key then changes nothing."""
        layer = self.options.get("layer") or "lstm"
        if key == "reset_after" and layer != "gru":
            return f"reset_after is an option of GRU only (the layer is {layer})"
        if key == "merge_mode" and not self.options.get("bidirectional"):
            return "merge_mode applies to a Bidirectional layer only (b turns it on)"
        return None

    def toggle(self, key: str) -> str | None:
        """Flip a flag; nothing when it does not apply to the layer (see not_applicable)."""
        if self.not_applicable(key):
            return None
        return self.set(key, not self.flag(key))

    def cycle(self, key: str, choices: tuple[str, ...]) -> str | None:
        """The next of ``choices`` (layer, merge_mode), wrapping around; nothing when the option
        does not apply to the layer (see not_applicable)."""
        if self.not_applicable(key):
            return None
        current = self.options.get(key) or (choices[0] if key != "merge_mode" else "concat")
        index = choices.index(current) if current in choices else -1
        return self.set(key, choices[(index + 1) % len(choices)])

    def effective(self) -> dict[str, Any]:
        """The options as inspect takes them: merge_mode only with bidirectional, a flag only for
        the layers that take it (reset_after: GRU) (the controls keep their values while they do
        not apply)."""
        options = dict(self.options)
        if not options.get("bidirectional"):
            options.pop("merge_mode", None)
        for flag in FLAGS:
            if not applies(flag, options.get("layer") or "lstm"):
                options.pop(flag, None)
        return options

    def result(self, static: bool = False) -> InspectResult:
        """rnnshape.inspect for these options, with the unrolled picture (static: without TensorFlow)."""
        keywords = {OPTIONS[key].api_name if key in OPTIONS else key: v for key, v in self.effective().items()}
        return inspect(**keywords, static=static, diagram=True, ascii_only=self.ascii_only)

    def command_line(self) -> str:
        """The equivalent ``rnnshape inspect ...`` command line (with --diagram, as the screen draws)."""
        words = ["rnnshape", "inspect"]
        options = self.effective()
        for key in [*(k for k in CONTROLLED if k in options), *(k for k in options if k not in CONTROLLED)]:
            value = options[key]
            if value is None or value is False and key != "reset_after" or COMMAND_DEFAULTS.get(key, ...) == value:
                continue
            option = "--" + key.replace("_", "-")
            if value is True:
                words.append(option)
            elif value is False:
                words.append("--no-" + key.replace("_", "-"))
            else:
                words += [option, str(value)]
        return shlex.join(words + ["--diagram"] + (["--ascii"] if self.ascii_only else []))


def _word(value: Any, key: str) -> str:
    if value is None:
        return {"merge_mode": "concat", "input": "random"}.get(key, "default")
    return str(value)


def explore(**options: Any) -> Explorer:
    """The session of ``rnnshape explore`` for these starting options (those of rnnshape.inspect,
    plus ``ascii_only``): they are validated first, by the static answer, so a bad value is refused
    with one line before any screen opens."""
    explorer = Explorer(options)
    explorer.result(static=True)
    return explorer
