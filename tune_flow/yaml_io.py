"""Reading YAML the user wrote (safe loader only) and parsing ``--set key=value`` overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tune_flow.errors import UserInputError


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping: PyYAML keeps the last
    one without a word (``width`` twice: the second wins), so a typo'd copy silently changes a
    search."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:  # type: ignore[override]
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise DuplicateKeyError(key, seen[key], line)
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


class DuplicateKeyError(yaml.YAMLError):
    def __init__(self, key: Any, first: int, second: int) -> None:
        super().__init__(f"key {key!r} appears twice (lines {first} and {second})")
        self.key, self.first, self.second = key, first, second


def load_yaml_mapping(path: str | Path, what: str = "file") -> dict[str, Any]:
    """Load a YAML mapping with ``yaml.safe_load`` (``!!python/...`` tags are refused).

    Raises :class:`UserInputError` for a missing/unreadable/empty file, a YAML syntax error (with
    its line number) or a top level that is not a mapping.
    """
    path = Path(path)
    if not path.exists():
        raise UserInputError(f"{what} {str(path)!r} does not exist")
    if path.is_dir():
        raise UserInputError(f"{what} {str(path)!r} is a directory, not a YAML file")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise UserInputError(f"{what} {str(path)!r} cannot be read: {error}") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)
    except DuplicateKeyError as error:
        raise UserInputError(
            f"{what} {str(path)!r}: key `{error.key}` is given twice (lines {error.first} and "
            f"{error.second}); keep one"
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        if "constructor for the tag" in str(error):
            problem = "tags such as !!python/object are not allowed (safe YAML only)"
        raise UserInputError(f"{what} {str(path)!r} is not valid YAML{where}: {problem}") from None
    if data is None:
        raise UserInputError(f"{what} {str(path)!r} is empty")
    if not isinstance(data, dict):
        raise UserInputError(
            f"{what} {str(path)!r} must hold a mapping of keys to values, not a {type(data).__name__}"
        )
    return data


def parse_overrides(items: list[str] | None) -> dict[str, Any]:
    """``["lr=1e-3", "arch=mlp"]`` -> ``{"lr": "1e-3" -> 0.001, "arch": "mlp"}`` (YAML values)."""
    overrides: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserInputError(f"--set {item!r} must look like key=value (e.g. --set lr=1e-3)")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            raise UserInputError(f"--set {item!r}: the value {raw!r} is not valid YAML") from None
        overrides[key] = value
    return overrides
