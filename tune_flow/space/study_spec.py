"""Study spec files: a comparison grid of searches, tuned alike and retrained with several seeds.

    name: flows_2d
    space: search_spaces/arch.yaml        # the search run in every cell (or an inline space)
    cells:                                # the comparison grid; each combination is one cell
      flow: [icfm, otcfm]
      dataset: [moons, 8gaussians, scurve]
    base: {test_size: 2000}               # optional: fixed for every cell (like --set)
    rows: flow                            # table layout: which axes make rows, which columns
    columns: dataset
    budget: {num_samples: 16, max_epochs: 250}   # the same tuning budget for every cell
    seeds: 5                              # the best config of each cell retrained with 5 seeds
    evaluate: {metric: w2, samples: 10000, steps: [100], method: euler}   # on the test split

Parsed and checked here without Ray: every problem is one line (``python -m tune_flow.study``
exits 2 before anything starts).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tune_flow.errors import UserInputError, one_of, suggest
from tune_flow.evaluation.in_trial import SAMPLE_METRICS
from tune_flow.evaluation.sampling import METHODS
from tune_flow.import_path import IMPORT_PATH_FIELDS, absolute_import_path, absolute_import_paths
from tune_flow.space._parse import parse_space
from tune_flow.space.search_space import SearchSpace
from tune_flow.training.config import TrainingConfig
from tune_flow.yaml_io import load_yaml_mapping

SPEC_KEYS = (
    "name", "description", "space", "base", "cells", "rows", "columns", "budget", "seeds",
    "evaluate",
)  # fmt: skip
BUDGET_KEYS = ("num_samples", "max_epochs")
EVALUATE_KEYS = ("metric", "samples", "steps", "method")


@dataclass
class StudySpec:
    """A validated study: the space every cell searches, the grid, and how winners are judged."""

    name: str
    space: SearchSpace
    cells: dict[str, list[Any]]  # axis -> values, in file order
    rows: list[str]
    columns: list[str]
    num_samples: int
    max_epochs: int
    seeds: int
    metric: str = "w2"
    samples: int = 10_000
    steps: tuple[int, ...] = (100,)
    method: str = "euler"
    path: str | None = None

    def cell_values(self) -> list[dict[str, Any]]:
        """Every cell as {axis: value}, rows varying slowest."""
        axes = list(self.cells)
        return [
            dict(zip(axes, combo, strict=True)) for combo in itertools.product(*self.cells.values())
        ]

    @staticmethod
    def cell_name(cell: dict[str, Any]) -> str:
        """A directory name: ``flow=icfm,dataset=moons`` -> ``flow-icfm_dataset-moons``."""
        raw = "_".join(f"{axis}-{value}" for axis, value in cell.items())
        return re.sub(r"[^A-Za-z0-9.-]+", "_", raw.replace("->", "to")).strip("_")

    def label(self, cell: dict[str, Any], axes: list[str]) -> str:
        return ", ".join(str(cell[a]) for a in axes) if axes else self.metric

    def cell_space(self, cell: dict[str, Any]) -> SearchSpace:
        """The space a cell searches: the study's, with the cell's values fixed, the shared
        budget, and the in-trial version of the study's metric as the objective."""
        import copy

        space = copy.deepcopy(self.space)
        space.base.update(cell)
        space.base["max_epochs"] = self.max_epochs
        if space.scheduler.time_attr == "epoch":
            space.scheduler.max_t = self.max_epochs
        space.run_cap = self.num_samples
        space.set_objectives([(self.metric, "minimize")])
        return space


def _axes(value: Any, key: str, cells: dict[str, list[Any]]) -> list[str]:
    axes = value if isinstance(value, list) else [value]
    for axis in axes:
        if axis not in cells:
            raise UserInputError(
                f"`{key}` names {axis!r}, which is not a cell axis; cell axes: {', '.join(cells)}"
            )
    return [str(a) for a in axes]


def _section(
    raw: dict[str, Any], name: str, valid: tuple[str, ...], example: str, where: str
) -> dict[str, Any]:
    """The optional mapping ``raw[name]`` ({} when absent), with only ``valid`` keys."""
    section = raw.get(name, {})
    if not isinstance(section, dict):
        raise UserInputError(f"{where}`{name}` must be a mapping like {example}")
    for key in section:
        if key not in valid:
            raise UserInputError(f"{where}unknown key `{name}.{key}`; valid: {', '.join(valid)}")
    return section


def _positive_int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UserInputError(f"The value of `{key}` is {value!r}, but must be an integer >= 1.")
    return value


