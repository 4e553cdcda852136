"""Image-shaped data end to end: a search on scikit-learn's digits as (N, 1, 8, 8) images with the
conv U-Net, its samples in their shape, the Frechet distance with its n and floor in
best_eval.json, an image grid in the report, and tune_flow.sample writing images."""

from __future__ import annotations

import json

import numpy as np

from tune_flow import sample as sample_cli
from tune_flow.data.splits import split_indices
from tune_flow.search import cli as search


def test_a_digits_search_with_the_unet_judges_and_draws_images(
    ray_cluster, write_space, tmp_path, capsys
):
    space = write_space(
        "digits",
        method="random",
        run_cap=2,
        base={"arch": "unet", "dataset": "digits", "max_epochs": 2,
              "width": 8, "depth": 1, "batch_size": 64, "eval_samples": 60},
        parameters={"lr": {"values": [1e-3, 3e-3]}},
    )  # fmt: skip
    storage = tmp_path / "results"
    argv = ["--space", space, "--storage-path", str(storage), "--name", "d", "--no-dashboard"]
    assert search.main(argv) == 0
    out = capsys.readouterr().out
    experiment = storage / "d"
    evaluation = json.loads((experiment / "best_eval.json").read_text())
    n = len(split_indices(1797, 0.1, 0.1, None, 0).test)  # the whole test split of the digits
    assert evaluation["eval_samples"] == n
    assert evaluation["frechet_digits"] > 0 and evaluation["floor"]["frechet_digits"] > 0
    assert "frechet_digits" in out and f"(n={n}; floor" in out
    with np.load(experiment / "best_samples.npz") as saved:
        assert saved["generated"].shape == (n, 1, 8, 8)
    assert (experiment / "samples.png").is_file()  # the image grid
    # Samples from the chosen model, written in their shape.
    written = tmp_path / "samples.npy"
    code = sample_cli.main(
        ["--checkpoint", str(experiment / "best_model.pt"), "--n", "16", "--out", str(written),
         "--method", "euler", "--steps", "10"]
    )  # fmt: skip
    assert code == 0 and np.load(written).shape == (16, 1, 8, 8)
