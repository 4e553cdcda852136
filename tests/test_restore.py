"""training.restore: a run restored for sampling samples exactly what its trainer would, without
building an optimizer."""

import subprocess
import sys

import torch

from tests.conftest import TINY_BASE
from tune_flow.evaluation.judge import generate
from tune_flow.training.checkpoint import load_checkpoint, save_checkpoint
from tune_flow.training.config import TrainingConfig
from tune_flow.training.restore import load_run
from tune_flow.training.trainer import FlowTrainer

BASE = {**TINY_BASE, "max_epochs": 2, "eval_samples": 0, "num_threads": 1}


def _run_dir(tmp_path):
    trainer = FlowTrainer(TrainingConfig.from_dict(BASE))
    trainer.train()
    save_checkpoint(trainer.state_dict(), tmp_path / "checkpoint.pt")
    return tmp_path


def test_a_restored_run_samples_what_its_trainer_samples_from_the_ema_weights(tmp_path):
    directory = _run_dir(tmp_path)
    run = load_run(directory, "cpu")
    trainer = FlowTrainer.from_checkpoint(load_checkpoint(directory), device="cpu")
    assert run.epoch == trainer.epoch == 2
    assert not run.model.training
    # The model holds the EMA weights (not the raw ones the checkpoint's "model" has).
    for restored, shadow in zip(run.model.parameters(), trainer.ema.shadow, strict=True):
        torch.testing.assert_close(restored, shadow, rtol=0, atol=0)
    torch.testing.assert_close(generate(run, 64), generate(trainer, 64), rtol=0, atol=0)


def test_restoring_for_sampling_builds_no_optimizer(tmp_path):
    """Building one imports torch._dynamo (~1.5 s), which sampling never needs."""
    directory = _run_dir(tmp_path)
    probe = (
        "import sys; from pathlib import Path\n"
        "from tune_flow.evaluation.judge import generate\n"
        "from tune_flow.training.restore import load_run\n"
        f"generate(load_run(Path({str(directory)!r}), 'cpu'), 16)\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "False"
