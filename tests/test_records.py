"""Every `Record` dataclass has the repr, equality, hash and immutability of a `@dataclass(frozen=True)`."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from typing import Any

import pytest

import dockaudit.facts
from dockaudit.records import Record, record

MODULES = [
    "dockaudit.model",
    "dockaudit.secrets",
    "dockaudit.config",
    "dockaudit.audit_options",
    "dockaudit.errors",
    "dockaudit.targets",
    "dockaudit.parse.history",
    "dockaudit.scanners.trivy_options",
    "dockaudit.rules.registry",
    "dockaudit.rules.eol",
    "dockaudit.rules.shell",
    *(f"dockaudit.facts.{m.name}" for m in pkgutil.iter_modules(dockaudit.facts.__path__)),
]


def record_classes() -> list[type[Record]]:
    found: list[type[Record]] = []
    for name in MODULES:
        module = importlib.import_module(name)
        found += [
            c
            for c in vars(module).values()
            if isinstance(c, type) and issubclass(c, Record) and c.__module__ == name and dataclasses.is_dataclass(c)
        ]
    return found


def twin_of(cls: type) -> type:
    """The same fields (repr, compare and hash flags included) under a plain `@dataclass(frozen=True)`."""
    twin = dataclasses.make_dataclass(
        cls.__name__,
        [
            (f.name, Any, dataclasses.field(default=None, repr=f.repr, compare=f.compare, hash=f.hash))
            for f in dataclasses.fields(cls)
        ],
        frozen=True,
    )
    twin.__qualname__ = cls.__qualname__
    return twin


def made(cls: type, values: dict[str, Any]) -> Any:
    obj = object.__new__(cls)
    for name, value in values.items():
        object.__setattr__(obj, name, value)
    return obj


CLASSES = record_classes()


def test_the_model_and_the_facts_are_records() -> None:
    assert len(CLASSES) >= 65
    assert {"Finding", "TargetResult", "Report", "ImageFacts", "ContainerFacts"} <= {c.__name__ for c in CLASSES}


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_repr_equality_and_hash_match_a_generated_dataclass(cls: type) -> None:
    params = cls.__dataclass_params__  # type: ignore[attr-defined]
    assert not params.repr and not params.eq
    twin = twin_of(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    values = {name: ("value", i) for i, name in enumerate(names)}
    ours, theirs = made(cls, values), made(twin, values)
    assert repr(ours) == repr(theirs)
    assert hash(ours) == hash(theirs)
    assert ours == made(cls, values)
    assert ours.__eq__(theirs) is NotImplemented and theirs.__eq__(ours) is NotImplemented
    for name in names:
        changed = {**values, name: ("other", name)}
        assert (ours == made(cls, changed)) == (theirs == made(twin, changed)), name
        assert (hash(ours) == hash(made(cls, changed))) == (hash(theirs) == hash(made(twin, changed))), name


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_a_made_record_refuses_changes(cls: type) -> None:
    names = [f.name for f in dataclasses.fields(cls)]
    made_one = made(cls, {name: ("value", i) for i, name in enumerate(names)})
    for name in [*names, "not_a_field"]:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(made_one, name, "changed")
        with pytest.raises(dataclasses.FrozenInstanceError):
            delattr(made_one, name)
    assert [getattr(made_one, name) for name in names] == [("value", i) for i in range(len(names))]


@record
class _Pair(Record):
    left: str
    right: tuple[str, ...] = dataclasses.field(default=())


def test_record_builds_through_init_then_freezes() -> None:
    pair = _Pair("a", ("b",))
    assert (pair.left, pair.right) == ("a", ("b",))
    assert _Pair("a") == _Pair("a", ()) and _Pair("a") != _Pair("b")
    assert dataclasses.replace(pair, left="c") == _Pair("c", ("b",))
    assert dataclasses.asdict(pair) == {"left": "a", "right": ("b",)}
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'left'"):
        pair.left = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'right'"):
        del pair.right  # type: ignore[misc]
    assert pair == _Pair("a", ("b",))


def test_record_needs_a_record_base() -> None:
    class Plain:
        name: str

    with pytest.raises(TypeError, match="subclass of Record"):
        record(Plain)  # type: ignore[type-var]


def test_the_record_classes_made_in_bulk_keep_the_generated_frozen_methods() -> None:
    # Findings, their locations and an image's files are made by the thousand: the generated `__init__` sets
    # fields faster than `Record.__setattr__` does.
    bulk = {c.__name__ for c in CLASSES if c.__dataclass_params__.frozen}  # type: ignore[attr-defined]
    assert bulk == {"Finding", "Location", "Fix", "Hit", "Cycle", "FileFact"}
    assert all("__setattr__" not in vars(c) for c in CLASSES if c.__name__ not in bulk)
