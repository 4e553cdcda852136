"""Integrating a learned velocity field from t=0 to t=1 (ODE sampling)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

METHODS = ("euler", "midpoint", "rk4")


@torch.no_grad()
def integrate(
    velocity: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x_0: torch.Tensor,
    steps: int = 100,
    method: str = "euler",
) -> torch.Tensor:
    """Solve dx/dt = v(x, t) from t=0 to 1 with ``steps`` fixed steps.

    Args:
        velocity: v(x (B, D), t (B,)) -> (B, D).
        x_0: (B, D) initial points. steps: number of steps (>= 1).
        method: ``euler`` (1 evaluation per step), ``midpoint`` (2) or ``rk4`` (4).
    """
    if method not in METHODS:
        raise ValueError(
            f"The value of `method` is {method!r}, but must be one of {', '.join(METHODS)}."
        )
    if steps < 1:
        raise ValueError(f"The value of `steps` is {steps}, but must be `steps >= 1`.")
    x = x_0.clone()
    h = 1.0 / steps
    ones = torch.ones(len(x), device=x.device, dtype=x.dtype)
    for i in range(steps):
        t = ones * (i * h)
        if method == "euler":
            x = x + h * velocity(x, t)
        elif method == "midpoint":
            x = x + h * velocity(x + 0.5 * h * velocity(x, t), t + 0.5 * h)
        else:
            k1 = velocity(x, t)
            k2 = velocity(x + 0.5 * h * k1, t + 0.5 * h)
            k3 = velocity(x + 0.5 * h * k2, t + 0.5 * h)
            k4 = velocity(x + h * k3, t + h)
            x = x + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x


@torch.no_grad()
def sample(
    model: nn.Module,
    x_0: torch.Tensor,
    steps: int = 100,
    method: str = "euler",
    stats=None,  # type: ignore[no-untyped-def]  # NormalizationStats | None
    batch_size: int = 16384,
) -> torch.Tensor:
    """Push source points ``x_0`` (B, D, normalised units) through the learned flow.

    Pass a model that already holds its EMA weights (``EMAModel.average_parameters`` or a
    ``best_model.pt``). Works in batches of ``batch_size``; returns (B, D) in original units when
    ``stats`` is given (``NormalizationStats``), else in normalised units.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    parts = [
        integrate(model, x_0[i : i + batch_size].to(device), steps, method).cpu()
        for i in range(0, len(x_0), batch_size)
    ]
    model.train(was_training)
    x_1 = torch.cat(parts)
    return stats.denormalize(x_1) if stats is not None else x_1
