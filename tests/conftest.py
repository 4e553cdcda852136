"""Shared fixtures. One local Ray instance is shared by all tests that need it (see ray_cluster)."""

from __future__ import annotations

import os

import pytest

# The digits classifier of tune_flow.evaluation.digits_frechet is trained once per machine into
# this cache (not the user's ~/.cache), and reused by later test runs.
os.environ.setdefault(
    "TUNE_FLOW_CACHE", os.path.join(__import__("tempfile").gettempdir(), "tune_flow_test_cache")
)
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


@pytest.fixture(scope="session")
def ray_cluster():
    """One local Ray instance (2 CPUs, 1 logical GPU) shared by every test that needs Ray.

    The GPU is logical: Ray accounts for it (fractional requests, packing) but nothing runs on a
    real device here. The search CLI reuses an instance this process already started.
    """
    import ray

    os.environ.setdefault("RAY_CHDIR_TO_TRIAL_DIR", "0")
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    ray.init(
        num_cpus=2,
        num_gpus=1,
        include_dashboard=False,
        log_to_driver=False,
        logging_level="WARNING",
    )
    yield ray
    ray.shutdown()


TINY_BASE = dict(
    arch="mlp",
    flow="icfm",
    dataset="moons",
    aug="none",
    group="t",
    n_samples=1000,
    batch_size=100,
    warmup_steps=10,
    width=16,
    depth=2,
    device="cpu",
)


@pytest.fixture
def write_space(tmp_path):
    """Write a space YAML with a tiny, fast base and return its path."""
    import yaml

    def write(name="space", base=None, **top):
        values = {
            "name": name,
            "method": "bayes",
            "metric": {"name": "val_loss", "goal": "minimize"},
            "run_cap": 2,
            "base": {**TINY_BASE, "max_epochs": 3, **(base or {})},
        }
        values.update(top)
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(values, sort_keys=False))
        return str(path)

    return write
