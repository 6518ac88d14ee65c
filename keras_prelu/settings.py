"""Typed settings: frozen dataclasses read from TOML or JSON files, checked strictly.

Every recipe's configuration is a frozen dataclass deriving from `Settings`, made of
sections (the run section every task shares, a model section, a data section, ...).
Each field is declared with `setting(default, help, choices=...)`; that one declaration
gives its type, default, command-line flag and help text (`keras_prelu.cli`).

Values are checked strictly, wherever they come from (a file, a flag, Python): an int
field takes an int (`epochs = 2.9` is an error, not 2 epochs), a float field an int or a
float, a bool field a bool (`width = true` is an error, not 1.0), a tuple field a list or
tuple of its element type, a field with choices one of them.

>>> @dataclasses.dataclass(frozen=True)
... class Schedule(Settings):
...     epochs: int = setting(80, "passes over the training set")
>>> Schedule.from_dict({"epochs": 3}).epochs
3
"""

import dataclasses
import json
import math
import re
import types
import typing
from pathlib import Path

import tomllib

FILE_FORMATS = {".toml": "TOML", ".json": "JSON"}
_INTEGER = re.compile(r"[+-]?\d+")


def setting(default, help, *, choices=None):
    """A settings field: its default, a one-line help text and optionally its allowed values."""
    metadata = {"help": help}
    if choices is not None:
        metadata["choices"] = tuple(choices)
    return dataclasses.field(default=default, metadata=metadata)


def field_kind(field):
    """(type, optional) of a settings field: `int | None` gives (int, True)."""
    kind = field.type
    if typing.get_origin(kind) in (types.UnionType, typing.Union):
        members = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        return members[0], True
    return kind, False


class Settings:
    """Base of every settings dataclass: strict checking, loading and saving.

    Subclasses are frozen dataclasses; a section that checks relations between its
    fields defines `__post_init__` and calls `super().__post_init__()` first.
    """

    def __post_init__(self):
        for field in dataclasses.fields(self):
            object.__setattr__(self, field.name, _check(field, getattr(self, field.name)))

    @classmethod
    def from_dict(cls, values, source="the settings"):
        """Builds the settings from a mapping of field names to values.

        Raises:
            ValueError: an unknown name (the message lists the known ones), a value of
                the wrong type or not among its choices, or a section's own check.
        """
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"Unknown setting(s) {unknown} in {source}; known: {sorted(known)}.")
        return cls(**values)

    @classmethod
    def load(cls, path, **overrides):
        """Reads a `.toml` or `.json` file of settings; `overrides` win over the file.

        Raises:
            FileNotFoundError: the file cannot be read.
            ValueError: another format (YAML is not supported), a syntax error, or a bad
                setting (see `from_dict`).
        """
        path = Path(path)
        kind = FILE_FORMATS.get(path.suffix.lower())
        if kind is None:
            raise ValueError(
                f"{path}: settings files must be TOML (.toml) or JSON (.json), not "
                f"{path.suffix or 'a file without extension'!r}; YAML is not supported."
            )
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise FileNotFoundError(f"Cannot read the settings file {path}: {error}") from None
        try:
            values = tomllib.loads(text) if kind == "TOML" else json.loads(text)
        except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"{path} is not valid {kind}: {error}") from None
        if not isinstance(values, dict):
            raise ValueError(
                f"{path} must hold a table of settings, not a {type(values).__name__}.")
        return cls.from_dict({**values, **overrides}, source=str(path))

    def to_dict(self):
        """The settings as JSON-compatible values (tuples as lists)."""
        return {
            field.name: _plain(getattr(self, field.name)) for field in dataclasses.fields(self)
        }

    def replace(self, **changes):
        """A copy with some settings changed (checked like any other)."""
        return dataclasses.replace(self, **changes)


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


def _check(field, value):
    """The value of `field`, checked against its type and choices (lists become tuples)."""
    kind, optional = field_kind(field)
    if value is None:
        if optional:
            return None
        raise ValueError(f"Setting {field.name} must be {_describe(kind)}, not None{_help(field)}")
    if typing.get_origin(kind) is tuple:
        element = typing.get_args(kind)[0]
        if not isinstance(value, (list, tuple)):
            raise ValueError(
                f"Setting {field.name} must be {_describe(kind)}, got {value!r}{_help(field)}")
        try:
            value = tuple(_check_scalar(field, element, item) for item in value)
        except ValueError:
            raise ValueError(
                f"Setting {field.name} must be {_describe(kind)}, got {value!r}{_help(field)}"
            ) from None
    else:
        value = _check_scalar(field, kind, value)
    choices = field.metadata.get("choices")
    if choices is not None and value not in choices:
        raise ValueError(f"Setting {field.name} must be one of {choices}, got {value!r}.")
    return value


def _help(field):
    """The end of a type error: the field's help, which says what it takes."""
    return f": {field.metadata['help']}." if "help" in field.metadata else "."


def _check_scalar(field, kind, value):
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok and not math.isfinite(value):
            raise ValueError(
                f"Setting {field.name} must be a finite number, got {value!r}{_help(field)}")
        value = float(value) if ok else value
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise ValueError(
            f"Setting {field.name} must be {_describe(kind)}, got {value!r}{_help(field)}")
    return value


def parse_text(field, text):
    """A command-line word as the value of `field` (one element for tuple fields)."""
    kind, optional = field_kind(field)
    if optional and text.lower() == "none":
        return None
    if typing.get_origin(kind) is tuple:
        kind = typing.get_args(kind)[0]
    if kind is int:
        if not _INTEGER.fullmatch(text):
            raise ValueError(f"--{flag_name(field)} takes an integer, got {text!r}.")
        return int(text)
    if kind is float:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"--{flag_name(field)} takes a number, got {text!r}.") from None
    return text


def flag_name(field):
    return field.name.replace("_", "-")


def _describe(kind):
    if typing.get_origin(kind) is tuple:
        element = _describe(typing.get_args(kind)[0]).split(" ", 1)[1]  # "an integer" -> "integer"
        return f"a list of {element}s"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(
        kind, getattr(kind, "__name__", str(kind))
    )
