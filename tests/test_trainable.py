"""The trial's epoch reporter without Ray: when it checkpoints, the best model it keeps in every
checkpoint, and that a resumed trial carries the best model on (run_trial is what Tune runs)."""

import shutil
from pathlib import Path

import pytest
import torch

from tests.conftest import TINY_BASE
from tune_flow.search.trainable import Objective, run_trial
from tune_flow.training.checkpoint import load_checkpoint
from tune_flow.training.ema import EMAModel
from tune_flow.training.restore import load_run, sampled_epoch
from tune_flow.training.trainer import FlowTrainer

# Tiny trials; eval_samples=0 keeps them quick (the w2 objective is tested with Ray).
BASE = {**TINY_BASE, "max_epochs": 7, "checkpoint_every": 3, "eval_samples": 0, "patience": 50}
RUNG_AT_2 = Objective("val_loss", "min", (("epoch", 2.0),))


class Recorder:
    """A reporter that keeps every epoch's metrics and a copy of each checkpoint directory."""

    def __init__(self, keep: Path) -> None:
        self.keep = keep
        self.metrics: list[dict] = []
        self.checkpoints: dict[int, Path] = {}

    def __call__(self, metrics: dict, directory: Path | None) -> None:
        self.metrics.append(metrics)
        if directory is not None:
            copy = self.keep / f"epoch_{metrics['epoch']}"
            shutil.copytree(directory, copy)
            self.checkpoints[metrics["epoch"]] = copy


def _best_so_far(metrics: list[dict], epoch: int) -> dict:
    seen = [m for m in metrics if m["epoch"] <= epoch]
    return min(seen, key=lambda m: m["val_loss"])


def test_checkpoints_every_n_epochs_at_rungs_and_at_the_end_each_with_the_best_model(tmp_path):
    recorder = Recorder(tmp_path)
    summary = run_trial({"width": 16}, BASE, recorder, objective=RUNG_AT_2)

    # Epoch 2 (rung), 3 and 6 (checkpoint_every), 7 (the last); not at every improvement.
    assert sorted(recorder.checkpoints) == [2, 3, 6, 7]
    assert len(recorder.metrics) == 7 and summary["epochs_run"] == 7
    for epoch, directory in recorder.checkpoints.items():
        assert load_checkpoint(directory)["epoch"] == epoch  # the state, for resuming
        best = _best_so_far(recorder.metrics, epoch)
        best_model = load_checkpoint(directory / "best_model.pt")
        assert (best_model["epoch"], best_model["metric"]) == (best["epoch"], "val_loss")
        assert sampled_epoch(directory) == best["epoch"]
        # Sampling loads exactly the EMA weights of the best epoch: in a trainer of the same run
        # (same validation path), that epoch's val_loss comes back.
        run = load_run(directory, "cpu")
        assert run.epoch == best["epoch"]
        trainer = FlowTrainer.from_checkpoint(load_checkpoint(directory))
        trainer.model.load_state_dict(run.model.state_dict())
        trainer.ema = EMAModel(trainer.model, 0.5)  # shadow = the restored weights
        assert trainer.validate()["val_loss"] == pytest.approx(best["val_loss"], rel=1e-6)


def test_a_resumed_trial_carries_the_best_model_on(tmp_path):
    uninterrupted = Recorder(tmp_path / "a")
    run_trial({"width": 16}, BASE, uninterrupted)
    first = Recorder(tmp_path / "b")

    def crash_after_epoch_4(metrics: dict, directory: Path | None) -> None:
        first(metrics, directory)
        if metrics["epoch"] == 4:
            raise RuntimeError("worker died")

    with pytest.raises(RuntimeError, match="worker died"):
        run_trial({"width": 16}, BASE, crash_after_epoch_4)
    assert sorted(first.checkpoints) == [3]  # epoch 4 is lost, as a crash loses it
    resumed = Recorder(tmp_path / "c")
    run_trial({}, BASE, resumed, checkpoint_dir=first.checkpoints[3])

    assert [m["epoch"] for m in resumed.metrics] == [4, 5, 6, 7]
    end_a = load_checkpoint(uninterrupted.checkpoints[7] / "best_model.pt")
    end_b = load_checkpoint(resumed.checkpoints[7] / "best_model.pt")
    assert end_a["epoch"] == end_b["epoch"]
    for key, value in end_a["model"].items():
        torch.testing.assert_close(end_b["model"][key], value, rtol=0, atol=0)
    expected = [m["val_loss"] for m in uninterrupted.metrics[3:]]
    assert [m["val_loss"] for m in resumed.metrics] == expected


