"""A velocity network: tune_flow calls ``GatedMLP(shape, **arch_args)``."""

import math

import torch
from torch import nn


class GatedMLP(nn.Module):
    """v(x_t, t) = value(h) * sigmoid(gate(h)), h = MLP([x_t, t]).

    forward: x_t (B, *shape), t (B,) -> velocity (B, *shape).
    """

    def __init__(self, shape: tuple[int, ...], hidden: int = 64, layers: int = 2) -> None:
        super().__init__()
        dim = math.prod(shape)
        blocks: list[nn.Module] = [nn.Linear(dim + 1, hidden), nn.SiLU()]
        for _ in range(layers - 1):
            blocks += [nn.Linear(hidden, hidden), nn.SiLU()]
        self.body = nn.Sequential(*blocks)
        self.value = nn.Linear(hidden, dim)
        self.gate = nn.Linear(hidden, dim)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        h = self.body(torch.cat([x_t.flatten(1), t[:, None]], dim=1))
        return (self.value(h) * torch.sigmoid(self.gate(h))).view(x_t.shape)
