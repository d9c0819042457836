"""`computed_once`: `functools.cache` for the tables every audit worker needs at its first target.

`functools.cache` lets threads that miss at the same moment all compute the value; the audit's workers start
together, so each would parse the known-images table or the end-of-life snapshot again (~1-2 ms of CPU each,
on a process whose run time is its CPU time). Here the first caller computes and the others wait for it.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar, cast

_P = ParamSpec("_P")
_T = TypeVar("_T")


def computed_once(fn: Callable[_P, _T]) -> Callable[_P, _T]:
    """`fn` cached by its (hashable) arguments, each value computed by one thread while others wait."""
    # Typed as `fn`: the arguments must also be hashable, as for `functools.cache`.
    cached = cast("Callable[_P, _T]", functools.cache(fn))
    lock = threading.Lock()

    @functools.wraps(fn)
    def once(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        with lock:
            return cached(*args, **kwargs)

    return once
