"""A dataset: tune_flow calls ``rings(n_samples=..., seed=..., **dataset_args)``."""

import numpy as np


def rings(
    n_samples: int = 2000, seed: int = 0, radii: tuple[float, ...] = (1.0, 2.0), noise: float = 0.05
) -> np.ndarray:
    """Points on concentric rings, (n_samples, 2) float32."""
    rng = np.random.default_rng(seed)
    radius = rng.choice(np.asarray(radii, dtype=float), size=n_samples)
    angle = rng.uniform(0, 2 * np.pi, size=n_samples)
    points = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return (points + noise * rng.standard_normal(points.shape)).astype(np.float32)
