"""Datasets as callables: a built-in name or a user's ``my_package.data:make_rings`` /
``data.py:make_rings``, loaded and checked one way (files are :mod:`tune_flow.data.files`').

The contract: a callable returning the target points as an array or tensor ``(N, *shape)``, or
a pair ``(x_0, x_1)`` of source and target points of the same point shape. It receives
``n_samples`` and ``seed`` when its signature names them (so a synthetic generator draws what the
config asks for, and a fresh draw gives the metric floor), and ``dataset_args``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from tune_flow.errors import UserInputError
from tune_flow.import_path import accepted_keywords, check_callable, check_keywords, resolve

MIN_ROWS = 3


def dataset_callable(name: str, dataset_args: Mapping[str, Any] | None = None) -> Callable:
    """The callable ``name`` names (a built-in or an import path), with ``dataset_args`` checked
    against its signature."""
    from tune_flow.data.toy import DATASET_BUILDERS

    target = check_callable(resolve(name, "dataset", DATASET_BUILDERS), "dataset", name)
    check_keywords(target, dataset_args or {}, "dataset_args", name, reserved=("n_samples", "seed"))
    return target


def draws_fresh(name: str) -> bool:
    """Whether the callable takes ``seed`` and ``n_samples``: then an independent draw exists."""
    accepted = accepted_keywords(dataset_callable(name))
    return accepted is None or {"seed", "n_samples"} <= accepted


def call_dataset(
    name: str, n_samples: int, seed: int, dataset_args: Mapping[str, Any] | None = None
) -> tuple[np.ndarray | None, np.ndarray]:
    """(x_0 or None, x_1) from the callable ``name``, each (N, *shape) float32, checked: one line
    naming the callable for an exception, a ragged, non-numeric, NaN/inf or wrong-rank array, or
    a pair whose point shapes differ."""
    target = dataset_callable(name, dataset_args)
    accepted = accepted_keywords(target)
    given = {"n_samples": n_samples, "seed": seed}
    keywords = {k: v for k, v in given.items() if accepted is None or k in accepted}
    try:
        out = target(**keywords, **(dataset_args or {}))
    except Exception as error:
        raise UserInputError(
            f"`dataset` {name!r}: calling it with {keywords | dict(dataset_args or {})} raised "
            f"{type(error).__name__}: {error}"
        ) from None
    if isinstance(out, tuple) and len(out) == 2:
        x_0, x_1 = (
            _as_points(part, name, role) for part, role in zip(out, ("x_0", "x_1"), strict=True)
        )
        if x_0.shape[1:] != x_1.shape[1:]:
            raise UserInputError(
                f"`dataset` {name!r} returned x_0 points of shape {x_0.shape[1:]} and x_1 points "
                f"of shape {x_1.shape[1:]}; they must match"
            )
        return x_0, x_1
    return None, _as_points(out, name, "its points")


def _as_points(value: Any, name: str, role: str) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value)
    except ValueError as error:  # NumPy >= 1.24 refuses ragged nested lists
        raise UserInputError(f"`dataset` {name!r}: {role} are ragged: {error}") from None
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise UserInputError(
            f"`dataset` {name!r}: {role} have dtype {array.dtype}, but must be numbers "
            "(an array or tensor (N, *shape), e.g. (N, D) or (N, C, H, W))"
        )
    if array.ndim < 2:
        raise UserInputError(
            f"`dataset` {name!r}: {role} have shape {array.shape}, but must be (N, *shape) with "
            "at least 2 axes, e.g. (N, D) or (N, C, H, W)"
        )
    if len(array) < MIN_ROWS:
        raise UserInputError(f"`dataset` {name!r}: {role} have {len(array)} rows; at least 3")
    bad = ~np.isfinite(array)
    if bad.any():
        rows = np.unique(np.nonzero(bad)[0])
        raise UserInputError(
            f"`dataset` {name!r}: {role} hold {int(bad.sum())} NaN/inf value(s) in "
            f"{len(rows)} row(s), first row {int(rows[0])}"
        )
    return np.ascontiguousarray(array, dtype=np.float32)