def parse_study(raw: dict[str, Any], path: str | None = None) -> StudySpec:
    """Validate a loaded spec; raise :class:`UserInputError` with the first problem (one line)."""
    where = f"{path}: " if path else ""
    for key in raw:
        if key not in SPEC_KEYS:
            raise UserInputError(
                f"{where}unknown key `{key}`.{suggest(str(key), SPEC_KEYS)} Valid keys: "
                f"{', '.join(SPEC_KEYS)}"
            )
    for key in ("space", "cells"):
        if key not in raw:
            raise UserInputError(f"{where}`{key}` is required")
    name = str(raw.get("name") or (Path(path).stem if path else "study"))
    if not re.fullmatch(r"[A-Za-z0-9._-]+", name):
        raise UserInputError(f"{where}`name` is {name!r}, but may hold only A-Z a-z 0-9 . _ -")

    cells = raw["cells"]
    if (
        not isinstance(cells, dict)
        or not cells
        or not all(isinstance(v, list) and v for v in cells.values())
    ):
        raise UserInputError(
            f"{where}`cells` must map axes to non-empty lists of values, e.g. flow: [icfm, otcfm]"
        )
    # A cell's `file.py:Name` is relative to the spec file, as a space's is to the space file.
    spec_dir = Path(path).resolve().parent if path else Path.cwd()
    cells = {
        axis: [absolute_import_path(v, spec_dir) if axis in IMPORT_PATH_FIELDS else v for v in vs]
        for axis, vs in cells.items()
    }
    fields = TrainingConfig.field_names()
    for axis in cells:
        if axis not in fields:
            raise UserInputError(
                f"{where}unknown cell axis `{axis}`: not a TrainingConfig field."
                f"{suggest(str(axis), fields)}"
            )
    fixed = raw.get("base", {})
    if not isinstance(fixed, dict):
        raise UserInputError(f"{where}`base` must map TrainingConfig fields to values")
    fixed = absolute_import_paths(fixed, spec_dir)
    for key in fixed:
        if key not in fields:
            raise UserInputError(
                f"{where}unknown key `base.{key}`: not a TrainingConfig field.{suggest(str(key), fields)}"
            )
        if key in cells:
            raise UserInputError(f"{where}`base.{key}` is also a cell axis; keep it in one place")
    space = _load_cell_space(raw["space"], cells, where, fixed, spec_dir)
    searched = {p.name for p in space.parameters}
    for axis, values in cells.items():
        if axis in searched:
            raise UserInputError(
                f"{where}cell axis `{axis}` is also searched by the space; a cell fixes it, so "
                f"remove it from the space's `parameters`"
            )
        if len({str(v) for v in values}) < len(values):
            raise UserInputError(f"{where}cell axis `{axis}` lists a value twice: {values}")
    axes = list(cells)
    rows = _axes(raw.get("rows", axes[0]), "rows", cells)
    columns = (
        _axes(raw.get("columns", axes[1:]), "columns", cells)
        if len(axes) > 1 or "columns" in raw
        else []
    )
    if sorted(rows + columns) != sorted(axes):
        raise UserInputError(
            f"{where}`rows` {rows} and `columns` {columns} must name every cell axis once: "
            f"{', '.join(axes)}"
        )

    budget = _section(raw, "budget", BUDGET_KEYS, "{num_samples: 16, max_epochs: 100}", where)
    num_samples = _positive_int(budget.get("num_samples", space.run_cap), "budget.num_samples")
    max_epochs = _positive_int(
        budget.get("max_epochs", space.base.get("max_epochs", 100)), "budget.max_epochs"
    )
    seeds = _positive_int(raw.get("seeds", 3), "seeds")

    evaluate = _section(raw, "evaluate", EVALUATE_KEYS, "{metric: w2, samples: 10000}", where)
    metric = evaluate.get("metric", "w2")
    if metric not in SAMPLE_METRICS:
        raise UserInputError(
            f"{where}`evaluate.metric` is {metric!r}, but must be {one_of(SAMPLE_METRICS)}"
        )
    samples = _positive_int(evaluate.get("samples", 10_000), "evaluate.samples")
    steps = evaluate.get("steps", [100])
    steps = steps if isinstance(steps, list) else [steps]
    for value in steps:
        _positive_int(value, "evaluate.steps")
    method = evaluate.get("method", "euler")
    if method not in METHODS:
        raise UserInputError(
            f"{where}`evaluate.method` is {method!r}, but must be {one_of(METHODS)}"
        )

    spec = StudySpec(
        name=name, space=space, cells={a: list(v) for a, v in cells.items()}, rows=rows,
        columns=columns, num_samples=num_samples, max_epochs=max_epochs, seeds=seeds,
        metric=metric, samples=samples, steps=tuple(steps), method=method, path=path,
    )  # fmt: skip
    # Every cell must make a valid run before anything starts (e.g. aug flip on 64-d data).
    for cell in spec.cell_values():
        cell_space = spec.cell_space(cell)
        try:
            TrainingConfig.from_dict({**cell_space.first_point(), **cell_space.base})
        except UserInputError as error:
            raise UserInputError(f"{where}cell {spec.cell_name(cell)}: {error}") from None
    return spec


def _load_cell_space(
    source: Any, cells: dict[str, list[Any]], where: str, fixed: dict[str, Any], spec_dir: Path
) -> SearchSpace:
    """The study's space (a file path or an inline mapping, whose relative paths are the spec
    file's). The cells fix their axes, so the space need not: an axis the space leaves unset
    takes the cell's first value for parsing."""
    import copy

    if isinstance(source, dict):
        raw, path, what = copy.deepcopy(source), None, "inline `space`"
    else:
        raw, path, what = load_yaml_mapping(str(source), "space file"), str(source), str(source)
    base = raw.setdefault("base", {})
    if isinstance(base, dict):
        base.update(fixed)
        for axis, values in cells.items():
            base.setdefault(axis, values[0])
    space, problems = parse_space(raw, path, base_dir=None if path else spec_dir)
    if problems:
        raise UserInputError(f"{where}{what}: {problems[0]}")
    assert space is not None
    if space.base.get("eval_samples", 1) == 0:
        raise UserInputError(
            f"{where}{what}: `base.eval_samples` is 0, but a study ranks cells by sample metrics"
        )
    return space


def load_study(path: str | Path) -> StudySpec:
    return parse_study(load_yaml_mapping(path, "study spec"), str(path))
