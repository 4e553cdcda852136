"""training.train_step: compile_step trains like the eager step: on the CPU the torch.compile'd step (inductor's
default mode); on CUDA the step captured in one CUDA graph (those tests need a GPU and are skipped
without one; benchmarks/device_check.sh runs them on a lent GPU machine)."""

import pytest
import torch

from tests.conftest import TINY_BASE
from tune_flow.models import ARCHITECTURES
from tune_flow.training.config import TrainingConfig
from tune_flow.training.trainer import FlowTrainer

BASE = {**TINY_BASE, "max_epochs": 3, "eval_samples": 0, "num_threads": 1}


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _trained(**changes) -> FlowTrainer:
    trainer = FlowTrainer(TrainingConfig.from_dict({**BASE, **changes}))
    trainer.train()
    return trainer


def _assert_trained_alike(got: FlowTrainer, want: FlowTrainer, rtol: float, atol: float) -> None:
    """Every epoch's losses and learning rate within ``rtol``; the same number of EMA updates
    (3 epochs); the EMA weights within ``rtol``/``atol``."""
    for key in ("train_loss", "val_loss", "raw_val_loss", "lr"):
        values = [h[key] for h in got.history]
        assert values == pytest.approx([h[key] for h in want.history], rel=rtol), key
    assert got.ema.num_updates == want.ema.num_updates == 3 * want.steps_per_epoch
    for a, b in zip(got.ema.shadow, want.ema.shadow, strict=True):
        torch.testing.assert_close(a, b, rtol=rtol, atol=atol)


def test_compiled_step_matches_eager_within_float_tolerance():
    torch._dynamo.utils.counters.clear()
    eager, compiled = _trained(), _trained(compile_step=True)
    _assert_trained_alike(compiled, eager, rtol=1e-4, atol=1e-5)
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


def test_an_unsupported_device_is_refused_with_the_devices_that_work():
    from tune_flow.errors import UserInputError
    from tune_flow.training.train_step import build_train_step

    trainer = FlowTrainer(TrainingConfig.from_dict(BASE))
    with pytest.raises(UserInputError, match="device is meta; compile_step needs cpu or cuda"):
        build_train_step(
            trainer.model, trainer.optimizer, trainer.ema, 1.0, torch.device("meta"),
            compile_step=True,
        )  # fmt: skip


@needs_cuda
@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_the_cuda_graph_step_trains_like_eager_on_the_gpu(arch):
    from tune_flow.training.train_step import CUDA_GRAPH_WARMUP_STEPS, CudaGraphStep

    # Dropout 0: masks come from the CUDA generator, which a replay advances by the offsets
    # recorded at capture; whether they equal eager's masks is not what this test checks.
    eager = _trained(device="cuda", arch=arch, dropout=0.0)
    graphed = _trained(device="cuda", arch=arch, dropout=0.0, compile_step=True)
    step = graphed.train_step
    assert isinstance(step, CudaGraphStep) and step._graph is not None  # captured, replayed
    assert 3 * graphed.steps_per_epoch > CUDA_GRAPH_WARMUP_STEPS
    _assert_trained_alike(graphed, eager, rtol=1e-5, atol=1e-6)
    for a, b in zip(graphed.model.parameters(), eager.model.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    x_t, t, dx_t = step._static
    with pytest.raises(ValueError, match="takes the shapes it was captured with"):
        step(x_t[:1], t[:1], dx_t[:1])  # copy_ would have broadcast one row over the batch


@needs_cuda
def test_a_cuda_graph_checkpoint_resumes_in_either_mode_on_the_gpu(tmp_path):
    from tune_flow.training.checkpoint import load_checkpoint, save_checkpoint

    base = {"device": "cuda", "compile_step": True}
    uninterrupted = _trained(**base)
    first = FlowTrainer(TrainingConfig.from_dict({**BASE, **base}))
    first.train_epoch()
    first.epoch += 1
    state = first.state_dict()
    assert first.optimizer.param_groups[0]["capturable"] is False  # set for the capture only
    want = [h["val_loss"] for h in uninterrupted.history[-2:]]
    # From memory (CUDA tensors) and from a file, the way a trial resumes.
    from_file = load_checkpoint(save_checkpoint(state, tmp_path / "checkpoint.pt"))
    for source, compile_step in ((state, False), (state, True), (from_file, True)):
        resumed = FlowTrainer.from_checkpoint(source, compile_step=compile_step)
        resumed.train()
        assert [h["val_loss"] for h in resumed.history[-2:]] == pytest.approx(want, rel=1e-5)
    # Loading into a trainer that already replays its graph captures afresh (the optimizer's
    # state tensors were replaced), and it still trains like the uninterrupted run.
    first.load_state_dict(state)
    assert first.train_step._graph is None
    first.train()
    assert [h["val_loss"] for h in first.history[-2:]] == pytest.approx(want, rel=1e-5)
