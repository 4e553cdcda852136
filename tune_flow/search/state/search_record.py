"""What a search was started with, so that ``--resume`` continues exactly that search.

Tune restores its own state (trials, searcher, scheduler, callbacks) from the experiment
directory, but tune_flow rebuilds the trainable from the space and flags it is given: resumed
without the ``--set n_samples=100000`` it was started with, a search trained its new trials on
5000 rows and ranked both kinds in one table; resumed with another ``--space`` it rewrote
trials.csv with another metric (issue 24). So a new search writes ``search_record.yaml`` in its
experiment directory: the space file's path and text, the working directory (relative data paths
are resolved from it) and every flag that defines the experiment. ``--resume`` reads it back and
needs only ``--name`` (and ``--storage-path``); a flag or space that differs from the record is
refused in one line. Session flags (how this run reaches Ray and what it prints) may differ.

YAML, not JSON: on ``--resume`` Tune copies every ``*.json`` of the experiment directory to its
driver staging directory and back (see asha_state.py); this file is tune_flow's alone.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import Any

import yaml

from tune_flow.errors import UserInputError
from tune_flow.yaml_io import load_yaml_mapping, parse_overrides

RECORD_FILENAME = "search_record.yaml"
# Flags that define the experiment: a resumed search continues with the recorded values.
EXPERIMENT_FLAGS = (
    "num_samples", "max_epochs", "metric", "scheduler", "searcher", "set", "seed", "time_budget",
    "max_failures", "cpus_per_trial", "gpus_per_trial", "max_concurrent", "top_k", "select_top",
    "selection_reference", "keep_grace_period", "optuna_storage", "wandb", "wandb_project",
    "wandb_entity", "code", "code_exclude",
)  # fmt: skip


def explicitly_given(parser: argparse.ArgumentParser, argv: list[str] | None) -> set[str]:
    """The destinations of the flags ``argv`` names (not those left at their defaults)."""
    import copy

    quiet = copy.deepcopy(parser)
    for action in quiet._actions:
        action.default = argparse.SUPPRESS
        action.required = False
    return set(vars(quiet.parse_args(argv)))


def write_record(experiment: Path, args: argparse.Namespace) -> Path:
    """``search_record.yaml`` of a new search (written once, before Tune starts)."""
    space_path = Path(args.space).resolve()
    record = {
        "space_path": str(space_path),
        "working_directory": os.getcwd(),
        "flags": {flag: getattr(args, flag) for flag in EXPERIMENT_FLAGS},
        "space_text": space_path.read_text(),
    }
    path = Path(experiment) / RECORD_FILENAME
    path.write_text(yaml.dump(record, Dumper=_LiteralDumper, sort_keys=False, width=100))
    return path


class _LiteralDumper(yaml.SafeDumper):
    """Writes multi-line strings (the space file's text) as ``|`` blocks a person can read."""


_LiteralDumper.add_representer(
    str,
    lambda dumper, text: dumper.represent_scalar(
        "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None
    ),
)


def read_record(experiment: Path) -> dict[str, Any] | None:
    path = Path(experiment) / RECORD_FILENAME
    return load_yaml_mapping(path, "search record") if path.is_file() else None


def continue_recorded(
    args: argparse.Namespace, given: set[str], record: dict[str, Any]
) -> argparse.Namespace:
    """``args`` of a ``--resume``, with the recorded flags and space. A flag the user gave with
    another value, or a space file whose text differs, is refused in one line."""
    flags = record["flags"]
    for flag in EXPERIMENT_FLAGS:
        if flag in given and not _same(flag, getattr(args, flag), flags.get(flag)):
            raise UserInputError(
                f"--resume: {_flag(flag)} is {_shown(getattr(args, flag))}, but search "
                f"{args.name!r} was started with {_shown(flags.get(flag))}; a resumed search "
                "continues exactly the search that was started (start a new --name to change it)"
            )
        setattr(args, flag, flags.get(flag))
    if "space" in given:
        try:
            text = Path(args.space).read_text()
        except OSError as error:
            raise UserInputError(f"--space {args.space!r} cannot be read: {error}") from None
        if yaml.safe_load(text) != yaml.safe_load(record["space_text"]):
            raise UserInputError(
                f"--resume: --space {args.space} is not the space search {args.name!r} was "
                f"started with ({record['space_path']}, recorded in {RECORD_FILENAME}); leave "
                "--space out to continue the search as it was started"
            )
    args.space = record["space_path"]
    args.space_text = record["space_text"]
    args.working_directory = record["working_directory"]
    return args


def resume_command(name: str, storage: str) -> str:
    """A command a user can paste to continue the search: this interpreter (or the
    ``tune-flow`` script that is running), the experiment's name and storage; the record holds
    the rest."""
    program = Path(sys.argv[0]).name
    if program == "tune-flow":
        prefix = f"{shlex.quote(sys.argv[0])} search"
    else:
        prefix = f"{shlex.quote(sys.executable)} -m tune_flow.search"
    return (
        f"{prefix} --name {shlex.quote(name)} --storage-path {shlex.quote(str(storage))} --resume"
    )


def _same(flag: str, given: Any, recorded: Any) -> bool:
    if flag == "set":  # the same overrides in another order are the same experiment
        return parse_overrides(given) == parse_overrides(recorded)
    if flag == "selection_reference" and given and recorded:  # recorded resolved
        return Path(given).resolve() == Path(recorded).resolve()
    return given == recorded


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def _shown(value: Any) -> str:
    if value is None:
        return "not set"
    if isinstance(value, list):
        return " ".join(str(v) for v in value) or "not set"
    return str(value)
