"""A user's package, found only in a temporary folder, searched, studied and retrained with no
change to tune_flow: on one node, and on a real two-node local Ray cluster
(``ray.cluster_utils.Cluster``) whose workers get the code only through ``code:`` (Ray's
runtime_env). Then a worker node is removed in the middle of a search: its trial continues from
its checkpoint on the surviving node and the search finishes.

Each search runs in its own process, as a user's would: a job's runtime_env is set when its
driver connects, so the test session's shared Ray instance cannot carry one.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.search_cli import search_command

PROJECT = Path(__file__).parent / "user_project"
FAST = ["--set", "n_samples=1000", "--set", "eval_samples=100"]


def _rows(path: Path) -> list[dict]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTEST_CURRENT_TEST", None)
    env.pop("PYTHONPATH", None)  # the user's package must come from `code:` alone
    return env


def _run(cmd: list[str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The README's example project in a temporary folder; the searches run from its parent, so
    nothing but `code:` puts the package on a path."""
    root = tmp_path_factory.mktemp("user")
    shutil.copytree(PROJECT, root / "project")
    space = yaml.safe_load((root / "project" / "space.yaml").read_text())
    del space["code"]
    (root / "nocode.yaml").write_text(yaml.safe_dump(space))
    return root


@pytest.fixture(scope="module")
def two_nodes():
    """A head without CPUs (no trial runs beside the driver) and two 1-CPU worker nodes."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    workers = [cluster.add_node(num_cpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    yield cluster, workers
    cluster.shutdown()


def test_one_node_searches_the_user_package_and_retrains_its_best_config(project):
    storage = project / "results"
    cmd = search_command("project/space.yaml", storage, "one", "--num-samples", "3",
                         "--max-epochs", "4", "--num-cpus", "2", *FAST)  # fmt: skip
    _run(cmd, project)
    rows = _rows(storage / "one" / "trials.csv")
    assert len(rows) == 3 and all(r["status"] == "TERMINATED" for r in rows)
    assert {"arch_args.hidden", "arch_args.layers", "sigma"} <= set(rows[0])
    best = yaml.safe_load((storage / "one" / "best_config.yaml").read_text())
    assert best["arch"] == "my_flows.nets:GatedMLP" and set(best["arch_args"]) == {
        "hidden",
        "layers",
    }
    assert best["dataset_args"] == {"radii": [1.0, 2.5]} and best["flow_args"] == {"speed": 1.0}
    # Retrained unchanged from the project folder (where the package imports).
    out = project / "retrained"
    train = [sys.executable, "-m", "tune_flow.train", "--config",
             str(storage / "one" / "best_config.yaml"), "--out", str(out), "--quiet"]  # fmt: skip
    _run(train, project / "project")
    assert (out / "best_model.pt").is_file()


def test_two_node_cluster_imports_the_user_package_only_through_code(project, two_nodes):
    cluster, _ = two_nodes
    storage = project / "results"
    common = ["--address", cluster.address, "--num-samples", "2", "--max-epochs", "3", *FAST]
    shipped = _run(search_command("project/space.yaml", storage, "two", *common), project)
    rows = _rows(storage / "two" / "trials.csv")
    assert len(rows) == 2 and all(r["status"] == "TERMINATED" for r in rows), shipped.stdout
    # The control: without `code:` the driver imports the package (PYTHONPATH), the workers
    # cannot, and the search says how to ship it.
    env = dict(_env(), PYTHONPATH=str(project / "project"))
    control = subprocess.run(
        search_command("nocode.yaml", storage, "control", *common),
        cwd=project, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert "ship it with `code:" in control.stdout
    rows = _rows(storage / "control" / "trials.csv")
    assert {r["status"] for r in rows} == {"ERROR"}
    errors = " ".join(p.read_text() for p in (storage / "control").glob("*/error.txt"))
    assert "No module named 'my_flows'" in errors


def test_a_study_of_the_user_code_runs_on_the_cluster(project, two_nodes):
    cluster, _ = two_nodes
    spec = {
        "name": "mine",
        "space": str(project / "project" / "space.yaml"),
        "base": {"n_samples": 600, "eval_samples": 100, "flow_args": {}},
        "cells": {
            "flow": ["my_flows.paths:CosinePath", "icfm"],
            "dataset": ["my_flows.data:rings"],
        },
        "rows": "flow",
        "columns": "dataset",
        "budget": {"num_samples": 2, "max_epochs": 2},
        "seeds": 1,
        "evaluate": {"metric": "w2", "samples": 100, "steps": [10], "method": "euler"},
    }
    path = project / "study.yaml"
    path.write_text(yaml.safe_dump(spec))
    storage = project / "studies"
    cmd = [sys.executable, "-m", "tune_flow.study", "--spec", str(path), "--storage-path",
           str(storage), "--address", cluster.address]  # fmt: skip
    _run(cmd, project, timeout=400)
    runs = _rows(storage / "mine" / "runs.csv")
    assert len(runs) == 2  # cells x seeds
    assert {r["flow"] for r in runs} == {"my_flows.paths:CosinePath", "icfm"}


def test_losing_a_worker_node_mid_search_continues_its_trial_from_a_checkpoint(project, two_nodes):
    cluster, workers = two_nodes
    storage = project / "results"
    cmd = search_command("project/space.yaml", storage, "loss", "--address", cluster.address,
                         "--num-samples", "2", "--max-epochs", "30", "--scheduler", "fifo",
                         "--set", "n_samples=20000", "--set", "checkpoint_every=2")  # fmt: skip
    search = subprocess.Popen(
        cmd, cwd=project, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    experiment, deadline = storage / "loss", time.monotonic() + 180
    try:
        while time.monotonic() < deadline:
            trials = [d for d in experiment.glob("train_flow_*") if any(d.glob("checkpoint_*"))]
            if len(trials) == 2:
                break
            time.sleep(0.3)
        assert len(trials) == 2, "both trials should have checkpointed before the node goes"
        cluster.remove_node(workers[0])
        output, _ = search.communicate(timeout=300)
    finally:
        if search.poll() is None:
            search.kill()
    assert search.returncode == 0, output[-3000:]
    rows = _rows(experiment / "trials.csv")
    assert len(rows) == 2 and all(r["epochs_run"] == "30" for r in rows), output[-2000:]
    # One trial lost its node: its progress restarts the iteration count at a later epoch (a
    # restore from its checkpoint), and no trial started over from epoch 1.
    restores = []
    for row in rows:
        progress = _rows(Path(row["trial_dir"]) / "progress.csv")
        restores += [int(p["epoch"]) for p in progress[1:] if p["iterations_since_restore"] == "1"]
    assert restores and all(epoch > 1 for epoch in restores)
