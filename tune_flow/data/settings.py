"""What the data pipeline reads from a run's settings: a contract, so that ``data/`` depends on no
config class (``TrainingConfig`` satisfies it; so does any object with these attributes)."""

from __future__ import annotations

from typing import Any, Protocol


class DataSettings(Protocol):
    """The data fields of a run (see :class:`~tune_flow.training.config.TrainingConfig` for their
    meaning and defaults)."""

    dataset: str  # built-in name, "source->target", a file path or an import path
    source: str | None
    dataset_args: dict[str, Any]
    aug: str
    n_samples: int
    val_size: float
    test_size: float
    train_size: float | None
    data_seed: int
    split: str
    stats_path: str | None
    normalize: str
