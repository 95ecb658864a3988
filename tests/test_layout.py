"""The layout by layer (docs/architecture.md), read from the imports in the source (ast):
no cycles, no import of a layer above, views that draw from results only, a runner that never
judges, a model that reads no files, and rnnshape/__init__ importing nothing heavy."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "rnnshape"
# Lower layers first; a module may import its own layer and the ones below, never above.
# tui (rnnshape explore's textual screen) calls the API as the command line does, and only the CLI starts it.
LAYERS = [
    "errors",
    "records",
    "rules",
    "versions",
    "files",
    "model_files",
    "runner",
    "measure",
    "views",
    "results",
    "api",
    "tui",
    "cli",
    "__main__",
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """rnnshape module -> the rnnshape modules it imports (anywhere in the file)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        name = module_name(path)
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rnnshape"):
                submodules = {
                    f"{node.module}.{alias.name}"
                    for alias in node.names
                    if (PACKAGE.parent / (f"{node.module}.{alias.name}".replace(".", "/") + ".py")).exists()
                    or (PACKAGE.parent / f"{node.module}.{alias.name}".replace(".", "/")).is_dir()
                }
                found.update(submodules or {node.module})
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names if alias.name.startswith("rnnshape"))
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
                found.add("rnnshape.views")  # results draws through the view of its command
        graph[name] = {m for m in found if m != name}
    return graph


SOURCES = {module_name(path): path.read_text() for path in PACKAGE.rglob("*.py")}


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_no_module_imports_a_layer_above_its_own():
    upward = []
    for module, targets in imports().items():
        if module == "rnnshape":
            continue  # the public API: it calls the api layer lazily
        for target in targets:
            if target == "rnnshape" or LAYERS.index(layer(target)) > LAYERS.index(layer(module)):
                upward.append(f"{module} -> {target}")
    assert upward == []


def test_no_import_cycles():
    graph = imports()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return path[path.index(node) :] + [node]
        for target in sorted(graph.get(node, ())):
            cycle = visit(target, path + [node])
            if cycle:
                return cycle
        return None

    for start in sorted(graph):
        assert visit(start, []) is None


def test_views_draw_from_results_only():
    for module, targets in imports().items():
        if layer(module) == "views":
            assert not [t for t in targets if layer(t) in ("runner", "measure", "api", "files", "model_files")], module
            assert not {"rnnshape.rules.layer", "rnnshape.rules.spec"} & targets, f"{module} rebuilds a spec"


def test_the_runner_never_judges_and_the_model_reads_no_files():
    for module, targets in imports().items():
        if layer(module) == "runner":
            assert not [t for t in targets if layer(t) == "measure"], module
        if layer(module) == "rules":
            assert not [t for t in targets if layer(t) in ("files", "model_files", "runner")], module
            source = SOURCES[module]
            assert "open(" not in source and "read_bytes" not in source and "import numpy" not in source, module


def test_only_the_runner_imports_keras_and_tensorflow():
    heavy = re.compile(r"^\s*(import|from) (keras|tensorflow)\b", re.M)
    for module, source in SOURCES.items():
        if heavy.search(source):
            assert module.startswith("rnnshape.runner"), module


def test_only_runner_torch_imports_torch_and_nothing_imports_jax():
    torch = re.compile(r"^\s*(import|from) torch\b", re.M)
    jax = re.compile(r"^\s*(import|from) (jax|jaxlib)\b", re.M)
    for module, source in SOURCES.items():
        if torch.search(source):
            assert module == "rnnshape.runner.torch", module
        assert not jax.search(source), module


def test_every_command_has_one_module_per_layer():
    from rnnshape.cli import COMMANDS

    for command in COMMANDS:
        for folder in ("api", "views", "cli"):
            assert (PACKAGE / folder / f"{command}.py").exists(), (folder, command)


def test_ruff_finds_nothing():
    """The lint of pyproject.toml ([tool.ruff]) over the package, the tests and the examples, and
    ruff format's layout."""
    import importlib.util
    import subprocess
    import sys

    # The ruff of the interpreter running the tests (python -m ruff), found without PATH: the
    # suite run as /path/to/venv/bin/python -m pytest, the environment not activated.
    assert importlib.util.find_spec("ruff"), "ruff is a test extra: pip install -e '.[test]'"
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "rnnshape", "tests", "examples"],
        cwd=PACKAGE.parent,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    # and the code is as ruff format writes it (applied once: .git-blame-ignore-revs)
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "rnnshape", "tests", "examples"],
        cwd=PACKAGE.parent,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_no_module_is_over_700_lines():
    """Modules by command and concern: a module past 700 lines holds two concerns (split it)."""
    long = {
        str(path.relative_to(PACKAGE.parent)): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 700
    }
    assert not long, long
