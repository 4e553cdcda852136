import pytest
import torch

from tune_flow import FlowTrainer, TrainingConfig, UserInputError
from tune_flow.data import DATASETS
from tune_flow.models import ARCHITECTURES
from tune_flow.training.flows import FLOWS

IMAGE_ONLY = {"unet"}  # the others are vector networks, which flatten any point shape


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
@pytest.mark.parametrize("shape", [(2,), (64,), (1, 8, 8), (3, 4, 4)])
def test_every_arch_maps_points_and_times_to_velocities(arch, shape):
    config = TrainingConfig.from_dict(
        dict(arch=arch, flow="icfm", dataset="moons", aug="none", group="g", width=32, depth=2)
    )
    if arch in IMAGE_ONLY and len(shape) != 3:
        with pytest.raises(UserInputError, match="unet needs image points"):
            config.build_network(shape)
        return
    model = config.build_network(shape)
    v = model(torch.randn(5, *shape), torch.rand(5))
    assert v.shape == (5, *shape) and torch.isfinite(v).all()


# Image networks train on the image dataset only (on vectors they are refused: the test above).
COMBINATIONS = [
    (dataset, arch, flow)
    for dataset in DATASETS
    for arch in sorted(ARCHITECTURES)
    for flow in sorted(FLOWS)
    if arch not in IMAGE_ONLY or dataset == "digits"
]


@pytest.mark.parametrize(("dataset", "arch", "flow"), COMBINATIONS)
def test_every_dataset_arch_flow_combination_trains(dataset, arch, flow):
    config = TrainingConfig.from_dict(dict(
        arch=arch, flow=flow, dataset=dataset, aug="none", group="smoke", n_samples=300,
        batch_size=64, max_epochs=1, width=16, depth=1, heads=2, device="cpu", num_threads=1,
    ))  # fmt: skip
    summary = FlowTrainer(config).train()
    assert summary["epochs_run"] == 1 and summary["stop_reason"] == "max_epochs"
    assert summary["best_val_loss"] < float("inf")
