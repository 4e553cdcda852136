"""Search-space YAML files: W&B sweep words, extended for tune_flow.

    name: arch
    method: bayes              # bayes -> Optuna TPE, random -> Optuna random, grid
    metric: {name: val_loss, goal: minimize}
    run_cap: 32                # number of trials
    base: {arch: resmlp, flow: icfm, dataset: moons, aug: none, group: arch, max_epochs: 200}
    parameters:
      lr: {distribution: log_uniform_values, min: 1.0e-4, max: 3.0e-3}
      heads: {values: [2, 4], when: {arch: transformer}}     # conditional parameter
    early_terminate: {type: hyperband, min_iter: 10, eta: 3}  # -> ASHA grace_period / reduction_factor
    scheduler: {type: asha, max_t: 200}                       # or fifo, median
    resources_per_trial: {cpu: 1, gpu: 0}

``python -m tune_flow.space FILE`` prints the parsed space and every problem, one per line.
Parsing never starts Ray.
"""

from __future__ import annotations

import argparse
import math
import sys
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tune_flow.config import TrainingConfig
from tune_flow.distributions import (
    ARGUMENTS,
    BOUNDED,
    LOG_OF_VALUES,
    QUANTISED,
    Distribution,
    check_kind,
    infer_kind,
)
from tune_flow.errors import UserInputError, exits_cleanly_on_user_error, one_of, suggest
from tune_flow.yaml_io import load_yaml_mapping

