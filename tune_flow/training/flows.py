"""Conditional flow matching: probability paths and couplings.

A flow turns a minibatch of source samples ``x_0`` and target samples ``x_1`` into a
:class:`PathSample`: times ``t``, points ``x_t`` on the path, and the regression target
``dx_t``. Variants override one hook each (the torchcfm pattern): OT-CFM only re-pairs the batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class PathSample:
    """A minibatch of points on the conditional path.

    Shapes: ``x_0``, ``x_1``, ``x_t``, ``dx_t``: (B, D); ``t``: (B,) in [0, 1].
    """

    x_0: torch.Tensor
    x_1: torch.Tensor
    t: torch.Tensor
    x_t: torch.Tensor
    dx_t: torch.Tensor


class ICFM:
    """Independent-coupling CFM: ``x_t = (1 - t) x_0 + t x_1 + sigma eps``, target ``x_1 - x_0``.

    Args:
        sigma: standard deviation of the Gaussian smoothing of the path (0 gives straight lines).
    """

    def __init__(self, sigma: float = 0.0) -> None:
        if sigma < 0:
            raise ValueError(f"The value of `sigma` is {sigma}, but must be `sigma >= 0`.")
        self.sigma = sigma

    def pair(self, x_0: torch.Tensor, x_1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The coupling hook: independent pairs, as drawn."""
        return x_0, x_1

    def sample_path(
        self,
        x_0: torch.Tensor,
        x_1: torch.Tensor,
        t: torch.Tensor,
        eps: torch.Tensor | None = None,
    ) -> PathSample:
        """Points and targets at the given times (all random draws are passed in, for determinism).

        Args:
            x_0: (B, D) source samples. x_1: (B, D) target samples.
            t: (B,) times in [0, 1]. eps: (B, D) standard normal noise, needed when sigma > 0.
        """
        x_0, x_1 = self.pair(x_0, x_1)
        t_col = t.unsqueeze(-1)
        x_t = (1.0 - t_col) * x_0 + t_col * x_1
        if self.sigma > 0:
            if eps is None:
                raise ValueError("sigma > 0 needs the noise `eps`")
            x_t = x_t + self.sigma * eps
        return PathSample(x_0=x_0, x_1=x_1, t=t, x_t=x_t, dx_t=x_1 - x_0)


class OTCFM(ICFM):
    """ICFM on minibatches re-paired by an exact optimal-transport plan (squared Euclidean cost).

    With equal batch sizes and uniform weights the exact OT plan is a permutation, so the
    assignment problem is solved directly (scipy's Jonker-Volgenant ``linear_sum_assignment``,
    which is what POT's ``ot.emd`` computes here, without building a dense plan).
    """

    def pair(self, x_0: torch.Tensor, x_1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # Imported here: scipy.optimize costs ~0.3 s in every process that imports this module
        # (the search's driver, every trial), and only OT-CFM needs it.
        from scipy.optimize import linear_sum_assignment

        cost = torch.cdist(x_0.detach(), x_1.detach()).pow_(2).cpu().double().numpy()
        rows, cols = linear_sum_assignment(cost)
        order = torch.from_numpy(cols[np.argsort(rows)]).to(x_1.device)
        return x_0, x_1[order]


FLOWS: dict[str, Callable[[float], ICFM]] = {
    "icfm": ICFM,
    "otcfm": OTCFM,
}


def build_flow(name: str, sigma: float = 0.0) -> ICFM:
    """The flow registered under ``name`` (see :data:`FLOWS`)."""
    return FLOWS[name](sigma)
