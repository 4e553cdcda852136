"""Where ASHA judges trials, in which unit, and whether that is before the LR warm-up ends.

ASHA's rungs sit at ``grace_period * reduction_factor**k`` (k = 0, 1, ...) up to ``max_t``, in
the unit of ``time_attr``: epochs, optimizer steps or training samples seen. An epoch is
``num_train // batch_size`` optimizer steps, so with epochs as the unit a trial with a larger
batch is judged after fewer steps, possibly in the middle of its learning-rate warm-up (1000
steps by default), where its loss says little about where it will end. No Ray here: this is
arithmetic on the space, printed before Ray starts.
"""

from __future__ import annotations

import math
from typing import Any

from tune_flow.space import SearchSpace
from tune_flow.training.config import TrainingConfig


def _default(name: str) -> Any:
    return TrainingConfig.__dataclass_fields__[name].default


def _values(space: SearchSpace, name: str) -> list[int]:
    """Every value of ``name`` a trial may use (the bounds of a continuous range), or the fixed
    one."""
    for parameter in space.parameters:
        if parameter.name == name:
            values = parameter.distribution.grid_values()
            if values is None:
                low, high, _ = parameter.distribution._optuna_range()
                values = [low, high]
            return sorted({int(v) for v in values})
    return [int(space.base.get(name, _default(name)))]


def batch_sizes(space: SearchSpace) -> list[int]:
    """Every batch size a trial of the space may use (the bounds of a continuous range)."""
    return [max(1, b) for b in _values(space, "batch_size")]


def steps_per_epoch(num_train: int, batch_size: int) -> int:
    """Whole batches only, as FlowTrainer trains."""
    return max(1, num_train // min(batch_size, num_train))


def _per_epoch(unit: str, num_train: int, batch_size: int) -> int:
    steps = steps_per_epoch(num_train, batch_size)
    return {"epoch": 1, "step": steps, "samples_seen": steps * min(batch_size, num_train)}[unit]


def resolve_max_t(space: SearchSpace, num_train: int) -> int:
    """``scheduler.max_t``, or the longest trial's whole run in ``time_attr`` units."""
    spec = space.scheduler
    if spec.max_t:
        return int(spec.max_t)
    max_epochs = int(space.base.get("max_epochs", _default("max_epochs")))
    return max_epochs * max(_per_epoch(spec.time_attr, num_train, b) for b in batch_sizes(space))


def milestones(grace_period: float, reduction_factor: float, max_t: float) -> list[float]:
    """ASHA's rungs, lowest first: Ray's own formula (``_Bracket`` with one bracket, s = 0)."""
    grace_period = min(grace_period, max_t)
    count = int(math.log(max_t / grace_period) / math.log(reduction_factor) + 1)
    return [grace_period * reduction_factor**k for k in range(count)]


def describe_rungs(space: SearchSpace, max_t: int) -> str:
    spec = space.scheduler
    rungs = milestones(spec.grace_period, spec.reduction_factor, max_t)
    unit = {"epoch": "epoch", "step": "optimizer step", "samples_seen": "samples seen"}
    promotion = ""
    if spec.type == "asha_promote":
        promotion = (
            f"; by promotion: a trial waits at a rung until it is in the top "
            f"1/{spec.reduction_factor:g} there"
        )
    return (
        f"ASHA rungs at {unit[spec.time_attr]} "
        + ", ".join(f"{r:g}" for r in rungs)
        + f" (max_t {max_t}){promotion}"
    )


def late_first_rung(space: SearchSpace, num_train: int) -> tuple[float, str] | None:
    """When ASHA's first rung comes before some trial's LR warm-up has ended: the grace period
    that judges every trial after its warm-up, and why, in words; None when every trial is past
    its warm-up by then."""
    spec = space.scheduler
    if not spec.has_rungs:
        return None
    warmup = max(_values(space, "warmup_steps"))  # the longest warm-up a trial may have
    max_epochs = int(space.base.get("max_epochs", _default("max_epochs")))
    late: list[tuple[int, int, float]] = []  # (batch, warm-up steps, grace that avoids it)
    for batch in batch_sizes(space):
        steps = steps_per_epoch(num_train, batch)
        # The schedule clips a warm-up longer than the run to the run.
        effective = min(warmup, max_epochs * steps)
        per_step = _per_epoch(spec.time_attr, num_train, batch) / steps
        first_rung_steps = min(spec.grace_period, resolve_max_t(space, num_train)) / per_step
        if first_rung_steps < effective:
            needed = math.ceil(effective / steps) * _per_epoch(spec.time_attr, num_train, batch)
            late.append((batch, effective, needed))
    if not late:
        return None
    batches = ", ".join(str(b) for b, _, _ in late)
    needed = max(n for _, _, n in late)
    worst = max(late, key=lambda item: item[2])
    reason = (
        f"ASHA's first rung ({spec.time_attr} {spec.grace_period:g}) comes before the "
        f"learning-rate warm-up ends for batch_size {batches} ({worst[1]} warm-up steps, "
        f"{steps_per_epoch(num_train, worst[0])} steps per epoch on {num_train} training rows)"
    )
    return needed, reason


def warmup_warning(space: SearchSpace, num_train: int) -> str | None:
    """One line when ASHA's first rung comes before some trial's LR warm-up has ended, with the
    grace period that would avoid it; None when every trial is past its warm-up by then."""
    late = late_first_rung(space, num_train)
    if late is None:
        return None
    needed, reason = late
    return (
        f"warning: {reason}; `scheduler: {{grace_period: {needed:g}}}` would judge every trial "
        "after its warm-up"
    )


def settle_first_rung(space: SearchSpace, num_train: int, keep: bool) -> str | None:
    """Move ASHA's first rung past every trial's warm-up (a trial judged mid-warm-up is judged
    on a learning rate it has not reached: issue 21 saw every trial of a slow-starting setting
    cut at a rung before its warm-up ended, though that setting finished best). ``keep``: the
    user insists on the space's grace period, which is then only warned about. Returns the line
    to print, or None."""
    late = late_first_rung(space, num_train)
    if late is None:
        return None
    if keep:
        return warmup_warning(space, num_train)
    needed, reason = late
    old = space.scheduler.grace_period
    space.scheduler.grace_period = int(needed) if float(needed).is_integer() else needed
    return (
        f"ASHA's first rung moved from {space.scheduler.time_attr} {old:g} to {needed:g}: "
        f"{reason}; pass --keep-grace-period to judge trials at {old:g} anyway"
    )


def num_train_rows(space: SearchSpace) -> int:
    """Training rows of the space's first point (the data a trial of it would train on)."""
    from tune_flow.data import check_data

    return check_data(TrainingConfig.from_dict({**space.first_point(), **space.base}))
