"""compare: a grid of layer configurations, and what changes between its rows.

Pure: no TensorFlow, no rich. The rows are the inspect objects of measure.inspect.layer_data,
so every difference described here is read from the shapes Keras returned in the run (or,
under --static, from the pure model of rules.layer).
"""

from __future__ import annotations

import itertools
from typing import Any, Iterable

from rnnshape.errors import SpecError, UsageError, option_name
from rnnshape.rules.layer import LayerSpec
from rnnshape.rules.options import GRID_FLAGS, LAYER_ONLY, OPTIONS
from rnnshape.rules.words import shape_text

# The flags a grid can vary (GRID_FLAGS, in the order rows are laid out: the first one changes
# slowest) and the options only some layers have (LAYER_ONLY: rows of other layers leave them
# unset, one row, not two; ConvLSTM rows take filters, channels and the map, the others units and
# features) are declared with every option in rules/options.py.
# Without --vary: the four combinations the tutorials walk through by hand.
DEFAULT_GRID = ("return_sequences", "return_state")


def canonical_flag(text: Any) -> str:
    """'return-sequences', 'return_sequences', 'Return-Sequences' -> 'return_sequences'."""
    if isinstance(text, str):
        key = text.strip().lower().replace("-", "_").lstrip("_")
        if key in GRID_FLAGS:
            return key
    allowed = ", ".join(flag.replace("_", "-") for flag in GRID_FLAGS)
    raise SpecError("vary", f"{text!r} is not one of {allowed}")


def grid_flags(vary: Iterable[str], fixed: Iterable[str]) -> tuple[str, ...]:
    """The flags of the grid: return_sequences and return_state, plus each --vary flag,
    minus the flags the user set explicitly (those stay fixed in every row)."""
    vary, fixed = set(vary), set(fixed)
    both = [flag for flag in GRID_FLAGS if flag in vary and flag in fixed]
    if both:
        flag = both[0]
        raise UsageError(
            f"Invalid value for --vary: {flag.replace('_', '-')} is varied and also fixed by "
            f"{option_name(flag)}/--no-{flag.replace('_', '-')}; drop one of them"
        )
    chosen = (set(DEFAULT_GRID) - fixed) | vary
    return tuple(flag for flag in GRID_FLAGS if flag in chosen)


def grid_options(base: dict[str, Any], layers: Iterable[str], flags: tuple[str, ...]) -> list[dict[str, Any]]:
    """One option dict per row: each layer (in the order given, repeats dropped), then every
    combination of the flags, False before True, the last flag changing fastest.

    --merge-mode applies to the Bidirectional rows only when bidirectional is varied."""
    rows = []
    layers = tuple(dict.fromkeys(layers))
    for key in (
        name for name in LAYER_ONLY if OPTIONS[name].shapes
    ):  # given, no row's layer takes it: make_spec names it
        if base.get(key) is not None and not any(layer in LAYER_ONLY[key] for layer in layers):
            return [dict(base, layer=layers[0])]
    for layer in layers:
        for values in itertools.product((False, True), repeat=len(flags)):
            row = dict(base, layer=layer, **dict(zip(flags, values)))
            if "bidirectional" in flags and not row["bidirectional"]:
                row["merge_mode"] = None
            foreign = [flag for flag, owners in LAYER_ONLY.items() if layer not in owners]
            if any(row.get(flag) and flag in flags for flag in foreign):
                continue  # the same row as with the flag off: this layer has no such option
            rows.append(dict(row, **{flag: None for flag in foreign if flag in row}))
    return rows


def refusal(spec: LayerSpec) -> str | None:
    """Why Keras refuses to build this configuration, or None (see LayerSpec.keras_refusal)."""
    return spec.keras_refusal()


def drop_refused(specs: list[LayerSpec], flags: tuple[str, ...]) -> tuple[list[LayerSpec], list[dict[str, str]]]:
    """Rows of a grid that Keras would refuse to build are left out (and listed), but only when
    the grid itself made them: a refused configuration given by fixed flags still goes to Keras,
    whose own error then reaches the user (exit 3) as with inspect."""
    kept, skipped = [], []
    for spec in specs:
        reason = refusal(spec)
        if reason and any(flag in flags for flag in spec.keras_refusal_flags()):
            skipped.append({"keras_call": spec.keras_call(), "reason": reason})
        else:
            kept.append(spec)
    return kept, skipped


def row_key(row: dict[str, Any], flags: tuple[str, ...]) -> tuple[str, tuple[bool, ...]]:
    return row["config"]["layer"], tuple(bool(row["config"][flag]) for flag in flags)


def _axes_change(before: list[str], after: list[str]) -> tuple[str, str]:
    """How the axes changed, as (singular, plural) phrases following the output name(s)."""
    rank = f"rank {len(before)} -> {len(after)}"
    for big, small, verb in ((after, before, "gain"), (before, after, "lose")):
        if len(big) == len(small) + 1:
            for index, axis in enumerate(big):
                if big[:index] + big[index + 1 :] == small:
                    phrase = f"the {axis} axis: {rank}"
                    return f"{verb}s {phrase}", f"{verb} {phrase}"
    if len(before) == len(after):
        changed = [(a, b) for a, b in zip(before, after) if a != b]
        if len(changed) == 1:
            phrase = f"axis {changed[0][0]} -> {changed[0][1]}"
            return phrase, phrase
    phrase = f"[{', '.join(before)}] -> [{', '.join(after)}]: {rank}"
    return phrase, phrase


