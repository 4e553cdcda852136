"""ASHA by promotion: trials pause at rungs and resume when they are in the top 1/eta."""

import csv
import json
import os
import pickle
import signal
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from ray.tune.experiment import Trial
from ray.tune.schedulers import TrialScheduler
from search_cli import search_command

from tune_flow.search import cli as search
from tune_flow.search.schedulers.asha_promotion import STATE_FILENAME, PromotingASHAScheduler

CONTINUE, PAUSE, STOP = TrialScheduler.CONTINUE, TrialScheduler.PAUSE, TrialScheduler.STOP


def _six_learning_rates(write_space, name, **base):
    """A grid of three good and three far too small learning rates, rungs at epochs 2 and 4 (eta
    2) and max_t 8: the small ones learn far less in two epochs and wait at rung 2 for good."""
    return write_space(
        name,
        method="grid",
        run_cap=6,
        base={"max_epochs": 8, **base},
        parameters={"lr": {"values": [3e-3, 1e-5, 2e-3, 2e-5, 1e-3, 3e-5]}},
        scheduler={"type": "asha_promote", "grace_period": 2, "reduction_factor": 2},
    )


def _epochs_reported(trial_dir):
    with (Path(trial_dir) / "progress.csv").open() as handle:
        return [int(float(r["epoch"])) for r in csv.DictReader(handle)]


class _Controller:
    """What the scheduler asks of Tune's controller: its trials, whether the searcher has more,
    and stopping a trial (recorded here)."""

    def __init__(self, trials, finished=False):
        self.trials = trials
        self.search_alg = SimpleNamespace(is_finished=lambda: finished)
        self.stopped = []

    def get_trials(self):
        return self.trials

    def stop_trial(self, trial):
        self.stopped.append(trial.trial_id)
        trial.status = Trial.TERMINATED


def _scheduler(state_path=None):
    scheduler = PromotingASHAScheduler(
        time_attr="epoch", max_t=16, grace_period=2, reduction_factor=2, state_path=state_path
    )
    scheduler.set_search_properties("val_loss", "min")
    return scheduler


def _trial(name, status=Trial.RUNNING):
    trial = SimpleNamespace(trial_id=name, status=status)
    trial.set_status = lambda status: setattr(trial, "status", status)
    return trial


def test_rungs_below_max_t():
    assert _scheduler().rungs == [2, 4, 8]


def test_a_trial_waits_at_a_rung_until_it_is_in_the_top_half():
    scheduler = _scheduler()
    a, b, c = _trial("a"), _trial("b"), _trial("c")
    # Alone at the rung: nobody to beat yet, so it waits (Ray's ASHA would let it through).
    assert scheduler.on_trial_result(None, a, {"epoch": 2, "val_loss": 2.0}) == PAUSE
    # Better than a: top 1 of 2, goes on.
    assert scheduler.on_trial_result(None, b, {"epoch": 2, "val_loss": 1.0}) == CONTINUE
    # Later epochs below the next rung: b was promoted here, so it continues.
    assert scheduler.on_trial_result(None, b, {"epoch": 3, "val_loss": 0.9}) == CONTINUE
    # c is worse than both: the top floor(3/2) = 1 is b, c waits.
    assert scheduler.on_trial_result(None, c, {"epoch": 2, "val_loss": 3.0}) == PAUSE
    a.status = c.status = Trial.PAUSED
    d = _trial("d")
    assert scheduler.on_trial_result(None, d, {"epoch": 2, "val_loss": 4.0}) == PAUSE
    d.status = Trial.PAUSED
    # Four recorded, top 2 = b and a: a is resumed; nothing else qualifies.
    controller = _Controller([a, b, c, d])
    assert scheduler.choose_trial_to_run(controller) is a
    a.status = Trial.RUNNING
    assert scheduler.choose_trial_to_run(controller) is None
    # Resumed from its rung checkpoint, a's next epoch continues.
    assert scheduler.on_trial_result(None, a, {"epoch": 3, "val_loss": 1.8}) == CONTINUE
    assert scheduler.on_trial_result(None, a, {"epoch": 16, "val_loss": 1.0}) == STOP


