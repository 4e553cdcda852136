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
    code: .                    # the user's code folder (arch/flow/dataset by import path)

``arch``, ``flow`` and ``dataset`` take ``package.module:Name`` or ``file.py:Name`` (relative to
this file); ``arch_args.NAME`` (``flow_args``, ``dataset_args``) searches a constructor argument.
``python -m tune_flow.space FILE`` prints the parsed space and every problem, one per line.
Parsing never starts Ray.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tune_flow.errors import UserInputError, exits_cleanly_on_user_error, one_of, suggest
from tune_flow.import_path import (
    IMPORT_PATH_FIELDS,
    absolute_import_path,
    absolute_import_paths,
)
from tune_flow.program_name import program_name
from tune_flow.space._scheduler import parse_resources, parse_scheduler
from tune_flow.space.code_folder import parse_code
from tune_flow.space.objectives import check_objectives_and_scheduler, parse_objectives
from tune_flow.space.parameters import (
    PLACEHOLDER_AXES,
    Problems,
    check_conditions,
    check_parameter_values,
    flatten_parameters,
    is_config_key,
    parse_parameter,
    parse_positive_int,
)
from tune_flow.space.search_space import Parameter, SearchSpace
from tune_flow.training.config import TrainingConfig
from tune_flow.yaml_io import load_yaml_mapping

