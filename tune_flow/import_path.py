"""User code by import path: ``package.module:Name`` or ``path/to/file.py:Name``.

Wherever tune_flow takes the name of a network (``arch``), a flow (``flow``) or a dataset
(``dataset``, ``source``), it also takes an import path, as Hydra's ``_target_`` and Ray Tune's
"any function is a trainable" do. The registries of the built-ins live beside their contracts
(:mod:`tune_flow.models`, :mod:`tune_flow.training.flows`, :mod:`tune_flow.data`); this module
only turns a string into the object it names, with one-line errors that name the path.

A file path is relative to the file that names it (space, study spec, config); the parsers make it
absolute with :func:`absolute_import_path` so it survives Ray running trials in their own folder.
On a multi-node cluster the file must exist on every node: use ``package.module:Name`` with
``code:`` (the folder is shipped to every worker by Ray's ``runtime_env``) there.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tune_flow.errors import UserInputError, one_of, suggest

PAIR_SEPARATOR = "->"  # "source->target" datasets: each side is a name, a file or an import path
# package.module:Name (dotted module, one attribute name) or some/file.py:Name.
_MODULE_PATH = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w.]*$")
_FILE_PATH = re.compile(r"^(?P<file>.+\.py):(?P<name>[A-Za-z_][\w.]*)$")


def is_import_path(value: object) -> bool:
    """True for ``package.module:Name`` and ``path/to/file.py:Name``; False for built-in names
    and data files."""
    return isinstance(value, str) and bool(_FILE_PATH.match(value) or _MODULE_PATH.match(value))


def absolute_import_path(value: Any, base_dir: Path) -> Any:
    """``file.py:Name`` with a relative file made absolute against ``base_dir``; anything else is
    returned as it is."""
    if not isinstance(value, str):
        return value
    if PAIR_SEPARATOR in value:  # "source->target": each side on its own
        return PAIR_SEPARATOR.join(
            absolute_import_path(part.strip(), base_dir) for part in value.split(PAIR_SEPARATOR)
        )
    match = _FILE_PATH.match(value)
    if match is None or Path(match["file"]).is_absolute():
        return value
    return f"{(base_dir / match['file']).resolve()}:{match['name']}"


# Config fields that take an import path.
IMPORT_PATH_FIELDS = ("arch", "flow", "dataset", "source", "aug")


def absolute_import_paths(values: Mapping[str, Any], base_dir: Path) -> dict[str, Any]:
    """``values`` (config fields) with each relative ``file.py:Name`` of
    :data:`IMPORT_PATH_FIELDS` made absolute against ``base_dir``."""
    return {
        key: absolute_import_path(value, base_dir) if key in IMPORT_PATH_FIELDS else value
        for key, value in values.items()
    }


def resolve(value: str, field: str, registry: Mapping[str, Any]) -> Any:
    """The object ``value`` names: a key of ``registry`` (the built-ins) or an import path.

    Raises :class:`UserInputError` (one line naming ``field`` and the path) for an unknown
    built-in name, a module that does not import (with the import error's own message), a missing
    attribute (with close matches).
    """
    if value in registry:
        return registry[value]
    if not is_import_path(value):
        raise UserInputError(
            f"The value of `{field}` is {value!r}, but must be {one_of(registry)} or an import "
            f"path such as my_package.module:Name or path/to/file.py:Name."
            f"{suggest(str(value), registry)}"
        )
    return _load(value, field)


def _load(value: str, field: str) -> Any:
    file_match = _FILE_PATH.match(value)
    if file_match is not None:
        module = _module_from_file(Path(file_match["file"]), field, value)
        attribute = file_match["name"]
    else:
        module_name, attribute = value.split(":", 1)
        module = _import_module(module_name, field, value)
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            names = [n for n in dir(target) if not n.startswith("_")]
            raise UserInputError(
                f"`{field}` {value!r}: {getattr(module, '__name__', module)} has no attribute "
                f"{part!r}.{suggest(part, names)}"
            )
        target = getattr(target, part)
    return target


def _import_module(name: str, field: str, value: str) -> Any:
    try:
        return importlib.import_module(name)
    except Exception as error:  # the user's module may raise anything while it is imported
        raise UserInputError(
            f"`{field}` {value!r}: cannot import {name!r}: {type(error).__name__}: {error}"
            + (
                " (is its folder on the path? give it with `code:` in the space or --code DIR)"
                if isinstance(error, ModuleNotFoundError)
                else ""
            )
        ) from None


def _module_from_file(path: Path, field: str, value: str) -> Any:
    """Import a file by path once per process, under a name made from the path (two files of the
    same name in different folders stay apart)."""
    if not path.is_file():
        raise UserInputError(f"`{field}` {value!r}: the file {str(path)!r} does not exist")
    key = "tune_flow_user_" + re.sub(r"\W", "_", str(path.resolve()))
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module  # before exec: dataclasses and pickling look the module up
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[key]
        raise UserInputError(
            f"`{field}` {value!r}: importing {str(path)!r} failed: {type(error).__name__}: {error}"
        ) from None
    return module


def check_callable(target: Any, field: str, value: str) -> Callable[..., Any]:
    """``target`` itself, refused in one line unless it can be called."""
    if not callable(target):
        raise UserInputError(
            f"`{field}` {value!r} is a {type(target).__name__}, but must be callable "
            "(a class or a function)"
        )
    return target


def check_keywords(
    target: Callable[..., Any],
    keywords: Mapping[str, Any],
    field: str,
    value: str,
    reserved: tuple[str, ...] = (),
) -> None:
    """Refuse keyword arguments ``target``'s signature does not take (unless it takes
    ``**kwargs``), naming the closest ones it does, and the ``reserved`` ones tune_flow passes
    itself (a network's ``shape``, a dataset's ``n_samples`` and ``seed``)."""
    for key in keywords:
        if key in reserved:
            raise UserInputError(
                f"`{field}.{key}`: tune_flow passes {key!r} to {value!r} itself; set it "
                "elsewhere (the data's shape, `n_samples`, `data_seed`)"
            )
    accepted = accepted_keywords(target)
    if accepted is None:
        return
    accepted -= set(reserved)
    for key in keywords:
        if key not in accepted:
            raise UserInputError(
                f"`{field}.{key}`: {value!r} takes no argument {key!r}.{suggest(key, accepted)} "
                f"It takes: {', '.join(sorted(accepted)) or 'none'}"
            )


def accepted_keywords(target: Callable[..., Any]) -> set[str] | None:
    """The keyword names ``target`` accepts, or None when it takes ``**kwargs`` (or has no
    signature Python can read)."""
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return {
        p.name
        for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }
