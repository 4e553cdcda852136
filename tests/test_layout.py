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
            json.dumps(["tune_flow.training", "tune_flow.search.progress"]),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert list(json.loads(out.stdout)) == ["tune_flow.search.progress"]
