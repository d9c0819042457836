"""`Record`: the `__repr__`, `__eq__` and `__hash__` of a frozen dataclass, written once for all of them.

CPython 3.11 compiles these three methods with `exec` for every dataclass: most of the ~1 ms each frozen
dataclass costs at import, and the model and the facts declare about forty on every run's start-up path. A
class declared `@dataclass(frozen=True, repr=False, eq=False)` on `Record` behaves exactly as one declared
`@dataclass(frozen=True)`: same repr, same equality (same class, equal compared fields), same hash (of the
compared fields, or those marked `hash=True`). It is still a dataclass (`fields`, `replace`, `asdict` work).
"""

from __future__ import annotations

import dataclasses
import operator
import reprlib
from collections.abc import Callable
from typing import Any

_Getter = Callable[[Any], tuple[Any, ...]]


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
    """Base of frozen dataclasses declared with `repr=False, eq=False`: their repr, equality and hash."""

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
