"""A search space's ``scheduler`` / ``early_terminate`` and ``resources_per_trial`` keys, checked
and turned into what the search hands Ray (one problem per bad key, as the rest of the parser)."""

from __future__ import annotations

import math
from typing import Any

from tune_flow.errors import one_of, suggest
from tune_flow.space.parameters import Problems, as_number, parse_positive_int
from tune_flow.space.search_space import SchedulerSpec

SCHEDULERS = ("asha", "asha_promote", "fifo", "median")
TIME_ATTRS = ("epoch", "step", "samples_seen")  # ASHA's unit: epochs, optimizer steps, samples
RESOURCE_KEYS = ("cpu", "gpu")


def parse_scheduler(raw: Any, early: Any, max_epochs: int, problems: Problems) -> SchedulerSpec:
    """The ``scheduler`` mapping and W&B's ``early_terminate`` (hyperband: ASHA's grace period
    and reduction factor) as one :class:`SchedulerSpec`; ``max_t`` defaults to ``max_epochs``."""
    spec = SchedulerSpec(type="asha" if early else "fifo", max_t=max_epochs)
    if early is not None:
        if not isinstance(early, dict) or early.get("type") != "hyperband":
            problems.add(
                "`early_terminate` must be {type: hyperband, min_iter: N, eta: 3} (or max_iter + s)"
            )
        else:
            eta = as_number(early.get("eta", 3))
            if eta is None or eta < 2:
                problems.add(f"`early_terminate.eta` is {early.get('eta')!r}, but must be >= 2")
                eta = 3
            spec.reduction_factor = eta
            if "min_iter" in early:
                spec.grace_period = parse_positive_int(
                    early["min_iter"], "early_terminate.min_iter", problems
                )
            elif "max_iter" in early:
                max_iter = parse_positive_int(
                    early["max_iter"], "early_terminate.max_iter", problems
                )
                s = parse_positive_int(early.get("s", 1), "early_terminate.s", problems)
                # W&B brackets at max_iter / eta^k, k = 1..s: the lowest rung is the grace period.
                spec.grace_period = max(1, int(max_iter / eta**s))
            else:
                problems.add("`early_terminate` needs `min_iter` or `max_iter`")
            for key in early:
                if key not in ("type", "min_iter", "max_iter", "s", "eta", "strict"):
                    problems.add(
                        f"unknown key `early_terminate.{key}`; valid: type, min_iter, max_iter, s, eta, strict"
                    )
    if raw is None:
        return spec
    if not isinstance(raw, dict):
        problems.add(
            f"`scheduler` must be a mapping like {{type: asha}}; types: {', '.join(SCHEDULERS)}"
        )
        return spec
    for key in raw:
        if key not in ("type", "max_t", "grace_period", "reduction_factor", "time_attr"):
            problems.add(
                f"unknown key `scheduler.{key}`; valid: type, time_attr, max_t, grace_period, "
                "reduction_factor"
            )
    time_attr = raw.get("time_attr", "epoch")
    if time_attr not in TIME_ATTRS:
        problems.add(
            f"`scheduler.time_attr` is {time_attr!r}, but must be {one_of(TIME_ATTRS)}."
            f"{suggest(str(time_attr), TIME_ATTRS)}"
        )
    elif time_attr != "epoch":
        spec.time_attr = time_attr
        # max_t and grace_period count in this unit now; an epoch-valued default would be wrong.
        spec.max_t = None
    kind = raw.get("type", spec.type)
    if kind not in SCHEDULERS:
        problems.add(
            f"`scheduler.type` is {kind!r}, but must be {one_of(SCHEDULERS)}."
            f"{suggest(str(kind), SCHEDULERS)}"
        )
    spec.type = kind
    if "max_t" in raw:
        spec.max_t = parse_positive_int(raw["max_t"], "scheduler.max_t", problems)
    if "grace_period" in raw:
        spec.grace_period = parse_positive_int(
            raw["grace_period"], "scheduler.grace_period", problems
        )
    if "reduction_factor" in raw:
        rf = as_number(raw["reduction_factor"])
        if rf is None or rf < 2:
            problems.add(
                f"`scheduler.reduction_factor` is {raw['reduction_factor']!r}, but must be >= 2"
            )
        else:
            spec.reduction_factor = rf
    return spec


def parse_resources(raw: Any, problems: Problems) -> dict[str, float]:
    """``resources_per_trial``: cpu > 0, gpu >= 0 (fractions only below 1), defaults 1 and 0."""
    resources = {"cpu": 1.0, "gpu": 0.0}
    if not isinstance(raw, dict):
        problems.add("`resources_per_trial` must be a mapping like {cpu: 1, gpu: 0.25}")
        return resources
    for key, value in raw.items():
        if key not in RESOURCE_KEYS:
            problems.add(f"unknown key `resources_per_trial.{key}`; valid: cpu, gpu")
            continue
        number = as_number(value)
        if (
            number is None
            or not math.isfinite(number)
            or number < 0
            or (key == "cpu" and number == 0)
        ):
            rule = "cpu > 0" if key == "cpu" else "gpu >= 0"
            problems.add(f"`resources_per_trial.{key}` is {value!r}, but must be `{rule}`")
            continue
        if key == "gpu" and number > 1 and not float(number).is_integer():
            problems.add(
                f"`resources_per_trial.gpu` is {value!r}: fractions are allowed only below 1 (e.g. 0.25)"
            )
            continue
        resources[key] = float(number)
    return resources
