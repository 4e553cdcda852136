"""ASHA's rungs, their unit, and the warning when the first one comes mid-warm-up."""

import pytest

from tune_flow.search.schedulers.rungs import (
    milestones,
    resolve_max_t,
    settle_first_rung,
    warmup_warning,
)
from tune_flow.space import parse_space

BASE = {"arch": "mlp", "flow": "icfm", "dataset": "moons", "aug": "none", "group": "g"}


def _space(scheduler, base=None, parameters=None):
    space, problems = parse_space(
        {
            "method": "bayes",
            "base": {**BASE, **(base or {})},
            "parameters": parameters or {"width": {"values": [8, 16]}},
            "scheduler": scheduler,
        }
    )
    assert space is not None, problems
    return space


@pytest.mark.parametrize(("grace", "rf", "max_t"), [(5, 3, 60), (1, 2, 8), (2, 4, 100), (7, 3, 7)])
def test_milestones_are_the_rungs_ray_builds(grace, rf, max_t):
    from ray.tune.schedulers import ASHAScheduler

    asha = ASHAScheduler(
        time_attr="step", metric="w2", mode="min", max_t=max_t, grace_period=grace,
        reduction_factor=rf, brackets=1,
    )  # fmt: skip
    ray_rungs = sorted(milestone for milestone, _ in asha._brackets[0]._rungs)
    assert milestones(grace, rf, max_t) == pytest.approx(ray_rungs)


def test_warmup_warning_names_the_batch_sizes_and_a_grace_period_that_avoids_it():
    # 8000 training rows: batch 512 -> 15 steps per epoch, 1000 warm-up steps -> 67 epochs.
    space = _space(
        {"type": "asha", "grace_period": 10, "max_t": 100},
        base={"max_epochs": 100},
        parameters={"batch_size": {"values": [64, 512]}},
    )
    line = warmup_warning(space, num_train=8000)
    assert line is not None and line.startswith("warning:")
    # batch 64: 125 steps per epoch, past the warm-up at epoch 10; batch 512 is not.
    assert "batch_size 512 (" in line and "grace_period: 67" in line
    assert "\n" not in line


def test_the_first_rung_moves_past_every_warmup_unless_the_user_keeps_it():
    def space():
        return _space(
            {"type": "asha", "grace_period": 10, "max_t": 100},
            base={"max_epochs": 100},
            parameters={"batch_size": {"values": [64, 512]}},
        )

    moved = space()
    line = settle_first_rung(moved, 8000, keep=False)
    assert moved.scheduler.grace_period == 67  # batch 512's warm-up ends in epoch 67
    assert line.startswith("ASHA's first rung moved from epoch 10 to 67: ")
    assert "--keep-grace-period" in line and "\n" not in line
    assert settle_first_rung(moved, 8000, keep=False) is None  # nothing left to move

    kept = space()
    assert settle_first_rung(kept, 8000, keep=True).startswith("warning:")
    assert kept.scheduler.grace_period == 10


def test_no_warning_when_every_trial_is_past_its_warmup():
    space = _space({"type": "asha", "grace_period": 5, "max_t": 60}, base={"warmup_steps": 100})
    assert warmup_warning(space, num_train=8000) is None  # 31 steps/epoch: warm-up ends at epoch 4


def test_rungs_in_optimizer_steps_use_the_whole_run_as_max_t():
    space = _space(
        {"type": "asha", "time_attr": "step", "grace_period": 1000}, base={"max_epochs": 50}
    )
    assert space.scheduler.time_attr == "step"
    assert resolve_max_t(space, num_train=8000) == 50 * (8000 // 256)
    assert warmup_warning(space, num_train=8000) is None  # the first rung is at the warm-up's end


def test_unknown_time_attr_is_one_problem_line():
    space, problems = parse_space(
        {"method": "bayes", "base": BASE, "parameters": {"width": {"values": [8]}},
         "scheduler": {"type": "asha", "time_attr": "steps"}}
    )  # fmt: skip
    assert space is None and any("time_attr" in p and "`step`" in p for p in problems)
