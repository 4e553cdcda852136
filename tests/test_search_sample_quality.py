"""Searches ranked by sample quality: w2 in trials, fresh ASHA rungs, best checkpoints,
the final test-split evaluation, Pareto fronts, and the warm-up warning."""

import csv
import json
import re
from pathlib import Path

import numpy as np
import optuna
import pytest
import torch
import yaml

from tune_flow.data.toy import generate
from tune_flow.search import cli as search
from tune_flow.search.schedulers.asha_state import STATE_FILENAME
from tune_flow.training.restore import sampled_epoch

pytestmark = pytest.mark.ray


def _rows(experiment: Path) -> list[dict]:
    with (experiment / "trials.csv").open() as handle:
        return list(csv.DictReader(handle))


def _results(trial_dir: str) -> list[dict]:
    return [json.loads(line) for line in (Path(trial_dir) / "result.json").open()]


def test_search_ranks_and_cuts_by_w2_with_fresh_rungs(ray_cluster, write_space, tmp_path, capsys):
    space = write_space(
        "w2",
        method="random",
        run_cap=4,
        metric={"name": "w2", "goal": "minimize"},
        base={"max_epochs": 6, "eval_samples": 200, "eval_every": 4},
        parameters={"width": {"values": [4, 16, 32]}, "lr": {"values": [1e-4, 3e-3]}},
        scheduler={"type": "asha", "grace_period": 2, "reduction_factor": 2},
    )
    storage = tmp_path / "results"
    db = tmp_path / "study.db"
    # The final selection scores against the user's own points (fresh moons, another seed).
    np.save(reference := tmp_path / "fresh_moons.npy", generate("moons", 100, 7))
    assert (
        search.main(
            [
                "--space",
                space,
                "--storage-path",
                str(storage),
                "--name",
                "w2",
                "--optuna-storage",
                f"sqlite:///{db}",
                "--no-report",
                "--selection-reference",
                str(reference),
            ]
        )  # fmt: skip
        == 0
    )
    out = capsys.readouterr().out
    assert "ASHA rungs at epoch 2, 4 (max_t 6)" in out
    experiment = storage / "w2"
    rows = _rows(experiment)
    assert len(rows) == 4
    # The final selection's trials first (by their score there), the rest by the search metric.
    scored = [r for r in rows if r["selected_w2"] not in ("", "nan")]
    assert scored and rows[: len(scored)] == scored
    assert [float(r["selected_w2"]) for r in scored] == sorted(
        float(r["selected_w2"]) for r in scored
    )
    rest = rows[len(scored) :]
    assert [float(r["best_w2"]) for r in rest] == sorted(float(r["best_w2"]) for r in rest)

    for row in rows:
        results = _results(row["trial_dir"])
        evaluated = {r["epoch"]: r for r in results if "w2" in r}
        assert all("energy_distance" in r for r in evaluated.values())
        # At every rung reached (epochs 2 and 4), at eval_every (4) and at the last epoch.
        last = int(row["epochs_run"])
        assert set(evaluated) == {e for e in (2, 4, last) if e <= last}
        assert float(row["best_w2"]) == min(r["w2"] for r in evaluated.values())
        # The weights named are in the trial's latest checkpoint (its last epoch, where the trial
        # ended); of a trial the final selection did not score, they are its best by w2.
        best = min(evaluated.values(), key=lambda r: r["w2"])
        weights, checkpoint = Path(row["checkpoint"]), Path(row["checkpoint"]).parent
        if row in rest:
            assert weights.name == "best_model.pt"
        else:
            assert (weights.name, int(row["selected_epoch"])) in {
                ("best_model.pt", best["epoch"]), ("checkpoint.pt", last),
                ("best_val_loss_model.pt", torch.load(weights, weights_only=True)["epoch"]),
            }  # fmt: skip
        assert torch.load(checkpoint / "checkpoint.pt", weights_only=True)["epoch"] == last
        best_model = torch.load(checkpoint / "best_model.pt", weights_only=True)
        assert (best_model["epoch"], best_model["metric"]) == (best["epoch"], "w2")
        assert best_model["value"] == pytest.approx(best["w2"])
        assert sampled_epoch(checkpoint) == best["epoch"]

    # Every rung value ASHA recorded is the w2 computed at that rung's epoch, never a stale one.
    rungs = json.loads((experiment / STATE_FILENAME).read_text())["brackets"][0]
    by_trial = {r["trial_id"]: r for r in rows}
    recorded = 0
    for milestone, values in rungs:
        for trial_id, value in values.items():
            fresh = [
                r for r in _results(by_trial[trial_id]["trial_dir"])
                if r["epoch"] == milestone and "w2" in r
            ]  # fmt: skip
            # ASHA keeps values sign-flipped for mode "min" (larger is better inside it).
            assert fresh and fresh[0]["w2"] == pytest.approx(-value)
            recorded += 1
    assert recorded >= 4

    selection = json.loads((experiment / "selection.json").read_text())
    assert (selection["reference"], selection["reference_points"]) == (str(reference), 100)
    assert {c["n"] for c in selection["candidates"]} == {400}  # four per reference point
    assert f"by w2 against {reference} (400 generated" in out
    record = yaml.safe_load((experiment / "search_record.yaml").read_text())
    assert record["flags"]["selection_reference"] == str(reference)

    # The winner, evaluated once on the test split.
    evaluation = json.loads((experiment / "best_eval.json").read_text())
    assert evaluation["split"] == "test" and evaluation["trial_id"] == rows[0]["trial_id"]
    assert evaluation["w2"] > 0 and evaluation["energy_distance"] >= 0
    assert "chosen model on the test split" in out and "(n=" in out and "; floor " in out
    assert set(evaluation["floor"]) == {"w2", "energy_distance"}

    # Optuna's study: objectives named, ASHA-stopped trials PRUNED (not COMPLETE at epoch 2).
    study = optuna.load_study(study_name="w2", storage=f"sqlite:///{db}")
    assert study.metric_names == ["w2"]
    states = {t.number: t.state for t in study.trials}
    stopped = [r for r in rows if r["stop_reason"] == "asha"]
    assert sum(s == optuna.trial.TrialState.PRUNED for s in states.values()) == len(stopped)


