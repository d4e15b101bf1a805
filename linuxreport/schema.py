"""Turns parsed YAML into frozen dataclasses, collecting every problem in plain words.

The dataclasses in config.py are the schema: each field's type says what is
expected, its default makes it optional, and ``metadata["doc"]`` documents it.
Extra checks ride on ``typing.Annotated[..., Check(...)]``.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def opt(default: Any, doc: str) -> Any:
    """Declare an optional config key with its default and one line of documentation."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"doc": doc})
    if dataclasses.is_dataclass(default):
        return field(default_factory=lambda: default, metadata={"doc": doc})
    return field(default=default, metadata={"doc": doc})


def req(doc: str) -> Any:
    """Declare a required config key."""
    return field(metadata={"doc": doc})


@dataclass(frozen=True)
class Check:
    """An extra test on an already-typed value: returns an error text, or None when fine."""

    expected: str
    test: Callable[[Any], bool]


@dataclass
class Problems:
    """Errors and warnings found while converting one file."""

    source: str
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def error(self, path: str, message: str) -> None:
        self.errors.append(f"{self.source}: {path}: {message}")

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(f"{self.source}: {path}: {message}")


_MISSING = object()
_PLAIN_NAMES = {str: "text", int: "a whole number", float: "a number", bool: "true or false"}


def show(value: Any) -> str:
    """Describe a found value the way an admin wrote it in YAML."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return str(value)


def describe(tp: Any) -> str:
    """Say in plain words what a type expects."""
    tp, checks = _unwrap(tp)
    if checks:
        return checks[0].expected
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe(a) for a in typing.get_args(tp) if a is not type(None))
    if origin is list:
        return "a list"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return _PLAIN_NAMES.get(tp, getattr(tp, "__name__", str(tp)))


def _unwrap(tp: Any) -> tuple[Any, list[Check]]:
    if typing.get_origin(tp) is typing.Annotated:
        base, *extras = typing.get_args(tp)
        return base, [e for e in extras if isinstance(e, Check)]
    return tp, []


def convert(value: Any, tp: Any, path: str, problems: Problems) -> Any:
    """Return ``value`` converted to ``tp``, or _MISSING after recording why it is not."""
    base, checks = _unwrap(tp)
    if base in _PLAIN_NAMES:  # say what the check wants, not just the bare type
        result = _convert_scalar(value, base, path, problems, describe(tp))
    else:
        result = _convert_base(value, base, path, problems)
    if result is _MISSING:
        return _MISSING
    for check in checks:
        if result is not None and not check.test(result):
            problems.error(path, f"expected {check.expected}, got {show(value)}")
            return _MISSING
    return result


def _convert_base(value: Any, tp: Any, path: str, problems: Problems) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return convert(value, inner, path, problems)
    if origin is list:
        if not isinstance(value, list):
            problems.error(path, f"expected a list, got {show(value)}")
            return _MISSING
        (item_type,) = typing.get_args(tp)
        items = [convert(v, item_type, f"{path}[{i}]", problems) for i, v in enumerate(value)]
        return _MISSING if _MISSING in items else items
    if dataclasses.is_dataclass(tp):
        return build_dataclass(value, tp, path, problems)
    return _convert_scalar(value, tp, path, problems, describe(tp))


def _convert_scalar(value: Any, tp: Any, path: str, problems: Problems,
                    expected: str) -> Any:
    ok = (
        (tp is bool and isinstance(value, bool))
        or (tp is int and isinstance(value, int) and not isinstance(value, bool))
        or (tp is float and isinstance(value, int | float) and not isinstance(value, bool))
        or (tp is str and isinstance(value, str) and value.strip() != "")
    )
    if not ok:
        problems.error(path, f"expected {expected}, got {show(value)}")
        return _MISSING
    return float(value) if tp is float else value


def build_dataclass(data: Any, cls: type, path: str, problems: Problems,
                    extra: dict[str, Any] | None = None) -> Any:
    """Build ``cls`` from a YAML mapping; unknown keys warn, missing required keys are errors."""
    if not isinstance(data, dict):
        problems.error(path or "(top level)", f"expected a mapping, got {show(data)}")
        return _MISSING
    extra = extra or {}
    hints = _type_hints(cls)
    fields = {f.name: f for f in _fields(cls) if f.init and f.name not in extra}
    prefix = f"{path}." if path else ""
    for key in data:
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.warn(f"{prefix}{key}", f"unknown key, ignored{hint}")
    values, broken = dict(extra), False
    for name, f in fields.items():
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                problems.error(f"{prefix}{name}", f"missing; expected {describe(hints[name])}")
                broken = True
            continue
        converted = convert(data[name], hints[name], f"{prefix}{name}", problems)
        broken |= converted is _MISSING
        values[name] = converted
    if broken:
        return _MISSING
    return cls(**values)


# Once per class, not once per feed: resolving the hints costs about half a millisecond.
@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, include_extras=True)


@functools.cache
def _fields(cls: type) -> tuple[dataclasses.Field, ...]:
    return dataclasses.fields(cls)


def is_missing(value: Any) -> bool:
    return value is _MISSING


def reference(cls: type, indent: str = "") -> list[str]:
    """The config reference for ``cls``: one line per key with its type, default and doc."""
    lines = []
    hints = typing.get_type_hints(cls, include_extras=True)
    for f in dataclasses.fields(cls):
        if not f.init or "doc" not in f.metadata:
            continue
        tp = hints[f.name]
        if f.default is not dataclasses.MISSING:
            default = f" (default: {show(f.default)})"
        elif f.default_factory is not dataclasses.MISSING:
            default = ""
        else:
            default = " (required)"
        lines.append(f"{indent}{f.name}: {describe(tp)}{default}. {f.metadata['doc']}")
        inner, _ = _unwrap(tp)
        if typing.get_origin(inner) is list:
            (inner,) = typing.get_args(inner)
            inner, _ = _unwrap(inner)
        if dataclasses.is_dataclass(inner):
            lines.extend(reference(inner, indent + "  "))
    return lines
