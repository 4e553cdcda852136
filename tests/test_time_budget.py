"""--time-budget: the trials it cuts end like trials a scheduler stops (Optuna, pruner, labels)."""

import csv
import json
from pathlib import Path

import optuna
import pytest

from tune_flow.search import cli as search
from tune_flow.search.time_budget import TIME_BUDGET_REASON

pytestmark = pytest.mark.ray


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
