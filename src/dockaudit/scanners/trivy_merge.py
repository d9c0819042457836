"""One finding per problem: Trivy checks that repeat a dockaudit rule fold into the dockaudit finding."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from dockaudit.model import Finding, Source, Status

# Trivy Dockerfile check -> the dockaudit rules that report the same problem (rule catalog refs, plus
# DS-0004/DA109, DS-0029/DA208, DS-0019/DS-0025/DA207, which the catalog's wording covers too).
EQUIVALENTS: dict[str, frozenset[str]] = {
    "DS-0001": frozenset({"DA603"}),
    "DS-0002": frozenset({"DA101", "DA606"}),
    "DS-0004": frozenset({"DA109"}),
    "DS-0005": frozenset({"DA203", "DA204"}),
    "DS-0010": frozenset({"DA209"}),
    "DS-0015": frozenset({"DA207"}),
    "DS-0017": frozenset({"DA205"}),
    "DS-0019": frozenset({"DA207"}),
    "DS-0024": frozenset({"DA206"}),
    "DS-0025": frozenset({"DA207"}),
    "DS-0026": frozenset({"DA102", "DA608"}),
    "DS-0029": frozenset({"DA208"}),
    "DS-0031": frozenset({"DA104", "DA201", "DA605"}),
}

CONFIG_SECRET_EQUIVALENTS = frozenset({"DA104", "DA105"})
"""A secret Trivy finds in the image config (ENV, labels) is what DA104/DA105 report."""


def _partners(trivy: Finding) -> frozenset[str] | None:
    if trivy.source is Source.TRIVY_MISCONFIG:
        return EQUIVALENTS.get(trivy.rule_id)
    if trivy.source is Source.TRIVY_SECRET and trivy.location.instruction == "image config":
        return CONFIG_SECRET_EQUIVALENTS
    return None


def _trivy_ref(trivy: Finding) -> str:
    return trivy.rule_id if trivy.source is Source.TRIVY_MISCONFIG else f"trivy:{trivy.rule_id}"


def merge_findings(checklist: Sequence[Finding], trivy: Sequence[Finding]) -> list[Finding]:
    """Checklist findings (gaining the Trivy IDs they cover in `references`), then the Trivy findings left."""
    merged = list(checklist)
    failing = {f.rule_id for f in checklist if f.status is Status.FAIL and f.source is Source.CHECKLIST}
    absorbed: dict[str, list[str]] = {}
    rest: list[Finding] = []
    for finding in trivy:
        partners = _partners(finding)
        hits = sorted(partners & failing) if partners else []
        if not hits:
            rest.append(finding)
            continue
        for rule_id in hits:
            absorbed.setdefault(rule_id, []).append(_trivy_ref(finding))
    for i, finding in enumerate(merged):
        extra = absorbed.get(finding.rule_id)
        if extra and finding.status is Status.FAIL and finding.source is Source.CHECKLIST:
            refs = tuple(dict.fromkeys((*finding.references, *extra)))
            merged[i] = replace(finding, references=refs)
    return merged + rest
