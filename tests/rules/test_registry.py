"""The registry holds the whole DA1xx/DA2xx catalog with complete, consistent metadata."""

from __future__ import annotations

import re

from dockaudit.model import Severity
from dockaudit.rules import load_all
from dockaudit.rules.registry import RULES, Scope, Section

# id -> (slug, severity, references) exactly as the catalog's table lists them.
CATALOG: dict[str, tuple[str, Severity, tuple[str, ...]]] = {
    "DA101": ("root-user", Severity.HIGH, ('seed "Run as non-root"', "CIS 4.1", "CIS-DI-0001", "DS-0002", "DL3002")),
    "DA102": ("no-healthcheck", Severity.MEDIUM, ('seed "HEALTHCHECK"', "CIS 4.6", "CIS-DI-0006", "DS-0026")),
    "DA103": ("shell-form-command", Severity.MEDIUM, ('seed "STOPSIGNAL and PID 1"', "DL3025")),
    "DA104": (
        "secret-in-env",
        Severity.CRITICAL,
        ('seed "Never bake secrets in"', "CIS 4.10", "CIS-DI-0010", "DS-0031"),
    ),
    "DA105": ("secret-in-label", Severity.HIGH, ("CIS-DI-0010",)),
    "DA106": ("mutable-tag", Severity.MEDIUM, ('seed "Pin tags, never latest"', "DKL-DI-0006")),
    "DA107": ("no-repo-digest", Severity.LOW, ('seed "Use digests in production"',)),
    "DA108": ("no-provenance-labels", Severity.LOW, ('seed "Built from a Dockerfile in version control"',)),
    "DA109": ("ssh-port-exposed", Severity.MEDIUM, ("CIS 5.7 (image side)",)),
    "DA110": ("privileged-port-exposed", Severity.INFO, ("CIS 5.8",)),
    "DA111": ("stop-signal-kill", Severity.LOW, ('seed "STOPSIGNAL"',)),
    "DA112": ("heavy-base", Severity.MEDIUM, ('seed "Mind the base image"',)),
    "DA113": ("single-arch", Severity.INFO, ('seed "Multi-arch builds"',)),
    "DA114": ("sensitive-volume", Severity.MEDIUM, ("DKL-DI-0002",)),
    "DA115": ("stale-image", Severity.MEDIUM, ("CIS 4.4",)),
    "DA116": ("non-numeric-user", Severity.LOW, ("DL3066",)),
    "DA201": ("secret-in-build-arg", Severity.CRITICAL, ('seed "--build-arg is recoverable"', "DS-0031")),
    "DA202": ("secret-in-run", Severity.HIGH, ("CIS 4.10",)),
    "DA203": ("add-instead-of-copy", Severity.LOW, ("CIS 4.9", "CIS-DI-0009", "DS-0005", "DL3020")),
    "DA204": ("add-remote-url", Severity.MEDIUM, ("DS-0005", "DL3020")),
    "DA205": ("update-alone", Severity.LOW, ("CIS 4.7", "CIS-DI-0007", "DS-0017")),
    "DA206": ("upgrade-in-build", Severity.LOW, ("DKL-DI-0003", "DS-0024")),
    "DA207": ("package-cache-kept", Severity.LOW, ("DKL-DI-0004/0005", "DL3009", "DL3019", "DL3042", "DS-0015")),
    "DA208": ("no-install-recommends", Severity.LOW, ("DL3015",)),
    "DA209": ("sudo-used", Severity.MEDIUM, ("DKL-DI-0001", "DS-0010", "DL3004")),
    "DA210": ("curl-pipe-shell", Severity.MEDIUM, ("DL4006 (related)",)),
    "DA211": ("committed-layer", Severity.MEDIUM, ('seed "no docker commit"',)),
    "DA212": ("unpinned-packages", Severity.INFO, ("DL3008", "DL3018", "DL3013")),
    "DA213": ("world-writable-chmod", Severity.LOW, ()),
    "DA214": (
        "package-signature-bypass",
        Severity.MEDIUM,
        ("CKV2_DOCKER_4", "CKV2_DOCKER_7", "CKV2_DOCKER_8", "CKV2_DOCKER_9", "CKV2_DOCKER_10"),
    ),
    "DA215": ("ssh-root-login", Severity.HIGH, ("CIS 5.7",)),
}


def test_every_image_and_history_rule_matches_the_catalog() -> None:
    load_all()
    ours = {rid: r for rid, r in RULES.items() if rid.startswith(("DA1", "DA2"))}
    assert set(ours) == set(CATALOG)
    for rid, (slug, severity, refs) in CATALOG.items():
        rule = ours[rid]
        assert (rule.slug, rule.severity, rule.references) == (slug, severity, refs), rid
        assert rule.scope is (Scope.IMAGE if rid.startswith("DA1") else Scope.HISTORY), rid


def test_every_rule_has_complete_metadata() -> None:
    load_all()
    sections = {s.value for s in Section}
    for rule in RULES.values():
        assert re.fullmatch(r"DA[1-7]\d\d", rule.id), rule.id
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.slug), rule.id
        assert rule.title and not rule.title[0].islower(), rule.id
        assert str(rule.section) in sections, rule.id
        sentences = len(re.findall(r"[.!?](?:\s|$)", rule.rationale.strip()))
        fewest = 2 if rule.id.startswith(("DA1", "DA2")) else 1
        assert fewest <= sentences <= 3, (rule.id, rule.rationale)
        assert callable(rule.check) and callable(rule.fix)


def test_slugs_are_unique() -> None:
    load_all()
    slugs = [r.slug for r in RULES.values()]
    assert len(slugs) == len(set(slugs))
