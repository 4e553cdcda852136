"""``python -m tune_flow.search --space search_spaces/arch.yaml``: run a hyperparameter search.

Thin by design: parse the flags, validate everything that can be checked before Ray starts,
then hand over to :mod:`tune_flow.search.run` (Ray, ``Tuner.fit``, the outputs). The ``--help``
text is written for users, in :func:`build_parser`.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from tune_flow.data.files import absolute_paths
from tune_flow.errors import UserInputError, exits_cleanly_on_user_error
from tune_flow.import_path import absolute_import_paths
from tune_flow.program_name import program_name
from tune_flow.search.state.experiment import experiment_location
from tune_flow.space import METHODS, SCHEDULERS, SearchSpace, load_space
from tune_flow.space.objectives import check_objectives_and_scheduler, parse_objectives
from tune_flow.space.parameters import Problems
from tune_flow.yaml_io import parse_overrides

SEARCHERS = {"optuna": "bayes", "random": "random", "grid": "grid"}


USAGE_EXAMPLES = """examples:
  python -m tune_flow.search --space search_spaces/arch.yaml
  python -m tune_flow.search --space search_spaces/flow.yaml --num-samples 32 --gpus-per-trial 0.25
  python -m tune_flow.search --name arch-1 --resume      # as started: space and flags recorded
  python -m tune_flow.search --space search_spaces/arch.yaml --debug --set max_epochs=2
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=program_name("search"),
        usage="%(prog)s --space FILE [options]  |  %(prog)s --name NAME --resume",
        description="Search the hyperparameters of a flow-matching model with Ray Tune: trials "
        "sampled by Optuna, stopped early by ASHA, ranked and reported at the end.",
        epilog=USAGE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    search = p.add_argument_group("search")
    search.add_argument(
        "--space", help="search-space YAML (see search_spaces/); --resume reads it from the record"
    )
    search.add_argument("--num-samples", type=int, help="number of trials (overrides run_cap)")
    search.add_argument(
        "--max-epochs", type=int, help="epochs per trial (overrides base.max_epochs and max_t)"
    )
    search.add_argument(
        "--metric",
        metavar="NAME[,NAME...]",
        help="rank trials by this metric (val_loss, w2, energy_distance, w2_<n>steps, "
        "num_parameters, ...; all minimised); several, comma-separated: multi-objective",
    )
    search.add_argument("--scheduler", choices=SCHEDULERS, help="early stopping across trials")
    search.add_argument(
        "--searcher", choices=sorted(SEARCHERS), help="optuna (TPE), random or grid"
    )
    search.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="fix a config value for every trial"
    )
    search.add_argument("--seed", type=int, default=0, help="seed of the searcher")
    search.add_argument(
        "--time-budget", type=float, metavar="SECONDS", help="stop the search after this long"
    )
    search.add_argument(
        "--max-failures", type=int, default=2,
        help="retries of a crashed trial, from its checkpoint (default 2)",
    )  # fmt: skip
    search.add_argument(
        "--debug", action="store_true", help="run one trial in this process, without Ray"
    )
    search.add_argument(
        "--dry-run", action="store_true",
        help="validate and print the resolved space; start nothing",
    )  # fmt: skip

    resources = p.add_argument_group("resources")
    resources.add_argument("--cpus-per-trial", type=float)
    resources.add_argument(
        "--gpus-per-trial", type=float, help="fractions pack trials: 0.25 = 4 per GPU"
    )
    resources.add_argument(
        "--max-concurrent", type=int, help="trials at a time (default: as many as fit)"
    )
    resources.add_argument(
        "--num-cpus", type=int, help="CPUs of the local Ray instance (default: all)"
    )

    cluster = p.add_argument_group("cluster")
    cluster.add_argument(
        "--address", help="join an existing Ray cluster (auto or HOST:PORT); default: start one"
    )
    cluster.add_argument(
        "--code", metavar="DIR",
        help="your code folder (as `code:` in the space): importable here and shipped to every "
        "Ray worker through runtime_env",
    )  # fmt: skip
    cluster.add_argument(
        "--code-exclude", action="append", metavar="PATTERN",
        help="leave files matching this gitignore-style pattern out of --code's upload",
    )  # fmt: skip
    cluster.add_argument("--no-dashboard", action="store_true", help="do not start the dashboard")
    cluster.add_argument("--dashboard-host", default="127.0.0.1")
    cluster.add_argument("--dashboard-port", type=int, default=8265)

    outputs = p.add_argument_group("outputs")
    outputs.add_argument(
        "--storage-path", default="results", help="results root (default ./results)"
    )
    outputs.add_argument("--name", help="experiment name (default: <space name>-<timestamp>)")
    outputs.add_argument(
        "--resume", action="store_true", help="continue the interrupted search --name"
    )
    outputs.add_argument(
        "--top-k", type=int, default=5,
        help="trials in the final table; finished trials outside it lose their checkpoints",
    )  # fmt: skip
    search.add_argument(
        "--keep-grace-period", action="store_true",
        help="keep ASHA's first rung where the space puts it even when it comes before some "
        "trial's learning-rate warm-up ends (by default it moves past every warm-up)",
    )  # fmt: skip
    outputs.add_argument(
        "--select-top", type=int,
        help="final selection: score the candidate weights (best, latest, best by val_loss) of "
        "this many top trials on many samples and hand on the best (0: off; default 5 or "
        "--top-k when smaller: only the top-k trials keep their checkpoints)",
    )  # fmt: skip
    outputs.add_argument(
        "--selection-reference", metavar="FILE",
        help="final selection: score the candidates against these points (.npy/.csv, the data's "
        "own units) instead of the validation split, sampling with the run's own solver: a draw "
        "of the data apart from the training file and spread evenly (simulator output from "
        "stratified inputs), 5000 points or more (README: Which weights)",
    )  # fmt: skip
    outputs.add_argument(
        "--no-report", action="store_true", help="skip report.html and its figures"
    )
    outputs.add_argument("--verbose", action="store_true", help="show the trials' own logs")

    integrations = p.add_argument_group("integrations")
    integrations.add_argument(
        "--optuna-storage", metavar="URL",
        help="e.g. sqlite:///study.db: the study (named after the experiment) lives there, "
        "for optuna-dashboard",
    )  # fmt: skip
    integrations.add_argument(
        "--wandb", action="store_true",
        help="log each trial as a W&B run (offline unless an API key is configured)",
    )  # fmt: skip
    integrations.add_argument("--wandb-project", default="tune_flow")
    integrations.add_argument("--wandb-entity")
    return p