def test_a_resumed_trial_keeps_a_best_model_from_before_the_interruption(tmp_path):
    """The best epoch comes before the crash and none after it (min_delta makes every later epoch
    a non-improvement), so only the copy carried over from the checkpoint can hold it."""
    base = {**BASE, "min_delta": 1e9}  # epoch 1 is the first and only improvement
    first = Recorder(tmp_path / "b")

    def crash_after_epoch_4(metrics: dict, directory: Path | None) -> None:
        first(metrics, directory)
        if metrics["epoch"] == 4:
            raise RuntimeError("worker died")

    with pytest.raises(RuntimeError):
        run_trial({}, base, crash_after_epoch_4)
    resumed = Recorder(tmp_path / "c")
    run_trial({}, base, resumed, checkpoint_dir=first.checkpoints[3])
    before = load_checkpoint(first.checkpoints[3] / "best_model.pt")
    after = load_checkpoint(resumed.checkpoints[7] / "best_model.pt")
    assert before["epoch"] == after["epoch"] == 1
    for key, value in before["model"].items():
        torch.testing.assert_close(after["model"][key], value, rtol=0, atol=0)


def test_a_trial_restored_from_its_final_checkpoint_reports_its_end_again(tmp_path):
    finished = Recorder(tmp_path / "a")
    run_trial({}, BASE, finished)
    again = Recorder(tmp_path / "b")
    run_trial({}, BASE, again, checkpoint_dir=finished.checkpoints[7])
    assert [(m["epoch"], m["stop_reason"]) for m in again.metrics] == [(7, "max_epochs")]
    assert again.metrics[0]["val_loss"] == finished.metrics[-1]["val_loss"]
    assert not again.checkpoints


def test_without_keep_best_checkpoints_hold_the_latest_weights_only(tmp_path):
    from tune_flow.search.trainable import _EpochReporter
    from tune_flow.training.config import TrainingConfig
    from tune_flow.training.trainer import FlowTrainer

    recorder = Recorder(tmp_path)
    reporter = _EpochReporter(recorder, Objective(), keep_best=False)  # as a study cell runs
    FlowTrainer(TrainingConfig.from_dict(BASE), reporter).train()
    assert sorted(recorder.checkpoints) == [3, 6, 7]
    assert not any((d / "best_model.pt").exists() for d in recorder.checkpoints.values())
    assert sampled_epoch(recorder.checkpoints[7]) == 7  # sampling uses the final weights


def test_an_improvement_is_checkpointed_once_the_last_checkpoint_is_old_enough(
    tmp_path, monkeypatch
):
    """For stops between checkpoints (median rule, time budget): with the age limit at 0, every
    improvement is written at once; the periodic checkpoints are off here."""
    from tune_flow.search import trainable

    monkeypatch.setattr(trainable, "BEST_MODEL_MAX_AGE_S", 0.0)
    recorder = Recorder(tmp_path)
    run_trial({}, {**BASE, "checkpoint_every": 100}, recorder)
    improved, best = [], None
    for m in recorder.metrics:
        if best is None or m["val_loss"] < best:
            improved.append(m["epoch"])
            best = m["val_loss"]
    assert sorted(recorder.checkpoints) == sorted({*improved, 7})
    assert len(improved) >= 2


def test_evaluation_epochs_tell_the_search_what_the_sample_metrics_cost(tmp_path):
    recorder = Recorder(tmp_path)
    run_trial(
        {"width": 16}, {**BASE, "max_epochs": 3, "eval_every": 2, "eval_samples": 50}, recorder
    )
    costs = {m["epoch"]: m.get("evaluation_seconds") for m in recorder.metrics}
    # Epoch 2 (eval_every) and 3 (the last) evaluate; epoch 1 reports no cost.
    assert costs[1] is None and costs[2] > 0 and costs[3] > 0
    assert all("w2" in m for m in recorder.metrics if "evaluation_seconds" in m)