METHODS = ("bayes", "random", "grid")
SCHEDULERS = ("asha", "fifo", "median")
GOALS = ("minimize", "maximize")
# Metrics the trainable reports every epoch.
REPORTED_METRICS = ("val_loss", "raw_val_loss", "train_loss", "best_val_loss")
TOP_LEVEL_KEYS = {
    "name", "description", "method", "metric", "run_cap", "base", "parameters",
    "early_terminate", "scheduler", "resources_per_trial",
}  # fmt: skip
# Keys of W&B sweep files that only concern W&B's own runner: accepted and ignored, with a note.
WANDB_ONLY_KEYS = {
    "program",
    "command",
    "project",
    "entity",
    "controller",
    "job",
    "image_uri",
    "apiVersion",
    "kind",
}
RESOURCE_KEYS = ("cpu", "gpu")


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
    type: str = "fifo"
    max_t: int | None = None  # epochs; defaults to the base's max_epochs
    grace_period: int = 1
    reduction_factor: float = 3


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

    @property
    def mode(self) -> str:
        """Tune's word for the goal."""
        return "min" if self.goal == "minimize" else "max"

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

    def first_point(self) -> dict[str, Any]:
        """A deterministic representative: each parameter's first value or the middle of its range."""

        class _First:
            def suggest_categorical(self, name, choices):  # noqa: ANN001, ANN202
                return choices[0]

            def suggest_int(self, name, low, high):  # noqa: ANN001, ANN202
                return (low + high) // 2

            def suggest_float(self, name, low, high, log=False, step=None):  # noqa: ANN001, ANN202
                mid = math.sqrt(low * high) if log else (low + high) / 2
                return round(mid / step) * step if step else mid

        return self.sample(_First())

    def describe(self) -> list[str]:
        lines = [
            f"space {self.name!r}: method {self.method}, {self.goal} {self.metric}, "
            f"run_cap {self.run_cap}",
            f"scheduler: {self.scheduler.type}"
            + (
                f" (grace_period {self.scheduler.grace_period}, reduction_factor "
                f"{self.scheduler.reduction_factor}, max_t {self.scheduler.max_t})"
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
        lines += [f"note: {n}" for n in self.notes]
        return lines


# ---------------------------------------------------------------------- parsing


class _Problems:
    """Collects problems so `tune_flow.space` can print all of them; ``load_space`` raises the
    first."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, message: str) -> None:
        self.items.append(message)


def parse_space(
    raw: dict[str, Any], path: str | None = None
) -> tuple[SearchSpace | None, list[str]]:
    """Parse a loaded YAML mapping; return (space or None, problems)."""
    problems = _Problems()
    notes: list[str] = []
    for key in raw:
        if key in WANDB_ONLY_KEYS:
            notes.append(f"`{key}` is used only by W&B's own sweep runner; ignored")
        elif key not in TOP_LEVEL_KEYS:
            problems.add(
                f"unknown top-level key `{key}`.{suggest(str(key), TOP_LEVEL_KEYS)} "
                f"Valid keys: {', '.join(sorted(TOP_LEVEL_KEYS))}"
            )

    name = str(raw.get("name") or (Path(path).stem if path else "search"))
    method = raw.get("method", "bayes")
    if method not in METHODS:
        problems.add(f"`method` is {method!r}, but must be {one_of(METHODS)}")

    metric, goal = _parse_metric(raw.get("metric", {}), problems)
    run_cap = _parse_positive_int(raw.get("run_cap", 16), "run_cap", problems)

    base = raw.get("base", {})
    if not isinstance(base, dict):
        problems.add("`base` must be a mapping of TrainingConfig fields to values")
        base = {}
    base_config = _check_base(base, problems)

    parameters: list[Parameter] = []
    raw_params = raw.get("parameters", {})
    if not isinstance(raw_params, dict):
        problems.add("`parameters` must be a mapping of parameter names to distributions")
        raw_params = {}
    flat = _flatten_parameters(raw_params, problems)
    for pname, spec in flat.items():
        parameter = _parse_parameter(pname, spec, problems)
        if parameter is not None:
            parameters.append(parameter)
    _check_conditions(parameters, base, problems)
    if base_config is not None:
        _check_parameter_values(parameters, base, problems)
    required = {"arch", "flow", "dataset", "aug", "group"}
    searched = {p.name for p in parameters}
    for key in sorted(required - set(base) - searched):
        problems.add(
            f"`{key}` must be set in `base` or searched in `parameters` (TrainingConfig requires it)"
        )

    if method == "grid":
        for p in parameters:
            if p.distribution.grid_values() is None:
                problems.add(
                    f"method grid needs finite parameters, but `{p.name}` is "
                    f"{p.distribution.kind}; use values or int_uniform, or method bayes/random"
                )

    max_epochs = base.get("max_epochs", TrainingConfig.__dataclass_fields__["max_epochs"].default)
    scheduler = _parse_scheduler(
        raw.get("scheduler"), raw.get("early_terminate"), max_epochs, problems
    )
    resources = _parse_resources(raw.get("resources_per_trial", {}), problems)

    if problems.items:
        return None, problems.items
    space = SearchSpace(
        name=name, method=method, metric=metric, goal=goal, run_cap=run_cap, base=dict(base),
        parameters=parameters, scheduler=scheduler, resources=resources, notes=notes, path=path,
    )  # fmt: skip
    return space, []


def load_space(path: str | Path) -> SearchSpace:
    """Read and validate a space file; raise :class:`UserInputError` with its first problem."""
    raw = load_yaml_mapping(path, "space file")
    space, problems = parse_space(raw, str(path))
    if problems:
        more = (
            f" (and {len(problems) - 1} more problem(s); see python -m tune_flow.space {path})"
            if len(problems) > 1
            else ""
        )
        raise UserInputError(f"{path}: {problems[0]}{more}")
    assert space is not None
    return space


def _parse_metric(metric: Any, problems: _Problems) -> tuple[str, str]:
    if isinstance(metric, str):
        metric = {"name": metric}
    if not isinstance(metric, dict):
        problems.add("`metric` must be a mapping with `name` and `goal`")
        return "val_loss", "minimize"
    for key in metric:
        if key not in ("name", "goal", "target", "impute", "impute_while_running"):
            problems.add(f"unknown key `metric.{key}`; valid: name, goal")
    name = metric.get("name", "val_loss")
    goal = metric.get("goal", "minimize")
    if name not in REPORTED_METRICS:
        problems.add(
            f"`metric.name` is {name!r}, but the trainable reports only "
            f"{', '.join(REPORTED_METRICS)}.{suggest(str(name), REPORTED_METRICS)}"
        )
    if goal not in GOALS:
        problems.add(f"`metric.goal` is {goal!r}, but must be minimize or maximize")
    return name, goal


def _parse_positive_int(value: Any, key: str, problems: _Problems) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        problems.add(f"`{key}` is {value!r}, but must be a positive integer")
        return 1
    if not number.is_integer() or number <= 0 or isinstance(value, bool):
        problems.add(f"`{key}` is {value!r}, but must be a positive integer (`{key} >= 1`)")
        return 1
    return int(number)


def _check_base(base: dict[str, Any], problems: _Problems) -> TrainingConfig | None:
    """Validate ``base`` as far as it goes: unknown keys always, values when the axes are set."""
    names = TrainingConfig.field_names()
    for key in base:
        if key not in names:
            problems.add(
                f"unknown key `base.{key}`.{suggest(str(key), names)} Valid keys: {', '.join(names)}"
            )
            return None
    placeholder = {
        "arch": "mlp",
        "flow": "icfm",
        "dataset": "moons",
        "aug": "none",
        "group": "search",
    }
    try:
        return TrainingConfig.from_dict({**placeholder, **base})
    except UserInputError as error:
        problems.add(f"`base`: {error}")
        return None


def _flatten_parameters(
    raw: dict[str, Any], problems: _Problems, prefix: str = ""
) -> dict[str, dict[str, Any]]:
    """W&B nested ``parameters:`` blocks name groups of fields; TrainingConfig is flat, so the
    inner names are the fields (``optimizer: {parameters: {lr: ...}}`` searches ``lr``)."""
    flat: dict[str, dict[str, Any]] = {}
    for name, spec in raw.items():
        if not isinstance(spec, dict):
            problems.add(
                f"parameter `{prefix}{name}` must be a mapping such as {{values: [...]}} or {{min: .., max: ..}}"
            )
            continue
        if "parameters" in spec:
            inner = spec["parameters"]
            if not isinstance(inner, dict):
                problems.add(f"parameter `{prefix}{name}.parameters` must be a mapping")
                continue
            for key, value in _flatten_parameters(inner, problems, f"{prefix}{name}.").items():
                if key in flat:
                    problems.add(f"parameter `{key}` is defined twice")
                flat[key] = value
            continue
        if name in flat:
            problems.add(f"parameter `{name}` is defined twice")
        flat[name] = spec
    return flat


def _number(value: Any) -> float | int | None:
    """YAML reads 1e-5 (no dot) as a string: accept numeric strings where a number is meant."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        for cast in (int, float):
            try:
                return cast(value)
            except ValueError:
                continue
    return None


def _field_is_int(name: str) -> bool:
    hint = typing.get_type_hints(TrainingConfig).get(name)
    args = set(typing.get_args(hint)) or {hint}
    return int in args and float not in args


def _parse_parameter(name: str, spec: dict[str, Any], problems: _Problems) -> Parameter | None:
    names = TrainingConfig.field_names()
    if name not in names:
        problems.add(
            f"unknown parameter `{name}`: not a TrainingConfig field.{suggest(name, names)} "
            f"Valid: {', '.join(names)}"
        )
        return None
    spec = dict(spec)
    when = spec.pop("when", None)
    kind = spec.pop("distribution", None) or infer_kind(spec)
    if kind is None:
        problems.add(f"parameter `{name}` needs `values`, `value`, `min`/`max` or a `distribution`")
        return None
    try:
        kind = check_kind(name, kind)
    except UserInputError as error:
        problems.add(str(error))
        return None
    unknown = set(spec) - ARGUMENTS[kind]
    if unknown:
        problems.add(
            f"parameter `{name}` ({kind}) does not take {', '.join(sorted(unknown))}; "
            f"it takes {', '.join(sorted(ARGUMENTS[kind]))}"
        )
        return None
    args: dict[str, Any] = {}
    for key, value in spec.items():
        if key in ("values", "probabilities"):
            if not isinstance(value, list) or not value:
                problems.add(f"parameter `{name}`: `{key}` must be a non-empty list")
                return None
            args[key] = [_number(v) if key == "probabilities" else v for v in value]
        elif key == "value":
            args[key] = value
        else:
            number = _number(value)
            if number is None:
                problems.add(f"parameter `{name}`: `{key}` is {value!r}, but must be a number")
                return None
            args[key] = number
    if not _check_arguments(name, kind, args, problems):
        return None
    integer = _field_is_int(name)
    if integer and kind in BOUNDED - {"int_uniform"} and kind not in QUANTISED:
        problems.add(
            f"parameter `{name}` is an integer field, but {kind} draws real numbers; use "
            "int_uniform, values, or a q_ distribution with an integer q"
        )
        return None
    conditions = _parse_when(name, when, problems)
    if conditions is None:
        return None
    return Parameter(name, Distribution(kind, args, integer), conditions)


def _check_arguments(name: str, kind: str, args: dict[str, Any], problems: _Problems) -> bool:
    required = {
        "constant": ["value"], "categorical": ["values"],
        "categorical_w_probabilities": ["values", "probabilities"],
    }.get(kind, ["min", "max"] if kind in BOUNDED else [])  # fmt: skip
    missing = [k for k in required if k not in args]
    if missing:
        problems.add(f"parameter `{name}` ({kind}) needs {', '.join(missing)}")
        return False
    if kind in BOUNDED:
        lo, hi = args["min"], args["max"]
        if lo >= hi:
            problems.add(f"parameter `{name}`: min ({lo}) >= max ({hi}); must be min < max")
            return False
        if kind in LOG_OF_VALUES and lo <= 0:
            problems.add(f"parameter `{name}` ({kind}): min is {lo}, but must be > 0 (log scale)")
            return False
        if kind == "int_uniform" and not (float(lo).is_integer() and float(hi).is_integer()):
            problems.add(f"parameter `{name}` (int_uniform): min and max must be integers")
            return False
    if "q" in args and args["q"] <= 0:
        problems.add(f"parameter `{name}`: q is {args['q']}, but must be > 0")
        return False
    if "sigma" in args and args["sigma"] <= 0:
        problems.add(f"parameter `{name}`: sigma is {args['sigma']}, but must be > 0")
        return False
    for key in ("a", "b"):
        if key in args and args[key] <= 0:
            problems.add(f"parameter `{name}`: {key} is {args[key]}, but must be > 0")
            return False
    if kind == "categorical_w_probabilities":
        p = args["probabilities"]
        if (
            len(p) != len(args["values"])
            or any(x is None or x < 0 for x in p)
            or not math.isclose(sum(p), 1.0, abs_tol=1e-6)
        ):
            problems.add(
                f"parameter `{name}`: probabilities must be one number >= 0 per value, summing to 1"
            )
            return False
    return True


def _parse_when(name: str, when: Any, problems: _Problems) -> dict[str, list[Any]] | None:
    if when is None:
        return {}
    if not isinstance(when, dict) or not when:
        problems.add(
            f"parameter `{name}`: `when` must map parameter names to a value or a list of values"
        )
        return None
    return {k: (v if isinstance(v, list) else [v]) for k, v in when.items()}


def _check_conditions(
    parameters: list[Parameter], base: dict[str, Any], problems: _Problems
) -> None:
    seen: dict[str, Parameter] = {}
    for p in parameters:
        for key, allowed in p.when.items():
            if key in seen:
                possible = seen[key].distribution.grid_values()
            elif key in base:
                possible = [base[key]]
            else:
                valid = list(seen) + list(base)
                problems.add(
                    f"parameter `{p.name}`: `when` names `{key}`, which is neither a parameter "
                    f"above it nor a base value.{suggest(key, valid)}"
                )
                continue
            if possible is not None:
                for value in allowed:
                    if value not in possible:
                        problems.add(
                            f"parameter `{p.name}`: `when` {key} = {value!r} can never hold; "
                            f"`{key}` takes {possible!r}"
                        )
        seen[p.name] = p


def _check_parameter_values(
    parameters: list[Parameter], base: dict[str, Any], problems: _Problems
) -> None:
    """Each finite value, and each bound, must pass TrainingConfig validation over the base."""
    placeholder = {
        "arch": "mlp",
        "flow": "icfm",
        "dataset": "moons",
        "aug": "none",
        "group": "search",
    }
    for p in parameters:
        values = p.distribution.grid_values()
        if values is None and p.distribution.kind in BOUNDED:
            low, high, _ = p.distribution._optuna_range()
            values = [p.distribution._finish(low), p.distribution._finish(high)]
        for value in values or []:
            try:
                TrainingConfig.from_dict({**placeholder, **base, p.name: value})
            except UserInputError as error:
                problems.add(f"parameter `{p.name}` value {value!r}: {error}")
                break


def _parse_scheduler(raw: Any, early: Any, max_epochs: int, problems: _Problems) -> SchedulerSpec:
    spec = SchedulerSpec(type="asha" if early else "fifo", max_t=max_epochs)
    if early is not None:
        if not isinstance(early, dict) or early.get("type") != "hyperband":
            problems.add(
                "`early_terminate` must be {type: hyperband, min_iter: N, eta: 3} (or max_iter + s)"
            )
        else:
            eta = _number(early.get("eta", 3))
            if eta is None or eta < 2:
                problems.add(f"`early_terminate.eta` is {early.get('eta')!r}, but must be >= 2")
                eta = 3
            spec.reduction_factor = eta
            if "min_iter" in early:
                spec.grace_period = _parse_positive_int(
                    early["min_iter"], "early_terminate.min_iter", problems
                )
            elif "max_iter" in early:
                max_iter = _parse_positive_int(
                    early["max_iter"], "early_terminate.max_iter", problems
                )
                s = _parse_positive_int(early.get("s", 1), "early_terminate.s", problems)
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
        if key not in ("type", "max_t", "grace_period", "reduction_factor"):
            problems.add(
                f"unknown key `scheduler.{key}`; valid: type, max_t, grace_period, reduction_factor"
            )
    kind = raw.get("type", spec.type)
    if kind not in SCHEDULERS:
        problems.add(f"`scheduler.type` is {kind!r}, but must be {one_of(SCHEDULERS)}")
    spec.type = kind
    if "max_t" in raw:
        spec.max_t = _parse_positive_int(raw["max_t"], "scheduler.max_t", problems)
    if "grace_period" in raw:
        spec.grace_period = _parse_positive_int(
            raw["grace_period"], "scheduler.grace_period", problems
        )
    if "reduction_factor" in raw:
        rf = _number(raw["reduction_factor"])
        if rf is None or rf < 2:
            problems.add(
                f"`scheduler.reduction_factor` is {raw['reduction_factor']!r}, but must be >= 2"
            )
        else:
            spec.reduction_factor = rf
    return spec


def _parse_resources(raw: Any, problems: _Problems) -> dict[str, float]:
    resources = {"cpu": 1.0, "gpu": 0.0}
    if not isinstance(raw, dict):
        problems.add("`resources_per_trial` must be a mapping like {cpu: 1, gpu: 0.25}")
        return resources
    for key, value in raw.items():
        if key not in RESOURCE_KEYS:
            problems.add(f"unknown key `resources_per_trial.{key}`; valid: cpu, gpu")
            continue
        number = _number(value)
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


# ---------------------------------------------------------------------- CLI


@exits_cleanly_on_user_error
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tune_flow.space",
        description="Print a parsed search space and every problem.",
    )
    parser.add_argument("file")
    args = parser.parse_args(argv)
    raw = load_yaml_mapping(args.file, "space file")
    space, problems = parse_space(raw, args.file)
    if space is not None:
        print("\n".join(space.describe()))
        if space.method == "grid":
            print(f"grid: {len(space.grid_points())} point(s)")
        return 0
    for problem in problems:
        print(f"error: {args.file}: {problem}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
