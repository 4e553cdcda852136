"""Data pipeline: built-in or file datasets -> nested splits -> normalisation -> tensors.

The trainer keeps whole splits resident on its device and batches by index permutation;
:class:`FlowDataset` / :func:`create_dataloader` serve users who want a standard DataLoader.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from tune_flow.data.augment import AUGMENTATIONS, TWO_D_ONLY
from tune_flow.data.dataset_callable import call_dataset, dataset_callable, draws_fresh
from tune_flow.data.files import PAIR_SEPARATOR, load_array, looks_like_path
from tune_flow.data.normalization import (
    NORMALIZATIONS,
    STATS_FILENAME,
    NormalizationStats,
    validate_stats_file,
)
from tune_flow.data.settings import DataSettings
from tune_flow.data.space_filling import hilbert_order
from tune_flow.data.splits import SPLITS, SplitIndices, split_indices, systematic_sample
from tune_flow.data.toy import FIXED_ROWS, TOY_DATASETS, generate, shape
from tune_flow.errors import UserInputError, one_of, suggest
from tune_flow.import_path import is_import_path


@dataclass
class FlowData:
    """Normalised splits, each (N_split, *shape) float32 on the CPU (shape (D,) for vectors,
    (C, H, W) for images); ``x_0_*`` is None when the source is a standard normal. ``stats``
    maps back to original units."""

    x_1_train: torch.Tensor
    x_1_val: torch.Tensor
    x_1_test: torch.Tensor
    x_0_train: torch.Tensor | None
    x_0_val: torch.Tensor | None
    x_0_test: torch.Tensor | None
    stats: NormalizationStats

    @property
    def shape(self) -> tuple[int, ...]:
        """One point's shape."""
        return tuple(self.x_1_train.shape[1:])

    @property
    def dim(self) -> int:
        """Numbers per point (the product of :attr:`shape`): what sample metrics compare."""
        return math.prod(self.shape)


def parse_dataset(dataset: str, source: str | None = None) -> tuple[str | None, str]:
    """Split ``"source->target"`` into (source, target); an explicit ``source`` wins."""
    if PAIR_SEPARATOR in dataset:
        pair_source, target = (s.strip() for s in dataset.split(PAIR_SEPARATOR, 1))
        return source or pair_source, target
    return source, dataset


def check_dataset_name(name: str, field: str = "dataset", dataset_args: dict | None = None) -> None:
    """Raise unless ``name`` is a built-in dataset, an importable dataset callable (its
    ``dataset_args`` checked against its signature) or looks like a file path."""
    if is_import_path(name):
        dataset_callable(name, dataset_args)
        return
    if looks_like_path(name) or name in TOY_DATASETS:
        return
    raise UserInputError(
        f"The value of `{field}` is {name!r}, but must be a file path, an import path such as "
        f"my_package.data:make_points, or {one_of(TOY_DATASETS)} (or 'source->target')."
        f"{suggest(name, TOY_DATASETS)}"
    )


def _is_loaded(name: str) -> bool:
    """Files and callables are loaded to be checked; built-ins have known shapes."""
    return is_import_path(name) or looks_like_path(name)


def _load(
    name: str, n_samples: int, seed: int, role: str, dataset_args: dict | None = None
) -> tuple[np.ndarray | None, np.ndarray]:
    """(x_0 a callable returned beside it, or None; the points): a file, or a dataset callable
    (built-in or by import path)."""
    if looks_like_path(name) and not is_import_path(name):
        return None, load_array(name, role="target" if role == "target" else "source")
    return call_dataset(name, n_samples, seed, dataset_args if role == "target" else None)


def _split(
    array: np.ndarray, config: DataSettings, seed: int, target: bool = True
) -> tuple[torch.Tensor, ...]:
    """(train, val, test) rows of ``array``; ``split: hilbert`` applies to the target only (the
    held-out target points are what sample metrics compare against)."""
    curve = hilbert_order(array) if target and config.split == "hilbert" else None
    idx: SplitIndices = split_indices(
        len(array), config.val_size, config.test_size, config.train_size, seed, curve
    )
    x = torch.from_numpy(array)
    return x[idx.train], x[idx.val], x[idx.test]


