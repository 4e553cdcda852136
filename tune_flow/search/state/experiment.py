"""Where a search's files live: Tune's storage (local path or pyarrow URI) and tune_flow's outputs."""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from pathlib import Path

from tune_flow.errors import UserInputError


@dataclass
class ExperimentLocation:
    """Where a search lives: Tune's ``storage`` (a local path or a pyarrow URI such as
    ``s3://bucket/results``), and the local ``outputs`` directory for tune_flow's own files
    (trials.csv, best_config.yaml, report, ASHA rungs): the experiment directory itself when the
    storage is local, else ``./results/<name>`` on the driver."""

    name: str
    storage: str
    outputs: Path

    @property
    def is_local(self) -> bool:
        return "://" not in self.storage

    @property
    def experiment(self) -> str:
        return f"{self.storage.rstrip('/')}/{self.name}"


def experiment_location(args: argparse.Namespace, default_name: str) -> ExperimentLocation:
    """Validate --storage-path and --name; refuse to overwrite or to resume nothing."""
    name = args.name or f"{default_name}-{time.strftime('%Y%m%d-%H%M%S')}"
    if os.sep in name or name in ("", ".", ".."):
        raise UserInputError(f"--name {name!r} must be a plain directory name")
    if "://" in args.storage_path:
        exists = _uri_exists(args.storage_path, name)
        location = ExperimentLocation(name, args.storage_path, Path("results").resolve() / name)
    else:
        storage = Path(args.storage_path).expanduser().resolve()
        try:
            storage.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UserInputError(
                f"--storage-path {str(storage)!r} cannot be created: {error.strerror}"
            ) from None
        if not os.access(storage, os.W_OK):
            raise UserInputError(f"--storage-path {str(storage)!r} is not writable")
        exists = (storage / name).exists()
        location = ExperimentLocation(name, str(storage), storage / name)
    if args.resume and not exists:
        raise UserInputError(f"--resume: no search named {name!r} under {location.storage!r}")
    if not args.resume and exists:
        raise UserInputError(
            f"a search named {name!r} already exists in {location.storage!r}; pass --resume to "
            "continue it or choose another --name (nothing is overwritten)"
        )
    return location


def _uri_exists(uri: str, name: str) -> bool:
    """Whether ``uri/name`` exists, through pyarrow's filesystems (what Ray uses for storage)."""
    import pyarrow.fs

    try:
        filesystem, path = pyarrow.fs.FileSystem.from_uri(uri)
        info = filesystem.get_file_info(f"{path.rstrip('/')}/{name}")
    except Exception as error:  # pyarrow raises ArrowInvalid/OSError variants per scheme
        raise UserInputError(
            f"--storage-path {uri!r} cannot be used: {str(error).splitlines()[0]}"
        ) from None
    return info.type != pyarrow.fs.FileType.NotFound
