"""The field's baseline velocity network: an MLP on [x, t] (torchcfm's runner uses 3 x 64 SELU)."""

from __future__ import annotations

import torch
from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "selu": nn.SELU,
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
}


class MLP(nn.Module):
    """v(x_t, t) = MLP([x_t, t]).

    Args:
        dim: data dimension D. width: hidden units. depth: hidden layers (>= 1).
        activation: a key of :data:`ACTIVATIONS`.
    """

    def __init__(self, dim: int, width: int = 64, depth: int = 3, activation: str = "selu") -> None:
        super().__init__()
        act = ACTIVATIONS[activation]
        layers: list[nn.Module] = [nn.Linear(dim + 1, width), act()]
        for _ in range(depth - 1):
            layers += [nn.Linear(width, width), act()]
        layers.append(nn.Linear(width, dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """x_t: (B, D), t: (B,) -> velocity (B, D)."""
        return self.net(torch.cat([x_t, t.unsqueeze(-1).to(x_t.dtype)], dim=-1))