def test_higher_rungs_promote_first_and_pending_trials_come_after_promotions():
    scheduler = _scheduler()
    trials = {name: _trial(name) for name in "abcdef"}
    for name, loss in zip("abcd", [1.0, 2.0, 3.0, 4.0], strict=True):
        assert scheduler.on_trial_result(None, trials[name], {"epoch": 2, "val_loss": loss})
    for name in "abcd":
        trials[name].status = Trial.PAUSED
    controller = _Controller(list(trials.values())[:4])
    assert scheduler.choose_trial_to_run(controller) is trials["a"]  # top 2 of 4 at rung 2
    trials["a"].status = Trial.RUNNING
    assert scheduler.on_trial_result(None, trials["a"], {"epoch": 4, "val_loss": 0.6}) == PAUSE
    trials["a"].status = Trial.PAUSED
    assert scheduler.choose_trial_to_run(controller) is trials["b"]
    trials["b"].status = Trial.RUNNING
    # b is worse than a at rung 4: a, now the top 1 of 2 there, becomes promotable ...
    assert scheduler.on_trial_result(None, trials["b"], {"epoch": 4, "val_loss": 0.7}) == PAUSE
    trials["b"].status = Trial.PAUSED
    # ... and so does c at rung 2 once two more trials arrive (top 3 of 6).
    for name, loss in (("e", 5.0), ("f", 6.0)):
        assert scheduler.on_trial_result(None, trials[name], {"epoch": 2, "val_loss": loss})
        trials[name].status = Trial.PAUSED
    new = _trial("new", Trial.PENDING)
    controller = _Controller([*trials.values(), new])
    assert scheduler.choose_trial_to_run(controller) is trials["a"]  # the higher rung first
    trials["a"].status = Trial.RUNNING
    assert scheduler.choose_trial_to_run(controller) is trials["c"]
    trials["c"].status = Trial.RUNNING
    assert scheduler.choose_trial_to_run(controller) is new  # nothing left to promote


def test_at_the_end_the_best_waiting_trial_of_the_top_rung_goes_on_then_the_rest_stop():
    scheduler = _scheduler()
    a, b, c = _trial("a"), _trial("b"), _trial("c")
    scheduler.on_trial_result(None, a, {"epoch": 2, "val_loss": 1.0})  # paused: alone
    scheduler.on_trial_result(None, b, {"epoch": 2, "val_loss": 2.0})  # paused: a is better
    scheduler.on_trial_result(None, c, {"epoch": 2, "val_loss": 3.0})  # paused
    for trial in (a, b, c):
        trial.status = Trial.PAUSED
    # Three recorded: a is the top 1 and is promoted while the searcher still proposes.
    running = _Controller([a, b, c], finished=False)
    assert scheduler.choose_trial_to_run(running) is a
    a.status = Trial.RUNNING
    assert scheduler.on_trial_result(None, a, {"epoch": 4, "val_loss": 0.5}) == PAUSE
    a.status = Trial.PAUSED
    # While the searcher may still propose, nobody is stopped and nothing runs.
    assert scheduler.choose_trial_to_run(running) is None and not running.stopped
    # The end: rung 4 has promoted nobody, so its best waiting trial (a) goes on ...
    done = _Controller([a, b, c], finished=True)
    assert scheduler.choose_trial_to_run(done) is a and not done.stopped
    a.status = Trial.RUNNING
    assert scheduler.on_trial_result(None, a, {"epoch": 8, "val_loss": 0.4}) == PAUSE
    a.status = Trial.PAUSED
    assert scheduler.choose_trial_to_run(done) is a  # ... and again at rung 8
    a.status = Trial.TERMINATED  # ran to max_t
    # ... then every other waiting trial stops.
    assert scheduler.choose_trial_to_run(done) is None
    assert sorted(done.stopped) == ["b", "c"]


def test_rungs_survive_a_restore(tmp_path):
    path = tmp_path / STATE_FILENAME
    scheduler = _scheduler(path)
    pickled_at_start = pickle.dumps(scheduler)  # tuner.pkl holds the scheduler as it started
    for name, loss in (("a", 1.0), ("b", 2.0)):
        scheduler.on_trial_result(None, _trial(name), {"epoch": 2, "val_loss": loss})
    restored = pickle.loads(pickled_at_start)  # what --resume gets
    assert restored.recorded[2] == {"a": 1.0, "b": 2.0}
    a, b = _trial("a", Trial.PAUSED), _trial("b", Trial.PAUSED)
    assert restored.choose_trial_to_run(_Controller([a, b])) is a  # the top 1 of 2
    # A worse late trial waits, as it would have without the interruption.
    assert restored.on_trial_result(None, _trial("c"), {"epoch": 2, "val_loss": 3.0}) == PAUSE
    assert pickle.loads(pickled_at_start).promoted[2] == {"a"}  # promotions are kept too


def test_max_mode_ranks_higher_values_first():
    scheduler = PromotingASHAScheduler(
        time_attr="epoch", max_t=16, grace_period=2, reduction_factor=2
    )
    scheduler.set_search_properties("w2", "max")
    assert scheduler.on_trial_result(None, _trial("a"), {"epoch": 2, "w2": 1.0}) == PAUSE
    assert scheduler.on_trial_result(None, _trial("b"), {"epoch": 2, "w2": 5.0}) == CONTINUE
    # A diverged trial's inf is the worst value in either mode, never the best.
    diverged = _trial("d")
    assert scheduler.on_trial_result(None, diverged, {"epoch": 2, "w2": float("inf")}) == PAUSE
    assert scheduler.recorded[2]["d"] == float("inf")


