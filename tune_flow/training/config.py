"""TrainingConfig: every knob of one training run, validated with one-line messages."""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from tune_flow.data import (
    NORMALIZATIONS,
    PAIR_SEPARATOR,
    SPLITS,
    check_dataset_name,
    parse_dataset,
    validate_stats_file,
)
from tune_flow.data.augment import augmentation
from tune_flow.errors import UserInputError, one_of, suggest
from tune_flow.evaluation.sampling import (
    FIXED_STEP_METHODS,
    Solver,
)
from tune_flow.evaluation.sampling import (
    METHODS as SAMPLING_METHODS,
)
from tune_flow.import_path import is_import_path
from tune_flow.models import ACTIVATIONS, build_model, network_builder
from tune_flow.training.flows import ProbabilityPath, build_flow, flow_builder

DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?|mps)$")


@dataclass
class TrainingConfig:
    """One flow-matching training run.

    The study axes (``arch``, ``flow``, ``dataset``, ``aug``) and the run's ``group`` are required;
    everything else has a default. ``arch``, ``flow``, ``dataset`` and ``aug`` take a built-in
    name or an import path (``package.module:Name``, ``path/to/file.py:Name``); ``arch_args``,
    ``flow_args`` and ``dataset_args`` are the keyword arguments of what they name, given as a
    mapping or as dotted keys (``arch_args.channels: 64``). The study's locked settings
    (``ema_decay``, ``grad_clip``, ``patience``, ``warmup_steps``) are kept out of ``repr`` but
    can still be set explicitly.
    """

    # Study axes.
    arch: str
    flow: str
    dataset: str  # built-in name, "source->target", or a file path
    aug: str
    group: str

    # Constructor arguments of what the study axes name (checked against its signature).
    arch_args: dict[str, Any] = field(default_factory=dict)
    flow_args: dict[str, Any] = field(default_factory=dict)
    dataset_args: dict[str, Any] = field(default_factory=dict)

    # Optimisation (tunable).
    lr: float = 1e-3  # peak learning rate of AdamW
    batch_size: int = 256
    weight_decay: float = 0.0
    max_epochs: int = 100
    min_lr_ratio: float = 0.0  # cosine floor as a fraction of lr
    seed: int = 0  # model init and training randomness

    # Model (tunable; each arch uses the ones it needs).
    width: int = 64
    depth: int = 3
    activation: str = "selu"
    dropout: float = 0.0
    time_embed_dim: int = 32
    heads: int = 4

    # Flow and augmentation.
    sigma: float = 0.0  # std of the ICFM path smoothing
    aug_std: float = 0.05  # jitter std in normalised units

    # Data.
    source: str | None = None  # source samples (built-in name or file); None: standard normal
    n_samples: int = 10_000  # size of synthetic datasets
    val_size: float = 0.1  # count (>= 1) or fraction of all rows
    test_size: float = 0.1
    train_size: float | None = None  # count or fraction of the remaining rows; None: all
    data_seed: int = 0  # synthetic data and split permutation, shared across trials
    # How validation and test rows are taken: "random" rows, or "hilbert" (2-D points only):
    # every k-th row along a Hilbert curve, so that each region holds its share of them (a
    # random split's count fluctuations decide W2 rankings of close models: RESULTS.md 21).
    split: str = "random"
    stats_path: str | None = None  # reuse normalisation stats instead of fitting them
    normalize: str = "standard"  # standard (per feature), global (one scale), none

    # In-trial sample quality (tune_flow.evaluation.in_trial): generated points against the
    # validation split, in original units. The search can rank and cut trials by these.
    eval_samples: int = 500  # points generated per evaluation; 0: no sample metrics
    eval_steps: list[int] = field(default_factory=lambda: [100])  # ODE steps; each is reported
    eval_method: str = "euler"  # a fixed-step method: euler, midpoint or rk4
    eval_every: int = 20  # epochs between evaluations (also at rung epochs and the last epoch)

    # Sampling a trained model (final selection, best_eval.json, python -m tune_flow.sample):
    # an adaptive solver by default, as published 2-D results integrate; sample_steps is used by
    # fixed-step methods only.
    sample_method: str = "dopri5"
    sample_atol: float = 1e-4
    sample_rtol: float = 1e-4
    sample_steps: int = 100

    # Run.
    device: str = "auto"
    num_threads: int | None = None  # torch threads; None: the CPUs this process may use
    checkpoint_every: int = 10  # epochs between checkpoints (a search also writes them at rungs)
    # The step after the path is drawn (forward, loss, backward, clipping, AdamW, EMA) as one
    # unit: captured in a CUDA graph on CUDA, torch.compile'd on the CPU. Equal to eager within
    # float tolerance (training/train_step.py).
    compile_step: bool = False
    min_delta: float = 0.0  # early stopping: an improvement must beat the best by more than this

    # Locked defaults of the study.
    ema_decay: float = field(default=0.9999, repr=False)
    grad_clip: float = field(default=1.0, repr=False)
    patience: int = field(default=20, repr=False)
    warmup_steps: int = field(default=1000, repr=False)

    @property
    def solver(self) -> Solver:
        """The ODE solver that samples this run's trained model."""
        return Solver(self.sample_method, self.sample_steps, self.sample_atol, self.sample_rtol)

    @property
    def run_name(self) -> str:
        """``arch-flow-dataset-aug-group``, with anything but [A-Za-z0-9._-] replaced by '_'."""
        dataset = "_to_".join(
            _short(part) if is_import_path(part) else Path(part).stem if "/" in part else part
            for part in (p.strip() for p in self.dataset.split(PAIR_SEPARATOR))
        )
        raw = "-".join(
            [_short(self.arch), _short(self.flow), dataset, _short(self.aug), self.group]
        )
        return re.sub(r"[^A-Za-z0-9._-]+", "_", raw).strip("_")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def build_network(self, shape: tuple[int, ...] | int) -> nn.Module:
        """The velocity network ``arch`` names, for points of ``shape``."""
        return build_model(self.arch, shape, self.to_dict(), self.arch_args)

    def build_flow(self) -> ProbabilityPath:
        """The probability path ``flow`` names."""
        return build_flow(self.flow, {"sigma": self.sigma}, self.flow_args)

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, values: dict[str, Any], validate: bool = True) -> TrainingConfig:
        """Build a config from plain values (e.g. YAML), coercing numeric strings like ``"1e-5"``.

        Raises :class:`UserInputError` naming an unknown key with the closest valid names and the
        valid set, a missing required key, or (with ``validate``) the first invalid value.
        """
        values = fold_dotted_keys(values)
        names = cls.field_names()
        for key in values:
            if key not in names:
                raise UserInputError(
                    f"Unknown config key `{key}`.{suggest(str(key), names)} "
                    f"Valid keys: {', '.join(names)}"
                )
        required = [
            f.name
            for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        missing = [k for k in required if k not in values]
        if missing:
            raise UserInputError(
                f"Missing required config key(s) {', '.join(f'`{k}`' for k in missing)}; "
                f"required: {', '.join(required)}"
            )
        hints = typing.get_type_hints(cls)
        coerced = {key: _coerce(key, value, hints[key]) for key, value in values.items()}
        config = cls(**coerced)
        if validate:
            config.validate()
        return config

    def replace(self, **changes: Any) -> TrainingConfig:
        """A validated copy with ``changes`` applied (same coercion as :meth:`from_dict`)."""
        return TrainingConfig.from_dict({**self.to_dict(), **changes})

    def validate(self) -> TrainingConfig:
        """Raise :class:`UserInputError` naming the field and the rule of the first invalid value."""
        network_builder(self.arch, self.arch_args)
        flow_builder(self.flow, self.flow_args)
        augmentation(self.aug)
        _check_choice("activation", self.activation, ACTIVATIONS)
        _check_choice("normalize", self.normalize, dict.fromkeys(NORMALIZATIONS))
        _check_choice("split", self.split, dict.fromkeys(SPLITS))
        # In-trial evaluation is fixed-step: an adaptive solver's cost depends on the model, and
        # an untrained one can take thousands of steps.
        _check_choice("eval_method", self.eval_method, dict.fromkeys(FIXED_STEP_METHODS))
        _check_choice("sample_method", self.sample_method, dict.fromkeys(SAMPLING_METHODS))
        _check("sample_steps", self.sample_steps, self.sample_steps >= 1, "sample_steps >= 1")
        _check("sample_atol", self.sample_atol, self.sample_atol > 0, "sample_atol > 0")
        _check("sample_rtol", self.sample_rtol, self.sample_rtol > 0, "sample_rtol > 0")
        _check("eval_samples", self.eval_samples, self.eval_samples >= 0, "eval_samples >= 0")
        _check("eval_every", self.eval_every, self.eval_every >= 0, "eval_every >= 0")
        _check(
            "eval_steps",
            self.eval_steps,
            bool(self.eval_steps) and all(n >= 1 for n in self.eval_steps),
            "a non-empty list of step counts >= 1",
        )
        source, target = parse_dataset(self.dataset, self.source)
        check_dataset_name(target, dataset_args=self.dataset_args)
        if self.dataset_args and not is_import_path(target):
            raise UserInputError(
                f"`dataset_args` {self.dataset_args!r} are the arguments of a dataset callable, "
                f"but `dataset` {target!r} is a built-in dataset or a file"
            )
        if source is not None:
            check_dataset_name(source, "source")
        if not self.group or not isinstance(self.group, str):
            raise UserInputError("The value of `group` is empty, but must be a non-empty name.")
        _check("lr", self.lr, self.lr > 0 and math.isfinite(self.lr), "lr > 0")
        _check("ema_decay", self.ema_decay, 0 < self.ema_decay < 1, "0 < ema_decay < 1")
        _check("batch_size", self.batch_size, self.batch_size >= 1, "batch_size >= 1")
        _check("max_epochs", self.max_epochs, self.max_epochs >= 1, "max_epochs >= 1")
        _check("weight_decay", self.weight_decay, self.weight_decay >= 0, "weight_decay >= 0")
        _check(
            "min_lr_ratio", self.min_lr_ratio, 0 <= self.min_lr_ratio <= 1, "0 <= min_lr_ratio <= 1"
        )
        _check("grad_clip", self.grad_clip, self.grad_clip > 0, "grad_clip > 0")
        _check("patience", self.patience, self.patience >= 1, "patience >= 1")
        _check("min_delta", self.min_delta, self.min_delta >= 0, "min_delta >= 0")
        _check("warmup_steps", self.warmup_steps, self.warmup_steps >= 0, "warmup_steps >= 0")
        _check("width", self.width, self.width >= 1, "width >= 1")
        _check("depth", self.depth, self.depth >= 1, "depth >= 1")
        _check("dropout", self.dropout, 0 <= self.dropout < 1, "0 <= dropout < 1")
        _check(
            "time_embed_dim",
            self.time_embed_dim,
            self.time_embed_dim >= 2 and self.time_embed_dim % 2 == 0,
            "time_embed_dim even and >= 2",
        )
        _check("heads", self.heads, self.heads >= 1, "heads >= 1")
        if self.arch == "transformer":
            _check("width", self.width, self.width % self.heads == 0, "width divisible by heads")
        _check("sigma", self.sigma, self.sigma >= 0, "sigma >= 0")
        _check("aug_std", self.aug_std, self.aug_std >= 0, "aug_std >= 0")
        _check("n_samples", self.n_samples, self.n_samples >= 3, "n_samples >= 3")
        for name in ("val_size", "test_size", "train_size"):
            value = getattr(self, name)
            if value is None and name == "train_size":
                continue
            _check(name, value, value > 0, f"{name} > 0 (a count >= 1 or a fraction in (0, 1))")
        _check(
            "checkpoint_every",
            self.checkpoint_every,
            self.checkpoint_every >= 1,
            "checkpoint_every >= 1",
        )
        if self.num_threads is not None:
            _check("num_threads", self.num_threads, self.num_threads >= 1, "num_threads >= 1")
        if not DEVICE_PATTERN.match(self.device):
            raise UserInputError(
                f"The value of `device` is {self.device!r}, but must be auto, cpu, cuda, cuda:N or mps."
            )
        return self

    def validate_stats_path(self, dim: int | None = None) -> None:
        """Check ``stats_path`` (when set) holds usable normalisation stats of ``dim`` features."""
        if self.stats_path is not None:
            validate_stats_file(self.stats_path, dim)


ARGUMENT_FIELDS = ("arch_args", "flow_args", "dataset_args")


def fold_dotted_keys(values: dict[str, Any]) -> dict[str, Any]:
    """``{"arch_args.channels": 64}`` -> ``{"arch_args": {"channels": 64}}``: how a space
    searches one constructor argument and how it appears in trials.csv (a flat column)."""
    out: dict[str, Any] = {}
    dotted: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        head, dot, rest = str(key).partition(".")
        if dot and head in ARGUMENT_FIELDS:
            dotted.setdefault(head, {})[rest] = value
        else:
            out[key] = value
    for head, args in dotted.items():
        given = out.get(head) or {}
        if not isinstance(given, dict):
            raise UserInputError(f"The value of `{head}` is {given!r}, but must be a mapping.")
        out[head] = {**given, **args}
    return out


def _short(name: str) -> str:
    """An import path's attribute name (``pkg.nets:UNet`` -> ``UNet``) for run names."""
    return name.rsplit(":", 1)[1] if is_import_path(name) else name


def _check(name: str, value: Any, ok: bool, rule: str) -> None:
    if not ok:
        raise UserInputError(f"The value of `{name}` is {value!r}, but must be `{rule}`.")


def _check_choice(name: str, value: str, registry: typing.Mapping[str, Any]) -> None:
    if value not in registry:
        raise UserInputError(
            f"The value of `{name}` is {value!r}, but must be {one_of(registry)}."
            f"{suggest(str(value), registry)}"
        )


def _coerce(name: str, value: Any, hint: Any) -> Any:
    """Coerce a YAML/CLI value to the field's type; YAML reads ``1e-5`` as a string."""
    if typing.get_origin(hint) is dict:  # arch_args and friends: the callable checks values
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise UserInputError(
                f"The value of `{name}` is {value!r}, but must be a mapping of argument names "
                "to values."
            )
        return dict(value)
    if typing.get_origin(hint) is list:  # eval_steps: a count or a list of counts
        items = value if isinstance(value, (list, tuple)) else [value]
        return [_coerce(name, item, typing.get_args(hint)[0]) for item in items]
    allowed = _allowed_types(hint)
    if value is None:
        if type(None) in allowed:
            return None
        raise UserInputError(f"The value of `{name}` is null, but must be set.")
    if bool in allowed:
        if not isinstance(value, bool):
            raise UserInputError(f"The value of `{name}` is {value!r}, but must be true or false.")
        return value
    if isinstance(value, bool):
        raise UserInputError(f"The value of `{name}` is {value!r}, but must be a number or string.")
    if int in allowed and float not in allowed:
        number = _number(name, value)
        if not float(number).is_integer():
            raise UserInputError(f"The value of `{name}` is {value!r}, but must be an integer.")
        return int(number)
    if float in allowed:
        number = _number(name, value)
        # A count such as val_size: 500 stays an int; fractions are floats.
        return number if isinstance(number, int) else float(number)
    if str in allowed:
        if not isinstance(value, str):
            raise UserInputError(f"The value of `{name}` is {value!r}, but must be a string.")
        return value
    return value


def _number(name: str, value: Any) -> int | float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
        try:
            return float(value)
        except ValueError:
            pass
    raise UserInputError(f"The value of `{name}` is {value!r}, but must be a number.")


def _allowed_types(hint: Any) -> set[type]:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return set(typing.get_args(hint))
    return {hint}