def _check_features(
    aug: str,
    source: str | None,
    target: str,
    source_shape: tuple[int, ...] | None,
    shape: tuple[int, ...],
) -> None:
    """Refuse a source whose point shape differs from the target's, and a 2-D augmentation on
    data that is not 2-D."""
    if source_shape is not None and tuple(source_shape) != tuple(shape):
        raise UserInputError(
            f"source {source!r} has {_points(source_shape)}, target {target!r} has "
            f"{_points(shape)}; they must match"
        )
    if aug in TWO_D_ONLY and tuple(shape) != (2,):
        raise UserInputError(f"aug {aug!r} needs 2-D data, but {target!r} has {_points(shape)}")


def _check_split(split: str, target: str, shape: tuple[int, ...]) -> None:
    """Refuse a Hilbert split of points that are not 2-D (the curve is written for the plane)."""
    if split == "hilbert" and tuple(shape) != (2,):
        raise UserInputError(
            f"split 'hilbert' needs 2-D points, but {target!r} has {_points(shape)}; "
            "use split: random"
        )


def _points(shape: tuple[int, ...]) -> str:
    """``5 features`` for vectors, ``points of shape (1, 8, 8)`` otherwise."""
    return f"{shape[0]} features" if len(shape) == 1 else f"points of shape {tuple(shape)}"


def check_data(config: DataSettings) -> int:
    """Refuse now what :func:`build_data` would refuse (missing file, NaN, wrong shape, too few
    rows for the splits, features that do not match); return the number of training rows."""
    return inspect_data(config)[0]


def inspect_data(config: DataSettings) -> tuple[int, tuple[int, ...]]:
    """:func:`check_data`'s checks; return (training rows, one point's shape).

    Built-in datasets are not generated: their shapes are known (:func:`toy.shape`), which keeps
    scikit-learn's ~1 s import off the search driver's start. Files and dataset callables are
    loaded and checked."""
    source, target = parse_dataset(config.dataset, config.source)
    if any(_is_loaded(name) for name in (source, target) if name is not None):
        data = build_data(config)
        _check_stats_file(config, data.shape[0])
        return len(data.x_1_train), data.shape
    # split_indices refuses too few rows; the split sizes do not depend on its seed (0 here).
    rows, point = shape(target, config.n_samples)
    source_rows, source_point = (None, None) if source is None else shape(source, config.n_samples)
    _check_features(config.aug, source, target, source_point, point)
    _check_split(config.split, target, point)
    if source_rows is not None:
        split_indices(source_rows, config.val_size, config.test_size, config.train_size, 0)
    _check_stats_file(config, point[0])
    train = split_indices(rows, config.val_size, config.test_size, config.train_size, 0).train
    return len(train), point


def _check_stats_file(config: DataSettings, features: int) -> None:
    if config.stats_path is not None:
        validate_stats_file(config.stats_path, features)


def build_data(config: DataSettings) -> FlowData:
    """Load/generate the config's dataset (and source), split it, normalise with training stats.

    Synthetic data and the split permutation depend on ``data_seed`` only, not on ``seed``, so
    trials with different training seeds see the same data and the same validation set.
    """
    source, target = parse_dataset(config.dataset, config.source)
    x_0, x_1 = _load(target, config.n_samples, config.data_seed, "target", config.dataset_args)
    point = tuple(x_1.shape[1:])
    _check_split(config.split, target, point)
    x_1_train, x_1_val, x_1_test = _split(x_1, config, config.data_seed)
    del x_1  # the splits are copies: keep peak memory at ~2x the data, not 3x
    x_0_splits: tuple[torch.Tensor | None, ...] = (None, None, None)
    if source is not None:
        if x_0 is not None:
            raise UserInputError(
                f"`dataset` {target!r} returns a (source, target) pair and `source` "
                f"{source!r} is given too: keep one of them"
            )
        _, x_0 = _load(source, config.n_samples, config.data_seed + 1, "source")
    if x_0 is not None:
        _check_features(config.aug, source or target, target, tuple(x_0.shape[1:]), point)
        x_0_splits = _split(x_0, config, config.data_seed + 1, target=False)
    else:
        _check_features(config.aug, source, target, None, point)
    if config.stats_path is not None:
        stats = validate_stats_file(config.stats_path, dim=point[0])
    else:
        stats = NormalizationStats.fit(x_1_train, x_0_splits[0], config.normalize)
    x_0_train, x_0_val, x_0_test = (
        None if x is None else stats.normalize_source(x) for x in x_0_splits
    )
    del x_0_splits
    return FlowData(
        x_1_train=stats.normalize_(x_1_train),
        x_1_val=stats.normalize_(x_1_val),
        x_1_test=stats.normalize_(x_1_test),
        x_0_train=x_0_train,
        x_0_val=x_0_val,
        x_0_test=x_0_test,
        stats=stats,
    )


