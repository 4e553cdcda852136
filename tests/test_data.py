import numpy as np
import pandas as pd
import pytest
import torch

from tune_flow import FlowDataset, FlowTrainer, TrainingConfig, create_dataloader
from tune_flow.data import DATASETS, build_data, check_data, floor_points, split_indices
from tune_flow.data.files import load_array
from tune_flow.data.normalization import NormalizationStats
from tune_flow.data.space_filling import hilbert_index_2d, hilbert_order
from tune_flow.data.toy import generate, shape
from tune_flow.errors import UserInputError

BASE = dict(arch="mlp", flow="icfm", aug="none", group="g", n_samples=500)


@pytest.mark.parametrize("name", DATASETS)
def test_builtin_datasets_are_finite_and_seeded(name):
    a, b, c = generate(name, 300, seed=1), generate(name, 300, seed=1), generate(name, 300, seed=2)
    assert a.shape[1:] == ((1, 8, 8) if name == "digits" else (2,))
    assert np.isfinite(a).all() and np.array_equal(a, b)
    if name != "digits":
        assert len(a) == 300 and not np.array_equal(a, c)
    # What the search's driver checks instead of generating.
    assert shape(name, 300) == (len(a), a.shape[1:])


@pytest.mark.parametrize(
    "changes",
    [
        {"dataset": "moons"},
        {"dataset": "digits", "val_size": 0.1, "test_size": 0.1},
        {"dataset": "moons->8gaussians", "train_size": 0.5},
        {"dataset": "pinwheel", "n_samples": 2000, "train_size": 300},
    ],
)
def test_check_data_counts_the_rows_build_data_trains_on(changes):
    config = TrainingConfig.from_dict({**BASE, **changes})
    assert check_data(config) == len(build_data(config).x_1_train)


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"dataset": "digits", "aug": "rotate"}, "needs 2-D data"),
        (
            {"dataset": "digits->moons"},
            r"points of shape \(1, 8, 8\), target 'moons' has 2 features",
        ),
        ({"dataset": "moons", "n_samples": 12, "val_size": 6, "test_size": 6}, "fewer than"),
        ({"dataset": "digits", "split": "hilbert"}, "split 'hilbert' needs 2-D points"),
    ],
)
def test_check_data_refuses_what_build_data_refuses(changes, match):
    config = TrainingConfig.from_dict({**BASE, **changes})
    for check in (check_data, build_data):
        with pytest.raises(UserInputError, match=match):
            check(config)


