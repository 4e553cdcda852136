"""A small transformer over feature tokens, for higher-dimensional vectors (e.g. 64-d digits)."""

from __future__ import annotations

import torch
from torch import nn

from tune_flow.models.time_embedding import SinusoidalTimeEmbedding


class FeatureTransformer(nn.Module):
    """Each of the D features is a token (value x learned embedding + feature position); the time
    embedding is one extra token. Pre-LN encoder layers; each feature token reads out its velocity.

    Args:
        dim: data dimension D (number of tokens). width: token width (divisible by ``heads``).
        depth: encoder layers. heads: attention heads. dropout: in attention and MLPs.
        time_embed_dim: size of the sinusoidal embedding of t.
    """

    def __init__(
        self,
        dim: int,
        width: int = 64,
        depth: int = 2,
        heads: int = 4,
        dropout: float = 0.0,
        time_embed_dim: int = 32,
        activation: str = "gelu",
    ) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"`width` ({width}) must be divisible by `heads` ({heads})")
        self.value_embedding = nn.Parameter(torch.randn(dim, width) * 0.02)
        self.position_embedding = nn.Parameter(torch.randn(dim, width) * 0.02)
        self.time_embedding = nn.Sequential(
            SinusoidalTimeEmbedding(time_embed_dim), nn.Linear(time_embed_dim, width)
        )
        layer = nn.TransformerEncoderLayer(
            d_model=width,
            nhead=heads,
            dim_feedforward=2 * width,
            dropout=dropout,
            activation="gelu" if activation == "gelu" else "relu",
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, num_layers=depth, enable_nested_tensor=False)
        self.readout = nn.Linear(width, 1)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """x_t: (B, D), t: (B,) -> velocity (B, D)."""
        tokens = x_t.unsqueeze(-1) * self.value_embedding + self.position_embedding  # (B, D, W)
        time_token = self.time_embedding(t).unsqueeze(1)  # (B, 1, W)
        h = self.encoder(torch.cat([time_token, tokens], dim=1))
        return self.readout(h[:, 1:]).squeeze(-1)
