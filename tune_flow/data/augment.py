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

Your own: ``aug: my_package.augment:Name`` (or ``file.py:Name``), a function
``Name(x_1: (B, *shape), aug_std: float, generator: torch.Generator) -> (B, *shape)`` of
normalised training batches; draw random numbers from ``generator`` (the run's, on x's device)
so that a run stays reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from tune_flow.errors import UserInputError
from tune_flow.import_path import check_callable, resolve

Augmentation = Callable[[torch.Tensor, float, torch.Generator], torch.Tensor]


def _none(x: torch.Tensor, std: float, gen: torch.Generator) -> torch.Tensor:
    return x


def _jitter(x: torch.Tensor, std: float, gen: torch.Generator) -> torch.Tensor:
    return x + std * torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype)


def _flip(x: torch.Tensor, std: float, gen: torch.Generator) -> torch.Tensor:
    shape = (x.shape[0],) + (1,) * (x.dim() - 1)  # one sign per point, any point shape
    signs = torch.randint(0, 2, shape, generator=gen, device=x.device).to(x.dtype)
    return x * (2 * signs - 1)


def _rotate(x: torch.Tensor, std: float, gen: torch.Generator) -> torch.Tensor:
    angle = 2 * math.pi * torch.rand(x.shape[0], generator=gen, device=x.device, dtype=x.dtype)
    cos, sin = torch.cos(angle), torch.sin(angle)
    return torch.stack([cos * x[:, 0] - sin * x[:, 1], sin * x[:, 0] + cos * x[:, 1]], dim=1)


AUGMENTATIONS: dict[str, Augmentation] = {
    "none": _none,
    "jitter": _jitter,
    "flip": _flip,
    "rotate": _rotate,
}

# Augmentations defined only for 2-D data.
TWO_D_ONLY = {"rotate"}


def augmentation(aug: str) -> Augmentation:
    """The augmentation ``aug`` names: a built-in or an import path."""
    return check_callable(resolve(aug, "aug", AUGMENTATIONS), "aug", aug)


def probe_augmentation(aug: str, shape: tuple[int, ...], std: float) -> None:
    """Run the augmentation once on a tiny batch; one line if it raises or changes the shape."""
    x = torch.randn(4, *shape, generator=torch.Generator().manual_seed(0))
    try:
        out = augmentation(aug)(x, std, torch.Generator().manual_seed(0))
    except UserInputError:
        raise
    except Exception as error:
        raise UserInputError(
            f"`aug` {aug!r} on a batch of 4 points of shape {tuple(shape)} raised "
            f"{type(error).__name__}: {error}"
        ) from None
    if not isinstance(out, torch.Tensor) or out.shape != x.shape:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise UserInputError(f"`aug` {aug!r} returned {got}, but must return {tuple(x.shape)}")