def describe_change(before: dict[str, Any], after: dict[str, Any], *, params: str = "absolute") -> str:
    """What differs from row ``before`` to row ``after``: output names, axes and shapes, the
    parameter count and the model input. ``params="ratio"`` writes "params x2" when the
    count doubles (the same for every layer), else "params 112 -> 224"."""
    old = {o["name"]: o for o in before["outputs"]}
    new = {o["name"]: o for o in after["outputs"]}
    parts = []
    meanings = []
    axes_changes: dict[tuple[str, str], list[str]] = {}  # one phrase for outputs that change alike
    for name, out in new.items():
        if name not in old:
            continue
        if out["axes"] != old[name]["axes"]:
            axes_changes.setdefault(_axes_change(old[name]["axes"], out["axes"]), []).append(name)
        elif out["shape"] != old[name]["shape"]:
            parts.append(f"{name} {shape_text(old[name]['shape'])} -> {shape_text(out['shape'])}")
        elif out["meaning"] != old[name]["meaning"]:
            meanings.append(name)
    for (singular, plural), names in axes_changes.items():
        parts.insert(0, f"{', '.join(names)} {singular if len(names) == 1 else plural}")
    removed = [name for name in old if name not in new]
    added = [name for name in new if name not in old]
    if removed:
        parts.append("- " + ", ".join(removed))
    if added:
        parts.append("+ " + ", ".join(added))
    p0, p1 = before["params"]["total"], after["params"]["total"]
    if p0 != p1:
        if params == "ratio" and p1 % p0 == 0:
            parts.append(f"params x{p1 // p0}")
        elif params == "ratio" and p0 % p1 == 0:
            parts.append(f"params /{p0 // p1}")
        else:
            parts.append(f"params {p0} -> {p1}")
    if before["keras_input"] != after["keras_input"]:
        # A rule of Keras (spec.keras_input): a stateful layer needs the batch size fixed.
        parts.append(
            "needs " + after["keras_input"].removeprefix("keras.Input(").removesuffix(")") + " (rule of Keras)"
        )
    if not parts:
        parts.append("same names and shapes")
    if meanings:
        parts.append("meaning changes (rule of Keras): " + ", ".join(meanings))
    return "; ".join(parts)


def reference_rows(rows: list[dict[str, Any]]) -> list[int]:
    """For each row, the index of its layer's first row (the reference it is compared to)."""
    first: dict[str, int] = {}
    return [first.setdefault(row["config"]["layer"], index) for index, row in enumerate(rows)]


def row_changes(rows: list[dict[str, Any]]) -> list[str]:
    """Each row against its layer's first row; the first row itself is the reference."""
    refs = reference_rows(rows)
    return [
        "reference" if ref == index else describe_change(rows[ref], row)
        for index, (row, ref) in enumerate(zip(rows, refs))
    ]


def changes(rows: list[dict[str, Any]], flags: tuple[str, ...]) -> list[dict[str, Any]]:
    """The effect of each dimension of the grid alone, read from pairs of rows that differ only
    there; pairs with the same effect are grouped. Layers first (the first layer against each
    other), then each flag off -> on."""
    index = {row_key(row, flags): i for i, row in enumerate(rows)}
    layers = list(dict.fromkeys(row["config"]["layer"] for row in rows))
    entries: list[dict[str, Any]] = []

    def add(dimension: str, start: Any, end: Any, label: str, pairs: list[tuple[int, int]], params: str) -> None:
        groups: dict[str, dict[str, Any]] = {}
        for a, b in pairs:
            effect = describe_change(rows[a], rows[b], params=params)
            group = groups.setdefault(
                effect,
                {
                    "change": label,
                    "dimension": dimension,
                    "from": start,
                    "to": end,
                    "effect": effect,
                    "layers": [],
                    "rows": [],
                },
            )
            for layer in (rows[a]["config"]["layer"], rows[b]["config"]["layer"]):
                if layer not in group["layers"]:
                    group["layers"].append(layer)
            group["rows"].append([a, b])
        entries.extend(groups.values())

    combos = list(itertools.product((False, True), repeat=len(flags)))

    def present(candidates: list[tuple[Any, Any]]) -> list[tuple[int, int]]:
        return [(index[a], index[b]) for a, b in candidates if a in index and b in index]  # skipped rows drop out

    for other in layers[1:]:
        pairs = present([((layers[0], combo), (other, combo)) for combo in combos])
        add("layer", layers[0], other, f"layer {layers[0]} -> {other}", pairs, "absolute")
    for position, flag in enumerate(flags):
        pairs = present(
            [
                ((layer, combo), (layer, combo[:position] + (True,) + combo[position + 1 :]))
                for layer in layers
                for combo in combos
                if not combo[position]
            ]
        )
        add(flag, False, True, f"{flag} off -> on", pairs, "ratio")
    return entries


def check_totals(rows: list[dict[str, Any]]) -> tuple[int, int]:
    """(checks that hold, checks measured) over every row."""
    checks = [check for row in rows for check in row.get("checks", [])]
    return sum(1 for check in checks if check["holds"]), len(checks)
