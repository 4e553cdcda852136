"""selection.final_selection: a trial's candidate weights scored on many paired samples, the best
handed on."""

import json

import numpy as np
import pytest
import torch

from tests.conftest import TINY_BASE
from tune_flow.evaluation.judge import generate
from tune_flow.search.state.chosen_model import run_final_selection, selection_metric
from tune_flow.selection import select_final_model, trial_candidates
from tune_flow.training.checkpoint import (
    BEST_MODEL_FILENAME,
    BEST_VAL_LOSS_MODEL_FILENAME,
    CHECKPOINT_FILENAME,
    save_checkpoint,
)
from tune_flow.training.config import TrainingConfig
from tune_flow.training.restore import load_run
from tune_flow.training.trainer import FlowTrainer

BASE = {**TINY_BASE, "eval_samples": 0, "num_threads": 1, "lr": 3e-3, "n_samples": 2000}


@pytest.fixture(scope="module")
def trial_dir(tmp_path_factory):
    """A trial checkpoint whose best_model.pt (by a noisy score) is from epoch 1, its
    best_val_loss_model.pt from epoch 4 and its latest weights from epoch 12."""
    directory = tmp_path_factory.mktemp("trial")
    trainer = FlowTrainer(TrainingConfig.from_dict({**BASE, "max_epochs": 12}))
    for epochs, write in ((1, BEST_MODEL_FILENAME), (4, BEST_VAL_LOSS_MODEL_FILENAME), (12, None)):
        trainer.config.max_epochs = epochs  # (the LR schedule was fixed at 12 epochs)
        trainer.stop_reason = None
        trainer.train()
        if write:
            metric = "w2" if write == BEST_MODEL_FILENAME else "val_loss"
            save_checkpoint(trainer.model_file(metric, 0.0), directory / write)
    save_checkpoint(trainer.state_dict(), directory / CHECKPOINT_FILENAME)
    return directory


def test_a_trial_offers_its_best_latest_and_best_val_loss_weights(trial_dir):
    candidates = trial_candidates("t1", trial_dir)
    assert [(c.weights, c.epoch) for c in candidates] == [
        ("latest", 12), ("best_val_loss", 4), ("best_w2", 1)
    ]  # fmt: skip
    assert {c.path.name for c in candidates} == {
        CHECKPOINT_FILENAME, BEST_MODEL_FILENAME, BEST_VAL_LOSS_MODEL_FILENAME
    }  # fmt: skip


def test_weights_of_one_epoch_are_one_candidate(tmp_path):
    trainer = FlowTrainer(TrainingConfig.from_dict({**BASE, "max_epochs": 2}))
    trainer.train()
    save_checkpoint(trainer.model_file("w2", 0.0), tmp_path / BEST_MODEL_FILENAME)
    save_checkpoint(trainer.state_dict(), tmp_path / CHECKPOINT_FILENAME)
    assert [(c.weights, c.epoch) for c in trial_candidates("t", tmp_path)] == [("latest", 2)]


def test_the_selection_hands_on_the_weights_that_sample_best(trial_dir):
    candidates = trial_candidates("t1", trial_dir)
    selection = select_final_model(candidates, "w2", draws=2)
    # Twelve epochs beat one: the noisy in-trial score's pick (epoch 1) is not handed on.
    assert selection.chosen.candidate.weights == "latest"
    assert [s.mean for s in selection.scores] == sorted(s.mean for s in selection.scores)
    first = selection.chosen
    assert len(first.values) == 2
    assert first.n == 800  # four generated points per point of the 200-point validation split
    assert 0 < first.floor < first.mean  # the data's own score at that n is below any model's
    assert selection.reference_points == 200
    text = selection.describe()
    assert "by w2 against the validation split (800 generated x 2 paired source draws" in text
    assert "10 rk4 steps" in text and "the data itself scores" in text


def test_a_reference_the_user_gives_is_what_the_candidates_are_scored_against(trial_dir):
    """--selection-reference: the candidates' W2 against the user's points (four generated
    points per reference point), not against the validation split."""
    latest = trial_candidates("t1", trial_dir)[:1]
    run = load_run(latest[0].path)
    split = run.stats.denormalize(run.data.x_1_val).double()
    # At the same solver (4 steps of eval_method), the split's own points score the same.
    default = select_final_model(latest, "w2", draws=1, steps=4)
    same = select_final_model(
        latest, "w2", draws=1, steps=4, reference=split, reference_name="same.npy"
    )
    assert same.chosen.values == default.chosen.values and same.chosen.floor == default.chosen.floor
    far = select_final_model(
        latest, "w2", draws=1, reference=split[:50] + 3.0, reference_name="far.npy"
    )
    # Against a reference of the user's, sampled as the user samples: the run's own dopri5.
    assert far.solver == run.config.solver.describe() and far.solver.startswith("dopri5")
    assert select_final_model(latest, "w2", draws=1).solver == "10 rk4 steps"
    # Shifted by 3 in both coordinates: W2 grows by about 3 * sqrt(2).
    assert far.chosen.values[0] > default.chosen.values[0] + 3.0
    assert (far.reference_points, far.chosen.n) == (50, 200)
    assert "by w2 against far.npy (200 generated x 1 paired source draws against 50 points" in (
        far.describe()
    )
    assert (far.to_dict()["split"], far.to_dict()["reference"]) == ("reference file", "far.npy")
    assert (default.to_dict()["split"], default.to_dict()["reference"]) == (
        "validation", "the validation split"
    )  # fmt: skip


