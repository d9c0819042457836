"""The engines one scan covers: `-H`/`--context` (repeatable) and `--all-contexts`, connected concurrently.

An engine that cannot be reached is a value (`EngineFailure`), not the end of the run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import NamedTuple

from dockaudit.engine.client import Engine, connect, list_contexts, resolve_endpoint
from dockaudit.engine.endpoint import Endpoint
from dockaudit.errors import DockauditError
from dockaudit.model import EngineInfo

DEFAULT_ID = "local"
"""The engine id of the default context / platform socket, as the report shows it."""


# NamedTuples, not dataclasses: plain records that a dataclass would cost ~1 ms of start-up each to create.


class EngineSpec(NamedTuple):
    """An engine the user asked for: its id in the report and where it is."""

    id: str
    endpoint: Endpoint
    explicit: bool
    """Named by a flag (`-H`, `--context`, `--all-contexts`); an implicit default engine that is down only matters
    when a target needed it."""
    context: str | None = None
    """The Docker CLI context it was named by, `default` included (the endpoint leaves that one out)."""


class EngineFailure(NamedTuple):
    """An engine that could not be connected."""

    spec: EngineSpec
    message: str

    @property
    def line(self) -> str:
        """`engine prod (ssh://ops@box): cannot connect ...` for the report's errors."""
        return f"engine {self.spec.id} ({self.spec.endpoint.url}): {self.message}"

    @property
    def info(self) -> EngineInfo:
        """An engine entry for the report, without versions."""
        return EngineInfo(
            id=self.spec.id, endpoint=self.spec.endpoint.url, context=self.spec.context or self.spec.endpoint.context
        )


_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._@:-]+")


def engine_id(endpoint: Endpoint, context: str | None = None) -> str:
    """`local` for the default socket, the context name for a context, else the URL without its scheme."""
    if context and context != "default":
        return context
    if endpoint.context and endpoint.context != "default":
        return endpoint.context
    if endpoint.url in ("unix:///var/run/docker.sock", "unix:///run/docker.sock"):
        return DEFAULT_ID
    rest = endpoint.url.split("://", 1)[-1]
    return _ID_UNSAFE.sub("_", rest).strip("_") or DEFAULT_ID


def _unique(specs: Sequence[EngineSpec]) -> list[EngineSpec]:
    out: list[EngineSpec] = []
    seen_urls: set[str] = set()
    used: set[str] = set()
    for spec in specs:
        if spec.endpoint.url in seen_urls:
            continue
        seen_urls.add(spec.endpoint.url)
        ident, n = spec.id, 2
        while ident in used:
            ident, n = f"{spec.id}-{n}", n + 1
        used.add(ident)
        out.append(EngineSpec(ident, spec.endpoint, spec.explicit, spec.context))
    return out


def engine_specs(
    hosts: Sequence[str] = (),
    contexts: Sequence[str] = (),
    *,
    all_contexts: bool = False,
    env: Mapping[str, str] | None = None,
) -> list[EngineSpec]:
    """The engines named by the flags, in flag order; the resolved default engine when none is named."""
    specs: list[EngineSpec] = []
    if all_contexts:
        specs += [EngineSpec(engine_id(ep, name), ep, True, name) for name, ep in list_contexts(env)]
    for name in contexts:
        endpoint = resolve_endpoint(context=name, env=env)
        specs.append(EngineSpec(engine_id(endpoint, name), endpoint, True, name))
    for host in hosts:
        endpoint = resolve_endpoint(host=host, env=env)
        specs.append(EngineSpec(engine_id(endpoint), endpoint, True))
    if not specs:
        endpoint = resolve_endpoint(env=env)
        # The platform socket chosen by default (or by `currentContext: default`) is Docker's "default" context.
        context = endpoint.context or ("default" if endpoint.source in ("default", "context") else None)
        specs.append(EngineSpec(engine_id(endpoint), endpoint, False, context))
    return _unique(specs)


Connector = Callable[[EngineSpec, float], Engine]


def _connect(spec: EngineSpec, timeout: float) -> Engine:
    engine = connect(spec.endpoint, timeout=timeout, engine_id=spec.id)
    if spec.context and engine.info.context is None:
        engine.info = replace(engine.info, context=spec.context)
    return engine


def connect_all(
    specs: Sequence[EngineSpec], *, timeout: float = 10.0, concurrency: int = 4, connector: Connector = _connect
) -> tuple[dict[str, Engine], list[EngineFailure]]:
    """Connect every engine at once (bounded); the connected ones by id and the failures, both in spec order."""

    def attempt(spec: EngineSpec) -> Engine | EngineFailure:
        try:
            return connector(spec, timeout)
        except DockauditError as exc:
            return EngineFailure(spec, str(exc))
        except Exception as exc:  # a transport bug must not end the other engines' audits
            return EngineFailure(spec, f"{type(exc).__name__}: {exc}")

    engines: dict[str, Engine] = {}
    failures: list[EngineFailure] = []
    if not specs:
        return engines, failures
    if len(specs) == 1:
        # The usual run: connected in the caller's thread. A pool's worker would hold the process at exit until its
        # connection times out, so a Ctrl-C while a slow engine is being reached would wait that long.
        outcome = attempt(specs[0])
        if isinstance(outcome, EngineFailure):
            failures.append(outcome)
        else:
            engines[specs[0].id] = outcome
        return engines, failures
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(specs))), thread_name_prefix="connect") as pool:
        for spec, outcome in zip(specs, pool.map(attempt, specs), strict=True):
            if isinstance(outcome, EngineFailure):
                failures.append(outcome)
            else:
                engines[spec.id] = outcome
    return engines, failures
