import pytest

from tune_flow import TrainingConfig, UserInputError

BASE = dict(arch="mlp", flow="icfm", dataset="moons", aug="none", group="g")


def test_locked_defaults_and_repr():
    config = TrainingConfig.from_dict(BASE)
    assert (config.ema_decay, config.grad_clip, config.patience, config.warmup_steps) == (
        0.9999,
        1.0,
        20,
        1000,
    )
    assert "ema_decay" not in repr(config) and "lr=" in repr(config)
    assert TrainingConfig.from_dict({**BASE, "patience": 5}).patience == 5


def test_run_name_is_filesystem_safe():
    config = TrainingConfig.from_dict({**BASE, "dataset": "moons->8gaussians", "group": "a b/c"})
    assert config.run_name == "mlp-icfm-moons_to_8gaussians-none-a_b_c"


def test_round_trip_through_dict():
    config = TrainingConfig.from_dict({**BASE, "lr": 3e-4, "train_size": 500})
    assert TrainingConfig.from_dict(config.to_dict()) == config


def test_numeric_strings_from_yaml_are_numbers():
    config = TrainingConfig.from_dict({**BASE, "lr": "1e-5", "batch_size": "64"})
    assert config.lr == 1e-5 and config.batch_size == 64


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        ({"lrr": 1}, ["Unknown config key `lrr`", "`lr`", "Valid keys: arch"]),
        ({"lr": 0}, ["`lr`", "lr > 0"]),
        ({"lr": "fast"}, ["`lr`", "must be a number"]),
        ({"ema_decay": 1.0}, ["`ema_decay`", "0 < ema_decay < 1"]),
        ({"batch_size": 0}, ["`batch_size`", "batch_size >= 1"]),
        ({"batch_size": 1.5}, ["`batch_size`", "integer"]),
        ({"arch": "resnet"}, ["`arch`", "mlp, resmlp, transformer"]),
        ({"flow": "ot"}, ["`flow`", "icfm, otcfm"]),
        ({"dataset": "moon"}, ["`dataset`", "moons", "Did you mean `moons`"]),
        ({"aug": "mixup"}, ["`aug`", "jitter"]),
        ({"device": "gpu"}, ["`device`", "cuda"]),
        ({"dropout": 1.0}, ["`dropout`"]),
    ],
)
def test_invalid_values_name_the_field_and_rule(change, fragments):
    with pytest.raises(UserInputError) as info:
        TrainingConfig.from_dict({**BASE, **change})
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_missing_required_key_is_named():
    with pytest.raises(UserInputError, match="`group`"):
        TrainingConfig.from_dict({k: v for k, v in BASE.items() if k != "group"})


def test_validate_stats_path(tmp_path):
    import torch

    good = tmp_path / "stats.pt"
    torch.save({"mean": torch.zeros(2), "std": torch.ones(2)}, good)
    TrainingConfig.from_dict({**BASE, "stats_path": str(good)}).validate_stats_path(dim=2)
    with pytest.raises(UserInputError, match="3"):
        TrainingConfig.from_dict({**BASE, "stats_path": str(good)}).validate_stats_path(dim=3)
    bad = tmp_path / "bad.pt"
    torch.save({"mean": torch.zeros(2), "std": torch.zeros(2)}, bad)
    with pytest.raises(UserInputError, match="std"):
        TrainingConfig.from_dict({**BASE, "stats_path": str(bad)}).validate_stats_path()
    with pytest.raises(UserInputError, match="does not exist"):
        TrainingConfig.from_dict(
            {**BASE, "stats_path": str(tmp_path / "nope.pt")}
        ).validate_stats_path()


def test_public_names_import_from_the_package_root():
    import tune_flow

    for name in (
        "TrainingConfig",
        "EMAModel",
        "EarlyStopping",
        "get_cosine_schedule_with_warmup",
        "FlowTrainer",
    ):
        assert hasattr(tune_flow, name)