def test_check_data_generates_no_builtin_data():
    """The search's driver checks a built-in dataset without importing scikit-learn (~1 s)."""
    import subprocess
    import sys

    script = (
        "import sys; from tune_flow import TrainingConfig; from tune_flow.data import check_data; "
        f"check_data(TrainingConfig.from_dict({{**{BASE!r}, 'dataset': 'moons'}})); "
        "print('sklearn' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_training_subsets_are_nested_and_held_out_sets_fixed():
    small = split_indices(1000, 100, 100, 50, seed=3)
    medium = split_indices(1000, 100, 100, 0.5, seed=3)
    full = split_indices(1000, 100, 100, None, seed=3)
    assert len(small.train) == 50 and len(medium.train) == 400 and len(full.train) == 800
    assert set(small.train) <= set(medium.train) <= set(full.train)
    for split in (small, medium):
        assert np.array_equal(split.val, full.val) and np.array_equal(split.test, full.test)
    assert not set(full.train) & (set(full.val) | set(full.test))


def test_hilbert_split_is_nested_disjoint_and_fixed_like_the_random_one():
    curve = hilbert_order(generate("scurve", 1000, 0))
    small = split_indices(1000, 100, 100, 50, seed=3, curve=curve)
    full = split_indices(1000, 100, 100, None, seed=3, curve=curve)
    assert len(small.train) == 50 and len(full.train) == 800
    assert set(small.train) <= set(full.train)
    assert np.array_equal(small.val, full.val) and np.array_equal(small.test, full.test)
    held = set(full.val) | set(full.test)
    assert len(held) == 200 and not set(full.train) & held
    again = split_indices(1000, 100, 100, None, seed=3, curve=curve)
    assert np.array_equal(again.val, full.val) and np.array_equal(again.train, full.train)


def _largest_cell_error(points: np.ndarray, chosen: np.ndarray, bins: int = 8) -> float:
    """The largest gap, over a grid's cells, between the rows ``chosen`` holds and its share of
    all rows there."""
    edges = [np.linspace(points[:, i].min(), points[:, i].max(), bins + 1) for i in range(2)]
    everything, _, _ = np.histogram2d(points[:, 0], points[:, 1], bins=edges)
    held, _, _ = np.histogram2d(points[chosen, 0], points[chosen, 1], bins=edges)
    return float(np.abs(held - everything * len(chosen) / len(points)).max())


def test_hilbert_validation_split_and_its_prefixes_hold_each_region_s_share():
    """What the split is for: a random split's count in a region wanders by about its square
    root; along the Hilbert curve it stays within a few rows, for the whole split and for the
    prefix the in-trial metrics use."""
    points = generate("scurve", 12500, 0)
    random = split_indices(12500, 0.1, 0.1, None, seed=0)
    hilbert = split_indices(12500, 0.1, 0.1, None, seed=0, curve=hilbert_order(points))
    for chosen_random, chosen_hilbert in [
        (random.val, hilbert.val),
        (random.test, hilbert.test),
        (random.val[:500], hilbert.val[:500]),
    ]:
        assert _largest_cell_error(points, chosen_hilbert) < 4
        assert _largest_cell_error(points, chosen_random) > 2 * _largest_cell_error(
            points, chosen_hilbert
        )


def test_the_floor_of_2d_data_is_training_rows_spread_evenly():
    """A model's points come from a quasi-random draw, so the floor's points are spread evenly
    too: each region holds its share of them within a few rows, where the first rows of the
    training split (an i.i.d. draw) wander by several times as many."""
    config = TrainingConfig.from_dict(
        {**BASE, "dataset": "scurve", "n_samples": 12500, "split": "hilbert"}
    )
    data = build_data(config)
    train = data.stats.denormalize(data.x_1_train).numpy()
    floor = floor_points(config, data, 1250).numpy()
    assert floor.shape == (1250, 2)
    row = {tuple(point): i for i, point in enumerate(train)}
    evenly = np.array([row[tuple(point)] for point in floor])  # KeyError: not a training row
    assert _largest_cell_error(train, evenly) < 4
    assert _largest_cell_error(train, np.arange(1250)) > 2 * _largest_cell_error(train, evenly)
    # As many rows as asked for; all the training rows at most.
    assert len(floor_points(config, data, 50_000)) == len(train)


def test_the_split_setting_chooses_the_rows_and_old_configs_keep_random_ones():
    moons = {**BASE, "dataset": "moons"}
    hilbert = build_data(TrainingConfig.from_dict({**moons, "split": "hilbert"}))
    random = build_data(TrainingConfig.from_dict(moons))
    assert len(hilbert.x_1_val) == len(random.x_1_val)
    assert not torch.equal(hilbert.x_1_val, random.x_1_val)
    # A checkpoint's config written before `split` existed has no such key: random, as then.
    assert TrainingConfig.from_dict(moons).split == "random"


def test_too_few_rows_is_a_clear_error():
    with pytest.raises(UserInputError, match="fewer than the splits need"):
        split_indices(10, 5, 5, None, seed=0)


def test_normalisation_uses_training_split_and_round_trips():
    config = TrainingConfig.from_dict({**BASE, "dataset": "moons"})
    data = build_data(config)
    assert torch.allclose(data.x_1_train.mean(0), torch.zeros(2), atol=1e-5)
    assert torch.allclose(data.x_1_train.std(0), torch.ones(2), atol=1e-4)
    raw = torch.randn(20, 2) * 3 + 1
    stats = NormalizationStats.fit(raw)
    torch.testing.assert_close(stats.denormalize(stats.normalize(raw)), raw)


def test_stats_path_reuses_given_stats(tmp_path):
    stats = NormalizationStats(torch.tensor([10.0, -2.0]), torch.tensor([2.0, 4.0]))
    stats.save(tmp_path / "s.pt")
    data = build_data(
        TrainingConfig.from_dict({**BASE, "dataset": "moons", "stats_path": str(tmp_path / "s.pt")})
    )
    assert torch.equal(data.stats.mean, stats.mean)


def test_source_target_pairs():
    data = build_data(TrainingConfig.from_dict({**BASE, "dataset": "moons->8gaussians"}))
    assert data.x_0_train is not None and data.x_0_train.shape[1] == 2


def _files(tmp_path, x):
    np.save(tmp_path / "d.npy", x)
    np.savez(tmp_path / "d.npz", x1=x, x0=x + 1)
    torch.save(torch.from_numpy(x), tmp_path / "d.pt")
    pd.DataFrame(x, columns=["a", "b"]).to_csv(tmp_path / "d.csv", index=False)
    np.savetxt(tmp_path / "noheader.csv", x, delimiter=",")
    pd.DataFrame(x, columns=["a", "b"]).to_parquet(tmp_path / "d.parquet")
    pd.DataFrame(x).rename(columns=str).to_parquet(
        tmp_path / "numbered.parquet"
    )  # columns "0", "1"


def test_every_file_format_loads(tmp_path):
    x = np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32)
    _files(tmp_path, x)
    for name in (
        "d.npy",
        "d.npz",
        "d.pt",
        "d.csv",
        "noheader.csv",
        "d.parquet",
        "numbered.parquet",
    ):
        np.testing.assert_allclose(load_array(tmp_path / name), x, rtol=1e-6, err_msg=name)
    np.testing.assert_allclose(load_array(tmp_path / "d.npz", role="source"), x + 1)
    data = build_data(
        TrainingConfig.from_dict(
            {**BASE, "dataset": str(tmp_path / "d.npz"), "source": str(tmp_path / "d.npz")}
        )
    )
    assert data.x_0_train is not None


