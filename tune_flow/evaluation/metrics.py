"""Sample-quality metrics: exact 2-Wasserstein (POT) and an energy distance for any dimension."""

from __future__ import annotations

import numpy as np
import torch

# POT's network simplex stops at 100k iterations by default; a 10k x 10k problem needs far more.
W2_MAX_ITER = 10_000_000


def wasserstein2(x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor) -> float:
    """Exact W2 between two point clouds with uniform weights: sqrt(ot.emd2(a, b, M)) with M the
    squared Euclidean cost. x: (N, D), y: (M, D). A 10k x 10k float64 cost matrix is ~800 MB."""
    import ot  # lazily: POT's import costs start-up time in every trial process

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    a = np.full(len(x), 1.0 / len(x))
    b = np.full(len(y), 1.0 / len(y))
    cost = ot.dist(x, y, metric="sqeuclidean")
    return float(np.sqrt(max(ot.emd2(a, b, cost, numItermax=W2_MAX_ITER), 0.0)))


def energy_distance(
    x: np.ndarray | torch.Tensor,
    y: np.ndarray | torch.Tensor,
    max_points: int = 5000,
    seed: int = 0,
) -> float:
    """Energy distance 2E|X-Y| - E|X-X'| - E|Y-Y'| (Szekely), >= 0 and 0 only for equal
    distributions; cost O(N^2 D), so each set is subsampled to ``max_points``. Scales to 64-d
    where exact OT on large sets does not."""
    rng = np.random.default_rng(seed)
    x = torch.as_tensor(np.asarray(x, dtype=np.float64))
    y = torch.as_tensor(np.asarray(y, dtype=np.float64))
    if len(x) > max_points:
        x = x[rng.choice(len(x), max_points, replace=False)]
    if len(y) > max_points:
        y = y[rng.choice(len(y), max_points, replace=False)]
    xy = torch.cdist(x, y).mean()
    xx = torch.cdist(x, x).mean()
    yy = torch.cdist(y, y).mean()
    return float(2 * xy - xx - yy)
