"""Config dataclasses to plain dicts and back: the one ``to_dict`` / ``from_dict`` of ``TrainConfig``,
``ModelConfig`` and ``Profile`` (and of any config dataclass nested in them).

``to_dict`` gives JSON-ready values: a nested dataclass becomes a dict, a tuple a list, an enum its value, a
``Path`` its string. ``from_dict`` reads the field types back from the annotations: a list becomes the tuple
the field declares, a dict the nested dataclass, a value the enum. Keys the class does not know (a file
written by a newer version) are ignored and missing keys take the field's default, so files of older and
newer schemas load.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from enum import Enum
from pathlib import PurePath
from typing import Any, Self, TypeVar, Union, get_args, get_origin, get_type_hints

T = TypeVar("T")


def to_dict(obj: Any) -> dict[str, Any]:
    """The fields of the dataclass instance ``obj`` as a JSON-ready dict (nested dataclasses as dicts).

    Raises:
        TypeError: ``obj`` is not a dataclass instance.
    """
    if not is_dataclass(obj) or isinstance(obj, type):
        raise TypeError(f"to_dict needs a dataclass instance, got {type(obj).__name__}")
    return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)}


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return to_dict(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@functools.cache
def field_types(cls: type) -> dict[str, Any]:
    """The resolved field annotations of ``cls`` (strings under ``from __future__ import annotations``)."""
    return get_type_hints(cls)


def from_dict(cls: type[T], data: Mapping[str, Any]) -> T:
    """An instance of the dataclass ``cls`` from ``data`` (as :func:`to_dict` writes it).

    Unknown keys are ignored, missing ones take the field defaults; lists, dicts and plain values are
    converted to the tuple, nested dataclass or enum the field declares.

    Raises:
        TypeError: ``cls`` is not a dataclass, or a field without a default is missing from ``data``.
        Whatever ``cls.__post_init__`` raises for a value it refuses (e.g. ``PgsslError`` from ``Profile``).
    """
    if not (is_dataclass(cls) and isinstance(cls, type)):
        raise TypeError(f"from_dict needs a dataclass, got {cls!r}")
    hints = field_types(cls)
    values = {f.name: _typed(hints[f.name], data[f.name]) for f in fields(cls) if f.init and f.name in data}
    return cls(**values)


def _typed(hint: Any, value: Any) -> Any:
    """``value`` converted to the type ``hint`` names where JSON lost it (tuple, nested dataclass, enum)."""
    if value is None:
        return None
    origin, args = get_origin(hint), get_args(hint)
    if origin is Union or origin is types.UnionType:
        concrete = [a for a in args if a is not type(None)]
        return _typed(concrete[0], value) if len(concrete) == 1 else value
    if is_dataclass(hint) and isinstance(hint, type) and isinstance(value, Mapping):
        return from_dict(hint, value)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint(value)
    if origin is tuple and isinstance(value, list | tuple):
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_typed(args[0], v) for v in value)
        if len(args) == len(value):
            return tuple(_typed(a, v) for a, v in zip(args, value, strict=True))
        return tuple(value)
    if origin is list and isinstance(value, list | tuple):
        return [_typed(args[0], v) for v in value] if args else list(value)
    if origin is dict and isinstance(value, Mapping) and len(args) == 2:
        return {k: _typed(args[1], v) for k, v in value.items()}
    return value


class DictConfig:
    """Mixin for config dataclasses: ``to_dict()`` and ``cls.from_dict(data)`` by :func:`to_dict` /
    :func:`from_dict` (subclasses must be dataclasses)."""

    def to_dict(self) -> dict[str, Any]:
        """The config as a JSON-ready dict (tuples become lists, nested configs dicts)."""
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Rebuild a config from :meth:`to_dict` output; unknown keys (from newer files) are ignored."""
        return from_dict(cls, data)
