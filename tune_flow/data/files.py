"""Loading user datasets from files: .npy, .npz, .pt (N, *shape) arrays, e.g. (N, D) vectors or
(N, C, H, W) images; .csv and .parquet (N, D) tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from tune_flow.errors import UserInputError
from tune_flow.import_path import PAIR_SEPARATOR  # "source->target" datasets

FILE_SUFFIXES = (".npy", ".npz", ".pt", ".pth", ".csv", ".parquet")
# Keys tried, in order, in .npz archives and .pt dicts for the target and the source samples.
TARGET_KEYS = ("x1", "target", "data", "x")
SOURCE_KEYS = ("x0", "source")


def looks_like_path(dataset: str) -> bool:
    """True when a ``dataset`` value names a file rather than a built-in dataset."""
    return "/" in dataset or dataset.endswith(FILE_SUFFIXES)


def absolute_paths(values: dict[str, Any], cwd: Path) -> dict[str, Any]:
    """Config values with file paths (``dataset``, ``source``, ``stats_path``) resolved against
    ``cwd``, the directory the command ran from: they then survive a change of directory, such as
    Ray running a trial inside its trial directory."""
    out = dict(values)
    for key in ("dataset", "source", "stats_path"):
        value = out.get(key)
        if not isinstance(value, str) or PAIR_SEPARATOR in value:
            continue
        if key == "stats_path" or looks_like_path(value):
            out[key] = str((cwd / value).resolve())
    return out


def load_array(path: str | Path, role: str = "target") -> np.ndarray:
    """Read an (N, *shape) float32 array; ``role`` ("target"/"source") picks the key in archives.

    Raises :class:`UserInputError` with one line for a missing file, an unknown suffix, a wrong
    rank, non-numeric columns or NaN/inf values (how many and where).
    """
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"dataset file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    keys = TARGET_KEYS if role == "target" else SOURCE_KEYS
    try:
        if suffix == ".npy":
            array = np.load(path, allow_pickle=False)
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                array = _pick(dict(archive), keys, path, role)
        elif suffix in (".pt", ".pth"):
            obj = torch.load(path, map_location="cpu", weights_only=True)
            array = _pick(obj, keys, path, role) if isinstance(obj, dict) else obj
            array = array.numpy() if isinstance(array, torch.Tensor) else np.asarray(array)
        elif suffix in (".csv", ".parquet"):
            import pandas as pd

            frame = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
            if suffix == ".csv" and _header_is_data(frame):
                frame = pd.read_csv(path, header=None)
            bad = [str(c) for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
            if bad:
                raise UserInputError(
                    f"dataset file {str(path)!r} has non-numeric column(s) {', '.join(bad)}; "
                    "every column must hold numbers"
                )
            array = frame.to_numpy()
        else:
            raise UserInputError(
                f"dataset file {str(path)!r} has suffix {suffix!r}, but must be one of "
                + ", ".join(FILE_SUFFIXES)
            )
    except UserInputError:
        raise
    except Exception as error:  # numpy/pandas/torch parse errors: one line, no traceback
        raise UserInputError(f"cannot read dataset file {str(path)!r}: {error}") from None
    return _check_matrix(array, path)


def load_reference(path: str | Path, dim: int, flag: str) -> np.ndarray:
    """Reference points to score generated samples against, (m, ``dim``) float64 in the data's
    original units, flattened per point: ``dim`` is the features of one point (C*H*W for
    images). Raises :class:`UserInputError` with one line, naming ``flag`` (the option that
    gave ``path``), for whatever :func:`load_array` refuses, a wrong width or fewer than 2
    points."""
    try:
        array = load_array(path, role="target").astype(np.float64)
    except UserInputError as error:
        raise UserInputError(f"{flag}: {error}") from None
    array = array.reshape(len(array), -1)
    if array.shape[1] != dim:
        raise UserInputError(
            f"{flag} {str(path)!r} has {array.shape[1]} features per point, but the model "
            f"generates {dim}"
        )
    if len(array) < 2:
        raise UserInputError(
            f"{flag} {str(path)!r} holds {len(array)} point(s); it needs 2 or more"
        )
    return array


def _header_is_data(frame) -> bool:  # type: ignore[no-untyped-def]
    """A CSV without a header row: pandas took the first row of numbers as column names."""
    try:
        [float(c) for c in frame.columns]
    except (TypeError, ValueError):
        return False
    return True


def _pick(obj: dict, keys: tuple[str, ...], path: Path, role: str):  # type: ignore[no-untyped-def]
    for key in keys:
        if key in obj:
            return obj[key]
    if role == "target" and len(obj) == 1:
        return next(iter(obj.values()))
    raise UserInputError(
        f"dataset file {str(path)!r} holds keys {sorted(obj)}, but the {role} must be under "
        + " or ".join(f"{k!r}" for k in keys)
    )


def _check_matrix(array: np.ndarray, path: Path) -> np.ndarray:
    if array.ndim < 2:
        raise UserInputError(
            f"dataset file {str(path)!r} holds an array of shape {tuple(array.shape)}, "
            "but must be (N, *shape): N samples of D features (N x D) or of images (N x C x H x W)"
        )
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise UserInputError(
            f"dataset file {str(path)!r} holds dtype {array.dtype}, but must hold real numbers"
        )
    array = array.astype(np.float32)
    bad = ~np.isfinite(array)
    if bad.any():
        rows, cols = np.nonzero(bad.reshape(len(bad), -1))
        where = ", ".join(f"(row {r}, col {c})" for r, c in zip(rows[:3], cols[:3], strict=True))
        more = " ..." if len(rows) > 3 else ""
        raise UserInputError(
            f"dataset file {str(path)!r} holds {int(bad.sum())} NaN/inf value(s) in "
            f"{len(np.unique(rows))} row(s), first at {where}{more}; remove or impute them"
        )
    return array
