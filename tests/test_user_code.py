"""A user's network, flow and dataset by import path, without Ray: resolution, contracts, the
probe, training and sampling through the same code path as the built-ins."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tune_flow import FlowTrainer, TrainingConfig
from tune_flow.errors import UserInputError
from tune_flow.import_path import absolute_import_path, is_import_path, resolve
from tune_flow.models import ARCHITECTURES, mlp, network_builder
from tune_flow.space import load_space
from tune_flow.training.config import fold_dotted_keys
from tune_flow.training.probe import probe_config

PROJECT = Path(__file__).parent / "user_project"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """The example project copied to a temporary folder and put on the import path (as a space's
    ``code:`` does), removed from it and from sys.modules afterwards."""
    folder = tmp_path / "project"
    shutil.copytree(PROJECT, folder)
    monkeypatch.syspath_prepend(str(folder))
    yield folder
    for name in [m for m in sys.modules if m == "my_flows" or m.startswith("my_flows.")]:
        del sys.modules[name]


def _config(**overrides):
    values = dict(
        arch="my_flows.nets:GatedMLP", flow="my_flows.paths:CosinePath",
        dataset="my_flows.data:rings", aug="none", group="mine", n_samples=1000,
        batch_size=100, max_epochs=2, warmup_steps=5, eval_samples=100, num_threads=1,
        device="cpu", arch_args={"hidden": 16, "layers": 1}, dataset_args={"radii": [1.0, 2.0]},
    )  # fmt: skip
    return TrainingConfig.from_dict({**values, **overrides})


def test_import_paths_and_built_in_names_are_told_apart():
    assert is_import_path("my_flows.nets:GatedMLP") and is_import_path("sub/nets.py:Net")
    assert not any(map(is_import_path, ["mlp", "data/moons.npy", "moons->8gaussians", 3]))
    assert absolute_import_path("sub/nets.py:Net", Path("/a/b")) == "/a/b/sub/nets.py:Net"
    assert absolute_import_path("/x/nets.py:Net", Path("/a")) == "/x/nets.py:Net"
    # One code path: the built-ins are builders in the registry the import paths extend.
    assert ARCHITECTURES["mlp"] is mlp and network_builder("mlp") is mlp
    assert resolve("torch.nn:Linear", "arch", ARCHITECTURES) is torch.nn.Linear


def test_a_user_network_flow_and_dataset_train_and_sample(project):
    config = _config()
    assert config.run_name == "GatedMLP-CosinePath-rings-none-mine"
    assert probe_config(config)[0] == 800  # training rows of the user's dataset
    trainer = FlowTrainer(config)
    assert type(trainer.model).__name__ == "GatedMLP" and trainer.model.gate.out_features == 2
    assert type(trainer.flow).__name__ == "CosinePath"
    summary = trainer.train()
    assert summary["epochs_run"] == 2 and np.isfinite(summary["best_val_loss"])
    metrics = summary["sample_metrics"]  # judged against the floor of a fresh draw of rings()
    assert np.isfinite(metrics["w2"]) and 0 < metrics["w2_floor"] < metrics["w2"]
    # The same config trains to the same numbers (retraining from best_config.yaml is exact).
    assert FlowTrainer(_config()).train()["best_val_loss"] == summary["best_val_loss"]


def test_the_user_flow_is_what_the_trainer_regresses_on(project):
    """CosinePath's target is the time derivative of its x_t (finite differences)."""
    path = _config().build_flow()
    gen = torch.Generator().manual_seed(0)
    x_0, x_1 = torch.randn(8, 2, generator=gen), torch.randn(8, 2, generator=gen)
    t, h = torch.rand(8, generator=gen, dtype=torch.float64), 1e-6
    x_0, x_1 = x_0.double(), x_1.double()
    sample = path.sample_path(x_0, x_1, t)
    numeric = (path.sample_path(x_0, x_1, t + h).x_t - path.sample_path(x_0, x_1, t - h).x_t) / (
        2 * h
    )
    torch.testing.assert_close(sample.dx_t, numeric, rtol=1e-6, atol=1e-6)


def test_dotted_constructor_arguments_fold_into_their_mapping():
    assert fold_dotted_keys({"arch_args.hidden": 8, "arch_args": {"layers": 2}, "lr": 1}) == {
        "arch_args": {"layers": 2, "hidden": 8},
        "lr": 1,
    }
    with pytest.raises(UserInputError, match="`width`"):
        TrainingConfig.from_dict(
            dict(arch="mlp", flow="icfm", dataset="moons", aug="none", group="g",
                 arch_args={"widht": 3})
        )  # fmt: skip


def test_the_shared_model_fields_reach_every_builder_that_names_them(project):
    """`width` searched for a built-in and a user network alike; arch_args win."""
    config = _config(arch="mlp", width=24, depth=1, arch_args={})
    assert config.build_network(2).net[0].out_features == 24
    config = _config(arch="mlp", width=24, depth=1, arch_args={"width": 40})
    assert config.build_network(2).net[0].out_features == 40


def test_a_dataset_callable_may_return_a_source_target_pair(tmp_path):
    (tmp_path / "pairs.py").write_text(
        "import numpy as np\n"
        "def shifted(n_samples, seed):\n"
        "    rng = np.random.default_rng(seed)\n"
        "    x_0 = rng.normal(size=(n_samples, 2))\n"
        "    return x_0, x_0 + 5.0\n"
    )
    config = TrainingConfig.from_dict(
        dict(arch="mlp", flow="icfm", dataset=f"{tmp_path / 'pairs.py'}:shifted", aug="none",
             group="g", n_samples=500, max_epochs=1, eval_samples=0, device="cpu")
    )  # fmt: skip
    trainer = FlowTrainer(config)
    assert trainer.data.x_0_train is not None and len(trainer.data.x_0_train) == 400


