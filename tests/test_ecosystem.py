"""W&B offline logging, multi-node Ray, docker files, packaging."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from search_cli import ROOT, search_command
from wandb_records import run_history

SECRET = "wandb-key-marker-91c2"


def _search(space, storage, name, *extra, env=None, timeout=300):
    cmd = search_command(space, storage, name, *extra)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)


@pytest.mark.ray
def test_wandb_offline_runs_hold_per_epoch_metrics_and_no_secret(write_space, tmp_path):
    space = write_space(
        "wb",
        method="random",
        run_cap=2,
        base={"group": "wbgroup", "max_epochs": 3},
        parameters={"width": {"values": [8, 16]}},
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(WANDB_API_KEY=SECRET, WANDB_MODE="offline")  # a key is set, and still no network
    result = _search(space, tmp_path, "wb", "--wandb", "--wandb-project", "tf-test", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    console = result.stdout + result.stderr
    assert "Traceback" not in console and "Exception ignored" not in console
    assert "wandb sync" in console
    runs = sorted((tmp_path / "wb").glob("*/wandb/offline-run-*/run-*.wandb"))
    assert len(runs) == 2
    for run in runs:
        config, history, group = run_history(run)
        assert group == "wbgroup"
        assert config["arch"] == "mlp" and config["width"] in (8, 16)  # the full resolved config
        assert [h["epoch"] for h in history] == [1, 2, 3]
        assert all(h["val_loss"] > 0 for h in history)
    for path in (tmp_path / "wb").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


MULTI_NODE = r"""
import json, subprocess, sys
from ray.cluster_utils import Cluster
cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
cluster.add_node(num_cpus=1)
cluster.wait_for_nodes()
try:
    nodes = [n.node_id for n in cluster.list_all_nodes()]
    cmd = json.loads(sys.argv[1]) + ["--address", cluster.address]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=400)
    print(json.dumps({"nodes": nodes, "rc": out.returncode, "err": out.stderr[-3000:]}))
finally:
    cluster.shutdown()
"""


@pytest.mark.ray
def test_search_joins_a_two_node_cluster_and_uses_both_nodes(write_space, tmp_path):
    import csv
    import json

    space = write_space(
        "multi",
        method="random",
        run_cap=4,
        base={"max_epochs": 4, "n_samples": 4000},
        parameters={"width": {"values": [8, 16, 32]}},
    )
    cmd = search_command(space, tmp_path, "multi")
    proc = subprocess.run(
        [sys.executable, "-c", MULTI_NODE, json.dumps(cmd)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["rc"] == 0, report["err"]
    with (tmp_path / "multi" / "trials.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4 and all(r["stop_reason"] == "max_epochs" for r in rows)
    assert {r["node_id"] for r in rows} == set(report["nodes"])  # trials ran on both nodes


def test_docker_files_lint_and_parse():
    hadolint = Path(sys.executable).with_name("hadolint")
    lint = subprocess.run(
        [str(hadolint), str(ROOT / "docker" / "Dockerfile")], capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    head, worker = compose["services"]["head"], compose["services"]["worker"]
    assert head["ports"] == ["127.0.0.1:8265:8265"]  # dashboard on loopback only
    for service in (head, worker):
        device = service["deploy"]["resources"]["reservations"]["devices"][0]
        assert device["capabilities"] == ["gpu"] and "results:/results" in service["volumes"]
    job = yaml.safe_load((ROOT / "docker" / "rayjob.yaml").read_text())
    assert job["kind"] == "RayJob" and job["apiVersion"] == "ray.io/v1"
    assert (
        "tune-flow search" in job["spec"]["entrypoint"]
        and "--address auto" in job["spec"]["entrypoint"]
    )
    workers = job["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["template"]["spec"][
        "containers"
    ][0]
    assert workers["resources"]["limits"]["nvidia.com/gpu"] == 1


def test_wheel_has_the_package_and_the_console_script(tmp_path):
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next(tmp_path.glob("tune_flow-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for module in (
        "tune_flow/search/__main__.py",
        "tune_flow/space/__main__.py",
        "tune_flow/training/trainer.py",
        "tune_flow/evaluation/metrics.py",
        "tune_flow/py.typed",
    ):
        assert module in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "tune-flow = tune_flow.cli:run" in zipfile.ZipFile(wheel).read(entry_points).decode()
    cli = subprocess.run(
        [
            str(Path(sys.executable).with_name("tune-flow")),
            "space",
            str(ROOT / "search_spaces" / "arch.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0 and "parameters:" in cli.stdout
