"""The user's code folder: on the driver's path now, on every Ray worker's through runtime_env.

``code: my_project`` (or ``code: {dir: my_project, excludes: [data/, "*.ckpt"]}``) in a space or
study file, or ``--code DIR``, names the folder that holds the user's packages. The driver imports
from it (to validate and probe), and the search hands it to Ray as the job's ``runtime_env``
``working_dir``: Ray uploads it once and every worker on every node imports from its copy, so a
multi-node search runs the same code without installing it anywhere.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tune_flow.errors import UserInputError

CODE_KEYS = ("dir", "excludes")


@dataclass(frozen=True)
class CodeFolder:
    """An absolute folder and Ray's gitignore-style ``excludes`` patterns for its upload."""

    path: str
    excludes: tuple[str, ...] = ()

    def activate(self) -> None:
        """Put the folder first on this process's import path (once)."""
        if self.path not in sys.path:
            sys.path.insert(0, self.path)

    def runtime_env(self) -> dict[str, Any]:
        """Ray's job-level ``runtime_env`` that ships the folder to every worker."""
        return {"working_dir": self.path, "excludes": list(self.excludes)}


def parse_code(raw: Any, base_dir: Path, where: str = "`code`") -> CodeFolder:
    """A ``code:`` value (a path, or ``{dir, excludes}``), relative to ``base_dir``; raises
    :class:`UserInputError` for a missing folder or a malformed value."""
    excludes: list[Any] = []
    if isinstance(raw, dict):
        unknown = [k for k in raw if k not in CODE_KEYS]
        if unknown:
            raise UserInputError(f"unknown key {where}.{unknown[0]}; valid: dir, excludes")
        excludes = raw.get("excludes") or []
        raw = raw.get("dir")
        if not isinstance(excludes, list) or not all(isinstance(e, str) for e in excludes):
            raise UserInputError(f"{where}.excludes must be a list of patterns such as data/")
    if not isinstance(raw, str) or not raw:
        raise UserInputError(
            f"{where} must be a folder, or {{dir: FOLDER, excludes: [PATTERN, ...]}}"
        )
    folder = (base_dir / Path(raw).expanduser()).resolve()
    if not folder.is_dir():
        raise UserInputError(f"{where}: the folder {str(folder)!r} does not exist")
    return CodeFolder(str(folder), tuple(excludes))


def unshipped_code(space_values: list[Any]) -> list[str]:
    """Notes for import paths among ``space_values`` that other nodes of a cluster may lack when
    no code folder is shipped: modules imported from outside the installed packages, and files
    by path. (Imported already: the space was validated.)"""
    import sysconfig

    from tune_flow.import_path import is_import_path

    installed = {Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib")}
    notes: dict[str, None] = {}  # ordered, each note once
    for value in dict.fromkeys(v for v in space_values if is_import_path(v)):
        module_name = value.split(":", 1)[0]
        if module_name.endswith(".py"):
            notes[f"{value!r} is a file: every node needs it at that path"] = None
            continue
        module = sys.modules.get(module_name.split(".")[0])
        file = getattr(module, "__file__", None)
        if file is None or any(root in Path(file).resolve().parents for root in installed):
            continue
        top = Path(file).resolve().parent
        folder = top.parent if Path(file).name == "__init__.py" else top
        notes[
            f"{module_name.split('.')[0]!r} is imported from {str(folder)!r}, which other nodes "
            f"may not have: ship it with `code: {folder}` in the space (or --code)"
        ] = None
    return list(notes)
