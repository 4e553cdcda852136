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


SPLITS = ("random", "hilbert")


def split_indices(
    n: int,
    val_size: float | int,
    test_size: float | int,
    train_size: float | int | None,
    seed: int,
    curve: np.ndarray | None = None,
) -> SplitIndices:
    """Split ``n`` rows by one fixed permutation drawn from ``seed``.

    The permutation's first rows are the validation set, the next the test set; the training set is
    a prefix of the remaining rows. Validation and test therefore do not depend on ``train_size``,
    and every smaller training set is contained in every larger one (nested subsets), so a
    learning-curve study compares models on the same held-out data.

    With ``curve`` (the row indices in their order along a space-filling curve, see
    :mod:`tune_flow.data.space_filling`) validation and test are systematic samples along it
    instead (:func:`systematic_sample`); the training set is still a prefix of the permutation's
    remaining rows.
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
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    if curve is not None:
        val = systematic_sample(curve, n_val, rng)
        rest = curve[~np.isin(curve, val)]  # still in the curve's order
        test = systematic_sample(rest, n_test, rng)
        held = np.zeros(n, dtype=bool)
        held[val] = held[test] = True
        return SplitIndices(train=perm[~held[perm]][:n_train], val=val, test=test)
    return SplitIndices(
        train=perm[n_val + n_test : n_val + n_test + n_train],
        val=perm[:n_val],
        test=perm[n_val : n_val + n_test],
    )


def systematic_sample(ordered: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` of the rows ``ordered`` lists, one from each of ``size`` equal stretches of it
    (one random offset for all), in van der Corput order: the first ``m`` of them are spread
    along the whole order too (the in-trial metrics use a prefix of the validation split).

    Why: a random split has an i.i.d. sample's count fluctuations from region to region, and W2
    against it ranks close models by those (benchmarks/RESULTS.md section 21); a systematic
    sample along a space-filling curve holds each region's share of the data to within a row.
    """
    positions = ((rng.uniform() + np.arange(size)) * len(ordered) / size).astype(np.int64)
    return ordered[positions[van_der_corput_order(size)]]


def van_der_corput_order(size: int) -> np.ndarray:
    """A permutation of ``range(size)`` whose every prefix is spread over the whole range: the
    indices sorted by their base-2 radical inverse (bits reversed), e.g. 0, 4, 2, 6, 1, 5, 3, 7."""
    bits = max(1, (size - 1).bit_length())
    index = np.arange(size)
    reversed_bits = np.zeros(size, dtype=np.int64)
    for b in range(bits):
        reversed_bits |= ((index >> b) & 1) << (bits - 1 - b)
    return np.argsort(reversed_bits, kind="stable")
