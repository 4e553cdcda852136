"""Model zoo: velocity networks v(x_t, t), looked up by the config's ``arch``.

Every network, built-in or a user's ``package.module:Name``, is made by a builder
``builder(shape, **arch_args) -> nn.Module`` (:mod:`tune_flow.models.contract`). Adding a built-in
is one builder plus one line in :data:`ARCHITECTURES`. The vector networks flatten any point
shape (an MLP can learn 1x8x8 images as 64-vectors); ``unet`` takes images (C, H, W).

Imports: torch and :mod:`tune_flow.import_path` only (no TrainingConfig, no Ray).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from tune_flow.import_path import check_callable, check_keywords, resolve
from tune_flow.models.contract import (
    NETWORK_FIELDS,
    NetworkBuilder,
    build_network,
    network_keywords,
    probe_network,
)
from tune_flow.models.mlp import ACTIVATIONS, MLP
from tune_flow.models.resmlp import ResMLP
from tune_flow.models.transformer import FeatureTransformer
from tune_flow.models.unet import UNet


class Flattened(nn.Module):
    """A vector network applied to points of any shape, flattened to (B, prod(shape))."""

    def __init__(self, network: nn.Module, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.network, self.shape = network, tuple(shape)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """x_t: (B, *shape), t: (B,) -> velocity (B, *shape)."""
        return self.network(x_t.flatten(1), t).view(x_t.shape)


def _vector(network: Callable[[int], nn.Module], shape: tuple[int, ...]) -> nn.Module:
    if len(shape) == 1:
        return network(shape[0])
    return Flattened(network(math.prod(shape)), shape)


def mlp(
    shape: tuple[int, ...], width: int = 64, depth: int = 3, activation: str = "selu"
) -> nn.Module:
    """:class:`MLP` on ``[x_t, t]``."""
    return _vector(lambda dim: MLP(dim, width, depth, activation), shape)


def resmlp(
    shape: tuple[int, ...],
    width: int = 64,
    depth: int = 3,
    activation: str = "selu",
    dropout: float = 0.0,
    time_embed_dim: int = 32,
) -> nn.Module:
    """:class:`ResMLP`: residual blocks modulated by t."""
    return _vector(
        lambda dim: ResMLP(dim, width, depth, activation, dropout, time_embed_dim), shape
    )


def transformer(
    shape: tuple[int, ...],
    width: int = 64,
    depth: int = 3,
    heads: int = 4,
    dropout: float = 0.0,
    time_embed_dim: int = 32,
    activation: str = "selu",
) -> nn.Module:
    """:class:`FeatureTransformer`: one token per feature."""
    return _vector(
        lambda dim: FeatureTransformer(
            dim, width, depth, heads, dropout, time_embed_dim, activation
        ),
        shape,
    )


def unet(
    shape: tuple[int, ...],
    width: int = 64,
    depth: int = 2,
    dropout: float = 0.0,
    time_embed_dim: int = 32,
) -> nn.Module:
    """:class:`UNet` for image points (C, H, W): ``width`` channels, ``depth`` halvings."""
    return UNet(shape, width, depth, dropout, time_embed_dim)


ARCHITECTURES: dict[str, NetworkBuilder] = {
    "mlp": mlp,
    "resmlp": resmlp,
    "transformer": transformer,
    "unet": unet,
}


def network_builder(arch: str, arch_args: Mapping[str, Any] | None = None) -> NetworkBuilder:
    """The builder ``arch`` names (a built-in or an import path), with ``arch_args`` checked
    against its signature; one-line :class:`~tune_flow.errors.UserInputError` otherwise."""
    builder = check_callable(resolve(arch, "arch", ARCHITECTURES), "arch", arch)
    check_keywords(builder, arch_args or {}, "arch_args", arch, reserved=("shape",))
    return builder


def build_model(
    arch: str,
    shape: tuple[int, ...] | int,
    fields: Mapping[str, Any],
    arch_args: Mapping[str, Any] | None = None,
) -> nn.Module:
    """The network ``arch`` for points of ``shape`` (an int D means (D,)), given the shared model
    ``fields`` (width, depth, ...: passed where the builder names them) and ``arch_args``."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    builder = network_builder(arch, arch_args)
    return build_network(builder, shape, network_keywords(builder, fields, arch_args or {}), arch)


__all__ = [
    "ACTIVATIONS",
    "ARCHITECTURES",
    "MLP",
    "NETWORK_FIELDS",
    "FeatureTransformer",
    "Flattened",
    "NetworkBuilder",
    "ResMLP",
    "UNet",
    "build_model",
    "network_builder",
    "probe_network",
]
