"""`EngineStart`: a scan's engines connected and its targets looked up in a thread, while the caller loads the
audit's code; what it hands over, what it raises, and that nothing it opened outlives a failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockaudit.engine.fleet import engine_specs
from dockaudit.engine.source import EngineSource, EngineStart
from dockaudit.errors import UsageError
from dockaudit.facts.inventory import ImageSummary
from tests.harness.sshd import SshdInfo

pytestmark = [pytest.mark.docker]


def test_sources_failures_and_the_lookups_are_handed_over(engine_socket: str, base_image: str) -> None:
    seen: dict[str, object] = {}

    def look_up(sources: dict[str, EngineSource], unreachable: list[str]) -> ImageSummary | None:
        seen["unreachable"] = unreachable
        return sources["local"].find_image(base_image)

    # Port 9 on loopback refuses at once: an engine that cannot be reached is a failure, not an error.
    specs = engine_specs([f"unix://{engine_socket}", "tcp://127.0.0.1:9"], env={})
    sources, failures, found = EngineStart(specs, 4, look_up, timeout=5).result()
    try:
        assert list(sources) == ["local"]
        assert [f.spec.id for f in failures] == ["127.0.0.1:9"] and seen["unreachable"] == ["127.0.0.1:9"]
        assert found is not None and found.repo_tags == (base_image,)
    finally:
        for source in sources.values():
            source.close()


@pytest.mark.ssh
def test_a_failed_lookup_is_raised_in_the_callers_thread_and_closes_the_tunnel(
    sshd: SshdInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKAUDIT_SSH_COMMAND", sshd.ssh_command)
    tunnels: list[Path] = []

    def look_up(sources: dict[str, EngineSource], unreachable: list[str]) -> None:
        (source,) = sources.values()
        assert source.engine.tunnel is not None and source.engine.tunnel.directory is not None
        tunnels.append(Path(source.engine.tunnel.directory))
        raise UsageError("nothing named nope:1 on any engine")

    start = EngineStart(engine_specs([sshd.url], env={}), 4, look_up, timeout=10)
    with pytest.raises(UsageError, match="nothing named nope:1"):
        start.result()
    (tunnel,) = tunnels
    assert not tunnel.exists(), "the ssh tunnel of a run that failed to start was left behind"
