"""``python -m tune_flow.study --spec studies/flows_2d.yaml``: a tuned, seeded comparison table.

Validates the spec before Ray starts (one line, exit 2), then runs every cell (see
:mod:`tune_flow.search.study.runner`) on one Ray instance and writes, under ``<storage>/<study>/``:
``runs.csv``, ``table.md``, ``table.csv``, ``study.html`` and each cell's ``search/`` and
``seeds/`` experiments (with its ``best_config.yaml``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from tune_flow.errors import UserInputError, exits_cleanly_on_user_error
from tune_flow.program_name import program_name
from tune_flow.space.study_spec import load_study
from tune_flow.stop_signals import exit_code


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=program_name("study"),
        usage="%(prog)s --spec FILE [options]",
        description="Run a study: one search per cell of a grid (architectures x flows x "
        "datasets x ...), the same budget for every cell, each winner retrained with several "
        "seeds and evaluated on the test split, ending in a mean +- std table.",
        epilog="example:\n  python -m tune_flow.study --spec studies/flows_2d.yaml\n"
        "  python -m tune_flow.study --spec studies/flows_2d.yaml --resume   # after Ctrl-C/kill",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--spec", required=True, help="study YAML (see studies/)")
    p.add_argument(
        "--resume", action="store_true", help="continue: finished cells and seed runs are kept"
    )
    p.add_argument("--storage-path", default="results", help="results root (default ./results)")
    p.add_argument("--address", help="join an existing Ray cluster (auto or HOST:PORT)")
    p.add_argument("--num-cpus", type=int, help="CPUs of the local Ray instance (default: all)")
    p.add_argument("--dashboard", action="store_true", help="start the Ray dashboard")
    p.add_argument("--verbose", action="store_true", help="show the trials' own logs")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="validate the spec and print its cells; start nothing",
    )
    return p


def check_same_study(spec_path: str, recorded: Path) -> None:
    """On ``--resume``: refuse a spec whose contents differ from the one the study started with
    (``<root>/study.yaml``), naming the first key that differs."""
    import yaml

    from tune_flow.yaml_io import load_yaml_mapping

    given = load_yaml_mapping(spec_path, "study spec")
    started = yaml.safe_load(recorded.read_text())
    if given == started:
        return
    keys = sorted(set(given) | set(started), key=str)
    differing = next(k for k in keys if given.get(k) != started.get(k))
    raise UserInputError(
        f"--resume: {spec_path} differs from the spec study {started.get('name')!r} was started "
        f"with ({recorded}): `{differing}` is {given.get(differing)!r}, was "
        f"{started.get(differing)!r}; a resumed study continues the study that was started "
        "(give it another name to change it)"
    )


@exits_cleanly_on_user_error
def main(argv: list[str] | None = None) -> int:
    return run_command(argv)[0]


def run_command(argv: list[str] | None = None) -> tuple[int, Path | None]:
    """``main`` without the one-line error handling: (exit code, the study's directory, None
    when nothing ran); :func:`tune_flow.search.api.study` calls it."""
    args = build_parser().parse_args(argv)
    spec = load_study(args.spec)
    root = Path(args.storage_path) / spec.name
    if args.dry_run:
        cells = spec.cell_values()
        print(
            f"study {spec.name!r}: {len(cells)} cell(s) x ({spec.num_samples} trials, up to "
            f"{spec.max_epochs} epochs, + {spec.seeds} seed run(s)); cells: "
            + ", ".join(spec.cell_name(c) for c in cells)
        )
        print("dry run: the spec is valid; nothing was started")
        return 0, None
    if args.resume and (root / "study.yaml").is_file():
        check_same_study(args.spec, root / "study.yaml")
    if root.exists() and any(root.iterdir()) and not args.resume:
        raise UserInputError(
            f"study directory {str(root)!r} already exists; pass --resume to continue it "
            "(nothing is overwritten)"
        )
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserInputError(f"--storage-path: {str(root)!r} cannot be created: {error}") from None
    if spec.path and not (root / "study.yaml").exists():
        shutil.copyfile(spec.path, root / "study.yaml")  # what this table came from
    root = root.resolve()
    import shlex

    resume_hint = (
        f"continue with: {shlex.quote(sys.executable)} -m tune_flow.study --spec "
        f"{shlex.quote(str(Path(args.spec).resolve()))} --storage-path "
        f"{shlex.quote(str(Path(args.storage_path).resolve()))} --resume"
    )
    from tune_flow.search.cluster import check_resources, ray_session

    try:
        code = spec.space.code
        with ray_session(
            args.address, args.dashboard, "127.0.0.1", 8265, args.num_cpus, args.verbose,
            runtime_env=None if code is None else code.runtime_env(),
        ) as cluster:  # fmt: skip
            fit = check_resources(spec.space.resources["cpu"], spec.space.resources["gpu"], cluster)
            if cluster.ray_log is not None:
                cluster.ray_log.write_to(root)
            cells = spec.cell_values()
            print(
                f"study {spec.name!r}: {len(cells)} cell(s) x ({spec.num_samples} trials + "
                f"{spec.seeds} seed run(s)), {fit} trial(s) at a time; results in {root}",
                flush=True,
            )
            return _run(spec, root, fit), root
    except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM (see ray_session)
        print(
            f"\ninterrupted; finished cells and seed runs are kept; {resume_hint}", file=sys.stderr
        )
        return exit_code(stop), root


def _run(spec, root: Path, fit: int) -> int:  # type: ignore[no-untyped-def]
    from tune_flow.report.study_page import significance, write_page, write_tables
    from tune_flow.search.study.runner import RUNS_FILENAME, run_cells, summarize, write_runs

    runs = run_cells(spec, root, fit)
    write_runs(runs, root / RUNS_FILENAME)
    summaries = summarize(spec, runs)
    print("\n" + write_tables(spec, summaries, root))
    for line in significance(spec, summaries):
        print(line)
    page = write_page(spec, summaries, runs, root)
    print(f"runs: {root / RUNS_FILENAME}\ntable: {root / 'table.md'}\npage: {page}")
    return 0
