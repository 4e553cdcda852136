"""--time-budget: the trials it cuts end like trials a scheduler stops (Optuna, pruner, labels)."""

import csv
import json
from pathlib import Path
from types import SimpleNamespace

import optuna
import pytest
from ray.tune.experiment import Trial

from tune_flow.search import cli as search
from tune_flow.search.time_budget import TIME_BUDGET_REASON, TimeBudgetEnd


@pytest.mark.ray
def test_trials_the_budget_cuts_are_pruned_in_optuna_labelled_and_lose_their_checkpoints(
    ray_cluster, write_space, tmp_path, capsys
):
    # Far more epochs than the budget allows: every trial Tune has created is running, waiting at
    # a rung or not started yet when the budget runs out (two at a time, ASHA by promotion).
    space = write_space(
        "budget",
        run_cap=4,
        base={"max_epochs": 5000, "eval_samples": 0, "checkpoint_every": 2},
        parameters={"lr": {"values": [1e-5, 1e-3, 3e-3, 1e-2]}},
        scheduler={"type": "asha_promote", "grace_period": 2, "reduction_factor": 2},
    )
    storage = tmp_path / "results"
    study = f"sqlite:///{tmp_path / 'study.db'}"
    argv = ["--space", space, "--storage-path", str(storage), "--name", "budget", "--top-k", "1"]
    argv += ["--time-budget", "12", "--optuna-storage", study, "--no-report"]
    assert search.main(argv) == 0
    out = capsys.readouterr().out

    with (storage / "budget" / "trials.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert 2 <= len(rows) <= 4  # the searcher proposes lazily: the budget may end it early
    assert {r["stop_reason"] for r in rows} == {TIME_BUDGET_REASON}, rows
    assert f"stop reasons: {TIME_BUDGET_REASON} {len(rows)}" in out
    trained = [r for r in rows if int(r["epochs_run"]) >= 2]  # with a checkpoint
    assert len(trained) >= 2, rows
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
    assert [r["trial_id"] for r in with_checkpoints] == [rows[0]["trial_id"]]
    assert rows[0]["checkpoint"]
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
    return SimpleNamespace(trial_id=trial_id, status=Trial.TERMINATED, last_result=last_result)


def test_budget_end_decides_per_trial_and_a_resumed_search_keeps_what_was_ended():
    budget = SimpleNamespace(ran_out=True)
    searcher, table = _Recorder(), _Recorder()
    first_run = TimeBudgetEnd(budget, searcher, [table])
    asha_stopped = _trial("a", stop_reason="", epoch=8)
    first_run.on_trial_complete(3, [], asha_stopped)  # ended by the scheduler in the first run

    resumed = TimeBudgetEnd(budget, searcher, [table])
    resumed.set_state(first_run.get_state())  # Tune's callback state across --resume
    cut, finished, never_ran = (
        _trial("b", stop_reason="", epoch=5),
        _trial("c", stop_reason="max_epochs", epoch=60),
        _trial("d"),
    )
    resumed.on_experiment_end([asha_stopped, cut, finished, never_ran])

    told = {args[0]: kwargs for args, kwargs in searcher.calls}
    assert set(told) == {"b", "c", "d"}  # "a" was ended already
    assert told["b"]["result"]["stop_reason"] == "" and not told["b"]["error"]  # -> PRUNED
    assert told["c"]["result"]["stop_reason"] == "max_epochs"  # -> COMPLETE
    assert told["d"] == {"result": None, "error": True}  # -> FAIL
    assert [kwargs["trial"].trial_id for _, kwargs in table.calls] == ["b", "c", "d"]
    assert asha_stopped.last_result["stop_reason"] == ""  # still the scheduler's stop
    assert cut.last_result["stop_reason"] == never_ran.last_result["stop_reason"] == "time_budget"
    assert finished.last_result["stop_reason"] == "max_epochs"


def test_budget_end_does_nothing_when_the_budget_did_not_run_out():
    searcher = _Recorder()
    end = TimeBudgetEnd(SimpleNamespace(ran_out=False), searcher, [])
    trial = _trial("a", stop_reason="", epoch=3)
    end.on_experiment_end([trial])
    assert searcher.calls == [] and trial.last_result["stop_reason"] == ""