def test_a_file_path_in_a_space_is_relative_to_the_space_file(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "nets.py").write_text(
        (PROJECT / "my_flows" / "nets.py").read_text().replace("import math", "import math\n")
    )
    (tmp_path / "sub" / "space.yaml").write_text(
        "base: {arch: 'nets.py:GatedMLP', flow: icfm, dataset: moons, aug: none, group: g}\n"
        "parameters:\n  arch_args.hidden: {values: [8, 16]}\n"
    )
    space = load_space(tmp_path / "sub" / "space.yaml")
    assert space.base["arch"] == f"{tmp_path / 'sub' / 'nets.py'}:GatedMLP"
    assert [p.name for p in space.parameters] == ["arch_args.hidden"]


def test_a_vector_network_flattens_any_point_shape():
    config = TrainingConfig.from_dict(
        dict(arch="resmlp", flow="icfm", dataset="moons", aug="none", group="g", width=16)
    )
    model = config.build_network((1, 4, 4))
    v = model(torch.randn(3, 1, 4, 4), torch.rand(3))
    assert v.shape == (3, 1, 4, 4)


def test_debug_runs_the_user_network_in_this_process(project, monkeypatch, capsys):
    """--debug: the user's forward is called in the test's own process (breakpoint() works)."""
    import os

    from my_flows import nets

    from tune_flow.search import cli

    calls = []
    forward = nets.GatedMLP.forward
    monkeypatch.setattr(
        nets.GatedMLP,
        "forward",
        lambda self, x_t, t: calls.append(os.getpid()) or forward(self, x_t, t),
    )
    argv = ["--space", str(project / "space.yaml"), "--debug", "--max-epochs", "1",
            "--set", "n_samples=500", "--set", "eval_samples=50"]  # fmt: skip
    assert cli.main(argv) == 0
    assert calls and set(calls) == {os.getpid()}
    assert "debug trial done" in capsys.readouterr().out


def test_a_user_augmentation_by_file_path_trains(tmp_path):
    (tmp_path / "augs.py").write_text(
        "import torch\n"
        "def mirror_x(x, std, generator):\n"
        "    signs = torch.randint(0, 2, (len(x), 1), generator=generator, device=x.device)\n"
        "    return torch.cat([x[:, :1] * (2 * signs - 1), x[:, 1:]], dim=1)\n"
    )
    config = TrainingConfig.from_dict(
        dict(arch="mlp", flow="icfm", dataset="moons", aug=f"{tmp_path / 'augs.py'}:mirror_x",
             group="g", n_samples=500, max_epochs=1, eval_samples=0, device="cpu")
    )  # fmt: skip
    assert config.run_name == "mlp-icfm-moons-mirror_x-g"
    assert probe_config(config)[0] == 400
    assert FlowTrainer(config).train()["epochs_run"] == 1


def test_a_conditional_argument_of_one_searched_file_path_arch(tmp_path, monkeypatch):
    """arch searched (inside a W&B group) between a built-in and a file whose builder needs an
    argument no other arch takes: paths in values and `when` are the space file's, the argument is
    checked and probed where it applies."""
    from tune_flow.space.probe import probe_space

    (tmp_path / "nets2.py").write_text(
        "import torch\nfrom torch import nn\n"
        "class Net2(nn.Module):\n"
        "    def __init__(self, shape, channels):\n"
        "        super().__init__()\n"
        "        self.l = nn.Linear(shape[0] + 1, shape[0])\n"
        "    def forward(self, x, t):\n"
        "        return self.l(torch.cat([x, t[:, None]], 1))\n"
    )
    (tmp_path / "space.yaml").write_text(
        "base: {flow: icfm, dataset: moons, aug: none, group: g, n_samples: 500}\n"
        "parameters:\n"
        "  model: {parameters: {arch: {values: [mlp, nets2.py:Net2]}}}\n"
        "  arch_args.channels: {values: [8, 16], when: {arch: nets2.py:Net2}}\n"
    )
    monkeypatch.chdir(Path("/"))  # not the space file's folder
    space = load_space(tmp_path / "space.yaml")
    assert probe_space(space)[0] == 400
    net2 = f"{tmp_path / 'nets2.py'}:Net2"
    assert space.parameters[1].when == {"arch": [net2]}
    assert absolute_import_path("a.npy->sub/d.py:make", Path("/b")) == "a.npy->/b/sub/d.py:make"


def test_non_finite_digit_samples_score_inf():
    from tune_flow.evaluation.digits_frechet import frechet_digits

    images = torch.zeros(10, 1, 8, 8)
    images[3, 0, 2, 2] = float("nan")
    assert frechet_digits(images, torch.zeros(10, 1, 8, 8)) == float("inf")


def test_api_set_values_keep_their_type():
    from tune_flow.search.api import _flags
    from tune_flow.search.cli import build_parser
    from tune_flow.yaml_io import parse_overrides

    argv = _flags(build_parser(), {"set": {"group": "no", "tag": "007", "lr": 1e-3}}, set())
    values = parse_overrides(argv[1::2])
    assert values == {"group": "no", "tag": "007", "lr": 1e-3}
