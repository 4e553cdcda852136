import math
import random

from tune_flow.report.importance import parameter_importances


def test_the_parameter_that_drives_the_metric_is_the_most_important():
    rng = random.Random(0)
    rows = []
    for _ in range(40):
        lr = 10 ** rng.uniform(-4, -2)
        width = rng.choice([16, 32, 64])
        arch = rng.choice(["mlp", "resmlp"])
        rows.append({"lr": lr, "width": width, "arch": arch, "best_w2": abs(math.log10(lr) + 3)})
    importances = parameter_importances(rows, ["lr", "width", "arch"], "best_w2", "min")
    assert max(importances, key=importances.get) == "lr"
    assert math.isclose(sum(importances.values()), 1.0, rel_tol=1e-6)


def test_too_few_trials_or_nothing_varied_gives_nothing():
    rows = [{"lr": 0.001, "best_w2": 0.3}] * 10
    assert parameter_importances(rows, ["lr"], "best_w2", "min") == {}
    assert parameter_importances(rows[:2], ["lr"], "best_w2", "min") == {}


def test_the_interactive_history_runs_in_the_order_trials_were_proposed():
    """trials.csv is ranked best first; the optimisation history must run in time instead."""
    from tune_flow.report.interactive import build_study

    rows = [
        {"trial_id": "c", "trial_dir": "/r/train_flow_cccc0003_3_lr=0.1_2026-12-05", "loss": "0.1"},
        {"trial_id": "a", "trial_dir": "/r/train_flow_aaaa0001_1_lr=0.3_2026-12-05", "loss": "0.3"},
        {"trial_id": "b", "trial_dir": "/r/train_flow_bbbb0002_2_lr=0.2_2026-12-05", "loss": "0.2"},
    ]
    study = build_study(rows, [], "loss", "min", {})
    assert [t.user_attrs["trial_id"] for t in study.trials] == ["a", "b", "c"]
