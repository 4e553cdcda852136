import logging
import math

import pytest
import torch

from tune_flow import get_cosine_schedule_with_warmup


def _lrs(warmup, total, min_ratio, steps, peak=2.0):
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=peak)
    sched = get_cosine_schedule_with_warmup(opt, warmup, total, min_ratio)
    seen = {}
    for step in range(max(steps) + 1):
        seen[step] = opt.param_groups[0]["lr"]
        opt.step()
        sched.step()
    return [seen[s] for s in steps]


def test_lr_at_key_steps():
    peak, warmup, total, floor = 2.0, 100, 1100, 0.1
    mid_cosine = warmup + (total - warmup) // 2
    got = _lrs(warmup, total, floor, [0, 50, 100, mid_cosine, total, 2 * total], peak)
    expected = [
        0.0,  # warm-up starts from 0
        peak * 0.5,  # mid warm-up
        peak,  # end of warm-up: the peak
        peak * (floor + (1 - floor) * 0.5),  # half-way through the cosine
        peak * floor,  # end of the run: the floor
        peak * floor,  # held at the floor, never climbs back up
    ]
    assert got == pytest.approx(expected)


def test_lr_never_rises_after_the_end_of_the_run():
    lrs = _lrs(10, 100, 0.0, list(range(100, 400)))
    assert max(lrs) == 0.0


def test_cosine_follows_closed_form():
    warmup, total = 10, 110
    for step in (10, 35, 60, 85, 109):
        progress = (step - warmup) / (total - warmup)
        assert _lrs(warmup, total, 0.0, [step], peak=1.0)[0] == pytest.approx(
            0.5 * (1 + math.cos(math.pi * progress))
        )


def test_warmup_longer_than_run_is_clipped_and_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="tune_flow.training.schedule"):
        got = _lrs(1000, 100, 0.0, [0, 50, 100], peak=1.0)
    assert "clipped to 100" in caplog.text
    assert got == pytest.approx([0.0, 0.5, 0.0])


@pytest.mark.parametrize(
    ("warmup", "total", "floor", "match"),
    [
        (-1, 10, 0.0, "num_warmup_steps"),
        (0, 0, 0.0, "num_training_steps"),
        (0, 10, 1.5, "min_lr_ratio"),
    ],
)
def test_invalid_arguments_are_named(warmup, total, floor, match):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    with pytest.raises(ValueError, match=match):
        get_cosine_schedule_with_warmup(opt, warmup, total, floor)
