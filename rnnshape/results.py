"""The result objects the Python API returns, one per command.

Each holds ``data``, the very object that ``--json`` prints under ``data``, plus what its view
needs that JSON does not carry (the validated spec, the steps a table shows). ``to_dict()`` is
that data; ``ok`` and ``failed_checks`` say whether every expectation and measured claim held;
``errors`` holds the failures as rnnshape exceptions. A result renders itself with rich
(``rich.print(result)``, a Jupyter cell, the terminal): the view module of the same name as
the command draws it from the result alone.
"""

from __future__ import annotations

import copy
import importlib
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterator

from rich.console import Console, ConsoleOptions
from rich.jupyter import JupyterMixin
from rich.segment import Segment
from rich.text import Text

from rnnshape.errors import ExitCode, RnnshapeError
from rnnshape.records import (
    Check,
    CheckCase,
    CheckSummary,
    ModelDiagnosis,
    ModelLayer,
    OutputTensor,
    Params,
    StackLayer,
    WhyFix,
)


@dataclass(frozen=True)
class ViewOptions:
    """How the result is drawn: the tensors (values), the picture (diagram), ASCII only."""

    values: bool = False
    diagram: bool = False
    ascii_only: bool = False


@dataclass(eq=False)
class Result(JupyterMixin):
    command: ClassVar[str] = ""

    data: dict[str, Any]
    errors: list[RnnshapeError] = field(default_factory=list)
    view: ViewOptions = field(default_factory=ViewOptions)

    def to_dict(self) -> dict[str, Any]:
        """The ``data`` object of ``rnnshape COMMAND --json`` (a copy)."""
        return copy.deepcopy(self.data)

    @property
    def ok(self) -> bool:
        """True when every expectation and measured claim held."""
        return not self.errors

    @property
    def exit_code(self) -> int:
        """What the command line exits with for this result: 0, 1 (an expectation failed) or 3."""
        return max((int(error.exit_code) for error in self.errors), default=int(ExitCode.OK))

    @property
    def checks(self) -> list[Check]:
        """The measured claims, each {claim, holds, max_abs_diff, kind}."""
        return list(self.data.get("checks") or [])

    @property
    def failed_checks(self) -> list[Check]:
        return [check for check in self.checks if not check["holds"]]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Segment]:
        view = importlib.import_module(f"rnnshape.views.{self.command}")
        # Text never goes through rich markup or highlighting, whatever the console's settings
        # (rich.print, Jupyter): '[batch, timesteps]' is text, not a style.
        plain = options.update(markup=False, highlight=False)
        for item in view.render(self, options.max_width):
            yield from console.render(Text(item) if isinstance(item, str) else item, plain)


@dataclass(eq=False)
class InspectResult(Result):
    command: ClassVar[str] = "inspect"
    spec: Any = None  # the validated rnnshape.rules.layer.LayerSpec

    @property
    def outputs(self) -> list[OutputTensor]:
        """Each returned tensor in Keras order: {name, shape, axes, dtype, meaning[, values]}."""
        return self.data["outputs"]

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        """{output name: shape}, e.g. {'output': (1, 6), 'state_h': (1, 6), 'state_c': (1, 6)}."""
        return {out["name"]: tuple(out["shape"]) for out in self.data["outputs"]}

    @property
    def params(self) -> Params:
        """The parameter count: {total, formula, weights[, keras_count_params]}."""
        return self.data["params"]

    @property
    def config(self) -> dict[str, Any]:
        """The resolved layer options, by the option table's names (layer, units, ...)."""
        return self.data["config"]


@dataclass(eq=False)
class CompareResult(Result):
    command: ClassVar[str] = "compare"
    specs: list[Any] = field(default_factory=list)

    @property
    def rows(self) -> list[dict[str, Any]]:
        """One inspect object per configuration."""
        return self.data["rows"]

    @property
    def checks(self) -> list[Check]:
        return [check for row in self.data["rows"] for check in row.get("checks", [])]


