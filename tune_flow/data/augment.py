"""Augmentations of training batches (never of validation or test data).

All act on normalised data, i.e. around the training mean, with the trainer's generator.

- ``none``.
- ``jitter``: add ``aug_std`` x N(0, I). Valid for continuous data where a small perturbation of a
  sample is still a plausible sample; the model then learns the target smoothed by a Gaussian of
  std ``aug_std`` (in normalised units), so keep it small against the structure you care about.
- ``flip``: x -> -x with probability 1/2 (point reflection through the mean). Valid only for data
  symmetric under that reflection: ``moons``, ``circles``, ``8gaussians``, ``checkerboard``,
  ``scurve``; not ``pinwheel`` (odd number of arms), ``swissroll`` or ``digits``.
- ``rotate``: a uniformly random 2-D rotation about the mean. Valid only for 2-D data whose
  distribution is rotation invariant (``circles``); on anything else it teaches the wrong target.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch


def _none(x: torch.Tensor, std: float, gen: torch.Generator) -> torch.Tensor:
    return x


def _jitter(x: torch.Tensor, std: float, gen: torch.Generator) -> torch.Tensor:
    return x + std * torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype)


def _flip(x: torch.Tensor, std: float, gen: torch.Generator) -> torch.Tensor:
    signs = torch.randint(0, 2, (x.shape[0], 1), generator=gen, device=x.device).to(x.dtype)
    return x * (2 * signs - 1)


def _rotate(x: torch.Tensor, std: float, gen: torch.Generator) -> torch.Tensor:
    angle = 2 * math.pi * torch.rand(x.shape[0], generator=gen, device=x.device, dtype=x.dtype)
    cos, sin = torch.cos(angle), torch.sin(angle)
    return torch.stack([cos * x[:, 0] - sin * x[:, 1], sin * x[:, 0] + cos * x[:, 1]], dim=1)


AUGMENTATIONS: dict[str, Callable[[torch.Tensor, float, torch.Generator], torch.Tensor]] = {
    "none": _none,
    "jitter": _jitter,
    "flip": _flip,
    "rotate": _rotate,
}

# Augmentations defined only for 2-D data.
TWO_D_ONLY = {"rotate"}
