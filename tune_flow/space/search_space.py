"""A parsed search space: parameters with their distributions and conditions, the scheduler,
resources, and the define-by-run sampling Optuna uses. Parsing lives in :mod:`tune_flow.space`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from tune_flow.space.code_folder import CodeFolder
from tune_flow.space.distributions import Distribution


@dataclass(frozen=True)
class Parameter:
    """A searched config field: its distribution and the conditions under which it applies."""

    name: str
    distribution: Distribution
    when: dict[str, list[Any]] = field(default_factory=dict)

    def applies(self, values: dict[str, Any]) -> bool:
        """True when every ``when`` condition holds for the values chosen so far."""
        return all(values.get(key) in allowed for key, allowed in self.when.items())


@dataclass
class SchedulerSpec:
    """ASHA/median settings. ``max_t`` and ``grace_period`` count in ``time_attr`` units: epochs,
    optimizer steps (``step``) or training samples seen (``samples_seen``)."""

    type: str = "fifo"
    max_t: int | None = None  # None: the trials' whole run (max_epochs in time_attr units)
    grace_period: int = 1
    reduction_factor: float = 3
    time_attr: str = "epoch"

    @property
    def has_rungs(self) -> bool:
        """ASHA either way: Ray's (stops at a rung) or by promotion (pauses at a rung)."""
        return self.type in ("asha", "asha_promote")


@dataclass
class SearchSpace:
    """A parsed and validated search-space file."""

    name: str
    method: str
    metric: str
    goal: str
    run_cap: int
    base: dict[str, Any]
    parameters: list[Parameter]
    scheduler: SchedulerSpec
    resources: dict[str, float]
    notes: list[str] = field(default_factory=list)
    path: str | None = None
    # [(name, goal)], the first one being ``metric``/``goal``; more than one: multi-objective.
    objectives: list[tuple[str, str]] = field(default_factory=list)
    num_train: int | None = None  # training rows of the base config, once its data is loaded
    code: CodeFolder | None = None  # the user's code folder, shipped to every Ray worker

    def __post_init__(self) -> None:
        if not self.objectives:
            self.objectives = [(self.metric, self.goal)]

    @property
    def mode(self) -> str:
        """Tune's word for the goal."""
        return "min" if self.goal == "minimize" else "max"

    @property
    def metrics(self) -> list[str]:
        return [name for name, _ in self.objectives]

    @property
    def modes(self) -> list[str]:
        return ["min" if goal == "minimize" else "max" for _, goal in self.objectives]

    @property
    def is_multi_objective(self) -> bool:
        return len(self.objectives) > 1

    def set_objectives(self, objectives: list[tuple[str, str]]) -> None:
        self.objectives = list(objectives)
        self.metric, self.goal = objectives[0]

    def sample(self, trial: Any) -> dict[str, Any]:
        """Optuna define-by-run: draw the parameters that apply, in file order (conditions may
        only refer to parameters above them or to base values)."""
        chosen: dict[str, Any] = {}
        context = dict(self.base)
        for parameter in self.parameters:
            if parameter.applies(context):
                chosen[parameter.name] = parameter.distribution.suggest(trial, parameter.name)
                context[parameter.name] = chosen[parameter.name]
        return chosen

    def grid_points(self) -> list[dict[str, Any]]:
        """Every combination of a grid space, with conditional parameters only where they apply."""
        points: list[dict[str, Any]] = [{}]
        for parameter in self.parameters:
            values = parameter.distribution.grid_values() or []
            expanded = []
            for point in points:
                if parameter.applies({**self.base, **point}):
                    expanded += [{**point, parameter.name: v} for v in values]
                else:
                    expanded.append(point)
            points = expanded
        unique = {tuple(sorted(p.items())): p for p in points}
        return list(unique.values())

    def first_point(self, forced: dict[str, Any] | None = None) -> dict[str, Any]:
        """A deterministic representative: each parameter's first value or the middle of its
        range; ``forced`` values instead for the categorical parameters it names (the
        conditional parameters that then apply are drawn too)."""
        forced = forced or {}

        class _First:
            def suggest_categorical(self, name, choices):  # noqa: ANN001, ANN202
                return forced[name] if name in forced else choices[0]

            def suggest_int(self, name, low, high):  # noqa: ANN001, ANN202
                return (low + high) // 2

            def suggest_float(self, name, low, high, log=False, step=None):  # noqa: ANN001, ANN202
                mid = math.sqrt(low * high) if log else (low + high) / 2
                return round(mid / step) * step if step else mid

        return self.sample(_First())

    def describe(self) -> list[str]:
        lines = [
            f"space {self.name!r}: method {self.method}, "
            + ", ".join(f"{goal} {name}" for name, goal in self.objectives)
            + f", run_cap {self.run_cap}",
            f"scheduler: {self.scheduler.type}"
            + (
                f" (time_attr {self.scheduler.time_attr}, grace_period "
                f"{self.scheduler.grace_period}, reduction_factor "
                f"{self.scheduler.reduction_factor}, max_t {self.scheduler.max_t or 'the run'})"
                if self.scheduler.type != "fifo"
                else ""
            ),
            "resources per trial: " + ", ".join(f"{k} {v:g}" for k, v in self.resources.items()),
            "base: " + ", ".join(f"{k}={v!r}" for k, v in self.base.items()),
            "parameters:",
        ]
        for p in self.parameters:
            cond = (
                "  when " + ", ".join(f"{k} in {v!r}" for k, v in p.when.items()) if p.when else ""
            )
            lines.append(f"  {p.name}: {p.distribution.describe()}{cond}")
        if self.code is not None:
            excludes = f" (excludes {', '.join(self.code.excludes)})" if self.code.excludes else ""
            lines.append(f"code: {self.code.path}{excludes}, shipped to every Ray worker")
        lines += [f"note: {n}" for n in self.notes]
        return lines
