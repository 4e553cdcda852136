"""Probe every network, flow and dataset a space names before the search starts."""

from __future__ import annotations

from tune_flow.errors import UserInputError
from tune_flow.import_path import IMPORT_PATH_FIELDS
from tune_flow.space.search_space import SearchSpace
from tune_flow.training.config import TrainingConfig
from tune_flow.training.probe import probe_config

# The fields that name code: a network, a flow, a dataset (built-in or by import path).
PROBED_AXES = IMPORT_PATH_FIELDS


def probe_space(space: SearchSpace) -> tuple[int, float]:
    """Probe the space's first point, then each other value of a searched ``arch``, ``flow``,
    ``dataset`` or ``source`` in its place; return (training rows of the first point, seconds).

    One line (:class:`UserInputError`) names the first network, flow or dataset that fails."""
    first = {**space.first_point(), **space.base}
    rows, seconds = probe_config(TrainingConfig.from_dict(first))
    for parameter in space.parameters:
        if parameter.name not in PROBED_AXES:
            continue
        for value in parameter.distribution.grid_values() or []:
            if value == first.get(parameter.name):
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
            seconds += probe_config(config)[1]
    return rows, seconds
