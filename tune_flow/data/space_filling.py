"""The order of 2-D points along a Hilbert curve, for systematic validation and test splits."""

from __future__ import annotations

import numpy as np

HILBERT_ORDER = 16  # 2^16 cells a side: far finer than the spacing of any split's points


def hilbert_index_2d(points: np.ndarray, order: int = HILBERT_ORDER) -> np.ndarray:
    """Position of each row of ``points`` (N, 2) along a Hilbert curve over their bounding box,
    (N,) int64. Neighbours on the curve are neighbours in the plane, so any stretch of
    consecutive positions covers one compact region. Written by hand (the classic bit-twiddling
    form, vectorised): the PyPI implementations loop over points in Python."""
    points = np.asarray(points, dtype=np.float64)
    lo, hi = points.min(0), points.max(0)
    side = 1 << order
    cells = np.floor((points - lo) / np.maximum(hi - lo, 1e-12) * (side - 1)).astype(np.int64)
    x, y = cells[:, 0].copy(), cells[:, 1].copy()
    index = np.zeros(len(points), dtype=np.int64)
    s = side >> 1
    while s > 0:
        rx = ((x & s) > 0).astype(np.int64)
        ry = ((y & s) > 0).astype(np.int64)
        index += s * s * ((3 * rx) ^ ry)
        # Rotate the quadrant so that the curve inside it starts and ends where it should.
        lower = ry == 0
        flip = lower & (rx == 1)
        x[flip], y[flip] = side - 1 - x[flip], side - 1 - y[flip]
        x[lower], y[lower] = y[lower].copy(), x[lower].copy()
        s >>= 1
    return index


def hilbert_order(points: np.ndarray) -> np.ndarray:
    """Row indices of ``points`` (N, 2) sorted along the Hilbert curve, (N,) int64."""
    return np.argsort(hilbert_index_2d(points), kind="stable")
