"""Deterministic train/val/test splits with nested training subsets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tune_flow.errors import UserInputError


@dataclass(frozen=True)
class SplitIndices:
    """Row indices into the full dataset, each (n_split,) int64."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def resolve_size(size: float | int, total: int, name: str) -> int:
    """A count (int >= 1) as is, or a fraction (0 < float < 1) of ``total``, rounded down."""
    if isinstance(size, float) and not size.is_integer():
        if not 0.0 < size < 1.0:
            raise UserInputError(
                f"The value of `{name}` is {size}, but a fraction must be in (0, 1)."
            )
        return max(1, int(size * total))
    return int(size)


def split_indices(
    n: int,
    val_size: float | int,
    test_size: float | int,
    train_size: float | int | None,
    seed: int,
) -> SplitIndices:
    """Split ``n`` rows by one fixed permutation drawn from ``seed``.

    The permutation's first rows are the validation set, the next the test set; the training set is
    a prefix of the remaining rows. Validation and test therefore do not depend on ``train_size``,
    and every smaller training set is contained in every larger one (nested subsets), so a
    learning-curve study compares models on the same held-out data.
    """
    n_val = resolve_size(val_size, n, "val_size")
    n_test = resolve_size(test_size, n, "test_size")
    pool = n - n_val - n_test
    n_train = pool if train_size is None else resolve_size(train_size, pool, "train_size")
    if n_val < 1 or n_test < 1 or n_train < 1 or n_train > pool:
        raise UserInputError(
            f"the dataset has {n} rows, fewer than the splits need "
            f"(val {n_val} + test {n_test} + train {n_train}, each >= 1)"
        )
    perm = np.random.default_rng(seed).permutation(n)
    return SplitIndices(
        train=perm[n_val + n_test : n_val + n_test + n_train],
        val=perm[:n_val],
        test=perm[n_val : n_val + n_test],
    )
