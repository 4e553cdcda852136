"""python -m tune_flow.sample: samples from a checkpoint alone, scored against a reference with
their n and floor; bad input is one line, exit 2, nothing written."""

import numpy as np
import pytest

from tests.conftest import TINY_BASE
from tune_flow import sample
from tune_flow.data.toy import generate
from tune_flow.training.checkpoint import CHECKPOINT_FILENAME, save_checkpoint
from tune_flow.training.config import TrainingConfig
from tune_flow.training.trainer import FlowTrainer


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("run")
    config = {**TINY_BASE, "max_epochs": 3, "eval_samples": 0, "num_threads": 1}
    trainer = FlowTrainer(TrainingConfig.from_dict(config))
    trainer.train()
    save_checkpoint(trainer.state_dict(), directory / CHECKPOINT_FILENAME)
    return directory


def test_samples_are_scored_against_a_reference_with_n_and_floor(run_dir, tmp_path, capsys):
    reference = tmp_path / "ref.npy"
    np.save(reference, generate("moons", 400, 7))
    out = tmp_path / "s.npy"
    args = ["--checkpoint", str(run_dir), "--n", "300", "--out", str(out)]
    assert sample.main([*args, "--reference", str(reference)]) == 0
    printed = capsys.readouterr().out
    assert "dopri5 (atol 0.0001, rtol 0.0001)" in printed  # the run's own solver by default
    # 200 points against one half of the reference; the floor is the other half against it.
    assert "against the reference: w2 " in printed and "(n=200; floor " in printed
    assert np.load(out).shape == (300, 2)


def test_a_fixed_step_solver_can_be_asked_for(run_dir, tmp_path, capsys):
    out = tmp_path / "s.npy"
    args = ["--checkpoint", str(run_dir), "--n", "20", "--out", str(out)]
    assert sample.main([*args, "--method", "rk4", "--steps", "5"]) == 0
    assert "5 rk4 steps" in capsys.readouterr().out


def test_samples_come_from_a_quasi_random_source_draw_unless_iid(run_dir, tmp_path):
    """The default draw is the evaluation's scrambled Sobol draw; --iid the trainer's i.i.d. one.
    Both are reproducible from --seed."""
    from tune_flow.evaluation.judge import generate as sample_run
    from tune_flow.evaluation.sampling import Solver
    from tune_flow.training.restore import load_run

    drawn = {}
    for name, extra in (("quasi", []), ("iid", ["--iid"]), ("iid_again", ["--iid"])):
        out = tmp_path / f"{name}.npy"
        args = ["--checkpoint", str(run_dir), "--n", "64", "--out", str(out), "--seed", "3"]
        assert sample.main([*args, "--method", "euler", "--steps", "4", *extra]) == 0
        drawn[name] = np.load(out)
    np.testing.assert_array_equal(drawn["iid"], drawn["iid_again"])
    assert not np.allclose(drawn["quasi"], drawn["iid"])
    run = load_run(run_dir / CHECKPOINT_FILENAME, "cpu")
    expected = sample_run(run, 64, Solver("euler", 4), seed=3).numpy()
    np.testing.assert_allclose(drawn["quasi"], expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--atol", "0"], "--atol is 0.0, but must be > 0"),
        (["--rtol", "-1"], "--rtol is -1.0, but must be > 0"),
        (["--reference", "WIDE"], "has 3 features per point, but the model generates 2"),
        (["--reference", "MISSING"], "--reference: dataset file"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(
    run_dir, tmp_path, capsys, extra, message
):
    wide = tmp_path / "wide.npy"
    np.save(wide, np.zeros((10, 3), dtype=np.float32))
    extra = [{"WIDE": str(wide), "MISSING": str(tmp_path / "no.npy")}.get(a, a) for a in extra]
    out = tmp_path / "s.npy"
    assert sample.main(["--checkpoint", str(run_dir), "--n", "10", "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_a_file_that_is_no_tune_flow_checkpoint_is_refused(tmp_path, capsys):
    import torch

    other = tmp_path / "other.pt"
    torch.save({"weights": 1}, other)
    assert sample.main(["--checkpoint", str(other), "--out", str(tmp_path / "s.npy")]) == 2
    assert "is not a tune_flow checkpoint or model file" in capsys.readouterr().err