def test_a_reference_gone_by_the_end_of_the_search_falls_back_to_the_split(
    trial_dir, tmp_path, capsys
):
    """Checked at the start, deleted during the search: the trials are still selected (against
    the validation split), with a warning, not lost to an error."""
    rows = [{"trial_id": "t1", "checkpoint": str(trial_dir / CHECKPOINT_FILENAME)}]
    selection = run_final_selection(rows, "w2", 1, tmp_path, str(tmp_path / "gone.npy"))
    assert selection.reference == "the validation split"
    assert "--selection-reference cannot be read now" in capsys.readouterr().err
    assert json.loads((tmp_path / "selection.json").read_text())["split"] == "validation"
    assert rows[0]["checkpoint"] == str(selection.chosen.candidate.path)


def test_a_few_step_search_is_judged_at_its_own_steps(trial_dir):
    """A search ranked by w2_4steps hands on the weights that sample best at 4 steps of its
    eval_method, not at the selection's own solver."""
    assert selection_metric("w2_4steps") == ("w2", 4)
    assert selection_metric("energy_distance") == ("energy_distance", None)
    assert selection_metric("val_loss") == ("w2", None)
    latest = trial_candidates("t1", trial_dir)[:1]
    few = select_final_model(latest, "w2", draws=1, steps=4)
    assert few.solver == "4 euler steps"
    assert few.chosen.values != select_final_model(latest, "w2", draws=1).chosen.values


def test_only_close_calls_get_the_other_draws(trial_dir):
    """Every candidate is scored on the first draw; those within the margin of the best first
    score get all draws and rank first, the rest keep their one score."""
    candidates = trial_candidates("t1", trial_dir)
    selection = select_final_model(candidates, "w2", draws=3, close_call=0.05)
    lead = min(s.values[0] for s in selection.scores)
    close = [s for s in selection.scores if s.values[0] <= 1.05 * lead]
    assert 0 < len(close) < len(selection.scores)  # epoch 1's weights are far behind epoch 12's
    for score in selection.scores:
        assert len(score.values) == (3 if score in close else 1)
    assert selection.scores[: len(close)] == sorted(close, key=lambda s: s.mean)
    assert f"for the {len(close)} within 5% of the best after the first draw, 1 for" in (
        selection.describe()
    )
    assert [len(s.values) for s in select_final_model(candidates, "w2", draws=1).scores] == [1] * 3
    everyone = select_final_model(candidates, "w2", draws=3, close_call=float("inf"))
    assert all(len(s.values) == 3 for s in everyone.scores)
    # Paired draws: a candidate's first draw is the same whether or not it got the others.
    assert {s.candidate.path: s.values[0] for s in everyone.scores} == {
        s.candidate.path: s.values[0] for s in selection.scores
    }


def test_the_draws_are_paired_the_same_weights_score_the_same(trial_dir):
    latest = trial_candidates("t1", trial_dir)[:1]
    twice = select_final_model(latest + latest, "energy_distance", draws=2)
    assert twice.scores[0].values == twice.scores[1].values
    assert twice.scores[0].values[0] != twice.scores[0].values[1]  # the draws differ


def test_a_model_file_samples_without_its_data_file(tmp_path):
    """Normalisation, shape and the source pool travel in the checkpoint."""
    data = tmp_path / "moons.npy"
    source = tmp_path / "blob.npy"
    rng = np.random.default_rng(0)
    np.save(data, (rng.normal(size=(600, 2)) * [3.0, 0.5] + 10).astype(np.float32))
    np.save(source, rng.normal(size=(600, 2)).astype(np.float32) - 5)
    config = {**BASE, "dataset": str(data), "source": str(source), "max_epochs": 2}
    trainer = FlowTrainer(TrainingConfig.from_dict(config))
    trainer.train()
    save_checkpoint(trainer.model_file("w2", 0.0), tmp_path / BEST_MODEL_FILENAME)
    expected = generate(trainer, 64)
    data.unlink()
    source.unlink()
    run = load_run(tmp_path / BEST_MODEL_FILENAME, "cpu")
    assert run.dim == 2 and run.source_pool is not None
    torch.testing.assert_close(generate(run, 64), expected, rtol=1e-5, atol=1e-5)
