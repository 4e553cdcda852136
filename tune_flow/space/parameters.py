"""Parsing the ``parameters:`` block of a space file: W&B parameter specs -> :class:`Parameter`.

Every problem is collected (not raised) so that ``python -m tune_flow.space`` can list them all.
"""

from __future__ import annotations

import math
import typing
from typing import Any

from tune_flow.errors import UserInputError, suggest
from tune_flow.space.distributions import (
    ARGUMENTS,
    BOUNDED,
    LOG_OF_VALUES,
    QUANTISED,
    Distribution,
    check_kind,
    infer_kind,
)
from tune_flow.space.search_space import Parameter
from tune_flow.training.config import ARGUMENT_FIELDS, TrainingConfig

# Placeholder study axes, so a partial ``base`` can be validated field by field.
PLACEHOLDER_AXES = {
    "arch": "mlp",
    "flow": "icfm",
    "dataset": "moons",
    "aug": "none",
    "group": "search",
}


class Problems:
    """Collects problems so `tune_flow.space` can print all of them; ``load_space`` raises the
    first."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, message: str) -> None:
        self.items.append(message)


def flatten_parameters(
    raw: dict[str, Any], problems: Problems, prefix: str = ""
) -> dict[str, dict[str, Any]]:
    """W&B nested ``parameters:`` blocks name groups of fields; TrainingConfig is flat, so the
    inner names are the fields (``optimizer: {parameters: {lr: ...}}`` searches ``lr``), except
    under a constructor-argument field: ``arch_args: {parameters: {channels: ...}}`` searches
    ``arch_args.channels``."""
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
            inner_flat = flatten_parameters(inner, problems, f"{prefix}{name}.")
            if not prefix and name in ARGUMENT_FIELDS:
                inner_flat = {f"{name}.{key}": value for key, value in inner_flat.items()}
            for key, value in inner_flat.items():
                if key in flat:
                    problems.add(f"parameter `{key}` is defined twice")
                flat[key] = value
            continue
        if name in flat:
            problems.add(f"parameter `{name}` is defined twice")
        flat[name] = spec
    return flat


def as_number(value: Any) -> float | int | None:
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


def is_config_key(name: str) -> bool:
    """A TrainingConfig field, or one constructor argument such as ``arch_args.channels``."""
    head, dot, rest = name.partition(".")
    if dot:
        return head in ARGUMENT_FIELDS and bool(rest)
    return name in TrainingConfig.field_names()


def parse_parameter(name: str, spec: dict[str, Any], problems: Problems) -> Parameter | None:
    names = TrainingConfig.field_names()
    if not is_config_key(name):
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
            args[key] = [as_number(v) if key == "probabilities" else v for v in value]
        elif key == "value":
            args[key] = value
        else:
            number = as_number(value)
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


def _check_arguments(name: str, kind: str, args: dict[str, Any], problems: Problems) -> bool:
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


def _parse_when(name: str, when: Any, problems: Problems) -> dict[str, list[Any]] | None:
    if when is None:
        return {}
    if not isinstance(when, dict) or not when:
        problems.add(
            f"parameter `{name}`: `when` must map parameter names to a value or a list of values"
        )
        return None
    return {k: (v if isinstance(v, list) else [v]) for k, v in when.items()}


def check_conditions(parameters: list[Parameter], base: dict[str, Any], problems: Problems) -> None:
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


def check_parameter_values(
    parameters: list[Parameter], base: dict[str, Any], problems: Problems
) -> None:
    """Each finite value, and each bound, must pass TrainingConfig validation over the base."""
    for p in parameters:
        values = p.distribution.grid_values()
        if values is None and p.distribution.kind in BOUNDED:
            low, high, _ = p.distribution._optuna_range()
            values = [p.distribution._finish(low), p.distribution._finish(high)]
        # A conditional parameter is checked where it applies (its arch, not the placeholder's).
        context = {key: allowed[0] for key, allowed in p.when.items() if allowed}
        for value in values or []:
            try:
                TrainingConfig.from_dict({**PLACEHOLDER_AXES, **base, **context, p.name: value})
            except UserInputError as error:
                problems.add(f"parameter `{p.name}` value {value!r}: {error}")
                break


def parse_positive_int(value: Any, key: str, problems: Problems) -> int:
    """``value`` as a positive int; a problem naming ``key`` (and 1) when it is not one."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        problems.add(f"`{key}` is {value!r}, but must be a positive integer")
        return 1
    if not number.is_integer() or number <= 0 or isinstance(value, bool):
        problems.add(f"`{key}` is {value!r}, but must be a positive integer (`{key} >= 1`)")
        return 1
    return int(number)