def apply_overrides(space: SearchSpace, args: argparse.Namespace) -> SearchSpace:
    """Fold the CLI flags into the space, with the same checks as the YAML."""

    if args.num_samples is not None:
        if args.num_samples <= 0:
            raise UserInputError(f"--num-samples is {args.num_samples}, but must be >= 1")
        space.run_cap = args.num_samples
    if args.max_epochs is not None:
        if args.max_epochs <= 0:
            raise UserInputError(f"--max-epochs is {args.max_epochs}, but must be >= 1")
        if any(p.name == "max_epochs" for p in space.parameters):
            raise UserInputError(
                f"--max-epochs {args.max_epochs}: `max_epochs` is searched by the space, so "
                "each trial's own value would win; change its values in `parameters` instead"
            )
        space.base["max_epochs"] = args.max_epochs
        if space.scheduler.time_attr == "epoch":
            space.scheduler.max_t = args.max_epochs
    if args.scheduler:
        space.scheduler.type = args.scheduler
    if args.metric is not None:
        problems = Problems()
        names = [n.strip() for n in args.metric.split(",") if n.strip()]
        objectives = parse_objectives([{"name": n} for n in names], space.base, problems)
        if problems.items:
            raise UserInputError("--metric: " + problems.items[0])
        space.set_objectives(objectives)
    problems = Problems()
    check_objectives_and_scheduler(space.objectives, space.scheduler, problems)
    if problems.items:
        raise UserInputError(problems.items[0])
    if args.searcher:
        space.method = SEARCHERS[args.searcher]
        assert space.method in METHODS
        if space.method == "grid":
            bad = [p.name for p in space.parameters if p.distribution.grid_values() is None]
            if bad:
                raise UserInputError(
                    f"--searcher grid needs finite parameters, but {', '.join(bad)} are continuous"
                )
    for flag, key, rule in (("cpus_per_trial", "cpu", "> 0"), ("gpus_per_trial", "gpu", ">= 0")):
        value = getattr(args, flag)
        if value is None:
            continue
        if not math.isfinite(value) or value < 0 or (key == "cpu" and value == 0):
            raise UserInputError(f"--{flag.replace('_', '-')} is {value:g}, but must be {rule}")
        space.resources[key] = value
    if args.max_concurrent is not None and args.max_concurrent <= 0:
        raise UserInputError(f"--max-concurrent is {args.max_concurrent}, but must be >= 1")
    if args.max_concurrent is not None and space.scheduler.type == "asha_promote":
        raise UserInputError(
            "--max-concurrent does not work with scheduler asha_promote (Tune counts paused trials "
            "as running, so the search would wait for ever); --cpus-per-trial/--gpus-per-trial set "
            "how many trials run at once"
        )
    if args.top_k < 1:
        raise UserInputError(f"--top-k is {args.top_k}, but must be >= 1")
    if args.select_top is None:
        from tune_flow.search.state.chosen_model import DEFAULT_SELECT_TOP

        args.select_top = min(DEFAULT_SELECT_TOP, args.top_k)
    if not 0 <= args.select_top <= args.top_k:
        raise UserInputError(
            f"--select-top is {args.select_top}, but must be between 0 (off) and --top-k "
            f"({args.top_k}): only the top-k trials keep their checkpoints"
        )
    if args.max_failures < 0:
        raise UserInputError(f"--max-failures is {args.max_failures}, but must be >= 0")
    if args.time_budget is not None and args.time_budget <= 0:
        raise UserInputError(f"--time-budget is {args.time_budget}, but must be > 0 seconds")
    if args.optuna_storage is not None:
        check_optuna_storage(args.optuna_storage)
    overrides = parse_overrides(args.set)
    searched = {p.name for p in space.parameters}
    for key in overrides:
        if key in searched:
            raise UserInputError(
                f"--set {key}=...: `{key}` is searched by the space; remove it from `parameters` to fix it"
            )
    # A `file.py:Name` of --set is relative to where the search started, as data paths are.
    start = Path(getattr(args, "working_directory", None) or Path.cwd())
    space.base.update(absolute_import_paths(overrides, start))
    if not any(_varies(p) for p in space.parameters) and space.run_cap > 1:
        print(
            f"the space varies nothing (no parameter takes two values): 1 trial instead of "
            f"{space.run_cap} identical ones; to compare seeds, search `seed: {{values: [0, 1, 2]}}`"
        )
        space.run_cap = 1
    # Relative data paths from where the search was started (the record's, on --resume).
    space.base = absolute_paths(space.base, start)
    # Fail now, not inside every trial: an invalid value, a missing file, a wrong shape, NaN, too
    # few rows, a network or a flow that does not import, build or run on a probe batch.
    from tune_flow.space.probe import probe_space

    space.num_train, point_shape, _ = probe_space(space)
    if args.selection_reference is not None:
        args.selection_reference = check_selection_reference(
            str((start / args.selection_reference).resolve()), space, point_shape, args.select_top
        )
    return space


