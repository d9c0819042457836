"""`Record` and `@record`: frozen dataclasses whose generated methods are written once for all of them.

CPython 3.11 compiles every generated dataclass method with its own `exec`: about 0.1 ms each, and a frozen
dataclass has six (`__init__`, `__repr__`, `__eq__`, `__hash__`, `__setattr__`, `__delattr__`). The model and
the facts declare about seventy on every run's start-up path, so they are most of what dockaudit's own import
costs. `Record` carries the repr, equality, hash and the refusal to be changed, so a class declared

    @record
    class Thing(Record): ...

has one generated method, its `__init__`, and behaves as one declared `@dataclass(frozen=True)`: same repr,
same equality (same class, equal compared fields), same hash (of the compared fields, or those marked
`hash=True`), and assigning or deleting an attribute raises `FrozenInstanceError`. It is still a dataclass
(`fields`, `replace`, `asdict` work) and type checkers see it as a frozen one.

The price is in `__init__`: it sets each field through `Record.__setattr__` (~0.15 us a field more than the
generated frozen `__init__`). Classes made in bulk (a finding, a location, a file of an image) keep
`@dataclass(frozen=True, repr=False, eq=False)` on `Record`: their generated `__setattr__` and `__init__` win.
"""

from __future__ import annotations

import dataclasses
import operator
import reprlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, dataclass_transform

_Getter = Callable[[Any], tuple[Any, ...]]
_R = TypeVar("_R", bound="Record")


def _getter(names: tuple[str, ...]) -> _Getter:
    """The values of `names` as a tuple (as the generated methods build it), one C call for two or more."""
    if len(names) >= 2:
        return operator.attrgetter(*names)
    if names:
        (name,) = names
        return lambda obj: (getattr(obj, name),)
    return lambda obj: ()


class _Layout:
    """What the generated methods of one class would read: its compared, hashed and shown fields."""

    __slots__ = ("compared", "hashed", "shown")

    def __init__(self, cls: type) -> None:
        fields = dataclasses.fields(cls)
        self.compared = _getter(tuple(f.name for f in fields if f.compare))
        self.hashed = _getter(tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash)))
        self.shown = tuple(f.name for f in fields if f.repr)


_LAYOUTS: dict[type, _Layout] = {}


def _layout(cls: type) -> _Layout:
    layout = _LAYOUTS.get(cls)
    if layout is None:
        # Two threads may both build it: the same value, and the dict keeps one.
        layout = _LAYOUTS[cls] = _Layout(cls)
    return layout


class Record:
    """Base of frozen dataclasses declared with `@record` (or `@dataclass(frozen=True, repr=False, eq=False)`):
    their repr, equality and hash, and for `@record` their refusal to be changed."""

    __slots__ = ()

    @reprlib.recursive_repr()
    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in _layout(type(self)).shown)
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        compared = _layout(type(self)).compared
        return bool(compared(self) == compared(other))

    def __hash__(self) -> int:
        return hash(_layout(type(self)).hashed(self))

    if not TYPE_CHECKING:  # type checkers see `@record` classes as frozen dataclasses, unknown names included

        def __setattr__(self, name: str, value: object) -> None:
            # `__init__` sets each field once; after it, every field is in the instance's dict. So a field already
            # there, or a name that is no field, is a change to a made record.
            if name in self.__dict__ or name not in type(self).__dataclass_fields__:
                raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
            object.__setattr__(self, name, value)

        def __delattr__(self, name: str) -> None:
            raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def record(cls: type[_R]) -> type[_R]:
    """Make `cls`, a subclass of `Record`, a dataclass that is frozen by `Record` (see the module's text)."""
    if not issubclass(cls, Record):
        raise TypeError(f"@record needs a subclass of Record, not {cls.__qualname__}")
    return dataclasses.dataclass(cls, repr=False, eq=False)