def test_multi_objective_search_marks_the_pareto_front(ray_cluster, write_space, tmp_path):
    space = write_space(
        "pareto",
        method="random",
        run_cap=4,
        metric=[{"name": "w2", "goal": "minimize"}, {"name": "num_parameters", "goal": "minimize"}],
        base={"max_epochs": 2, "eval_samples": 100},
        parameters={"width": {"values": [4, 16, 64]}, "depth": {"values": [1, 3]}},
    )
    storage = tmp_path / "results"
    argv = ["--space", space, "--storage-path", str(storage), "--name", "p", "--no-report"]
    assert search.main(argv) == 0
    rows = _rows(storage / "p")
    assert "pareto" in rows[0]
    front = [r for r in rows if r["pareto"] == "True"]
    assert front
    smallest = min(int(r["final_num_parameters"]) for r in rows)
    assert any(int(r["final_num_parameters"]) == smallest for r in front)
    for r in front:  # nothing on the front is dominated
        w2, size = float(r["final_w2"]), int(r["final_num_parameters"])
        assert not any(
            float(o["final_w2"]) <= w2 and int(o["final_num_parameters"]) <= size
            and (float(o["final_w2"]) < w2 or int(o["final_num_parameters"]) < size)
            for o in rows
        )  # fmt: skip


def test_multi_objective_refuses_asha_before_ray_starts(write_space, capsys):
    space = write_space(
        "moasha",
        metric=[{"name": "w2"}, {"name": "num_parameters"}],
        parameters={"width": {"values": [4, 16]}},
        scheduler={"type": "asha", "grace_period": 1},
    )
    assert search.main(["--space", space, "--dry-run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "fifo" in err[0] and "multi-objective" in err[0]


def test_a_first_rung_mid_warmup_moves_past_it_before_ray_starts(write_space, capsys):
    # 800 training rows, batch 100: 8 steps per epoch, so 1000 warm-up steps last 125 epochs.
    space = write_space(
        "warm",
        base={"max_epochs": 200, "warmup_steps": 1000},
        parameters={"width": {"values": [4, 16]}},
        scheduler={"type": "asha", "grace_period": 10},
    )
    assert search.main(["--space", space, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "ASHA's first rung moved from epoch 10 to 125: " in out
    assert "ASHA rungs at epoch 125 (max_t 200)" in out
    assert "grace_period 125" in out  # the scheduler the search would build
    # The user can insist, and is warned.
    assert search.main(["--space", space, "--dry-run", "--keep-grace-period"]) == 0
    out = capsys.readouterr().out
    warning = [line for line in out.splitlines() if line.startswith("warning: ASHA's first rung")]
    assert len(warning) == 1 and "grace_period: 125" in warning[0]
    assert "ASHA rungs at epoch 10, " in out


def test_checkpoints_of_finished_trials_outside_the_top_k_are_pruned(
    ray_cluster, write_space, tmp_path, capsys
):
    space = write_space(
        "prune",
        method="grid",  # five distinct configs: no ties in the ranking
        run_cap=5,
        base={"max_epochs": 2, "eval_samples": 0},
        parameters={"width": {"values": [4, 8, 16, 32, 64]}},
    )
    storage = tmp_path / "results"
    argv = ["--space", space, "--storage-path", str(storage), "--name", "prune", "--top-k", "2"]
    assert search.main([*argv, "--no-report"]) == 0
    out = capsys.readouterr().out
    rows = _rows(storage / "prune")
    kept = [r for r in rows if list(Path(r["trial_dir"]).glob("checkpoint_*"))]
    assert [r["trial_id"] for r in kept] == [r["trial_id"] for r in rows[:2]]  # the top 2
    assert all(r["checkpoint"] for r in rows[:2]) and not any(r["checkpoint"] for r in rows[2:])
    # Three trials outside the top 2, each with one or two checkpoints (Tune keeps two).
    assert re.search(r"pruned [3-6] checkpoint\(s\)", out), out
    assert (storage / "prune" / "best_config.yaml").is_file()
