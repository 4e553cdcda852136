"""What a velocity network is, for the built-ins and for a user's ``package.module:Name`` alike.

A network *builder* is any callable ``builder(shape, **arch_args) -> nn.Module`` (a class or a
function); the module it returns maps ``forward(x_t: (B, *shape), t: (B,)) -> (B, *shape)``, the
velocity at points ``x_t`` and times ``t`` in [0, 1]. ``shape`` is one point's shape: ``(D,)``
for vectors, ``(C, H, W)`` for images.

The shared model fields of :class:`~tune_flow.training.config.TrainingConfig` (``width``,
``depth``, ...) are passed to every builder whose signature names them, so that a space can search
``width`` for a built-in and a user network alike; ``arch_args`` carries everything else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import torch
from torch import nn

from tune_flow.errors import UserInputError
from tune_flow.import_path import accepted_keywords

# TrainingConfig fields that every builder naming them receives (the built-ins use them).
NETWORK_FIELDS = ("width", "depth", "activation", "dropout", "time_embed_dim", "heads")
PROBE_BATCH = 2  # points of the probe forward pass: cheap, and catches a batch axis mixed up


class NetworkBuilder(Protocol):
    """``builder(shape, **arch_args) -> nn.Module`` whose forward maps (x_t, t) to a velocity."""

    def __call__(self, shape: tuple[int, ...], **arch_args: Any) -> nn.Module: ...


def network_keywords(
    builder: Callable[..., Any], fields: Mapping[str, Any], arch_args: Mapping[str, Any]
) -> dict[str, Any]:
    """The keyword arguments ``builder`` is called with: the shared fields its signature names
    (all of them when it takes ``**kwargs``: no), then ``arch_args``, which win."""
    accepted = accepted_keywords(builder) or set()
    shared = {key: fields[key] for key in NETWORK_FIELDS if key in accepted and key in fields}
    return {**shared, **arch_args}


def build_network(
    builder: Callable[..., Any],
    shape: tuple[int, ...],
    keywords: Mapping[str, Any],
    name: str,
) -> nn.Module:
    """``builder(shape, **keywords)``, refused in one line naming ``name`` when it raises or
    returns something that is no ``nn.Module``."""
    try:
        model = builder(tuple(shape), **keywords)
    except Exception as error:  # the user's builder may raise anything
        raise UserInputError(
            f"`arch` {name!r}: building it for points of shape {tuple(shape)} with "
            f"{dict(keywords)} raised {type(error).__name__}: {error}"
        ) from None
    if not isinstance(model, nn.Module):
        raise UserInputError(
            f"`arch` {name!r} returned a {type(model).__name__}, but must return a torch.nn.Module"
        )
    return model


def probe_network(model: nn.Module, shape: tuple[int, ...], name: str) -> None:
    """One forward pass on a tiny batch: refuse (one line) a network that raises, returns another
    shape or dtype than its input, or non-finite values."""
    x_t = torch.randn(PROBE_BATCH, *shape, generator=torch.Generator().manual_seed(0))
    t = torch.full((PROBE_BATCH,), 0.5)
    try:
        with torch.no_grad():
            v = model(x_t, t)
    except Exception as error:
        raise UserInputError(
            f"`arch` {name!r}: forward(x_t {tuple(x_t.shape)}, t {tuple(t.shape)}) raised "
            f"{type(error).__name__}: {error}"
        ) from None
    if not isinstance(v, torch.Tensor):
        raise UserInputError(
            f"`arch` {name!r}: forward returned a {type(v).__name__}, but must return a tensor "
            f"of shape {tuple(x_t.shape)}"
        )
    if v.shape != x_t.shape or v.dtype != x_t.dtype:
        raise UserInputError(
            f"`arch` {name!r}: forward(x_t {tuple(x_t.shape)}, t {tuple(t.shape)}) returned "
            f"{tuple(v.shape)} {v.dtype}, but must return {tuple(x_t.shape)} {x_t.dtype}"
        )
    if not torch.isfinite(v).all():
        raise UserInputError(
            f"`arch` {name!r}: forward returned non-finite values (NaN or inf) on a probe batch "
            "of standard normal points at t = 0.5"
        )
