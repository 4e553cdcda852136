import itertools

import pytest
import torch

from tune_flow import ICFM, OTCFM


def _batch(n=16, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(n, d, generator=g),
        torch.randn(n, d, generator=g) + 5,
        torch.rand(n, generator=g),
    )


def test_icfm_endpoints_and_target():
    x_0, x_1, _ = _batch()
    flow = ICFM()
    at_0 = flow.sample_path(x_0, x_1, torch.zeros(len(x_0)))
    at_1 = flow.sample_path(x_0, x_1, torch.ones(len(x_0)))
    torch.testing.assert_close(at_0.x_t, x_0)
    torch.testing.assert_close(at_1.x_t, x_1)
    torch.testing.assert_close(at_0.dx_t, x_1 - x_0)


def test_icfm_interpolates_linearly():
    x_0, x_1, t = _batch()
    path = ICFM().sample_path(x_0, x_1, t)
    torch.testing.assert_close(path.x_t, (1 - t[:, None]) * x_0 + t[:, None] * x_1)


def test_sigma_adds_scaled_noise():
    x_0, x_1, t = _batch()
    eps = torch.randn_like(x_0)
    plain = ICFM().sample_path(x_0, x_1, t).x_t
    noisy = ICFM(sigma=0.3).sample_path(x_0, x_1, t, eps).x_t
    torch.testing.assert_close(noisy - plain, 0.3 * eps)
    with pytest.raises(ValueError, match="eps"):
        ICFM(sigma=0.3).sample_path(x_0, x_1, t)


def test_otcfm_pairing_is_the_optimal_permutation():
    x_0, x_1, t = _batch(n=6, d=2, seed=1)
    path = OTCFM().sample_path(x_0, x_1, t)
    # x_1 is re-ordered, never changed
    assert sorted(map(tuple, path.x_1.tolist())) == sorted(map(tuple, x_1.tolist()))
    best = min((x_0 - x_1[list(p)]).square().sum().item() for p in itertools.permutations(range(6)))
    assert (path.x_0 - path.x_1).square().sum().item() == pytest.approx(best, rel=1e-6)
    torch.testing.assert_close(path.dx_t, path.x_1 - path.x_0)
