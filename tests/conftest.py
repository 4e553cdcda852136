"""Shared fixtures. One local Ray instance is shared by all tests that need it (see ray_cluster)."""

from __future__ import annotations

import os

import pytest

# Tests never talk to W&B's servers.
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")


@pytest.fixture
def small_config():
    """A tiny, fast run on the built-in moons data."""
    from tune_flow import TrainingConfig

    def make(**overrides):
        values = dict(
            arch="mlp",
            flow="icfm",
            dataset="moons",
            aug="none",
            group="test",
            n_samples=2000,
            batch_size=128,
            max_epochs=4,
            warmup_steps=20,
            num_threads=1,
            device="cpu",
        )
        values.update(overrides)
        return TrainingConfig.from_dict(values)

    return make
