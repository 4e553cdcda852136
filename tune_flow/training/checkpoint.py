"""Writing and reading trainer checkpoints: atomic writes, ``weights_only`` reads."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from tune_flow.errors import UserInputError

CHECKPOINT_FILENAME = "checkpoint.pt"
BEST_MODEL_FILENAME = "best_model.pt"  # EMA weights at the best value of the search metric
# EMA weights at the best val_loss, kept beside best_model.pt when a search ranks by another metric
BEST_VAL_LOSS_MODEL_FILENAME = "best_val_loss_model.pt"


def save_checkpoint(state: dict[str, Any], path: str | Path) -> Path:
    """Write ``state`` to ``path`` via a temporary file and a rename, so a kill mid-write never
    leaves a truncated checkpoint where the previous good one was."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint file, or ``checkpoint.pt`` inside a directory, with ``weights_only``
    (no arbitrary code runs from a checkpoint)."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_FILENAME
    if not path.is_file():
        raise UserInputError(f"checkpoint {str(path)!r} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise UserInputError(
            f"cannot read checkpoint {str(path)!r} ({type(error).__name__}: not a file torch "
            "loads with weights_only); give a tune_flow model file (best_model.pt) or a "
            "checkpoint directory"
        ) from None
