"""The Python API: tune_flow.search / tune_flow.study with a dict or a path, the CLI's options as
keywords, the CLI's one-line errors as one exception type, and a result object."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import tune_flow
from tests.conftest import TINY_BASE


def _space(**changes):
    space = {
        "name": "api",
        "method": "random",
        "run_cap": 2,
        "base": {**TINY_BASE, "max_epochs": 2},
        "parameters": {"width": {"values": [8, 16]}},
    }
    space.update(changes)
    return space


def test_a_dict_space_runs_and_returns_what_the_search_wrote(ray_cluster, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = tune_flow.search(
        _space(), name="api", storage_path=str(tmp_path / "results"), no_dashboard=True,
        set={"eval_samples": 100}, select_top=1,
    )  # fmt: skip
    assert isinstance(result, tune_flow.SearchResult)
    assert result.outputs == tmp_path / "results" / "api"
    assert len(result.trials) == 2 and set(result.trials["width"]) <= {8, 16}
    assert result.best_config["width"] in (8, 16) and result.best_config["eval_samples"] == 100
    assert result.best_checkpoint is not None and result.best_checkpoint.is_file()
    assert result.report.is_file() and result.best_eval.is_file()
    # A finished search under that name is not overwritten: the CLI's own line, raised.
    with pytest.raises(tune_flow.UserInputError, match="already exists"):
        tune_flow.search(_space(), name="api", storage_path=str(tmp_path / "results"))


BAD = [
    ({"run_cap": 0}, {}, "`run_cap` is 0"),
    ({"base": {**TINY_BASE, "arch": "mlpp"}}, {}, "the dict given: `base`: The value of `arch`"),
    ({}, {"num_sampels": 3}, "unknown option `num_sampels`. Did you mean `num_samples`"),
    ({}, {"set": {"widht": 3}}, "Unknown config key `widht`"),
]


@pytest.mark.parametrize(("changes", "options", "fragment"), BAD)
def test_bad_input_raises_the_clis_one_line_before_ray_starts(tmp_path, changes, options, fragment):
    """In a fresh process: nothing starts Ray, nothing is written, and the message is the line
    the CLI prints (after its `error: ` prefix)."""
    script = (
        "import json, sys, ray, tune_flow\n"
        "space, options = json.loads(sys.argv[1]), json.loads(sys.argv[2])\n"
        "try:\n"
        "    tune_flow.search(space, storage_path=sys.argv[3], **options)\n"
        "except tune_flow.UserInputError as error:\n"
        "    print(json.dumps([str(error), ray.is_initialized()]))\n"
    )
    import json

    storage = tmp_path / "results"
    out = subprocess.run(
        [sys.executable, "-c", script, json.dumps(_space(**changes)), json.dumps(options),
         str(storage)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    message, ray_started = json.loads(out.stdout.strip().splitlines()[-1])
    assert fragment in message and "\n" not in message and not ray_started
    assert not storage.exists()


def test_a_study_of_user_code_by_file_path_runs_on_one_node(ray_cluster, tmp_path, monkeypatch):
    """The user's network, flow and dataset named by file path (no `code:` needed on one node),
    studied from a dict spec through the API."""
    project = Path(__file__).parent / "user_project" / "my_flows"
    monkeypatch.chdir(tmp_path)
    spec = {
        "name": "api_study",
        "space": _space(base={
            **TINY_BASE, "arch": f"{project / 'nets.py'}:GatedMLP",
            "dataset": f"{project / 'data.py'}:rings", "eval_samples": 100,
        }, parameters={"arch_args.hidden": {"values": [8, 16]}}),
        "cells": {"flow": [f"{project / 'paths.py'}:CosinePath", "icfm"]},
        "rows": "flow",
        "budget": {"num_samples": 2, "max_epochs": 2},
        "seeds": 1,
        "evaluate": {"metric": "w2", "samples": 100, "steps": [10], "method": "euler"},
    }  # fmt: skip
    result = tune_flow.study(spec, storage_path=str(tmp_path / "studies"))
    assert isinstance(result, tune_flow.StudyResult)
    assert len(result.runs) == 2 and result.page.is_file() and len(result.table) >= 1
    assert set(result.runs["flow"]) == {f"{project / 'paths.py'}:CosinePath", "icfm"}