# A fresh draw of a built-in dataset for the metric floor comes from data_seed + this offset: the
# data, its splits and every trial's draws use data_seed and data_seed + 1.
FRESH_DRAW_SEED_OFFSET = 7919


def floor_points(config: DataSettings, data: FlowData, n: int) -> torch.Tensor:
    """Up to ``n`` points of the data itself (n, *shape), original units, for the floor of a
    sample metric (:mod:`tune_flow.evaluation.floor`): what the metric gives the data where a
    model's generated points would be.

    2-D points: ``n`` training rows spread evenly along a Hilbert curve (a systematic sample
    along it, as ``split: hilbert`` takes its held-out rows). Why evenly: models are
    sampled from a quasi-random source draw (:mod:`tune_flow.evaluation.quasi_random`), so their
    points lack an i.i.d. draw's count fluctuations; an i.i.d. floor carries them and sat far
    above good models (scurve test split, n=1250: floor 0.147, the chosen model 0.039). Why
    training rows: with ``split: hilbert`` the held-out rows share the file's fluctuations with
    the training rows, so a model that fits them scores below a perfect model of the true
    distribution; the training rows themselves are what fitting the data can reach
    (benchmarks/RESULTS.md section 23: scurve, 5000 points against its validation split: 0.023,
    a fresh evenly spread draw of the true curve 0.036, the best models 0.035).
    Other shapes: a fresh draw for built-in datasets generated to ``n_samples`` and for dataset
    callables that take ``seed`` and ``n_samples``; else the first ``n`` training rows (data
    files, other callables, fixed-size datasets such as digits)."""
    train = data.x_1_train
    seed = config.data_seed + FRESH_DRAW_SEED_OFFSET
    if tuple(train.shape[1:]) == (2,):
        if n < len(train):
            curve = hilbert_order(train.detach().cpu().numpy())
            rows = systematic_sample(curve, n, np.random.default_rng(seed))
            train = train[torch.from_numpy(rows).to(train.device)]
        return data.stats.denormalize(train)
    _, target = parse_dataset(config.dataset, config.source)
    if is_import_path(target) and draws_fresh(target):
        return torch.from_numpy(call_dataset(target, n, seed, config.dataset_args)[1])
    if not _is_loaded(target) and target not in FIXED_ROWS:
        return torch.from_numpy(generate(target, n, seed))
    return data.stats.denormalize(train[:n])


class FlowDataset(Dataset):
    """Map-style dataset of (x_0, x_1) pairs, each one point (*shape,), for users who want a
    DataLoader.

    Args:
        x_1: (N, *shape) target samples. x_0: (M, *shape) source samples, or None for a standard normal
            source (drawn per item from ``seed`` + index, so the dataset is deterministic).
    """

    def __init__(self, x_1: torch.Tensor, x_0: torch.Tensor | None = None, seed: int = 0) -> None:
        self.x_1 = x_1
        self.x_0 = x_0
        self.seed = seed

    def __len__(self) -> int:
        return len(self.x_1)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.x_0 is not None:
            return self.x_0[index % len(self.x_0)], self.x_1[index]
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + index)
        return torch.randn(self.x_1.shape[1:], generator=gen), self.x_1[index]


def create_dataloader(
    dataset: FlowDataset, batch_size: int = 256, shuffle: bool = True, seed: int = 0, **kwargs
) -> DataLoader:
    """A DataLoader over ``dataset`` whose shuffling order is fixed by ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=gen, **kwargs)


DATASETS = tuple(TOY_DATASETS)

__all__ = [
    "AUGMENTATIONS",
    "DATASETS",
    "NORMALIZATIONS",
    "PAIR_SEPARATOR",
    "SPLITS",
    "STATS_FILENAME",
    "FlowData",
    "FlowDataset",
    "NormalizationStats",
    "build_data",
    "check_data",
    "check_dataset_name",
    "inspect_data",
    "DataSettings",
    "create_dataloader",
    "floor_points",
    "parse_dataset",
    "split_indices",
    "validate_stats_file",
]
