"""Sinusoidal embedding of the flow time t in [0, 1]."""

from __future__ import annotations

import math

import torch
from torch import nn


class SinusoidalTimeEmbedding(nn.Module):
    """Map t (B,) in [0, 1] to (B, dim) sin/cos features at geometrically spaced frequencies.

    t is scaled by 1000 first so the lowest frequencies resolve the unit interval, as in
    DDPM-style embeddings.
    """

    def __init__(self, dim: int, max_period: float = 10_000.0) -> None:
        super().__init__()
        if dim < 2 or dim % 2:
            raise ValueError(f"The value of `dim` is {dim}, but must be an even number >= 2.")
        half = dim // 2
        freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
        self.register_buffer("freqs", freqs, persistent=False)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        angles = 1000.0 * t.float().unsqueeze(-1) * self.freqs
        return torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)
