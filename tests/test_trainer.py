import math

import pytest
import torch

from tune_flow import FlowTrainer
from tune_flow.training.checkpoint import load_checkpoint, save_checkpoint


def test_resume_matches_uninterrupted_run(small_config, tmp_path):
    config = small_config(max_epochs=6, dropout=0.1, arch="resmlp", sigma=0.1, aug="jitter")
    straight = FlowTrainer(config)
    straight.train()

    # Interrupt the real loop from its callback after epoch 3, as a killed process would stop.
    class Interrupt(Exception):
        pass

    def stop_after_3(metrics, trainer):
        if metrics["epoch"] == 3:
            save_checkpoint(trainer.state_dict(), tmp_path / "checkpoint.pt")
            raise Interrupt

    with pytest.raises(Interrupt):
        FlowTrainer(config, on_epoch_end=stop_after_3).train()
    # Disturb the global RNG as a fresh process would have a different state.
    torch.manual_seed(999)
    resumed = FlowTrainer.from_checkpoint(load_checkpoint(tmp_path / "checkpoint.pt"))
    resumed.train()

    straight_losses = [h["val_loss"] for h in straight.history]
    resumed_losses = [h["val_loss"] for h in resumed.history]
    assert len(straight_losses) == 6
    assert resumed_losses == straight_losses  # exact, not approximate
    assert [h["train_loss"] for h in resumed.history] == [h["train_loss"] for h in straight.history]


def test_a_trainer_never_trains_the_state_it_was_loaded_from(small_config):
    """Two trainers resumed from one in-memory state dict start alike (Optimizer.load_state_dict
    keeps the tensors it is given; training one must not move the other's starting point)."""
    first = FlowTrainer(small_config(max_epochs=3))
    first.train_epoch()
    state = first.state_dict()
    moments = [s["exp_avg"].clone() for s in state["optimizer"]["state"].values()]
    a = FlowTrainer.from_checkpoint(state)
    a.train()
    for before, after in zip(moments, state["optimizer"]["state"].values(), strict=True):
        assert torch.equal(before, after["exp_avg"])
    b = FlowTrainer.from_checkpoint(state)
    b.train()
    assert [h["val_loss"] for h in b.history] == [h["val_loss"] for h in a.history]


def test_val_loss_drops_clearly_on_moons(small_config):
    trainer = FlowTrainer(small_config(max_epochs=25, n_samples=4000, lr=3e-3, warmup_steps=50))
    summary = trainer.train()
    first = trainer.history[0]["val_loss"]
    # The loss of predicting zero velocity: E|x_1 - x_0|^2 / D on the validation points.
    zero_velocity_loss = trainer.val_path.dx_t.square().mean().item()
    assert summary["best_val_loss"] < 0.85 * first
    assert summary["best_val_loss"] < 0.8 * zero_velocity_loss
    assert summary["stop_reason"] == "max_epochs" and summary["epochs_run"] == 25


def test_validation_is_deterministic_across_epochs_and_trials(small_config):
    a = FlowTrainer(small_config(seed=1))
    b = FlowTrainer(small_config(seed=2))
    torch.testing.assert_close(a.val_path.x_t, b.val_path.x_t)  # same points for every trial
    assert a.validate() == a.validate()  # no sampling noise between calls


def test_callback_gets_one_entry_per_epoch_with_all_metrics(small_config):
    seen = []
    FlowTrainer(small_config(max_epochs=3), on_epoch_end=lambda m, t: seen.append(m)).train()
    assert [m["epoch"] for m in seen] == [1, 2, 3]
    for key in (
        "train_loss",
        "val_loss",
        "raw_val_loss",
        "best_val_loss",
        "lr",
        "samples_per_second",
    ):
        assert all(math.isfinite(m[key]) for m in seen), key
    assert seen[-1]["stop_reason"] == "max_epochs" and seen[0]["stop_reason"] == ""


def test_patience_ends_the_run(small_config):
    # lr tiny and held: the EMA val loss barely moves, min_delta-free improvements still happen,
    # so force stagnation with a zero learning-rate floor after a zero-length run of warm-up.
    trainer = FlowTrainer(small_config(max_epochs=50, patience=2, lr=1e-12, warmup_steps=0))
    summary = trainer.train()
    assert summary["stop_reason"] == "patience"
    assert summary["epochs_run"] < 50


def test_diverging_run_stops_with_reason_instead_of_crashing(small_config):
    trainer = FlowTrainer(small_config(max_epochs=10, lr=1e10, warmup_steps=0, grad_clip=1e30))
    summary = trainer.train()
    assert summary["stop_reason"] == "diverged"
    assert summary["epochs_run"] < 10


def test_checkpoint_holds_the_resolved_config(small_config, tmp_path):
    trainer = FlowTrainer(small_config(max_epochs=1))
    trainer.train()
    save_checkpoint(trainer.state_dict(), tmp_path / "c.pt")
    state = load_checkpoint(tmp_path / "c.pt")  # weights_only=True
    assert state["config"] == trainer.config.to_dict()
    assert state["config"]["ema_decay"] == 0.9999 and state["config"]["patience"] == 20
