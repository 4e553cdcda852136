"""Every W&B distribution, sampled through real Optuna trials, against W&B's documented meaning."""

import math

import numpy as np
import optuna
import pytest

from tune_flow.space.distributions import QUANTILE_PREFIX, Distribution

optuna.logging.set_verbosity(optuna.logging.WARNING)


def draw(dist: Distribution, n: int = 400, sampler=None) -> np.ndarray:
    study = optuna.create_study(sampler=sampler or optuna.samplers.RandomSampler(seed=0))
    values = []
    for _ in range(n):
        trial = study.ask()
        values.append(dist.suggest(trial, "x"))
        study.tell(trial, 0.0)
    return np.array(values, dtype=float)


def test_int_uniform_includes_max():
    x = draw(Distribution("int_uniform", {"min": 2, "max": 5}, integer=True))
    assert set(x.tolist()) == {2, 3, 4, 5}


def test_uniform_bounds():
    x = draw(Distribution("uniform", {"min": -1.0, "max": 2.0}))
    assert x.min() >= -1 and x.max() <= 2 and abs(x.mean() - 0.5) < 0.15


def test_q_uniform_rounds_to_multiples_of_q():
    x = draw(Distribution("q_uniform", {"min": 0.0, "max": 1.0, "q": 0.25}))
    assert set(np.round(x, 9).tolist()) <= {0.0, 0.25, 0.5, 0.75, 1.0}
    odd = draw(Distribution("q_uniform", {"min": 0.1, "max": 1.0, "q": 0.3}))  # not whole steps
    assert np.allclose(np.round(odd / 0.3) * 0.3, odd)


def test_log_uniform_values_is_log_scale_between_values():
    x = draw(Distribution("log_uniform_values", {"min": 1e-4, "max": 1e-1}), n=800)
    assert x.min() >= 1e-4 and x.max() <= 1e-1
    assert abs(np.median(np.log10(x)) - (-2.5)) < 0.25  # log-uniform: median at the geometric mean


def test_log_uniform_bounds_are_natural_log_exponents():
    x = draw(Distribution("log_uniform", {"min": 0.0, "max": 2.0}))
    assert x.min() >= 1.0 and x.max() <= math.exp(2.0)
    assert abs(np.median(np.log(x)) - 1.0) < 0.15


def test_q_log_uniform_values_and_q_log_uniform():
    x = draw(
        Distribution("q_log_uniform_values", {"min": 1.0, "max": 1000.0, "q": 1}, integer=True)
    )
    assert x.min() >= 1 and x.max() <= 1000 and np.all(x == np.round(x))
    y = draw(Distribution("q_log_uniform", {"min": 0.0, "max": math.log(100), "q": 2}))
    assert np.all(y % 2 == 0) and y.max() <= 100


def test_inverse_log_uniform_variants():
    x = draw(Distribution("inv_log_uniform_values", {"min": 0.01, "max": 1.0}), n=800)
    assert x.min() >= 0.01 and x.max() <= 1.0 and abs(np.median(np.log10(x)) + 1) < 0.2
    y = draw(Distribution("inv_log_uniform", {"min": 0.0, "max": 2.0}))  # 1 / exp(U(0, 2))
    assert y.min() >= math.exp(-2) - 1e-12 and y.max() <= 1.0


@pytest.mark.parametrize(
    ("kind", "args", "mean", "std"),
    [("normal", {"mu": 3.0, "sigma": 2.0}, 3.0, 2.0), ("normal", {}, 0.0, 1.0)],
)
def test_normal_by_inverse_cdf(kind, args, mean, std):
    x = draw(Distribution(kind, args), n=1000)
    assert abs(x.mean() - mean) < 0.2 * std and abs(x.std() - std) < 0.15 * std


def test_log_normal_q_normal_q_log_normal():
    x = draw(Distribution("log_normal", {"mu": 0.0, "sigma": 0.5}), n=1000)
    assert x.min() > 0 and abs(np.log(x).mean()) < 0.1
    q = draw(Distribution("q_normal", {"mu": 10, "sigma": 3, "q": 2}))
    assert np.all(q % 2 == 0)
    ql = draw(Distribution("q_log_normal", {"mu": 2, "sigma": 0.3, "q": 1}))
    assert np.all(ql == np.round(ql)) and ql.min() >= 0


def test_beta_and_q_beta():
    x = draw(Distribution("beta", {"a": 2.0, "b": 5.0}), n=1000)
    assert x.min() >= 0 and x.max() <= 1 and abs(x.mean() - 2 / 7) < 0.03
    q = draw(Distribution("q_beta", {"a": 1.0, "b": 1.0, "q": 0.1}))
    assert np.allclose(np.round(q * 10), q * 10)


def test_categorical_constant_and_weighted():
    assert set(draw(Distribution("categorical", {"values": [1, 2, 3]})).tolist()) == {1, 2, 3}
    assert set(draw(Distribution("constant", {"value": 7}), n=5).tolist()) == {7}
    weighted = Distribution(
        "categorical_w_probabilities", {"values": [1, 2], "probabilities": [0.9, 0.1]}
    )
    assert set(draw(weighted, n=50).tolist()) <= {1, 2}


def test_quantile_parameters_are_kept_apart_from_config_keys():
    study = optuna.create_study()
    trial = study.ask()
    Distribution("normal", {"mu": 0, "sigma": 1}).suggest(trial, "sigma")
    assert list(trial.params) == [QUANTILE_PREFIX + "sigma"]


def test_tpe_sampler_works_with_every_bounded_kind():
    sampler = optuna.samplers.TPESampler(seed=1, n_startup_trials=3)
    for dist in [
        Distribution("log_uniform_values", {"min": 1e-3, "max": 1.0}),
        Distribution("q_uniform", {"min": 0.0, "max": 1.0, "q": 0.1}),
        Distribution("beta", {"a": 2, "b": 2}),
    ]:
        assert len(draw(dist, n=10, sampler=sampler)) == 10