def test_a_file_of_images_loads_in_its_shape(tmp_path):
    images = np.random.default_rng(0).normal(size=(50, 1, 4, 4)).astype(np.float32)
    np.save(tmp_path / "images.npy", images)
    assert load_array(tmp_path / "images.npy").shape == (50, 1, 4, 4)
    data = build_data(TrainingConfig.from_dict({**BASE, "dataset": str(tmp_path / "images.npy")}))
    assert data.shape == (1, 4, 4) and data.dim == 16
    assert data.stats.mean.shape == (1,)  # one channel: per-channel statistics


def test_sequences_of_vectors_train_with_a_vector_network(tmp_path):
    """(N, L, D) points: the vector networks flatten them, samples keep their shape."""
    from tune_flow.evaluation.judge import generate

    np.save(tmp_path / "seq.npy", np.random.default_rng(0).normal(size=(300, 4, 3)))
    config = TrainingConfig.from_dict({**BASE, "dataset": str(tmp_path / "seq.npy"),
                                       "max_epochs": 1, "eval_samples": 0, "device": "cpu"})  # fmt: skip
    trainer = FlowTrainer(config)
    assert trainer.train()["epochs_run"] == 1 and trainer.data.stats.mean.shape == (4,)
    assert generate(trainer, 5).shape == (5, 4, 3)


