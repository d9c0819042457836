"""DA3xx on the real fixture images: every planted filesystem flaw is found, the good image is clean."""

from __future__ import annotations

import docker
import pytest

from dockaudit.config import Settings, Thresholds
from dockaudit.engine.collect import collect_image
from dockaudit.facts.image import ImageFacts
from dockaudit.model import Finding, Origin, Status
from dockaudit.rules import load_all
from dockaudit.rules.registry import RuleContext, Scope, evaluate
from tests.fixtures import planted
from tests.rules import fixtures_b
from tests.rules.conftest import make_ctx

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def bad_facts(docker_client: docker.DockerClient, bad_image: str) -> ImageFacts:
    return collect_image(docker_client, bad_image)


@pytest.fixture(scope="module")
def good_facts(docker_client: docker.DockerClient, good_image: str) -> ImageFacts:
    return collect_image(docker_client, good_image)


@pytest.fixture(scope="module")
def extra_facts(docker_client: docker.DockerClient, base_image: str) -> ImageFacts:
    return collect_image(docker_client, fixtures_b.build_extra(docker_client, base_image))


def filesystem_findings(facts: ImageFacts, ctx: RuleContext | None = None) -> dict[str, list[Finding]]:
    load_all()
    found, _ = evaluate([Scope.FILESYSTEM], facts, ctx or make_ctx())
    by_rule: dict[str, list[Finding]] = {}
    for finding in found:
        by_rule.setdefault(finding.rule_id, []).append(finding)
    return by_rule


def evidence(found: dict[str, list[Finding]], rule_id: str) -> str:
    assert rule_id in found, f"{rule_id} not reported; got {sorted(found)}"
    assert all(f.status is Status.FAIL for f in found[rule_id])
    return " | ".join(f.evidence for f in found[rule_id])


def test_bad_image_planted_filesystem_flaws(bad_facts: ImageFacts) -> None:
    found = filesystem_findings(bad_facts)
    assert "/usr/local/bin/suid-helper (4755)" in evidence(found, "DA301")
    assert "/app/deploy_key.pem" in evidence(found, "DA302")
    deleted = evidence(found, "DA303")
    assert "/app/.aws/credentials" in deleted and "/root/.ssh/id_rsa" in deleted
    assert "/var/lib/apt/lists/" in evidence(found, "DA304")
    assert "/app/.git" in evidence(found, "DA305")
    assert "root has an empty password" in evidence(found, "DA309")
    assert "UID 0 is used twice" in evidence(found, "DA310")
    writable = evidence(found, "DA311")
    assert "/app/data.txt (0666)" in writable and "/app/shared (0777)" in writable
    assert all(f.origin is Origin.USER for f in found["DA301"])


def test_bad_image_findings_leak_no_planted_secret(bad_facts: ImageFacts) -> None:
    planted.assert_no_planted_secret(repr(filesystem_findings(bad_facts)))


def test_extra_image_planted_filesystem_flaws(extra_facts: ImageFacts) -> None:
    ctx = make_ctx(Settings(thresholds=Thresholds(wasted_min_mb=1)))
    found = filesystem_findings(extra_facts, ctx)
    assert "/app/.env" in evidence(found, "DA302")
    assert "/root/.cache/pip/" in evidence(found, "DA304")
    tools = evidence(found, "DA306")
    assert "/usr/bin/gcc-12" in tools and "/usr/bin/make" in tools and "cc1" in tools
    assert "/usr/sbin/sshd" in evidence(found, "DA307")
    assert "/usr/bin/redis-server" in evidence(found, "DA308")
    assert "2097152 bytes" in evidence(found, "DA312")
    leftovers = evidence(found, "DA313")
    for path in ("/app/.DS_Store", "/app/.server.sh.swp", "/app/tests", "/app/__pycache__"):
        assert path in leftovers
    assert "/usr/bin/apt-get" in evidence(found, "DA314")
    assert fixtures_b.DOTENV_PASSWORD not in repr(found)


def test_wasted_space_below_default_threshold_passes(extra_facts: ImageFacts) -> None:
    assert "DA312" not in filesystem_findings(extra_facts)


def test_good_image_has_no_filesystem_failure(good_facts: ImageFacts) -> None:
    # BusyBox's rpm/dpkg applets are not package managers, so DA314 does not fire on this base either.
    found = filesystem_findings(good_facts)
    assert {rid: [f.evidence for f in fs] for rid, fs in found.items()} == {}


def test_layers_not_read_are_skipped(docker_client: docker.DockerClient, good_image: str) -> None:
    facts = collect_image(docker_client, good_image, read_layers=False)
    found = filesystem_findings(facts)
    assert len(found) == 14
    assert all(f.status is Status.SKIPPED and f.evidence for fs in found.values() for f in fs)
