"""Normalisation statistics, computed on the training split only.

Normalising is a modelling choice (``TrainingConfig.normalize``), not a given: the flow starts from
N(0, I), so the scale of the data decides how far the flow moves points and how separated the
modes are. Samples are always mapped back to the data's original units.

    standard   per-feature mean and std (each feature gets unit variance)
    global     per-feature mean, one scale for all features (the RMS of their stds): keeps the
               aspect ratio and the relative spread of the features
    none       identity: train in the data's own units

A "feature" is an index of axis 1: a coordinate of (N, D) vectors, a channel of (N, C, H, W)
images (per-channel statistics over all pixels, as image models normalise). The stats are (F,)
tensors either way and broadcast over the remaining axes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from tune_flow.errors import UserInputError

STATS_FILENAME = "normalization_stats.pt"
NORMALIZATIONS = ("standard", "global", "none")


@dataclass
class NormalizationStats:
    """Mean and std (F,) per feature/channel (axis 1) of the target samples, and of the source
    samples when there are any."""

    mean: torch.Tensor
    std: torch.Tensor
    source_mean: torch.Tensor | None = None
    source_std: torch.Tensor | None = None

    @classmethod
    def fit(
        cls, x_1: torch.Tensor, x_0: torch.Tensor | None = None, mode: str = "standard"
    ) -> NormalizationStats:
        """Stats of training samples x_1 (N, *shape) and optional source samples x_0 (M, *shape).

        ``mode``: one of :data:`NORMALIZATIONS` (see the module docstring)."""
        if mode not in NORMALIZATIONS:
            raise ValueError(
                f"The value of `mode` is {mode!r}, but must be one of {NORMALIZATIONS}."
            )

        def mean_std(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            if mode == "none":
                return torch.zeros(x.shape[1]), torch.ones(x.shape[1])
            # One row per value of a feature/channel: (N * H * W, C) for images, x for vectors.
            rows = x.transpose(0, 1).reshape(x.shape[1], -1).T
            std = rows.std(dim=0)
            if mode == "global":
                std = std.square().mean().sqrt().expand(x.shape[1]).clone()
            # Constant features would divide by zero: leave them unscaled.
            return rows.mean(dim=0), torch.where(std > 1e-8, std, torch.ones_like(std))

        mean, std = mean_std(x_1)
        if x_0 is None:
            return cls(mean, std)
        return cls(mean, std, *mean_std(x_0))

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x - _along(self.mean, x)) / _along(self.std, x)

    def normalize_(self, x: torch.Tensor) -> torch.Tensor:
        """In place, for fresh split copies of large datasets (no second copy in memory)."""
        return x.sub_(_along(self.mean, x)).div_(_along(self.std, x))

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """Back to the data's original units."""
        return x * _along(self.std, x) + _along(self.mean, x)

    def normalize_source(self, x: torch.Tensor) -> torch.Tensor:
        if self.source_mean is None or self.source_std is None:
            return x
        return (x - _along(self.source_mean, x)) / _along(self.source_std, x)

    def to_dict(self) -> dict[str, torch.Tensor | None]:
        return {
            "mean": self.mean.cpu(),
            "std": self.std.cpu(),
            "source_mean": None if self.source_mean is None else self.source_mean.cpu(),
            "source_std": None if self.source_std is None else self.source_std.cpu(),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, torch.Tensor | None]) -> NormalizationStats:
        """The inverse of :meth:`to_dict` (a checkpoint's ``normalization_stats``)."""
        return cls(raw["mean"], raw["std"], raw.get("source_mean"), raw.get("source_std"))

    def save(self, path: str | Path) -> None:
        torch.save(self.to_dict(), path)

    @classmethod
    def load(cls, path: str | Path, dim: int | None = None) -> NormalizationStats:
        """Read and check a stats file (see :func:`validate_stats_file`)."""
        return validate_stats_file(path, dim)


def _along(stat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """(F,) stats shaped to broadcast over axis 1 of x (B, F, ...) on x's device."""
    return stat.to(x.device).view(-1, *([1] * (x.dim() - 2)))


def validate_stats_file(path: str | Path, dim: int | None = None) -> NormalizationStats:
    """Load ``path`` and check it holds finite, positive-std stats of ``dim`` features (or
    channels: axis 1 of the data)."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"stats_path {str(path)!r} does not exist")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise UserInputError(
            f"stats_path {str(path)!r} is not a tune_flow stats file: {error}"
        ) from None
    if not isinstance(raw, dict) or not {"mean", "std"} <= set(raw):
        raise UserInputError(f"stats_path {str(path)!r} must hold a dict with 'mean' and 'std'")
    mean, std = raw["mean"], raw["std"]
    if (
        not (isinstance(mean, torch.Tensor) and isinstance(std, torch.Tensor))
        or mean.shape != std.shape
        or mean.ndim != 1
    ):
        raise UserInputError(
            f"stats_path {str(path)!r}: 'mean' and 'std' must be 1-D tensors of one shape"
        )
    if dim is not None and mean.shape[0] != dim:
        raise UserInputError(
            f"stats_path {str(path)!r} holds stats of {mean.shape[0]} features, but the data has {dim}"
        )
    if not torch.isfinite(mean).all() or not (std > 0).all() or not torch.isfinite(std).all():
        raise UserInputError(
            f"stats_path {str(path)!r}: 'mean' must be finite and 'std' finite and > 0"
        )
    return NormalizationStats(
        mean.float(), std.float(), raw.get("source_mean"), raw.get("source_std")
    )
