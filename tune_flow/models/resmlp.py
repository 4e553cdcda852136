"""Residual MLP with LayerNorm, sinusoidal time embedding and adaLN (FiLM) conditioning."""

from __future__ import annotations

import torch
from torch import nn

from tune_flow.models.mlp import ACTIVATIONS
from tune_flow.models.time_embedding import SinusoidalTimeEmbedding


class AdaLNBlock(nn.Module):
    """x + MLP(LN(x) * (1 + scale(c)) + shift(c)) * gate(c), DiT-style adaLN-Zero on vectors."""

    def __init__(self, width: int, cond_dim: int, activation: str, dropout: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width, elementwise_affine=False)
        self.modulation = nn.Linear(cond_dim, 3 * width)
        # Zero-initialised so every block starts as the identity (adaLN-Zero): deep stacks train
        # from the first step instead of amplifying noise.
        nn.init.zeros_(self.modulation.weight)
        nn.init.zeros_(self.modulation.bias)
        self.mlp = nn.Sequential(
            nn.Linear(width, width),
            ACTIVATIONS[activation](),
            nn.Dropout(dropout),
            nn.Linear(width, width),
        )

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        shift, scale, gate = self.modulation(cond).chunk(3, dim=-1)
        return x + gate * self.mlp(self.norm(x) * (1 + scale) + shift)


class ResMLP(nn.Module):
    """Residual velocity network.

    Args:
        dim: data dimension D. width: residual stream width. depth: number of blocks.
        activation: a key of ``ACTIVATIONS``. dropout: inside each block.
        time_embed_dim: size of the sinusoidal embedding of t (even).
    """

    def __init__(
        self,
        dim: int,
        width: int = 128,
        depth: int = 3,
        activation: str = "silu",
        dropout: float = 0.0,
        time_embed_dim: int = 32,
    ) -> None:
        super().__init__()
        self.time_embedding = nn.Sequential(
            SinusoidalTimeEmbedding(time_embed_dim),
            nn.Linear(time_embed_dim, width),
            nn.SiLU(),
        )
        self.input = nn.Linear(dim, width)
        self.blocks = nn.ModuleList(
            AdaLNBlock(width, width, activation, dropout) for _ in range(depth)
        )
        self.out_norm = nn.LayerNorm(width)
        self.output = nn.Linear(width, dim)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """x_t: (B, D), t: (B,) -> velocity (B, D)."""
        cond = self.time_embedding(t)
        h = self.input(x_t)
        for block in self.blocks:
            h = block(h, cond)
        return self.output(self.out_norm(h))
