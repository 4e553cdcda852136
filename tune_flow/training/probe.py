"""Probe the code a config names, once, in the driver, before anything starts.

A user's network, flow and dataset are imported, built and run on a tiny batch here, so that a
wrong shape, a missing argument or NaN is one line naming the culprit before Ray starts, not a
traceback in every trial. The built-ins take the same path (it costs milliseconds).
"""

from __future__ import annotations

import time

from tune_flow.data import inspect_data
from tune_flow.data.augment import probe_augmentation
from tune_flow.models import probe_network
from tune_flow.training.config import TrainingConfig
from tune_flow.training.flows import probe_flow


def probe_config(
    config: TrainingConfig, data: tuple[int, tuple[int, ...]] | None = None
) -> tuple[int, float]:
    """Check the data (unless ``data``, its (training rows, point shape), is known already), then
    build and probe the network, the flow and the augmentation for its point shape; return
    (training rows, seconds the probe took). Raises
    :class:`~tune_flow.errors.UserInputError` with one line."""
    start = time.perf_counter()
    rows, shape = data if data is not None else inspect_data(config)
    probe_network(config.build_network(shape), shape, config.arch)
    probe_flow(config.build_flow(), shape, config.flow)
    probe_augmentation(config.aug, shape, config.aug_std)
    return rows, time.perf_counter() - start
