"""The Ray boundary is a folder: nothing outside ``tune_flow/search/`` imports Ray."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import tune_flow

# Imports every module outside tune_flow.search one at a time in a fresh interpreter and names the
# first one after whose import any `ray` module is loaded.
PROBE = """
import importlib, json, sys
found = {}
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
    ray = sorted(m for m in sys.modules if m == "ray" or m.startswith("ray."))
    if ray:
        found[name] = ray[:3]
        break
print(json.dumps(found))
"""


def _modules_outside_search() -> list[str]:
    names = [
        info.name
        for info in pkgutil.walk_packages(tune_flow.__path__, prefix="tune_flow.")
        if not info.name.startswith("tune_flow.search")
    ]
    # `python -m` entry modules run their CLI on import.
    return sorted(n for n in names if not n.endswith("__main__"))


def test_no_module_outside_search_imports_ray():
    names = _modules_outside_search()
    assert {"tune_flow.training.trainer", "tune_flow.space", "tune_flow.evaluation.metrics"} <= set(
        names
    )
    out = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(names)], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == {}


def test_the_probe_sees_a_module_that_imports_ray():
    """The check above can fail: the live progress table is a Tune callback."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            PROBE,
            json.dumps(["tune_flow.training", "tune_flow.search.callbacks.progress"]),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert list(json.loads(out.stdout)) == ["tune_flow.search.callbacks.progress"]


# ---------------------------------------------------------------- no import circles between rooms
def _room(module: str) -> str:
    """A folder of tune_flow (``training``), or a top-level module (``errors``)."""
    return module.split(".")[1]


def _import_graph() -> dict[str, set[str]]:
    """room -> rooms it imports, from every import statement (inside functions and
    TYPE_CHECKING blocks too). The package's own ``__init__`` (re-exports) is left out."""
    import ast
    from pathlib import Path

    root = Path(tune_flow.__file__).parent
    graph: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        if path == root / "__init__.py":
            continue
        source = _room("tune_flow." + ".".join(path.relative_to(root).with_suffix("").parts))
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                if name.startswith("tune_flow.") and _room(name) != source:
                    graph.setdefault(source, set()).add(_room(name))
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_circles_between_folders():
    graph = _import_graph()
    assert {"data", "models", "training", "search", "report"} <= set(graph)
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])
    # The bottom of the house: data and models know no config, search or report.
    assert graph["data"] <= {"errors", "import_path"}
    assert graph["models"] <= {"errors", "import_path"}
    assert "search" not in graph["report"]


def test_the_circle_check_can_fail():
    assert _cycle({"data": {"training"}, "training": {"data"}}) == ["data", "training", "data"]


def test_modules_a_resumed_search_unpickles_by_their_old_names_still_import():
    """tuner.pkl of a search started before search/ had sub-folders names the old modules."""
    import importlib

    from tune_flow.search.state.resume import MOVED_MODULES, register_moved_modules

    register_moved_modules()
    for old, new in MOVED_MODULES.items():
        assert importlib.import_module(old) is importlib.import_module(new)
