import pytest
import torch

from tune_flow import FlowTrainer, TrainingConfig
from tune_flow.data import DATASETS
from tune_flow.models import ARCHITECTURES
from tune_flow.training.flows import FLOWS


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
@pytest.mark.parametrize("dim", [2, 64])
def test_every_arch_maps_points_and_times_to_velocities(arch, dim):
    config = TrainingConfig.from_dict(
        dict(arch=arch, flow="icfm", dataset="moons", aug="none", group="g", width=32, depth=2)
    )
    model = config.build_network(dim)
    v = model(torch.randn(5, dim), torch.rand(5))
    assert v.shape == (5, dim) and torch.isfinite(v).all()


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
@pytest.mark.parametrize("flow", sorted(FLOWS))
def test_every_dataset_arch_flow_combination_trains(dataset, arch, flow):
    config = TrainingConfig.from_dict(dict(
        arch=arch, flow=flow, dataset=dataset, aug="none", group="smoke", n_samples=300,
        batch_size=64, max_epochs=1, width=16, depth=1, heads=2, device="cpu", num_threads=1,
    ))  # fmt: skip
    summary = FlowTrainer(config).train()
    assert summary["epochs_run"] == 1 and summary["stop_reason"] == "max_epochs"
    assert summary["best_val_loss"] < float("inf")
