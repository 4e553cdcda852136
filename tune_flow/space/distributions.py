"""Search distributions with W&B sweep semantics, sampled through Optuna's define-by-run trials.

Each distribution keeps W&B's meaning (from W&B's sweep-config schema):

=========================  ==================================================================
``constant``               ``value``
``categorical``            one of ``values`` (``categorical_w_probabilities``: with weights)
``int_uniform``            integer in [min, max], **max inclusive** (unlike ``tune.randint``)
``uniform``                float in [min, max]
``q_uniform``              round(U(min, max) / q) * q, q default 1
``log_uniform``            exp(U(min, max)): min/max are **natural-log exponents**
``log_uniform_values``     log-uniform between the values min and max
``q_log_uniform``          round(exp(U(min, max)) / q) * q
``q_log_uniform_values``   round(logU(min, max) / q) * q
``inv_log_uniform``        1 / exp(U(min, max)) = exp(U(-max, -min))
``inv_log_uniform_values`` 1 / X with X log-uniform between 1/max and 1/min
``normal``                 N(mu, sigma^2), mu default 0, sigma default 1 (unbounded)
``q_normal``               round(N(mu, sigma^2) / q) * q
``log_normal``             exp(N(mu, sigma^2))
``q_log_normal``           round(exp(N(mu, sigma^2)) / q) * q
``beta``                   Beta(a, b) on [0, 1], a, b default 1
``q_beta``                 round(Beta(a, b) / q) * q
=========================  ==================================================================

Optuna has no normal or beta distribution, so those are sampled by inverse CDF from a uniform
quantile that Optuna proposes (kept in the trial as ``_quantile_<name>``): TPE models the quantile,
which is a monotone reparametrisation, and the trial's config holds the transformed value.
Quantised values are rounded after sampling (W&B's definition) unless Optuna's own ``step`` is
exact, i.e. the range is a whole number of steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from tune_flow.errors import UserInputError, one_of

CATEGORICAL = {"constant", "categorical", "categorical_w_probabilities"}
BOUNDED = {
    "int_uniform", "uniform", "q_uniform", "log_uniform", "log_uniform_values", "q_log_uniform",
    "q_log_uniform_values", "inv_log_uniform", "inv_log_uniform_values",
}  # fmt: skip
GAUSSIAN = {"normal", "q_normal", "log_normal", "q_log_normal"}
BETA = {"beta", "q_beta"}
DISTRIBUTIONS = CATEGORICAL | BOUNDED | GAUSSIAN | BETA
# Bounds given as values that must be > 0 because the log of them is taken.
LOG_OF_VALUES = {"log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values"}
QUANTISED = {d for d in DISTRIBUTIONS if d.startswith("q_")}
# Keys each distribution accepts besides `distribution`.
ARGUMENTS: dict[str, set[str]] = {
    "constant": {"value"},
    "categorical": {"values"},
    "categorical_w_probabilities": {"values", "probabilities"},
    **{d: {"min", "max"} | ({"q"} if d in QUANTISED else set()) for d in BOUNDED},
    **{d: {"mu", "sigma"} | ({"q"} if d in QUANTISED else set()) for d in GAUSSIAN},
    **{d: {"a", "b"} | ({"q"} if d in QUANTISED else set()) for d in BETA},
}
QUANTILE_PREFIX = "_quantile_"
_EPS = 1e-9  # keeps inverse-CDF quantiles away from 0 and 1 (infinite for the normal)


@dataclass(frozen=True)
class Distribution:
    """One parameter's distribution; ``args`` holds min/max/q/mu/sigma/a/b/values/probabilities."""

    kind: str
    args: dict[str, Any] = field(default_factory=dict)
    integer: bool = False  # the config field is an int: values are cast after quantisation

    # ---------------------------------------------------------------- sampling
    def suggest(self, trial: Any, name: str) -> Any:
        """Draw a value from an Optuna trial (or Tune's captor of one) under ``name``."""
        a = self.args
        kind = self.kind
        if kind == "constant":
            return a["value"]
        if kind in ("categorical", "categorical_w_probabilities"):
            # Optuna's samplers have no weighted categorical; TPE learns the weights itself.
            return trial.suggest_categorical(name, list(a["values"]))
        if kind == "int_uniform":
            return trial.suggest_int(name, int(a["min"]), int(a["max"]))
        if kind in BOUNDED:
            low, high, log = self._optuna_range()
            step = (
                a.get("q")
                if kind == "q_uniform" and _whole_steps(low, high, a.get("q", 1))
                else None
            )
            raw = trial.suggest_float(name, low, high, log=log, step=step)
            if kind.startswith("inv_"):
                raw = low * high / raw  # 1/X of a log-uniform X on [1/high, 1/low]
            return self._finish(raw)
        quantile = trial.suggest_float(QUANTILE_PREFIX + name, _EPS, 1 - _EPS)
        return self.from_quantile(quantile)

    def from_quantile(self, u: float) -> Any:
        """The value at quantile ``u`` of a normal / log-normal / beta distribution."""
        from scipy import stats as scipy_stats  # only normal/beta parameters need it

        a = self.args
        if self.kind in GAUSSIAN:
            x = scipy_stats.norm.ppf(u, loc=a.get("mu", 0.0), scale=a.get("sigma", 1.0))
            if "log" in self.kind:
                x = math.exp(x)
        else:
            x = scipy_stats.beta.ppf(u, a.get("a", 1.0), a.get("b", 1.0))
        return self._finish(float(x))

    def _optuna_range(self) -> tuple[float, float, bool]:
        """(low, high, log) of the uniform or log-uniform Optuna samples for bounded kinds."""
        lo, hi = float(self.args["min"]), float(self.args["max"])
        kind = self.kind
        if kind in ("log_uniform", "q_log_uniform"):
            return math.exp(lo), math.exp(hi), True
        if kind == "inv_log_uniform":
            return math.exp(-hi), math.exp(-lo), True
        if kind in LOG_OF_VALUES:
            return lo, hi, True
        return lo, hi, False

    def _finish(self, x: float) -> Any:
        if self.kind in QUANTISED:
            q = float(self.args.get("q", 1))
            x = round(x / q) * q
            # Rounding can make a float like 0.30000000000000004; keep q's precision.
            x = round(x, max(0, -math.floor(math.log10(q))) + 6) if q < 1 else x
        if self.integer:
            return int(round(x))
        return x

    # ---------------------------------------------------------------- grid
    def grid_values(self) -> list[Any] | None:
        """Every value of a finite distribution, or None for a continuous one."""
        if self.kind == "constant":
            return [self.args["value"]]
        if self.kind in ("categorical", "categorical_w_probabilities"):
            return list(self.args["values"])
        if self.kind == "int_uniform":
            return list(range(int(self.args["min"]), int(self.args["max"]) + 1))
        return None

    # ---------------------------------------------------------------- text
    def describe(self) -> str:
        a = self.args
        if self.kind == "constant":
            return f"constant {a['value']!r}"
        if self.kind == "categorical":
            return f"categorical {list(a['values'])!r}"
        if self.kind == "categorical_w_probabilities":
            return f"categorical {list(a['values'])!r} p={list(a['probabilities'])!r}"
        if self.kind == "int_uniform":
            return f"int_uniform [{a['min']}, {a['max']}] (max inclusive)"
        if self.kind in BOUNDED:
            low, high, log = self._optuna_range()
            q = f", q={a.get('q', 1)}" if self.kind in QUANTISED else ""
            scale = "log scale" if log else "linear"
            return f"{self.kind} [{a['min']}, {a['max']}]{q} -> values in [{low:.6g}, {high:.6g}], {scale}"
        if self.kind in GAUSSIAN:
            q = f", q={a.get('q', 1)}" if self.kind in QUANTISED else ""
            return f"{self.kind} mu={a.get('mu', 0.0)} sigma={a.get('sigma', 1.0)}{q}"
        q = f", q={a.get('q', 1)}" if self.kind in QUANTISED else ""
        return f"{self.kind} a={a.get('a', 1.0)} b={a.get('b', 1.0)}{q}"


def _whole_steps(low: float, high: float, q: float) -> bool:
    steps = (high - low) / q
    return abs(steps - round(steps)) < 1e-9 and abs(low / q - round(low / q)) < 1e-9


def infer_kind(spec: dict[str, Any]) -> str | None:
    """W&B's inference when ``distribution`` is omitted: values -> categorical, value -> constant,
    integer min/max -> int_uniform, float min/max -> uniform."""
    if "values" in spec:
        return "categorical_w_probabilities" if "probabilities" in spec else "categorical"
    if "value" in spec:
        return "constant"
    if "min" in spec and "max" in spec:
        lo, hi = spec["min"], spec["max"]
        if _is_int(lo) and _is_int(hi):
            return "int_uniform"
        return "uniform"
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_kind(name: str, kind: Any) -> str:
    if kind not in DISTRIBUTIONS:
        raise UserInputError(
            f"parameter `{name}`: unknown distribution {kind!r}; must be {one_of(DISTRIBUTIONS)}"
        )
    return kind
