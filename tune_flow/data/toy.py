"""Built-in datasets, generated locally (no downloads), as (N, *shape) float32 arrays.

scikit-learn's generators are used where it has one. Constants (in the data's own units, before
normalisation):

- ``moons``: ``make_moons``, noise 0.05 (two interleaved half circles of radius 1).
- ``circles``: ``make_circles``, inner/outer radius ratio 0.5, noise 0.05.
- ``scurve``: ``make_s_curve`` noise 0.05, coordinates (x, z): an S of height 4.
- ``swissroll``: ``make_swiss_roll`` noise 0.5, coordinates (x, z): spiral of radius ~5-14.
- ``8gaussians``: 8 isotropic Gaussians, std 0.5, centres on a circle of radius 4 at k*45 deg.
- ``checkerboard``: uniform on the 8 black squares of a 4 x 4 board of side-2 squares on
  [-4, 4]^2 (FFJORD's toy).
- ``pinwheel``: 5 arms, radial std 0.3, tangential std 0.1, rate 0.25 (FFJORD's toy).
- ``digits``: scikit-learn's bundled UCI 8x8 handwritten digits as 1797 images (N, 1, 8, 8),
  pixel values 0-16 (a real dataset; ``n_samples`` does not apply).

The two checkerboard/pinwheel/8gaussians generators are written by hand because scikit-learn has
no equivalent; they follow the FFJORD / torchcfm definitions.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _sklearn_datasets():  # type: ignore[no-untyped-def]
    # Imported on first use: scikit-learn costs ~1.7 s to import, which every Ray trial and the
    # search driver would otherwise pay before their first line of work.
    from sklearn import datasets

    return datasets


def _moons(n: int, rng: np.random.Generator) -> np.ndarray:
    return _sklearn_datasets().make_moons(n, noise=0.05, random_state=_seed(rng))[0]


def _circles(n: int, rng: np.random.Generator) -> np.ndarray:
    return _sklearn_datasets().make_circles(n, factor=0.5, noise=0.05, random_state=_seed(rng))[0]


def _scurve(n: int, rng: np.random.Generator) -> np.ndarray:
    return _sklearn_datasets().make_s_curve(n, noise=0.05, random_state=_seed(rng))[0][:, [0, 2]]


def _swissroll(n: int, rng: np.random.Generator) -> np.ndarray:
    return _sklearn_datasets().make_swiss_roll(n, noise=0.5, random_state=_seed(rng))[0][:, [0, 2]]


def _eight_gaussians(n: int, rng: np.random.Generator) -> np.ndarray:
    angles = np.pi / 4 * rng.integers(0, 8, size=n)
    centres = 4.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return centres + 0.5 * rng.standard_normal((n, 2))


def _checkerboard(n: int, rng: np.random.Generator) -> np.ndarray:
    x = rng.uniform(-2, 2, size=n)
    y = rng.uniform(0, 1, size=n) - 2 * rng.integers(0, 2, size=n)
    y = y + np.floor(x) % 2
    return 2.0 * np.stack([x, y], axis=1)


def _pinwheel(n: int, rng: np.random.Generator) -> np.ndarray:
    num_arms, radial_std, tangential_std, rate = 5, 0.3, 0.1, 0.25
    arm = rng.integers(0, num_arms, size=n)
    features = rng.standard_normal((n, 2)) * np.array([radial_std, tangential_std])
    features[:, 0] += 1.0
    angle = 2 * np.pi * arm / num_arms + rate * np.exp(features[:, 0])
    cos, sin = np.cos(angle), np.sin(angle)
    rotations = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)  # (n, 2, 2)
    return 2.0 * np.einsum("ni,nji->nj", features, rotations)


def _digits(n: int, rng: np.random.Generator) -> np.ndarray:
    return _sklearn_datasets().load_digits().images[:, None]  # (1797, 1, 8, 8)


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**31 - 1))


TOY_DATASETS: dict[str, Callable[[int, np.random.Generator], np.ndarray]] = {
    "moons": _moons,
    "circles": _circles,
    "scurve": _scurve,
    "swissroll": _swissroll,
    "8gaussians": _eight_gaussians,
    "checkerboard": _checkerboard,
    "pinwheel": _pinwheel,
    "digits": _digits,
}


# One point's shape for each built-in dataset, and rows where ``n_samples`` does not apply: the
# search's driver checks a space against these instead of generating the data (scikit-learn's
# import alone is ~1 s on its critical path). tests/test_data.py checks them against generate().
_POINT_SHAPES: dict[str, tuple[int, ...]] = {name: (2,) for name in TOY_DATASETS} | {
    "digits": (1, 8, 8)
}
FIXED_ROWS = {"digits": 1797}


def shape(name: str, n_samples: int) -> tuple[int, tuple[int, ...]]:
    """(rows, one point's shape) of what ``generate(name, n_samples, seed)`` returns."""
    return FIXED_ROWS.get(name, n_samples), _POINT_SHAPES[name]


def generate(name: str, n_samples: int, seed: int) -> np.ndarray:
    """``n_samples`` points of the built-in dataset ``name`` as (N, *shape) float32."""
    rng = np.random.default_rng(seed)
    return np.asarray(TOY_DATASETS[name](n_samples, rng), dtype=np.float32)


def _builder(name: str) -> Callable[[int, int], np.ndarray]:
    def draw(n_samples: int, seed: int) -> np.ndarray:
        return generate(name, n_samples, seed)

    draw.__name__ = draw.__qualname__ = name
    draw.__doc__ = f"``n_samples`` points of the built-in {name!r} drawn from ``seed``."
    return draw


# The built-ins as dataset callables ``(n_samples, seed) -> (N, *shape)``: the contract a user's
# ``package.module:Name`` follows (tune_flow.data.dataset_callable), so both load one way.
DATASET_BUILDERS: dict[str, Callable[[int, int], np.ndarray]] = {
    name: _builder(name) for name in TOY_DATASETS
}
