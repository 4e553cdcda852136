"""Source draws for evaluation: randomised quasi-Monte Carlo, so sample metrics measure the model.

Why: an empirical W2 between n generated and n reference points carries the generated side's
own count fluctuations (too many points on one arm of a moon, too few on another, moved along
the curve at a large cost). Measured on kept searches (benchmarks/RESULTS.md section 18): the
same weights scored 0.052 +- 20% (mean +- std over 4 i.i.d. source draws of 5000 points against
one fixed reference of moons) and 0.0365 +- 1.6% from scrambled Sobol draws; on scurve the spread
fell from 14-24% to 3-7%. That noise was larger than the differences between the good trials of a
search, so it decided which trial and which epoch were handed on.

A scrambled Sobol sequence (``torch.quasirandom.SobolEngine``) mapped through the normal inverse
CDF is a low-discrepancy standard-normal sample; the flow is smooth, so the generated points are
low-discrepancy for the model's distribution. Each scramble seed is an independent randomisation:
the draw is still exactly N(0, I)-distributed point by point, and means over seeds are unbiased.
Training keeps its i.i.d. draws (``in_trial.draw_source``); only measurement uses these.

A source *pool* (paired source data) is drawn without replacement (a random permutation, cycled
when more points are asked for than the pool has): the discrete analogue, every row once before
any row twice.
"""

from __future__ import annotations

import math

import torch

# SobolEngine's direction numbers cover this many dimensions; a larger point (e.g. a 3x128x128
# image) falls back to i.i.d. normal draws.
MAX_SOBOL_DIMENSION = torch.quasirandom.SobolEngine.MAXDIM
# ndtri(0) is -inf: keep the uniforms strictly inside (0, 1).
_EDGE = 1e-10


def quasi_random_normal(
    n: int, shape: tuple[int, ...], seed: int, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """``n`` points (n, *shape) of a scrambled Sobol sequence (scramble seed ``seed``) mapped to
    the standard normal by the inverse CDF; i.i.d. normal from ``seed`` when one point has more
    than :data:`MAX_SOBOL_DIMENSION` numbers. float32, on ``device``."""
    dimension = math.prod(shape)
    if dimension > MAX_SOBOL_DIMENSION:
        generator = torch.Generator().manual_seed(seed)
        return torch.randn(n, *shape, generator=generator).to(device)
    engine = torch.quasirandom.SobolEngine(dimension, scramble=True, seed=seed)
    uniform = engine.draw(n, dtype=torch.float64).clamp(_EDGE, 1 - _EDGE)
    return torch.special.ndtri(uniform).float().reshape(n, *shape).to(device)


def evaluation_source_draw(
    n: int,
    shape: int | tuple[int, ...],
    seed: int,
    device: torch.device | str = "cpu",
    pool: torch.Tensor | None = None,
) -> torch.Tensor:
    """``n`` source points x_0 (n, *shape) for measuring a model (see the module docstring):
    quasi-random standard normal, or rows of ``pool`` (a source dataset, normalised) without
    replacement. The same ``seed`` gives the same points."""
    if pool is None:
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        return quasi_random_normal(n, shape, seed, device)
    generator = torch.Generator().manual_seed(seed)
    rounds = -(-n // len(pool))
    index = torch.cat([torch.randperm(len(pool), generator=generator) for _ in range(rounds)])
    return pool.to(device)[index[:n].to(device)]
