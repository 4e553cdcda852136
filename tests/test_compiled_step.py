"""compile_step: the torch.compile'd step trains like the eager one (CPU: inductor's default
mode; the CUDA-graph mode needs a GPU, see benchmarks/device_check.sh)."""

import pytest
import torch

from tests.conftest import TINY_BASE
from tune_flow.training.config import TrainingConfig
from tune_flow.training.trainer import FlowTrainer

BASE = {**TINY_BASE, "max_epochs": 3, "eval_samples": 0, "num_threads": 1}


def _trained(**changes) -> FlowTrainer:
    trainer = FlowTrainer(TrainingConfig.from_dict({**BASE, **changes}))
    trainer.train()
    return trainer


def test_compiled_step_matches_eager_within_float_tolerance():
    torch._dynamo.utils.counters.clear()
    eager, compiled = _trained(), _trained(compile_step=True)
    for key in ("train_loss", "val_loss", "raw_val_loss", "lr"):
        got = [h[key] for h in compiled.history]
        want = [h[key] for h in eager.history]
        assert got == pytest.approx(want, rel=1e-4), key
    assert compiled.ema.num_updates == eager.ema.num_updates == 3 * eager.steps_per_epoch
    for a, b in zip(compiled.ema.shadow, eager.ema.shadow, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    # One compiled graph per piece, not one per step (per-step scalars are tensors).
    assert 1 <= torch._dynamo.utils.counters["stats"]["unique_graphs"] <= 8


def test_a_compile_step_checkpoint_resumes_in_either_mode():
    uninterrupted = _trained(compile_step=True)
    first = FlowTrainer(TrainingConfig.from_dict({**BASE, "compile_step": True}))
    first.train_epoch()
    first.epoch += 1
    state = first.state_dict()
    assert isinstance(state["optimizer"]["param_groups"][0]["lr"], torch.Tensor)
    want = [h["val_loss"] for h in uninterrupted.history[-2:]]
    # Both resumes load the same state dict: a trainer must not train the optimizer moments it was
    # loaded from (Optimizer.load_state_dict keeps the given tensors; a version of the trainer
    # that did made this test read the compiled resume as 7e-4 off).
    for compile_step, lr_type in ((False, float), (True, torch.Tensor)):
        resumed = FlowTrainer.from_checkpoint(state, compile_step=compile_step)
        assert isinstance(resumed.optimizer.param_groups[0]["lr"], lr_type)
        resumed.train()  # the two remaining epochs
        assert [h["val_loss"] for h in resumed.history[-2:]] == pytest.approx(want, rel=1e-4)


def test_another_trainer_in_the_same_process_compiles_afresh():
    """Trials on a reused actor: each trainer's step is compiled for its own optimizer (Dynamo's
    guards would otherwise pile up recompilations until it falls back to eager)."""
    torch._dynamo.utils.counters.clear()
    for _ in range(10):
        FlowTrainer(TrainingConfig.from_dict({**BASE, "compile_step": True, "max_epochs": 1}))
    trainer = _trained(compile_step=True, max_epochs=1)
    assert not torch._dynamo.utils.counters["recompiles"]
    assert trainer.history[0]["train_loss"] > 0


def test_compile_step_must_be_a_boolean():
    from tune_flow.errors import UserInputError

    with pytest.raises(UserInputError, match="`compile_step` is 'yes', but must be true or false"):
        TrainingConfig.from_dict({**BASE, "compile_step": "yes"})
