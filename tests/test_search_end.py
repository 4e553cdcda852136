"""How a search ended: the time budget's cuts end like a scheduler's stops (Optuna, pruner,
labels, saved state); an interrupted search is not taken for a finished one."""

import csv
import json
import os
import signal
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import optuna
import pytest
from ray.tune.experiment import Trial
from ray.tune.logger import LoggerCallback

from tune_flow.search import cli as search
from tune_flow.search.state.search_end import TIME_BUDGET_REASON, SearchEnd, take_outcome


@pytest.mark.ray
def test_trials_the_budget_cuts_are_pruned_in_optuna_labelled_and_lose_their_checkpoints(
    ray_cluster, write_space, tmp_path, capsys
):
    # Far more epochs than the budget allows: every trial Tune has created is running, waiting at
    # a rung or not started yet when the budget runs out (two at a time, ASHA by promotion).
    space = write_space(
        "budget",
        run_cap=4,
        # No patience: on a fast machine a tiny model converges well within the budget.
        base={"max_epochs": 5000, "patience": 100000, "eval_samples": 0, "checkpoint_every": 2},
        parameters={"lr": {"values": [1e-5, 1e-3, 3e-3, 1e-2]}},
        scheduler={"type": "asha_promote", "grace_period": 2, "reduction_factor": 2},
    )
    storage = tmp_path / "results"
    study = f"sqlite:///{tmp_path / 'study.db'}"
    argv = ["--space", space, "--storage-path", str(storage), "--name", "budget", "--top-k", "1"]
    # 40 s: on a loaded 2-core machine the first epochs arrived 15 s after the start (the trial
    # actors' and W&B's start-up), and a 15 s budget cut every trial before it reported.
    argv += ["--time-budget", "40", "--optuna-storage", study, "--no-report", "--wandb"]
    assert search.main(argv) == 0
    out = capsys.readouterr().out

    with (storage / "budget" / "trials.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert 2 <= len(rows) <= 4  # the searcher proposes lazily: the budget may end it early
    assert {r["stop_reason"] for r in rows} == {TIME_BUDGET_REASON}, rows
    assert f"stop reasons: {TIME_BUDGET_REASON} {len(rows)}" in out
    trained = [r for r in rows if int(r["epochs_run"]) >= 2]  # with a checkpoint (epoch 2)
    assert trained, rows
    assert f"done: epoch {trained[0]['epochs_run']}," in out  # the progress lines heard it too

    # Optuna heard the end of every trial: none is left RUNNING in the stored study; those that
    # reported are PRUNED (their intermediate values kept), any never started FAIL.
    trials = optuna.load_study(study_name="budget", storage=study).trials
    assert len(trials) == len(rows)
    state = optuna.trial.TrialState
    for trial in trials:
        expected = state.PRUNED if trial.intermediate_values else state.FAIL
        assert trial.state == expected, (trial.number, trial.state, trial.intermediate_values)

    # The checkpoint pruner treated the cut trials as finished: only the top 1 keeps its
    # checkpoints, and it still has them.
    with_checkpoints = [r for r in rows if list(Path(r["trial_dir"]).glob("checkpoint_*"))]
    assert [r["trial_id"] for r in with_checkpoints] in ([rows[0]["trial_id"]], [])
    if any(int(r["epochs_run"]) >= 2 for r in rows[1:]):  # one of the others had a checkpoint
        assert "pruned" in out

    # Tune's saved state has every trial finished, waiting ones included: --resume reruns none.
    (state_file,) = (storage / "budget").glob("experiment_state-*.json")
    saved = json.loads(state_file.read_text())["trial_data"]
    assert {json.loads(trial)["status"] for trial, _ in saved} == {"TERMINATED"}


class _Recorder:
    def __init__(self):
        self.calls = []

    def on_trial_complete(self, *args, **kwargs):
        self.calls.append((args, kwargs))


def _trial(trial_id, **last_result):
    """A stand-in for Tune's Trial: its status and the result dict Tune saves."""
    metadata = SimpleNamespace(last_result=last_result, invalidate_cache=lambda: None)
    return SimpleNamespace(
        trial_id=trial_id, status=Trial.TERMINATED, last_result=last_result, run_metadata=metadata
    )


def test_budget_cuts_are_ended_per_trial_and_a_resumed_search_keeps_what_was_ended():
    budget = SimpleNamespace(ran_out=False)
    searcher, table = _Recorder(), _Recorder()
    first_run = SearchEnd(budget, searcher, [table])
    first_run.setup()
    asha_stopped = _trial("a", stop_reason="", epoch=8)
    first_run.on_trial_complete(3, [], asha_stopped)  # ended by the scheduler in the first run

    resumed = SearchEnd(budget, searcher, [table])
    resumed.set_state(first_run.get_state())  # Tune's callback state across --resume
    cut, finished, never_ran = (
        _trial("b", stop_reason="", epoch=5),
        _trial("c", stop_reason="max_epochs", epoch=60),
        _trial("d"),
    )
    trials = [asha_stopped, cut, finished, never_ran]
    for started in (cut, finished):
        resumed.on_trial_start(6, trials, started)
    resumed.on_step_end(7, trials)
    assert searcher.calls == []  # the budget has not run out
    budget.ran_out = True
    resumed.on_step_end(8, trials)
    resumed.on_step_end(9, trials)  # once only

    told = {args[0]: kwargs for args, kwargs in searcher.calls}
    assert len(searcher.calls) == 3 and set(told) == {"b", "c", "d"}  # "a" was ended already
    assert told["b"]["result"]["stop_reason"] == "" and not told["b"]["error"]  # -> PRUNED
    assert told["c"]["result"]["stop_reason"] == "max_epochs"  # -> COMPLETE
    assert told["d"] == {"result": None, "error": True}  # -> FAIL
    assert table.calls == []  # not before Tune has stopped the trials' actors
    assert asha_stopped.last_result["stop_reason"] == ""  # still the scheduler's stop
    assert cut.last_result["stop_reason"] == never_ran.last_result["stop_reason"] == "time_budget"
    assert finished.last_result["stop_reason"] == "max_epochs"

    resumed.on_experiment_end(trials)
    # Other callbacks hear of cut trials that started (Ray's W&B fails on one it never saw start).
    assert [kwargs["trial"].trial_id for _, kwargs in table.calls] == ["b", "c"]
    outcome = take_outcome()
    assert outcome.finished
    assert outcome.stop_reasons == {"b": "time_budget", "d": "time_budget"}
    assert take_outcome() is None  # read once


def test_trials_restored_as_terminated_count_as_ended_without_the_callback_state():
    # A resumed search whose callback state was lost (set aside as unreadable): Tune restores
    # "a" TERMINATED and never runs it again, so it must not keep the search unfinished.
    end = SearchEnd(None, None, [])
    end.setup()
    restored, pending = _trial("a", stop_reason="max_epochs"), _trial("b")
    pending.status = Trial.PENDING
    end.on_step_begin(0, [restored, pending])
    end.on_trial_start(1, [restored, pending], pending)
    pending.status = Trial.TERMINATED
    end.on_trial_complete(5, [restored, pending], pending)
    end.on_step_begin(6, [restored, pending])
    end.on_experiment_end([restored, pending])
    assert take_outcome().finished

    # Only trials restored so: one that Tune's clean-up marks TERMINATED later was not ended.
    end = SearchEnd(None, None, [])
    end.setup()
    running = _trial("c")
    running.status = Trial.RUNNING
    end.on_step_begin(0, [running])
    running.status = Trial.TERMINATED
    end.on_step_begin(1, [running])
    end.on_experiment_end([running])
    assert not take_outcome().finished


class _Logger(LoggerCallback):
    def __init__(self):
        self.ended = []

    def log_trial_end(self, trial, failed=False):
        self.ended.append(trial.trial_id)


def test_a_search_with_a_trial_nobody_ended_is_not_finished_and_its_loggers_close():
    logger, table = _Logger(), _Recorder()
    end = SearchEnd(None, None, [table, logger])
    end.setup()
    done, cleaned_up = _trial("a", stop_reason="max_epochs"), _trial("b", stop_reason="")
    for trial in (done, cleaned_up):
        end.on_trial_start(1, [], trial)
    end.on_trial_complete(1, [], done)
    # Tune's clean-up after a signal marks a running trial TERMINATED without ending it.
    end.on_step_end(2, [done, cleaned_up])
    end.on_experiment_end([done, cleaned_up])
    assert not take_outcome().finished
    assert cleaned_up.last_result["stop_reason"] == ""  # no budget: nothing relabelled
    # Its loggers close it (Ray's W&B would wait 30 min for its run); nobody is told it ended.
    assert logger.ended == ["b"] and table.calls == []


@pytest.mark.ray
def test_sigusr1_ends_the_search_as_interrupted_and_resume_finishes_it(
    ray_cluster, write_space, tmp_path, capsys
):
    # Tune always catches SIGUSR1 (batch schedulers send it before a time limit), ends its loop
    # and marks the running trials TERMINATED: the search must still say it was interrupted.
    space = write_space(
        "usr1", run_cap=2, base={"max_epochs": 250, "eval_samples": 0, "checkpoint_every": 5},
        parameters={"width": {"values": [8, 16]}}, method="grid",
    )  # fmt: skip
    storage = tmp_path / "results"
    argv = ["--space", space, "--storage-path", str(storage), "--name", "usr1", "--no-report"]
    argv.append("--wandb")  # Ray's W&B callback waited 30 min for the interrupted trials' runs
    progress = storage / "usr1"

    def send_once_trials_report() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if any(p.stat().st_size for p in progress.glob("*/progress.csv")):
                time.sleep(1.0)
                os.kill(os.getpid(), signal.SIGUSR1)
                return
            time.sleep(0.2)

    sender = threading.Thread(target=send_once_trials_report, daemon=True)
    sender.start()
    assert search.main(argv) == 130
    sender.join()
    captured = capsys.readouterr()
    assert "--resume" in captured.err
    (state_file,) = progress.glob("experiment_state-*.json")
    saved = json.loads(state_file.read_text())["trial_data"]
    assert {json.loads(trial)["status"] for trial, _ in saved} != {"TERMINATED"}

    assert search.main([*argv, "--resume"]) == 0
    with (progress / "trials.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["stop_reason"] for r in rows] == ["max_epochs", "max_epochs"]
    assert all(int(r["epochs_run"]) == 250 for r in rows)