def check_selection_reference(
    path: str, space: SearchSpace, point_shape: tuple[int, ...], select_top: int
) -> str:
    """``path`` when it holds points of ``point_shape`` (the space's data, as probed) that the
    final selection can score the space's models against; else one line saying why not
    (:class:`UserInputError`)."""
    from tune_flow.data.files import load_reference

    if select_top == 0:
        raise UserInputError(
            "--selection-reference is for the final selection, but --select-top is 0 (off)"
        )
    searched = [p.name for p in space.parameters if p.name in ("dataset", "source")]
    if searched:
        raise UserInputError(
            f"--selection-reference holds points of one dataset, but the space searches "
            f"`{searched[0]}`; search one dataset at a time, or leave the flag out"
        )
    load_reference(path, math.prod(point_shape), "--selection-reference")
    return path


def _varies(parameter: Any) -> bool:
    """The parameter can take two values (a continuous one always can)."""
    values = parameter.distribution.grid_values()
    return values is None or len({str(v) for v in values}) > 1


def check_optuna_storage(url: str) -> None:
    """Refuse a storage that is no SQLAlchemy URL, or an SQLite file in a missing directory, now:
    after Ray has started it would leave a directory that blocks the search's name."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:  # SQLAlchemy's ArgumentError; the message names no culprit
        raise UserInputError(
            f"--optuna-storage {url!r} is not a database URL; e.g. sqlite:///study.db "
            "(a file next to you) or postgresql://user@host/db"
        ) from None
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        folder = Path(parsed.database).expanduser().resolve().parent
        if not folder.is_dir():
            raise UserInputError(
                f"--optuna-storage {url!r}: the folder {str(folder)!r} does not exist"
            )


def load_search_space(args: argparse.Namespace) -> SearchSpace:
    """The space of ``--space``, or on ``--resume`` the text recorded when the search started."""
    set_keys = frozenset(parse_overrides(args.set))
    if not args.space_text:
        return load_space(args.space, set_keys)
    import yaml

    from tune_flow.space._parse import parse_space

    space, problems = parse_space(yaml.safe_load(args.space_text), args.space, set_keys)
    if problems:
        raise UserInputError(f"recorded space {args.space}: {problems[0]}")
    assert space is not None
    return space


def resume_arguments(
    parser: argparse.ArgumentParser, argv: list[str] | None, args: argparse.Namespace
) -> argparse.Namespace:
    """The flags of a ``--resume``: those the search was started with (its record), refusing any
    the user gives with another value."""
    from tune_flow.search.state.search_record import (
        RECORD_FILENAME,
        continue_recorded,
        explicitly_given,
        read_record,
    )

    if not args.name:
        raise UserInputError("--resume needs --name NAME: the search to continue")
    where = experiment_location(args, args.name)
    if where.is_local and not (where.outputs / "tuner.pkl").exists():
        raise UserInputError(
            f"--resume: {str(where.outputs)!r} holds no Tune state (the search never started a "
            "trial); start it again without --resume"
        )
    record = read_record(where.outputs)
    if record is not None:
        return continue_recorded(args, explicitly_given(parser, argv), record)
    if not args.space:
        raise UserInputError(
            f"--resume: {str(where.outputs)!r} has no {RECORD_FILENAME} (the search was started "
            "before tune_flow recorded its searches): give --space and the flags it was started with"
        )
    return args


def _named_code(space: SearchSpace) -> list[Any]:
    """Every value of the fields that take an import path: fixed or searched."""
    from tune_flow.import_path import IMPORT_PATH_FIELDS

    values = [space.base.get(field) for field in IMPORT_PATH_FIELDS]
    for parameter in space.parameters:
        if parameter.name in IMPORT_PATH_FIELDS:
            values += parameter.distribution.grid_values() or []
    return values


def command_line_code(args: argparse.Namespace) -> Any:
    """``--code DIR`` (relative to where the search started), on this process's import path
    before the space is read (validating it imports the user's modules); None without it."""
    if not args.code:
        if args.code_exclude:
            raise UserInputError("--code-exclude needs --code DIR")
        return None
    from tune_flow.space.code_folder import parse_code

    start = Path(getattr(args, "working_directory", None) or Path.cwd())
    code = parse_code({"dir": args.code, "excludes": args.code_exclude or []}, start, "--code")
    code.activate()
    return code


def print_rungs(space: SearchSpace, keep_grace_period: bool = False) -> None:
    """ASHA's rungs in their unit, after moving the first one past every trial's warm-up (or a
    warning when the user keeps it mid-warm-up)."""
    from tune_flow.search.schedulers.rungs import describe_rungs, resolve_max_t, settle_first_rung

    if not space.scheduler.has_rungs or space.num_train is None:
        return
    line = settle_first_rung(space, space.num_train, keep_grace_period)
    if line:
        print(line)
    print(describe_rungs(space, resolve_max_t(space, space.num_train)))


@exits_cleanly_on_user_error
def main(argv: list[str] | None = None) -> int:
    return run_command(argv)[0]


def run_command(argv: list[str] | None = None) -> tuple[int, Path | None]:
    """``main`` without the one-line error handling: (exit code, the results directory, None when
    nothing ran). :func:`tune_flow.search.api.search` calls it and lets
    :class:`~tune_flow.errors.UserInputError` through."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.space_text = args.working_directory = None
    if args.resume:
        args = resume_arguments(parser, argv, args)
    elif not args.space:
        raise UserInputError(
            "--space FILE is required (or --name NAME --resume to continue a search)"
        )
    code = command_line_code(args)
    space = load_search_space(args)
    space.code = code or space.code
    space = apply_overrides(space, args)
    if args.address and space.code is None:
        from tune_flow.space.code_folder import unshipped_code

        for note in unshipped_code(_named_code(space)):
            print(f"note: {note}")
    print_rungs(space, args.keep_grace_period)
    if args.dry_run:
        print("\n".join(space.describe()))
        print("dry run: the space is valid; nothing was started")
        return 0, None
    if args.debug:
        from tune_flow.search.debug_trial import run_debug

        return run_debug(space, args), None
    from tune_flow.search.run import run_search

    where = experiment_location(args, space.name)
    return run_search(space, args, where), where.outputs


if __name__ == "__main__":
    sys.exit(main())
