"""`LazyPattern` matches as `re.compile` would, compiling at first use; `computed_once` computes a value once."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from dockaudit.lazy_pattern import LazyPattern
from dockaudit.once import computed_once

TEXT = "user=alice PASSWORD=hunter2 token=abc"


def test_a_lazy_pattern_matches_as_the_compiled_one() -> None:
    source, flags = r"(?P<name>[a-z]+)=(?P<value>\w+)", re.IGNORECASE
    lazy, eager = LazyPattern(source, flags), re.compile(source, flags)
    assert lazy.search(TEXT).group(0) == eager.search(TEXT).group(0) == "user=alice"  # type: ignore[union-attr]
    assert lazy.match(TEXT, 11).groupdict() == {"name": "PASSWORD", "value": "hunter2"}  # type: ignore[union-attr]
    assert lazy.fullmatch("token=abc") is not None and lazy.fullmatch(TEXT) is None
    assert [m.span() for m in lazy.finditer(TEXT)] == [m.span() for m in eager.finditer(TEXT)]
    assert lazy.split(TEXT) == eager.split(TEXT)
    assert lazy.sub(lambda m: m["name"], TEXT) == "user PASSWORD token" == lazy.sub(r"\g<name>", TEXT)
    assert lazy.compiled is lazy.compiled and lazy.compiled.flags == eager.flags
    assert lazy.pattern == source


def test_a_lazy_pattern_is_compiled_at_first_use_not_when_declared() -> None:
    broken = LazyPattern("(unbalanced")  # a module declaring it still imports
    with pytest.raises(re.error):
        broken.search("text")


def test_computed_once_computes_each_value_once_for_threads_that_ask_together() -> None:
    calls: list[str] = []
    together = threading.Barrier(4)

    @computed_once
    def table(name: str) -> tuple[str, int]:
        calls.append(name)
        time.sleep(0.2)  # the other threads ask while this one computes
        return name, len(calls)

    def ask(_: int) -> tuple[str, int]:
        together.wait()
        return table("known")

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(ask, range(4)))
    assert calls == ["known"] and answers == [("known", 1)] * 4
    assert table("other") == ("other", 2) and table("known") == ("known", 1) and calls == ["known", "other"]
