"""Exponential moving average of a model's weights, with a warm-up of the decay."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn


def _averaged_tensors(model: nn.Module) -> list[torch.Tensor]:
    """Parameters, then floating-point buffers (e.g. BatchNorm running stats), in a fixed order."""
    tensors = [p for p in model.parameters()]
    tensors += [b for b in model.buffers() if b.is_floating_point()]
    return tensors


class EMAModel:
    """Shadow copies of a model's weights updated as ``shadow <- shadow + (1 - d_n)(w - shadow)``.

    The decay after ``n`` updates is ``d_n = min(decay, (1 + n) / (10 + n))``: early on the
    average follows the weights closely, so a trial that a scheduler judges at epoch 3 is judged on
    a meaningful average and not on (nearly) its random initialisation, which is what a flat 0.9999
    would give for the first thousands of steps.

    Args:
        model: the model whose parameters and floating buffers are averaged.
        decay: the decay the warm-up approaches, in (0, 1).
    """

    def __init__(self, model: nn.Module, decay: float = 0.9999) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"The value of `decay` is {decay}, but must be `0 < decay < 1`.")
        self.decay = decay
        self.num_updates = 0
        self.shadow = [t.detach().clone() for t in _averaged_tensors(model)]
        self._stored: list[torch.Tensor] | None = None

    def current_decay(self) -> float:
        """The decay the next update uses: ``min(decay, (1 + n) / (10 + n))``."""
        n = self.num_updates
        return min(self.decay, (1 + n) / (10 + n))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the shadow weights towards ``model``'s, one fused call for all tensors."""
        self.lerp_towards(model, 1.0 - self.current_decay())
        self.num_updates += 1

    @torch.no_grad()
    def lerp_towards(self, model: nn.Module, weight: float | torch.Tensor) -> None:
        """The shadow update alone, by ``weight`` (``1 - current_decay()``), without counting it.
        Compiled steps pass a 0-d tensor on the device (a float would be baked into the graph)
        and count the update (``num_updates``) outside the compiled code."""
        targets = _averaged_tensors(model)
        if isinstance(weight, torch.Tensor):
            # _foreach_lerp_ has no overload for one tensor weight: given one, it reads it as a
            # Python number (a host sync, which a CUDA graph capture refuses). One weight per
            # tensor (broadcast) stays on the device; same arithmetic as the scalar overload.
            torch._foreach_lerp_(self.shadow, targets, [weight] * len(targets))
        else:
            torch._foreach_lerp_(self.shadow, targets, weight)

    @torch.no_grad()
    def store(self, model: nn.Module) -> None:
        """Keep a copy of ``model``'s current (raw) weights for :meth:`restore`."""
        self._stored = [t.detach().clone() for t in _averaged_tensors(model)]

    @torch.no_grad()
    def copy_to(self, model: nn.Module) -> None:
        """Write the averaged weights into ``model``."""
        torch._foreach_copy_(_averaged_tensors(model), self.shadow)

    @torch.no_grad()
    def restore(self, model: nn.Module) -> None:
        """Put back the weights saved by :meth:`store`."""
        if self._stored is None:
            raise RuntimeError("restore() called without a preceding store()")
        torch._foreach_copy_(_averaged_tensors(model), self._stored)
        self._stored = None

    @contextmanager
    def average_parameters(self, model: nn.Module) -> Iterator[nn.Module]:
        """Evaluate ``model`` with the averaged weights inside the block; raw ones after it."""
        self.store(model)
        self.copy_to(model)
        try:
            yield model
        finally:
            self.restore(model)

    def state_dict(self) -> dict[str, Any]:
        return {"decay": self.decay, "num_updates": self.num_updates, "shadow": self.shadow}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if len(state["shadow"]) != len(self.shadow):
            raise ValueError(
                f"EMA state holds {len(state['shadow'])} tensors, the model has {len(self.shadow)}"
            )
        self.decay = float(state["decay"])
        self.num_updates = int(state["num_updates"])
        with torch.no_grad():
            torch._foreach_copy_(
                self.shadow,
                [t.to(s.device) for t, s in zip(state["shadow"], self.shadow, strict=True)],
            )
