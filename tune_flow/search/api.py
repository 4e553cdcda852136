"""The Python API for notebooks and scripts: ``tune_flow.search(space, **options)`` and
``tune_flow.study(spec, **options)``.

Each takes a file path or a dict, and the command line's options as keywords
(``num_samples=8``, ``set={"lr": 1e-3}``, ``no_dashboard=True``). They run exactly the command
line's code, so validation is the same: a bad input raises
:class:`~tune_flow.errors.UserInputError` whose message is the one line the CLI prints, before Ray
starts. They return a result object with what a search or a study wrote.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tune_flow.errors import UserInputError, suggest


@dataclass(frozen=True)
class SearchResult:
    """What a finished search wrote. ``trials`` is trials.csv as a pandas DataFrame."""

    outputs: Path
    best_config: dict[str, Any]
    best_checkpoint: Path | None
    trials_csv: Path
    report: Path
    best_eval: Path

    @property
    def trials(self) -> Any:
        import pandas as pd

        return pd.read_csv(self.trials_csv)


@dataclass(frozen=True)
class StudyResult:
    """What a finished study wrote: its table (mean +- std per cell) and every seed run."""

    outputs: Path
    table_csv: Path
    runs_csv: Path
    page: Path

    @property
    def table(self) -> Any:
        import pandas as pd

        return pd.read_csv(self.table_csv)

    @property
    def runs(self) -> Any:
        import pandas as pd

        return pd.read_csv(self.runs_csv)


def search(space: str | Path | dict[str, Any], **options: Any) -> SearchResult:
    """Run a search (``python -m tune_flow.search --space SPACE --OPTION ...``).

    Args:
        space: a space file, or the same mapping as a dict (its relative paths are the current
            directory's).
        options: the command line's flags with underscores: ``num_samples=8``,
            ``max_epochs=20``, ``set={"lr": 1e-3}``, ``name="mine"``, ``storage_path="runs"``,
            ``no_dashboard=True``, ``code="my_project"``, ...

    Raises:
        UserInputError: the CLI's one line, for any bad input (nothing started or written).
        RuntimeError: the search ran but ended otherwise than finished (exit code in the text).
    """
    from tune_flow.report.page import REPORT_FILENAME
    from tune_flow.search import cli
    from tune_flow.search.state.chosen_model import BEST_EVAL_FILENAME, BEST_MODEL_FILENAME
    from tune_flow.search.state.results import BEST_CONFIG_FILENAME, TRIALS_FILENAME

    outputs = _run(cli, "space", space, options)
    best, model = outputs / BEST_CONFIG_FILENAME, outputs / BEST_MODEL_FILENAME
    return SearchResult(
        outputs=outputs,
        best_config=yaml.safe_load(best.read_text()) if best.is_file() else {},
        best_checkpoint=model if model.is_file() else None,
        trials_csv=outputs / TRIALS_FILENAME,
        report=outputs / REPORT_FILENAME,
        best_eval=outputs / BEST_EVAL_FILENAME,
    )


def study(spec: str | Path | dict[str, Any], **options: Any) -> StudyResult:
    """Run a study (``python -m tune_flow.study --spec SPEC --OPTION ...``); same conventions as
    :func:`search`."""
    from tune_flow.search.study import cli
    from tune_flow.search.study.runner import RUNS_FILENAME

    outputs = _run(cli, "spec", spec, options)
    return StudyResult(
        outputs=outputs,
        table_csv=outputs / "table.csv",
        runs_csv=outputs / RUNS_FILENAME,
        page=outputs / "study.html",
    )


def _run(cli: Any, what: str, given: str | Path | dict[str, Any], options: dict[str, Any]) -> Path:
    """``cli.run_command`` with ``--WHAT given`` and the options as flags; the outputs' folder.
    Raises the CLI's :class:`UserInputError`, or RuntimeError when the run did not finish."""
    with _space_file(given, what) as path, _named(path, given):
        argv = [f"--{what}", path] + _flags(cli.build_parser(), options, exclude={what})
        code, outputs = cli.run_command(argv)
    if code != 0 or outputs is None:
        name = "search" if what == "space" else "study"
        raise RuntimeError(f"the {name} ended with exit code {code}; see its output above")
    return outputs


class _space_file:  # noqa: N801 -- a context manager used like a function
    """A path as it is; a dict written to a temporary YAML file (removed afterwards) with its
    relative paths made absolute against the current directory first."""

    def __init__(self, value: str | Path | dict[str, Any], what: str) -> None:
        self.value, self.what, self.folder = value, what, None

    def __enter__(self) -> str:
        if not isinstance(self.value, dict):
            if not isinstance(self.value, (str, Path)):
                raise UserInputError(
                    f"`{self.what}` is a {type(self.value).__name__}, but must be a file path "
                    "or a dict"
                )
            return str(self.value)
        self.folder = tempfile.TemporaryDirectory(prefix=f"tune_flow_{self.what}_")
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", str(self.value.get("name") or self.what))
        path = Path(self.folder.name) / f"{stem}.yaml"
        path.write_text(yaml.safe_dump(_absolute(self.value, Path.cwd()), sort_keys=False))
        return str(path)

    def __exit__(self, *exc: object) -> None:
        if self.folder is not None:
            self.folder.cleanup()


@contextmanager
def _named(path: str, given: Any) -> Iterator[None]:
    """An error about a dict's temporary file names the dict instead."""
    try:
        yield
    except UserInputError as error:
        if not isinstance(given, dict):
            raise
        raise UserInputError(str(error).replace(path, "the dict given")) from None


def _absolute(raw: dict[str, Any], cwd: Path) -> dict[str, Any]:
    """A dict space or spec with ``code``, ``space`` (a file) and ``file.py:Name`` paths made
    absolute against ``cwd``, so writing it elsewhere changes nothing."""
    from tune_flow.import_path import absolute_import_paths
    from tune_flow.space._parse import absolute_import_paths_of_space

    out = absolute_import_paths_of_space(raw, cwd)
    code = out.get("code")
    if isinstance(code, str):
        out["code"] = str((cwd / code).resolve())
    elif isinstance(code, dict) and isinstance(code.get("dir"), str):
        out["code"] = {**code, "dir": str((cwd / code["dir"]).resolve())}
    if isinstance(out.get("space"), str):
        out["space"] = str((cwd / out["space"]).resolve())
    elif isinstance(out.get("space"), dict):
        out["space"] = _absolute(out["space"], cwd)
    if isinstance(out.get("cells"), dict):
        out["cells"] = {
            axis: [next(iter(absolute_import_paths({axis: v}, cwd).values())) for v in values]
            if isinstance(values, list)
            else values
            for axis, values in out["cells"].items()
        }
    return out


def _flags(
    parser: argparse.ArgumentParser, options: dict[str, Any], exclude: set[str]
) -> list[str]:
    """Keyword options as command-line flags; an unknown one is a one-line error naming the
    close matches."""
    actions = {
        a.dest: a for a in parser._actions if a.option_strings and a.dest not in exclude | {"help"}
    }
    argv: list[str] = []
    for key, value in options.items():
        if key not in actions:
            raise UserInputError(
                f"unknown option `{key}`.{suggest(key, actions)} Options: "
                f"{', '.join(sorted(actions))}"
            )
        flag = actions[key].option_strings[-1]
        if isinstance(actions[key], (argparse._StoreTrueAction, argparse._StoreFalseAction)):
            if value:
                argv.append(flag)
        elif isinstance(value, dict):  # set={"lr": 1e-3}
            for name, item in value.items():
                # JSON is YAML: strings, numbers, lists and mappings read back as given.
                argv += [flag, f"{name}={json.dumps(item)}"]  # a string stays a string
        elif isinstance(value, (list, tuple)):
            for item in value:
                argv += [flag, str(item)]
        elif value is not None:
            argv += [flag, str(value)]
    return argv
