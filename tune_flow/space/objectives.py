"""What a search ranks trials by: ``metric`` in a space file (a name, ``{name, goal}``, or a list
of them for a multi-objective search), checked against what trials report."""

from __future__ import annotations

from typing import Any

from tune_flow.errors import suggest
from tune_flow.evaluation.in_trial import is_sample_metric, sample_metric_names
from tune_flow.space.parameters import Problems, as_number
from tune_flow.space.search_space import SchedulerSpec
from tune_flow.training.config import TrainingConfig

GOALS = ("minimize", "maximize")
# Metrics the trainable reports every epoch; the sample metrics (w2, energy_distance, ... see
# tune_flow.evaluation.in_trial) come on evaluation epochs.
REPORTED_METRICS = ("val_loss", "raw_val_loss", "train_loss", "best_val_loss", "num_parameters")


def valid_metrics(base: dict[str, Any]) -> list[str]:
    """Every name a space may rank by, given its ``base`` (the eval_steps it reports)."""
    eval_steps = base.get(
        "eval_steps", TrainingConfig.__dataclass_fields__["eval_steps"].default_factory()
    )  # type: ignore[misc]
    steps = eval_steps if isinstance(eval_steps, list) else [eval_steps]
    return list(REPORTED_METRICS) + sample_metric_names([s for s in steps if isinstance(s, int)])


def parse_objectives(
    metric: Any, base: dict[str, Any], problems: Problems
) -> list[tuple[str, str]]:
    """``metric``: a name, ``{name, goal}``, or a list of them (multi-objective). Returns
    [(name, goal), ...], the first being the metric checkpoints and the final table rank by."""
    items = metric if isinstance(metric, list) else [metric]
    if not items:
        problems.add("`metric` is an empty list; give at least one {name, goal}")
        return [("val_loss", "minimize")]
    objectives = [_parse_metric(item, base, problems) for item in items]
    names = [name for name, _ in objectives]
    if len(set(names)) < len(names):
        problems.add(f"`metric` lists {', '.join(names)}: each objective once")
    return objectives


def check_objectives_and_scheduler(
    objectives: list[tuple[str, str]], scheduler: SchedulerSpec, problems: Problems
) -> None:
    if len(objectives) > 1 and scheduler.type != "fifo":
        problems.add(
            f"`metric` lists {len(objectives)} objectives, but scheduler {scheduler.type} ranks "
            "trials by one metric: use `scheduler: {type: fifo}` (or drop early_terminate) for a "
            "multi-objective search"
        )


def _parse_metric(metric: Any, base: dict[str, Any], problems: Problems) -> tuple[str, str]:
    if isinstance(metric, str):
        metric = {"name": metric}
    if not isinstance(metric, dict):
        problems.add("`metric` must be a mapping with `name` and `goal` (or a list of them)")
        return "val_loss", "minimize"
    for key in metric:
        if key not in ("name", "goal", "target", "impute", "impute_while_running"):
            problems.add(f"unknown key `metric.{key}`; valid: name, goal")
    name = metric.get("name", "val_loss")
    goal = metric.get("goal", "minimize")
    valid = valid_metrics(base)
    if name not in valid:
        problems.add(
            f"`metric.name` is {name!r}, but trials report only "
            f"{', '.join(valid)}.{suggest(str(name), valid)}"
        )
    elif is_sample_metric(name) and as_number(base.get("eval_samples", 1)) == 0:
        problems.add(f"`metric.name` is {name!r}, but `base.eval_samples` is 0 (no sample metrics)")
    if goal not in GOALS:
        problems.add(f"`metric.goal` is {goal!r}, but must be minimize or maximize")
    return name, goal
