"""Probe every network, flow and dataset a space names before the search starts."""

from __future__ import annotations

import time

from tune_flow.data import inspect_data
from tune_flow.data.settings import DataSettings
from tune_flow.errors import UserInputError
from tune_flow.import_path import IMPORT_PATH_FIELDS
from tune_flow.space.search_space import SearchSpace
from tune_flow.training.config import TrainingConfig
from tune_flow.training.probe import probe_config

# What inspect_data reads: two configs that agree on these have the same data.
DATA_FIELDS = tuple(DataSettings.__annotations__)


def probe_space(space: SearchSpace) -> tuple[int, tuple[int, ...], float]:
    """Probe the space's first point, then each other value of a searched ``arch``, ``flow``,
    ``dataset``, ``source`` or ``aug`` in its place; return (training rows of the first point,
    the shape of one of its points, seconds).

    One line (:class:`UserInputError`) names the first network, flow or dataset that fails. A
    data file or dataset callable is loaded once per distinct data setting, not once per value
    of a searched arch or flow."""
    started = time.perf_counter()
    first = TrainingConfig.from_dict({**space.first_point(), **space.base})
    inspected: dict[str, tuple[int, tuple[int, ...]]] = {}

    def probe(config: TrainingConfig) -> int:
        key = repr([getattr(config, name) for name in DATA_FIELDS])
        if key not in inspected:
            inspected[key] = inspect_data(config)
        return probe_config(config, inspected[key])[0]

    rows = probe(first)
    shape = next(iter(inspected.values()))[1]
    for parameter in space.parameters:
        if parameter.name not in IMPORT_PATH_FIELDS:
            continue
        for value in parameter.distribution.grid_values() or []:
            if value == getattr(first, parameter.name):
                continue
            # The first point with this value, and the conditional parameters it brings along.
            point = {**space.first_point({parameter.name: value}), **space.base}
            try:
                config = TrainingConfig.from_dict(point)
            except UserInputError:
                # The value itself passed parsing (check_parameter_values); other searched
                # values of the first point may not suit it (heads that do not divide width):
                # those combinations are the trials' to refuse.
                continue
            probe(config)
    return rows, shape, time.perf_counter() - started
