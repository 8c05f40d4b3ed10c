"""Command-line flags from a config dataclass's own fields, and back: the parser, the config a parsed
command line gives, and the flags that reproduce a config (for a command the app shows to copy).

Each field says how it appears on a command line in its metadata (``field(..., metadata=flag(...))``): its
help text, and where the flag differs from ``--<field-name>`` or from the field's value, how. The argparse
``dest`` is the flag's own name (``--time-budget`` -> ``args.time_budget``), so the parsed namespace reads as
the flags do, and :func:`config_from_args` applies the conversions. A field without a flag is an error when
the parser is built, so a new field cannot be forgotten by the command line.

A value check that lives in a higher layer (the CLI's argument types, :mod:`pgssl_core.cli.arg_types`) is
named by ``check`` and looked up in the ``types`` the caller passes.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, Field, dataclass, fields
from typing import Any, TypeVar, Union, get_args, get_origin

from pgssl_core.io.dataclass_dict import field_types

T = TypeVar("T")
CLI_KEY = "cli"  # the metadata key holding a field's :class:`Flag`


@dataclass(frozen=True)
class Flag:
    """How one config field appears on a command line.

    ``name``: the flag (default ``--<field-name>`` with dashes). ``negate``: a boolean field that is True by
    default and switched off by the flag (``--no-...``). ``choices``: allowed values, or a function giving
    them when the parser is built. ``check``: the name of an argparse type in the caller's ``types``.
    ``to_field`` / ``to_flag``: the field's value from the flag's and back (e.g. minutes and seconds);
    ``to_flag`` returning None leaves the flag out.
    """

    help: str
    name: str | None = None
    metavar: str | None = None
    choices: Sequence[str] | Callable[[], Sequence[str]] | None = None
    check: str | None = None
    negate: bool = False
    to_field: Callable[[Any], Any] | None = None
    to_flag: Callable[[Any], Any] | None = None


def flag(help: str, **kwargs: Any) -> dict[str, Flag]:
    """Field metadata for a field with a command-line flag: ``field(default=..., metadata=flag("..."))``."""
    return {CLI_KEY: Flag(help, **kwargs)}


def _spec(cls: type, f: Field[Any]) -> Flag:
    spec = f.metadata.get(CLI_KEY)
    if not isinstance(spec, Flag):
        raise TypeError(f"{cls.__name__}.{f.name} has no command-line flag: give it metadata=flag(...)")
    return spec


def flag_name(f: Field[Any], spec: Flag) -> str:
    """The flag of field ``f`` (``--<field-name>`` unless ``spec.name`` says otherwise)."""
    return spec.name or "--" + f.name.replace("_", "-")


def _dest(name: str) -> str:
    return name.lstrip("-").replace("-", "_")


def _default(f: Field[Any]) -> Any:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return None


def _scalar_type(hint: Any) -> Callable[[str], Any]:
    """The argparse type of a field annotated ``hint``: int, float or str (``X | None`` as X)."""
    if get_origin(hint) in (Union, type(int | None)):
        concrete = [a for a in get_args(hint) if a is not type(None)]
        hint = concrete[0] if len(concrete) == 1 else str
    return hint if hint in (int, float, str) else str


def add_config_arguments(parser: argparse.ArgumentParser, cls: type,
                         types: Mapping[str, Callable[[str], Any]] | None = None) -> None:
    """Add one flag per field of the dataclass ``cls`` to ``parser`` (help, choices and default from the field).

    Raises:
        TypeError: a field has no :class:`Flag`, or names a ``check`` missing from ``types``.
    """
    hints = field_types(cls)
    for f in fields(cls):
        spec = _spec(cls, f)
        name = flag_name(f, spec)
        if spec.negate:
            parser.add_argument(name, action="store_true", help=spec.help)
            continue
        if spec.check is not None and spec.check not in (types or {}):
            raise TypeError(f"{cls.__name__}.{f.name}: no argument type {spec.check!r} given")
        kind = (types or {})[spec.check] if spec.check is not None else _scalar_type(hints[f.name])
        default = _default(f)
        choices = spec.choices() if callable(spec.choices) else spec.choices
        parser.add_argument(name, type=kind, default=spec.to_flag(default) if spec.to_flag else default,
                            metavar=spec.metavar, help=spec.help, choices=list(choices) if choices else None)


def config_from_args(cls: type[T], args: argparse.Namespace) -> T:
    """The ``cls`` config the parsed flags of :func:`add_config_arguments` give (a flag left out: the default)."""
    values: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]  # cls is a dataclass
        spec = _spec(cls, f)
        given = getattr(args, _dest(flag_name(f, spec)), None)
        if spec.negate:
            if given:
                values[f.name] = False
        elif given is not None:
            values[f.name] = spec.to_field(given) if spec.to_field else given
    return cls(**values)


def config_to_args(config: Any) -> list[str]:
    """The flags that make :func:`config_from_args` give ``config`` again (None values left out)."""
    args: list[str] = []
    for f in fields(config):
        spec = _spec(type(config), f)
        value = getattr(config, f.name)
        if spec.negate:
            args += [flag_name(f, spec)] if not value else []
            continue
        shown = spec.to_flag(value) if spec.to_flag else value
        if shown is not None:
            args += [flag_name(f, spec), str(shown)]
    return args
