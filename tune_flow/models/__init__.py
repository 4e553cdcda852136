"""Model zoo: velocity networks v(x_t, t) -> (B, D), looked up by the config's ``arch``.

Adding an architecture is one class plus one line in :data:`ARCHITECTURES`: the builder receives
the data dimension and the config, and picks the hyperparameters it uses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from torch import nn

from tune_flow.models.mlp import ACTIVATIONS, MLP
from tune_flow.models.resmlp import ResMLP
from tune_flow.models.transformer import FeatureTransformer

if TYPE_CHECKING:
    from tune_flow.training.config import TrainingConfig

ARCHITECTURES: dict[str, Callable[[int, TrainingConfig], nn.Module]] = {
    "mlp": lambda dim, c: MLP(dim, c.width, c.depth, c.activation),
    "resmlp": lambda dim, c: ResMLP(
        dim, c.width, c.depth, c.activation, c.dropout, c.time_embed_dim
    ),
    "transformer": lambda dim, c: FeatureTransformer(
        dim, c.width, c.depth, c.heads, c.dropout, c.time_embed_dim, c.activation
    ),
}


def build_model(config: TrainingConfig, dim: int) -> nn.Module:
    """The velocity network named by ``config.arch`` for D = ``dim`` features."""
    return ARCHITECTURES[config.arch](dim, config)


__all__ = ["ACTIVATIONS", "ARCHITECTURES", "MLP", "FeatureTransformer", "ResMLP", "build_model"]