@pytest.mark.ray
def test_search_pauses_and_resumes_trials_from_their_rung_checkpoints(
    ray_cluster, write_space, tmp_path, capsys
):
    space = _six_learning_rates(write_space, "promote")
    storage = tmp_path / "results"
    assert search.main(["--space", space, "--storage-path", str(storage), "--name", "p"]) == 0
    out = capsys.readouterr().out
    experiment = storage / "p"
    with (experiment / "trials.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6
    assert {r["stop_reason"] for r in rows} <= {"asha", "max_epochs"}
    assert "stopped by asha" in out and "stopped by asha_promote" not in out
    epochs_run = {r["lr"]: int(r["epochs_run"]) for r in rows}
    # The three 1e-5-scale learning rates wait at rung 2 for good; the best trials go on, and
    # one reaches max_t.
    assert max(epochs_run.values()) == 8
    assert all(epochs_run[lr] == 2 for lr in ("1e-05", "2e-05", "3e-05")), epochs_run
    assert sum(epochs_run.values()) < 6 * 8
    for row in rows:
        # A paused trial resumed from its rung checkpoint: every epoch reported once, in order.
        epochs = _epochs_reported(row["trial_dir"])
        assert epochs == list(range(1, int(row["epochs_run"]) + 1)), (row["lr"], epochs)
        with (Path(row["trial_dir"]) / "result.json").open() as handle:
            assert [json.loads(line)["epoch"] for line in handle] == epochs
    assert (experiment / STATE_FILENAME).is_file()

    # Trials stopped while they waited at a rung are finished in Tune's saved state too (Tune
    # left them PAUSED), so resuming the finished search trains nothing again.
    (state_file,) = experiment.glob("experiment_state-*.json")
    saved = json.loads(state_file.read_text())["trial_data"]
    assert {json.loads(trial)["status"] for trial, _ in saved} == {"TERMINATED"}
    argv = ["--space", space, "--storage-path", str(storage), "--name", "p", "--resume"]
    capsys.readouterr()
    assert search.main([*argv, "--no-report"]) == 0
    assert "starts over" not in capsys.readouterr().out  # no repair of finished trials
    for row in rows:
        assert _epochs_reported(row["trial_dir"]) == list(range(1, int(row["epochs_run"]) + 1))


def test_max_concurrent_is_refused_with_asha_promote(write_space, capsys):
    space = write_space("promote", scheduler={"type": "asha_promote"})
    assert search.main(["--space", space, "--max-concurrent", "2", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "--max-concurrent" in err and "asha_promote" in err and "Traceback" not in err


@pytest.mark.ray
def test_sigkill_then_resume_keeps_waiting_trials_waiting(write_space, tmp_path):
    space = _six_learning_rates(write_space, "promote_resume", n_samples=20000)  # slower epochs
    storage = tmp_path / "results"
    command = search_command(space, storage, "r", "--num-cpus", "2")
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    first = subprocess.Popen(
        command, start_new_session=True, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    state_file = storage / "r" / STATE_FILENAME

    def waiting_at_first_rung() -> set[str]:
        try:
            rungs = json.loads(state_file.read_text())["rungs"]
        except (OSError, ValueError):
            return set()
        _, recorded, promoted = rungs[0]
        return set(recorded) - set(promoted)

    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline and len(waiting_at_first_rung()) < 2:
            time.sleep(0.2)
        waiting = waiting_at_first_rung()
        assert len(waiting) >= 2, "no trial waited at a rung before the kill"
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the driver and the Ray processes it started
        first.wait()
    assert not (storage / "r" / "trials.csv").exists()  # really interrupted

    resumed = subprocess.run(
        [*command, "--resume"], env=env, capture_output=True, text=True, timeout=400
    )
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    with (storage / "r" / "trials.csv").open() as handle:
        rows = {r["trial_id"]: r for r in csv.DictReader(handle)}
    assert len(rows) == 6 and {r["stop_reason"] for r in rows.values()} <= {"asha", "max_epochs"}
    assert max(int(r["epochs_run"]) for r in rows.values()) == 8
    for trial_id in waiting:
        row = rows[trial_id]
        # Waiting at epoch 2 when the driver died. Resumed, it either stays there or is
        # restarted from its rung checkpoint and waits again one epoch later, or is promoted
        # (then it runs to the next rung or max_t): never back to epoch 1, never a third pause.
        epochs = _epochs_reported(row["trial_dir"])
        assert epochs[:2] == [1, 2] and epochs.count(1) == 1, epochs
        assert int(row["epochs_run"]) in (2, 3, 4, 8), row
    # The rungs file holds what the resumed search recorded too (all six trials reached epoch
    # 2): Tune copies *.json files back over the experiment directory from its restore-time
    # copies during a resumed run, which is why the file is not named .json.
    assert set(json.loads(state_file.read_text())["rungs"][0][1]) == set(rows)
