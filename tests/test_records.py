"""Every `Record` dataclass has the repr, equality and hash `@dataclass(frozen=True)` would have given it."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from typing import Any

import pytest

import dockaudit.facts
from dockaudit.records import Record

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
    assert params.frozen and not params.repr and not params.eq
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
