"""Patience-based early stopping on a validation metric."""

from __future__ import annotations

import math
from typing import Any


class EarlyStopping:
    """Stop when a metric has not improved for ``patience`` consecutive epochs.

    Args:
        patience: epochs without improvement tolerated before ``should_stop`` turns true.
        min_delta: an improvement must beat the best value by more than this (metric units).
        mode: ``"min"`` (lower is better) or ``"max"``.

    NaN and inf never count as an improvement; they count as a bad epoch.
    """

    def __init__(self, patience: int = 20, min_delta: float = 0.0, mode: str = "min") -> None:
        if patience < 1:
            raise ValueError(f"The value of `patience` is {patience}, but must be `patience >= 1`.")
        if min_delta < 0:
            raise ValueError(
                f"The value of `min_delta` is {min_delta}, but must be `min_delta >= 0`."
            )
        if mode not in ("min", "max"):
            raise ValueError(f"The value of `mode` is {mode!r}, but must be 'min' or 'max'.")
        self.patience = patience
        self.min_delta = min_delta
        self.mode = mode
        self.best: float = math.inf if mode == "min" else -math.inf
        self.best_epoch: int = 0
        self.num_bad_epochs: int = 0
        self.num_epochs: int = 0

    def __call__(self, value: float) -> bool:
        """Record one epoch's value; return True when it is an improvement."""
        self.num_epochs += 1
        improved = math.isfinite(value) and (
            value < self.best - self.min_delta
            if self.mode == "min"
            else value > self.best + self.min_delta
        )
        if improved:
            self.best = value
            self.best_epoch = self.num_epochs
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        return improved

    @property
    def should_stop(self) -> bool:
        """True once ``patience`` epochs in a row brought no improvement."""
        return self.num_bad_epochs >= self.patience

    def state_dict(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "num_bad_epochs": self.num_bad_epochs,
            "num_epochs": self.num_epochs,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = float(state["best"])
        self.best_epoch = int(state["best_epoch"])
        self.num_bad_epochs = int(state["num_bad_epochs"])
        self.num_epochs = int(state["num_epochs"])
