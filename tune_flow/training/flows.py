"""Conditional flow matching: probability paths and couplings.

A flow turns a minibatch of source samples ``x_0`` and target samples ``x_1`` into a
:class:`PathSample`: times ``t``, points ``x_t`` on the path, and the regression target
``dx_t``. Variants override one hook each (the torchcfm pattern): OT-CFM only re-pairs the batch.

The contract (:class:`ProbabilityPath`) is the same for the built-ins and a user's
``package.module:Name``: a builder ``Name(**flow_args)`` (``sigma`` is passed when its signature
names it) returning an object with ``sample_path(x_0, x_1, t, eps) -> PathSample``. Subclassing
:class:`ICFM` and overriding :meth:`ICFM.pair` is the shortest way to a new coupling.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from tune_flow.errors import UserInputError
from tune_flow.import_path import accepted_keywords, check_callable, check_keywords, resolve


@dataclass(frozen=True)
class PathSample:
    """A minibatch of points on the conditional path.

    Shapes: ``x_0``, ``x_1``, ``x_t``, ``dx_t``: (B, *shape), one point's shape being (D,) or
    e.g. (C, H, W); ``t``: (B,) in [0, 1].
    """

    x_0: torch.Tensor
    x_1: torch.Tensor
    t: torch.Tensor
    x_t: torch.Tensor
    dx_t: torch.Tensor


class ProbabilityPath(Protocol):
    """What the trainer needs of a flow. ``sigma > 0`` asks for the Gaussian noise ``eps`` (the
    trainer draws it only then, so a deterministic path costs no random numbers)."""

    sigma: float

    def sample_path(
        self, x_0: torch.Tensor, x_1: torch.Tensor, t: torch.Tensor, eps: torch.Tensor | None
    ) -> PathSample: ...


def expand_time(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``t`` (B,) as (B, 1, ..., 1), broadcastable against ``like`` (B, *shape)."""
    return t.reshape(-1, *([1] * (like.dim() - 1)))


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
            x_0: (B, *shape) source samples. x_1: (B, *shape) target samples.
            t: (B,) times in [0, 1]. eps: (B, *shape) standard normal noise, needed when
            sigma > 0.
        """
        x_0, x_1 = self.pair(x_0, x_1)
        t_col = expand_time(t, x_0)
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
    which is what POT's ``ot.emd`` computes here, without building a dense plan). Points of any
    shape are compared flattened.
    """

    def pair(self, x_0: torch.Tensor, x_1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # Imported here: scipy.optimize costs ~0.3 s in every process that imports this module
        # (the search's driver, every trial), and only OT-CFM needs it.
        from scipy.optimize import linear_sum_assignment

        cost = (
            torch.cdist(x_0.detach().flatten(1), x_1.detach().flatten(1))
            .pow_(2)
            .cpu()
            .double()
            .numpy()
        )
        rows, cols = linear_sum_assignment(cost)
        order = torch.from_numpy(cols[np.argsort(rows)]).to(x_1.device)
        return x_0, x_1[order]


FLOWS: dict[str, Callable[..., ProbabilityPath]] = {
    "icfm": ICFM,
    "otcfm": OTCFM,
}
# TrainingConfig fields every flow builder naming them receives.
FLOW_FIELDS = ("sigma",)


def flow_builder(flow: str, flow_args: Mapping[str, Any] | None = None) -> Callable[..., Any]:
    """The builder ``flow`` names (a built-in or an import path), ``flow_args`` checked against
    its signature."""
    builder = check_callable(resolve(flow, "flow", FLOWS), "flow", flow)
    check_keywords(builder, flow_args or {}, "flow_args", flow)
    return builder


def build_flow(
    flow: str, fields: Mapping[str, Any] | None = None, flow_args: Mapping[str, Any] | None = None
) -> ProbabilityPath:
    """The flow ``flow`` names, built with the shared ``fields`` its signature names (``sigma``)
    and ``flow_args``; one line naming it when it raises or lacks ``sample_path``."""
    builder = flow_builder(flow, flow_args)
    accepted = accepted_keywords(builder) or set()
    shared = {k: v for k, v in (fields or {}).items() if k in FLOW_FIELDS and k in accepted}
    try:
        path = builder(**{**shared, **(flow_args or {})})
    except Exception as error:
        raise UserInputError(
            f"`flow` {flow!r}: building it raised {type(error).__name__}: {error}"
        ) from None
    if not callable(getattr(path, "sample_path", None)):
        raise UserInputError(
            f"`flow` {flow!r} built a {type(path).__name__}, which has no "
            "sample_path(x_0, x_1, t, eps) method (subclass tune_flow.training.flows.ICFM)"
        )
    return path


def needs_noise(path: ProbabilityPath) -> bool:
    """Whether ``path.sample_path`` wants ``eps`` (a flow without ``sigma`` gets none)."""
    return float(getattr(path, "sigma", 0.0) or 0.0) > 0


def probe_flow(path: ProbabilityPath, shape: tuple[int, ...], name: str) -> None:
    """``sample_path`` once on a tiny batch: refuse (one line) one that raises or returns points
    or targets of another shape, or non-finite values."""
    gen = torch.Generator().manual_seed(0)
    x_0, x_1 = torch.randn(4, *shape, generator=gen), torch.randn(4, *shape, generator=gen)
    t = torch.rand(4, generator=gen)
    eps = torch.randn(4, *shape, generator=gen) if needs_noise(path) else None
    try:
        sample = path.sample_path(x_0, x_1, t, eps)
    except Exception as error:
        raise UserInputError(
            f"`flow` {name!r}: sample_path on a batch of 4 points of shape {tuple(shape)} raised "
            f"{type(error).__name__}: {error}"
        ) from None
    for field in ("x_t", "dx_t"):
        value = getattr(sample, field, None)
        if not isinstance(value, torch.Tensor) or value.shape != x_1.shape:
            got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise UserInputError(
                f"`flow` {name!r}: sample_path returned {field} {got}, but must return a "
                f"PathSample whose {field} is {tuple(x_1.shape)}"
            )
        if not torch.isfinite(value).all():
            raise UserInputError(f"`flow` {name!r}: sample_path returned non-finite {field}")
