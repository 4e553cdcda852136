"""Faults: kill -9 and resume, trial retry after a real worker death, divergence, resources."""

import csv
import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
from search_cli import search_command

from tune_flow.search import cli as search

pytestmark = pytest.mark.ray

SECRET = "sk-test-marker-5f3a9c"


def _rows(path: Path) -> list[dict]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def _search_cmd(space, storage, name, *extra):
    return search_command(space, storage, name, "--num-cpus", "2", *extra)


def _env(**extra):
    env = dict(os.environ, WANDB_API_KEY=SECRET, MY_SERVICE_TOKEN=SECRET + "-token", **extra)
    env.pop("PYTEST_CURRENT_TEST", None)
    return env


def test_sigkill_then_resume_finishes_every_trial_from_checkpoints(write_space, tmp_path):
    # Slow enough epochs (~0.2 s) and checkpoints often enough (every 3 epochs) that the kill
    # lands mid-trial, after the first two trials have two checkpoints each.
    space = write_space(
        "resume",
        method="random",
        run_cap=4,
        base={"n_samples": 20000, "max_epochs": 20, "checkpoint_every": 3},
        parameters={"width": {"values": [8, 16, 32]}},
    )
    storage = tmp_path / "results"
    first = subprocess.Popen(
        _search_cmd(space, storage, "r"),
        start_new_session=True,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline and len(list(storage.glob("r/*/checkpoint_*"))) < 4:
            time.sleep(0.5)
        assert list(storage.glob("r/*/checkpoint_*")), "no checkpoint before the kill"
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the driver and the Ray processes it started
        first.wait()
    assert not (storage / "r" / "trials.csv").exists()  # really interrupted
    damaged = _delete_a_referenced_checkpoint(storage / "r")
    # The kill can also land while Tune copies its callback state into the experiment folder,
    # leaving it empty (seen on a loaded machine): recreate that too.
    callback_states = sorted((storage / "r").glob("callback-states-*.pkl"))
    assert callback_states, "Tune saved no callback state before the kill"
    callback_states[-1].write_bytes(b"")

    resumed = subprocess.run(
        _search_cmd(space, storage, "r", "--resume"),
        env=_env(),
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    assert damaged, "no unfinished trial had two checkpoints to recreate the race with"
    assert f"resume: {damaged}" in resumed.stdout  # repaired, not failed
    assert f"resume: {callback_states[-1].name} is unreadable" in resumed.stdout
    rows = _rows(storage / "r" / "trials.csv")
    assert len(rows) == 4 and {r["stop_reason"] for r in rows} == {"max_epochs"}
    assert all(r["status"] == "TERMINATED" and r["epochs_run"] == "20" for r in rows)

    # A trial interrupted mid-way continued from its checkpoint: its first result after the
    # restore (iterations_since_restore == 1) has epoch > 1, and no trial started over. (On a
    # loaded machine the killed driver may not have copied a trial's last progress.csv rows to
    # the experiment directory, so the restore can be the file's first row.)
    restored, restarts = [], []
    for row in rows:
        progress = _rows(Path(row["trial_dir"]) / "progress.csv")
        first_rows = [int(p["epoch"]) for p in progress if p["iterations_since_restore"] == "1"]
        restored += [epoch for epoch in first_rows if epoch > 1]
        restarts += [int(p["epoch"]) for p in progress[1:] if p["iterations_since_restore"] == "1"]
    assert restored and all(epoch > 1 for epoch in restarts)

    # Secrets from the environment never reach the results tree.
    for path in (storage / "r").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def _delete_a_referenced_checkpoint(experiment: Path) -> str | None:
    """Recreate Tune's snapshot/deletion race: delete the checkpoint an unfinished trial's snapshot
    names as its latest, where an older one is left to resume from. Returns that trial's dir name."""
    import json
    import shutil

    from ray.tune.trainable.metadata import _TrainingRunMetadata

    state = json.loads(sorted(experiment.glob("experiment_state-*.json"))[-1].read_text())
    for _, metadata_json in state["trial_data"]:
        metadata = _TrainingRunMetadata.from_json_state(metadata_json)
        latest = metadata.checkpoint_manager.latest_checkpoint_result
        if latest is None or (metadata.last_result or {}).get("stop_reason"):
            continue
        referenced = Path(latest.checkpoint.path)
        others = [p for p in referenced.parent.glob("checkpoint_*") if p != referenced]
        if referenced.exists() and others:
            shutil.rmtree(referenced)
            return referenced.parent.name
    return None


def test_worker_death_is_retried_from_the_checkpoint(write_space, tmp_path):
    space = write_space(
        "retry",
        method="random",
        run_cap=2,
        base={"max_epochs": 6, "checkpoint_every": 3},  # the crash comes right after one
        parameters={"width": {"values": [8, 16]}},
    )
    storage = tmp_path / "results"
    result = subprocess.run(
        _search_cmd(space, storage, "retry", "--max-failures", "1"),
        env=_env(TUNE_FLOW_TEST_CRASH_AT_EPOCH="3"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    rows = _rows(storage / "retry" / "trials.csv")
    assert len(rows) == 2 and all(
        r["stop_reason"] == "max_epochs" and r["epochs_run"] == "6" for r in rows
    )
    for row in rows:
        progress = _rows(Path(row["trial_dir"]) / "progress.csv")
        # the worker died right after epoch 3; the retry resumed at epoch 4, not 1
        restarts = [int(p["epoch"]) for p in progress[1:] if p["iterations_since_restore"] == "1"]
        assert restarts == [4], [(p["epoch"], p["iterations_since_restore"]) for p in progress]


def test_diverging_trial_is_never_best_and_does_not_poison_optuna(
    ray_cluster, write_space, tmp_path
):
    import optuna

    space = write_space(
        "div",
        method="random",
        run_cap=6,
        base={"max_epochs": 4, "warmup_steps": 0},
        parameters={"lr": {"values": [1e-3, 1e10]}},
    )
    db = tmp_path / "study.db"
    storage = tmp_path / "results"
    code = search.main(
        [
            "--space",
            space,
            "--storage-path",
            str(storage),
            "--name",
            "div",
            "--optuna-storage",
            f"sqlite:///{db}",
            "--seed",
            "0",
        ]
    )
    assert code == 0
    rows = _rows(storage / "div" / "trials.csv")
    reasons = {r["lr"]: set() for r in rows}
    for r in rows:
        reasons[r["lr"]].add(r["stop_reason"])
    assert reasons["10000000000.0"] == {"diverged"} and reasons["0.001"] == {"max_epochs"}
    assert rows[0]["lr"] == "0.001"  # sorted best first: a diverged trial is never the best
    study = optuna.load_study(study_name="div", storage=f"sqlite:///{db}")
    states = {t.state for t in study.trials}
    assert states == {optuna.trial.TrialState.COMPLETE} and len(study.trials) == 6
    diverged = [t for t in study.trials if t.params["lr"] == 1e10]
    assert diverged and all(t.value == float("inf") for t in diverged)
    assert study.best_trial.params["lr"] == 1e-3


def test_unmeetable_resources_fail_at_once(ray_cluster, write_space, tmp_path, capsys):
    space = write_space("big")
    started = time.monotonic()
    code = search.main(["--space", space, "--storage-path", str(tmp_path), "--cpus-per-trial", "3"])
    assert code == 2 and time.monotonic() - started < 30
    err = capsys.readouterr().err
    assert "cpu 3" in err and "lower --cpus-per-trial" in err
    code = search.main(["--space", space, "--storage-path", str(tmp_path), "--gpus-per-trial", "2"])
    assert code == 2 and "gpu 2" in capsys.readouterr().err


def test_unreachable_address_fails_quickly(write_space, tmp_path, capsys):
    started = time.monotonic()
    code = search.main(
        [
            "--space",
            write_space("addr"),
            "--storage-path",
            str(tmp_path),
            "--address",
            "127.0.0.1:1",
        ]
    )
    assert code == 2 and time.monotonic() - started < 15
    assert "no Ray cluster answers" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("signum", "exit_code"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143)],  # Ctrl-C; docker stop / Kubernetes / schedulers
    ids=["ctrl_c", "sigterm"],
)
def test_stop_signal_exits_with_the_resume_command_and_stops_ray(
    write_space, tmp_path, signum, exit_code
):
    space = write_space(
        "ctrlc",
        method="random",
        run_cap=4,
        # An early first checkpoint (epoch 2) and a run after it long enough for the signal to
        # land mid-run (two trials at a time: the last two cannot have finished).
        base={"n_samples": 20000, "max_epochs": 20, "checkpoint_every": 2},
        parameters={"width": {"values": [8, 16]}},
    )
    storage = tmp_path / "results"
    sessions = set(Path("/tmp/ray").glob("session_2*"))
    proc = subprocess.Popen(
        _search_cmd(space, storage, "c", "--set", "data_seed=3"),
        start_new_session=True,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # SIGINT as a terminal delivers it, however pytest was started: a run in the background
        # of a non-interactive shell inherits SIGINT ignored, and Python then keeps ignoring it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not list(storage.glob("c/*/checkpoint_*")):
            time.sleep(0.5)
        had_checkpoints = {path.parent for path in storage.glob("c/*/checkpoint_*")}
        # A new session: a background process of a non-interactive shell would ignore SIGINT.
        os.kill(proc.pid, signum)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == exit_code, err[-2000:]
    assert "--name c" in err and "--resume" in err and "Traceback" not in err
    assert "SIGTERM received" not in err  # Ray's C++ fatal-signal dump
    # Checkpoints are kept (Tune may have replaced one by a newer one meanwhile).
    assert had_checkpoints and all(list(trial.glob("checkpoint_*")) for trial in had_checkpoints)
    assert not (
        storage / "c" / "trials.csv"
    ).exists()  # interrupted trials are not reported as done
    # Ray's trial workers are the raylet's children: they exit on their own once it has gone,
    # which can take a moment after the driver has returned.
    deadline = time.monotonic() + 20
    while True:
        alive = subprocess.run(
            ["pgrep", "-s", str(proc.pid)], capture_output=True, text=True
        ).stdout.split()
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert not alive, f"processes of the search's session still running 20 s after exit: {alive}"
    if signum != signal.SIGTERM:
        return
    # The command it printed, pasted as is, continues exactly the search that was started (its
    # --set included, which the command does not repeat: the search's record holds it).
    command = shlex.split(err.split("continue with: ")[-1].splitlines()[0])
    assert "--space" not in command and "--set" not in command
    resumed = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=400)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    rows = _rows(storage / "c" / "trials.csv")
    assert len(rows) == 4
    for row in rows:
        latest = sorted(Path(row["trial_dir"]).glob("checkpoint_*"))[-1]
        config = torch.load(latest / "checkpoint.pt", weights_only=True)["config"]
        assert (config["data_seed"], config["n_samples"]) == (3, 20000)
    # Neither run left its Ray session directory in /tmp/ray; Ray's log lines are in ray.log.
    assert set(Path("/tmp/ray").glob("session_2*")) <= sessions
    assert (storage / "c" / "ray.log").is_file()