def test_standard_normalisation_is_per_channel_for_images():
    x = torch.randn(100, 3, 4, 4) * torch.tensor([1.0, 5.0, 0.5]).view(1, 3, 1, 1) + 2.0
    stats = NormalizationStats.fit(x, mode="standard")
    assert stats.mean.shape == stats.std.shape == (3,)
    z = stats.normalize(x)
    per_channel = z.transpose(0, 1).reshape(3, -1)
    torch.testing.assert_close(per_channel.mean(1), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(per_channel.std(1), torch.ones(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(stats.denormalize(z), x, atol=1e-5, rtol=1e-5)
    # Vectors are unchanged: one statistic per feature, as before.
    v = torch.randn(100, 2) * torch.tensor([1.0, 3.0])
    v_stats = NormalizationStats.fit(v, mode="standard")
    torch.testing.assert_close(v_stats.std, v.std(0))


def test_file_errors_are_one_clear_line(tmp_path):
    np.save(tmp_path / "rank1.npy", np.zeros(4))
    bad = np.zeros((30, 2))
    bad[3, 1] = np.nan
    bad[7, 0] = np.inf
    np.save(tmp_path / "nan.npy", bad)
    pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}).to_csv(tmp_path / "text.csv", index=False)
    cases = {
        "missing.npy": "does not exist",
        "rank1.npy": "must be (N, *shape)",
        "nan.npy": "2 NaN/inf value(s) in 2 row(s), first at (row 3, col 1)",
        "text.csv": "non-numeric column(s) b",
    }
    for name, fragment in cases.items():
        with pytest.raises(UserInputError) as info:
            load_array(tmp_path / name)
        assert fragment in str(info.value) and "\n" not in str(info.value), name


def test_augmentation_touches_training_batches_only():
    plain = FlowTrainer(TrainingConfig.from_dict({**BASE, "dataset": "moons", "device": "cpu"}))
    flipped = FlowTrainer(
        TrainingConfig.from_dict({**BASE, "dataset": "moons", "aug": "flip", "device": "cpu"})
    )
    torch.testing.assert_close(plain.val_path.x_t, flipped.val_path.x_t)
    g = torch.Generator().manual_seed(0)
    x = flipped.x_1_train[:64]
    out = flipped.augment(x, 0.0, g)
    assert torch.allclose(out.abs(), x.abs()) and not torch.equal(out, x)


def test_rotate_needs_2d_data():
    with pytest.raises(UserInputError, match="2-D"):
        build_data(TrainingConfig.from_dict({**BASE, "dataset": "digits", "aug": "rotate"}))


def test_flow_dataset_and_dataloader_are_deterministic():
    x_1 = torch.randn(10, 2)
    loader = create_dataloader(FlowDataset(x_1, seed=1), batch_size=4, seed=0)
    first = [b for b in loader]
    second = [b for b in create_dataloader(FlowDataset(x_1, seed=1), batch_size=4, seed=0)]
    assert len(first) == 3 and all(
        torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
        for a, b in zip(first, second, strict=True)
    )


def test_user_paths_resolve_against_the_launch_directory(tmp_path):
    from tune_flow.data.files import absolute_paths

    values = {"dataset": "data/x.npy", "source": "moons", "stats_path": "s.pt", "arch": "mlp"}
    out = absolute_paths(values, tmp_path)
    assert out["dataset"] == str(tmp_path / "data" / "x.npy") and out["stats_path"] == str(
        tmp_path / "s.pt"
    )
    assert out["source"] == "moons" and out["arch"] == "mlp"  # built-in names are not paths
    assert (
        absolute_paths({"dataset": "moons->8gaussians"}, tmp_path)["dataset"] == "moons->8gaussians"
    )


def test_hilbert_curve_visits_every_cell_of_a_grid_one_step_at_a_time():
    grid = np.array([[i, j] for i in range(8) for j in range(8)], dtype=float)
    index = hilbert_index_2d(grid, order=3)
    assert sorted(index) == list(range(64))
    path = grid[np.argsort(index)]
    assert np.abs(np.diff(path, axis=0)).sum(axis=1).max() == 1