METHODS = ("bayes", "random", "grid")
TOP_LEVEL_KEYS = {
    "name", "description", "method", "metric", "run_cap", "base", "parameters",
    "early_terminate", "scheduler", "resources_per_trial", "code",
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


def parse_space(
    raw: dict[str, Any],
    path: str | None = None,
    set_keys: frozenset[str] = frozenset(),
    base_dir: Path | None = None,
) -> tuple[SearchSpace | None, list[str]]:
    """Parse a loaded YAML mapping; return (space or None, problems). ``set_keys``: fields the
    command line fixes (``--set``), which count as set for the required fields. Relative paths
    (``code:``, ``file.py:Name``) are the file's, else ``base_dir``'s, else the current
    directory's."""
    problems = Problems()
    if "cells" in raw and "space" in raw:
        where = f" {path}" if path else ""
        return None, [
            f"this is a study spec, not a search space: use python -m tune_flow.study --spec{where}"
        ]
    if base_dir is None:
        base_dir = Path(path).resolve().parent if path else Path.cwd()
    raw = absolute_import_paths_of_space(raw, base_dir)
    code = None
    if raw.get("code") is not None:
        try:
            code = parse_code(raw["code"], base_dir)
            code.activate()  # before `base` is validated: that imports the user's modules
        except UserInputError as error:
            problems.add(str(error))
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

    run_cap = parse_positive_int(raw.get("run_cap", 16), "run_cap", problems)

    base = raw.get("base", {})
    if not isinstance(base, dict):
        problems.add("`base` must be a mapping of TrainingConfig fields to values")
        base = {}
    base_config = _check_base(base, problems)
    objectives = parse_objectives(raw.get("metric", {}), base, problems)

    parameters: list[Parameter] = []
    raw_params = raw.get("parameters", {})
    if not isinstance(raw_params, dict):
        problems.add("`parameters` must be a mapping of parameter names to distributions")
        raw_params = {}
    flat = flatten_parameters(raw_params, problems)
    unknown = _unknown_parameters(flat, problems)
    for pname, spec in flat.items():
        if pname in unknown:
            continue
        parameter = parse_parameter(pname, spec, problems)
        if parameter is not None:
            parameters.append(parameter)
    check_conditions(parameters, base, problems)
    if base_config is not None:
        check_parameter_values(parameters, base, problems)
    required = {"arch", "flow", "dataset", "aug", "group"}
    searched = {p.name for p in parameters}
    missing = sorted(required - set(base) - searched - set(set_keys))
    if missing:  # one line for all of them
        names = ", ".join(f"`{key}`" for key in missing)
        problems.add(
            f"{names} must be set in `base`, searched in `parameters` or given with --set "
            "(TrainingConfig requires them)"
        )

    if method == "grid":
        for p in parameters:
            if p.distribution.grid_values() is None:
                problems.add(
                    f"method grid needs finite parameters, but `{p.name}` is "
                    f"{p.distribution.kind}; use values or int_uniform, or method bayes/random"
                )

    max_epochs = base.get("max_epochs", TrainingConfig.__dataclass_fields__["max_epochs"].default)
    scheduler = parse_scheduler(
        raw.get("scheduler"), raw.get("early_terminate"), max_epochs, problems
    )
    resources = parse_resources(raw.get("resources_per_trial", {}), problems)
    check_objectives_and_scheduler(objectives, scheduler, problems)

    if problems.items:
        return None, problems.items
    space = SearchSpace(
        name=name, method=method, metric=objectives[0][0], goal=objectives[0][1],
        objectives=objectives, run_cap=run_cap, base=dict(base),
        parameters=parameters, scheduler=scheduler, resources=resources, notes=notes, path=path,
        code=code,
    )  # fmt: skip
    return space, []


def load_space(path: str | Path, set_keys: frozenset[str] = frozenset()) -> SearchSpace:
    """Read and validate a space file; raise :class:`UserInputError` with its first problem.
    ``set_keys``: fields the command line fixes with ``--set``."""
    raw = load_yaml_mapping(path, "space file")
    space, problems = parse_space(raw, str(path), set_keys)
    if problems:
        more = (
            f" (and {len(problems) - 1} more problem(s); see python -m tune_flow.space {path})"
            if len(problems) > 1
            else ""
        )
        raise UserInputError(f"{path}: {problems[0]}{more}")
    assert space is not None
    return space


def absolute_import_paths_of_space(raw: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    """``raw`` with every relative ``file.py:Name`` of ``base`` and of the ``parameters`` (their
    values, ``when`` conditions and W&B groups) made absolute against ``base_dir`` (the space
    file's folder)."""
    out = dict(raw)
    if isinstance(raw.get("base"), dict):
        out["base"] = absolute_import_paths(raw["base"], base_dir)
    if isinstance(raw.get("parameters"), dict):
        out["parameters"] = _absolute_parameters(raw["parameters"], base_dir)
    return out


def _absolute_parameters(parameters: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    out = {}
    for name, spec in parameters.items():
        if not isinstance(spec, dict):
            out[name] = spec
            continue
        spec = dict(spec)
        if isinstance(spec.get("parameters"), dict):  # a W&B group
            spec["parameters"] = _absolute_parameters(spec["parameters"], base_dir)
        if name in IMPORT_PATH_FIELDS:
            if isinstance(spec.get("values"), list):
                spec["values"] = [absolute_import_path(v, base_dir) for v in spec["values"]]
            if "value" in spec:
                spec["value"] = absolute_import_path(spec["value"], base_dir)
        if isinstance(spec.get("when"), dict):
            spec["when"] = {
                key: _absolute_condition(allowed, base_dir)
                if key in IMPORT_PATH_FIELDS
                else allowed
                for key, allowed in spec["when"].items()
            }
        out[name] = spec
    return out


def _absolute_condition(allowed: Any, base_dir: Path) -> Any:
    if isinstance(allowed, list):
        return [absolute_import_path(v, base_dir) for v in allowed]
    return absolute_import_path(allowed, base_dir)


def _unknown_parameters(flat: dict[str, Any], problems: Problems) -> set[str]:
    """One problem line for every parameter that is not a TrainingConfig field (a sweep file
    written for another program has dozens), with close matches and the valid names once."""
    names = TrainingConfig.field_names()
    unknown = [name for name in flat if not is_config_key(name)]
    if unknown:
        listed = ", ".join(
            f"`{name}`"
            + suggest(name, names).replace(" Did you mean", " (did you mean").replace("?", "?)")
            for name in unknown
        )
        problems.add(
            f"{len(unknown)} unknown parameter(s), not TrainingConfig fields: {listed}. "
            f"Valid: {', '.join(names)}"
        )
    return set(unknown)


def _check_base(base: dict[str, Any], problems: Problems) -> TrainingConfig | None:
    """Validate ``base`` as far as it goes: unknown keys always, values when the axes are set."""
    names = TrainingConfig.field_names()
    for key in base:
        if not is_config_key(str(key)):
            problems.add(
                f"unknown key `base.{key}`.{suggest(str(key), names)} Valid keys: {', '.join(names)}"
            )
            return None
    try:
        return TrainingConfig.from_dict({**PLACEHOLDER_AXES, **base})
    except UserInputError as error:
        problems.add(f"`base`: {error}")
        return None


# ---------------------------------------------------------------------- CLI


@exits_cleanly_on_user_error
def main(argv: list[str] | None = None) -> int:
    from tune_flow.errors import UserInputError
    from tune_flow.yaml_io import parse_overrides

    parser = argparse.ArgumentParser(
        prog=program_name("space"),
        description="Print a parsed search space and every problem.",
    )
    parser.add_argument("file")
    parser.add_argument(
        "--set", action="append", metavar="KEY=VALUE",
        help="a config value fixed for every trial, as the search's --set",
    )  # fmt: skip
    args = parser.parse_args(argv)
    try:
        raw = load_yaml_mapping(args.file, "space file")
        overrides = parse_overrides(args.set)
    except UserInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    space, problems = parse_space(raw, args.file, frozenset(overrides))
    if space is not None:
        space.base.update(overrides)
        print("\n".join(space.describe()))
        if space.method == "grid":
            print(f"grid: {len(space.grid_points())} point(s)")
        return 0
    for problem in problems:
        print(f"error: {args.file}: {problem}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
