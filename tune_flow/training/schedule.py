"""Learning-rate schedule: linear warm-up, half-cosine decay, then held at the floor."""

from __future__ import annotations

import logging
import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

logger = logging.getLogger(__name__)


def cosine_with_warmup_factor(
    step: int, num_warmup_steps: int, num_training_steps: int, min_lr_ratio: float = 0.0
) -> float:
    """The multiplier of the peak learning rate at optimizer step ``step`` (0-based).

    1) linear warm-up from 0 to 1 over ``num_warmup_steps``;
    2) half-cosine from 1 down to ``min_lr_ratio`` until ``num_training_steps``;
    3) held at ``min_lr_ratio`` afterwards. transformers' version keeps following the cosine past
       the end and climbs back up; a resumed or extended run must never see the LR rise again.
    """
    if step < num_warmup_steps:
        return step / num_warmup_steps
    if step >= num_training_steps:
        return min_lr_ratio
    progress = (step - num_warmup_steps) / max(1, num_training_steps - num_warmup_steps)
    return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def get_cosine_schedule_with_warmup(
    optimizer: Optimizer,
    num_warmup_steps: int,
    num_training_steps: int,
    min_lr_ratio: float = 0.0,
) -> LambdaLR:
    """A ``LambdaLR`` following :func:`cosine_with_warmup_factor`, stepped once per optimizer step.

    Args:
        optimizer: its param groups' ``lr`` is the peak learning rate.
        num_warmup_steps: optimizer steps of linear warm-up from 0. Clipped (and logged) to
            ``num_training_steps`` when longer than the whole run.
        num_training_steps: optimizer steps of the whole run (max_epochs x steps per epoch).
        min_lr_ratio: floor of the decay as a fraction of the peak, in [0, 1].
    """
    if num_training_steps < 1:
        raise ValueError(
            f"The value of `num_training_steps` is {num_training_steps}, "
            "but must be `num_training_steps >= 1`."
        )
    if num_warmup_steps < 0:
        raise ValueError(
            f"The value of `num_warmup_steps` is {num_warmup_steps}, "
            "but must be `num_warmup_steps >= 0`."
        )
    if not 0.0 <= min_lr_ratio <= 1.0:
        raise ValueError(
            f"The value of `min_lr_ratio` is {min_lr_ratio}, but must be `0 <= min_lr_ratio <= 1`."
        )
    if num_warmup_steps > num_training_steps:
        logger.warning(
            "warm-up of %d steps is longer than the whole run (%d steps): clipped to %d",
            num_warmup_steps,
            num_training_steps,
            num_training_steps,
        )
        num_warmup_steps = num_training_steps

    def lr_lambda(step: int) -> float:
        return cosine_with_warmup_factor(step, num_warmup_steps, num_training_steps, min_lr_ratio)

    return LambdaLR(optimizer, lr_lambda)