@dataclass(eq=False)
class CheckResult(Result):
    command: ClassVar[str] = "check"

    @property
    def cases(self) -> list[CheckCase]:
        return self.data["cases"]

    @property
    def summary(self) -> CheckSummary:
        return self.data["summary"]


@dataclass(eq=False)
class TraceResult(Result):
    command: ClassVar[str] = "trace"
    shown_positions: list[int] | None = None  # the steps the tables show (0-based read positions)
    elision_note: str | None = None


@dataclass(eq=False)
class StatefulResult(Result):
    command: ClassVar[str] = "stateful"
    spec: Any = None
    picture_facts: dict[str, Any] = field(default_factory=dict)  # measured for the picture (--diagram)


@dataclass(eq=False)
class GenerateResult(Result):
    """Generation by a stateful loop (``rnnshape generate``, ``rnnshape.generate``)."""

    command: ClassVar[str] = "generate"
    spec: Any = None
    rows: list[dict[str, Any]] = field(default_factory=list)  # sample 0, call by call, for the table

    @property
    def generated(self) -> Any:
        """Every generated step, (batch, steps, features), as nested lists (needs values=True)."""
        return self.data["generated"].get("values")

    @property
    def measured(self) -> dict[str, Any]:
        """The comparisons: initial_state_loop, whole_sequence, reset_between, no_first_reset, repeat."""
        return self.data["measured"]


@dataclass(eq=False)
class StackResult(Result):
    command: ClassVar[str] = "stack"
    tokens: list[Any] = field(default_factory=list)  # the parsed tokens, in order

    @property
    def layers(self) -> list[StackLayer]:
        return self.data["layers"]


@dataclass(eq=False)
class PatternsResult(Result):
    command: ClassVar[str] = "patterns"

    @property
    def checks(self) -> list[Check]:
        return [check for pattern in self.data["patterns"] for check in pattern["checks"]]


@dataclass(eq=False)
class WindowResult(Result):
    command: ClassVar[str] = "window"


@dataclass(eq=False)
class WhyResult(Result):
    command: ClassVar[str] = "why"

    @property
    def kind(self) -> str:
        """The recognised kind, e.g. 'no_timesteps_axis'."""
        return self.data["kind"]

    @property
    def causes(self) -> list[str]:
        """The likely causes, most likely first."""
        return [cause["cause"] for cause in self.data["causes"]]

    @property
    def fixes(self) -> list[WhyFix]:
        """Each fix: {cause, title, code, tokens, command, built: {exit_code, output_shape, layers, ...}}."""
        return self.data["fixes"]


@dataclass(eq=False)
class ModelResult(Result):
    """A user's model explained (``rnnshape model FILE``, ``rnnshape.model``, ``rnnshape.explain``)."""

    command: ClassVar[str] = "model"
    layer_spec: Any = None  # with layer=...: the LayerSpec of the inspect view

    @property
    def layers(self) -> list[ModelLayer]:
        """Every layer in order: path, class, input/output shapes, params, recurrent details."""
        return self.data["layers"]

    @property
    def recurrent(self) -> list[ModelLayer]:
        return [layer for layer in self.data["layers"] if layer["recurrent"]]

    @property
    def diagnoses(self) -> list[ModelDiagnosis]:
        return self.data["diagnoses"]


@dataclass(eq=False)
class PortResult(Result):
    """A layer ported between Keras and torch.nn (``rnnshape port``, ``rnnshape.port``)."""

    command: ClassVar[str] = "port"

    @property
    def torch_call(self) -> str:
        return self.data["torch"]["call"]

    @property
    def differences(self) -> dict[str, float]:
        """{Keras output: max |difference| with its torch.nn expression} (the expected ones)."""
        return {row["keras"]: row["max_abs_diff"] for row in self.data["outputs"] if row["expect"] == "equal"}
