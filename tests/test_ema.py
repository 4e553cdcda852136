import pytest
import torch
from torch import nn

from tune_flow import EMAModel


def _model(value: float) -> nn.Module:
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(value)
    return model


def test_decay_warms_up_as_min_of_decay_and_n_ratio():
    ema = EMAModel(_model(0.0), decay=0.9999)
    decays = []
    for _ in range(5):
        decays.append(ema.current_decay())
        ema.update(_model(0.0))
    assert decays == pytest.approx([1 / 10, 2 / 11, 3 / 12, 4 / 13, 5 / 14])
    capped = EMAModel(_model(0.0), decay=0.5)
    capped.num_updates = 100
    assert capped.current_decay() == 0.5


def test_shadow_after_n_updates_matches_closed_form():
    # With weights w_k at update k: s_{k+1} = d_k s_k + (1 - d_k) w_k, d_k = min(decay, (1+k)/(10+k)).
    model = _model(2.0)
    ema = EMAModel(model, decay=0.9)
    expected = 2.0
    for k in range(30):
        w = float(k)
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(w)
        ema.update(model)
        d = min(0.9, (1 + k) / (10 + k))
        expected = d * expected + (1 - d) * w
    for shadow in ema.shadow[: len(list(model.parameters()))]:
        torch.testing.assert_close(shadow, torch.full_like(shadow, expected), rtol=1e-5, atol=1e-5)


def test_floating_buffers_are_averaged_and_integer_buffers_are_not():
    model = _model(1.0)
    ema = EMAModel(model)
    num_params = len(list(model.parameters()))
    float_buffers = [b for b in model.buffers() if b.is_floating_point()]
    assert len(ema.shadow) == num_params + len(float_buffers)  # running_mean, running_var


def test_average_parameters_uses_shadow_then_restores_raw_weights():
    model = _model(1.0)
    ema = EMAModel(model, decay=0.5)
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(3.0)
    ema.update(model)  # d_0 = 0.1: shadow = 0.1 * 1 + 0.9 * 3 = 2.8
    with ema.average_parameters(model):
        assert torch.allclose(model[0].weight, torch.full_like(model[0].weight, 2.8))
    assert torch.allclose(model[0].weight, torch.full_like(model[0].weight, 3.0))


def test_state_dict_round_trip_continues_identically():
    model = _model(1.0)
    a = EMAModel(model, decay=0.99)
    for _ in range(3):
        a.update(_model(5.0))
    b = EMAModel(_model(0.0), decay=0.5)
    b.load_state_dict(a.state_dict())
    a.update(_model(7.0))
    b.update(_model(7.0))
    assert b.num_updates == a.num_updates == 4
    for x, y in zip(a.shadow, b.shadow, strict=True):
        torch.testing.assert_close(x, y)


def test_invalid_decay_is_rejected():
    with pytest.raises(ValueError, match="decay"):
        EMAModel(_model(0.0), decay=1.0)
