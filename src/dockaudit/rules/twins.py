"""One finding per flaw: an image rule and its Dockerfile twin that see the same flaw become one finding.

A Dockerfile target runs the DA6xx rules over the file and the DA1xx/DA2xx rules over the image it
describes, so some flaws are seen twice. The pair is reported once, under the Dockerfile id with its line,
naming the other id in `Finding.also` so an ignore, a disabled rule or a severity override written for
either id still applies (`config.apply_config`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from dockaudit.model import Finding, Status, TwinEvidence

TWINS: tuple[tuple[str, str], ...] = (
    ("DA606", "DA101"),
    ("DA608", "DA102"),
    ("DA607", "DA103"),
    ("DA605", "DA104"),
)
"""(Dockerfile rule, image rule) pairs that see the same flaw."""
NOT_APPLICABLE: tuple[tuple[str, str], ...] = (("DA601", "DA602"),)
"""(rule, rule it makes moot): without a .dockerignore there are no gaps in one to report."""
_ONE_PER_TARGET = frozenset({"DA606", "DA608", "DA101", "DA102"})
"""Flaws a target has at most once (who it runs as, its healthcheck): twins match whatever their lines."""
_NAME = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)=")


def twin_of(rule_id: str) -> str | None:
    """The other rule of `rule_id`'s twin pair, if it has one."""
    for dockerfile_id, image_id in (*TWINS, *NOT_APPLICABLE):
        if rule_id == dockerfile_id:
            return image_id
        if rule_id == image_id:
            return dockerfile_id
    return None


def _fails(finding: Finding) -> bool:
    return finding.status is Status.FAIL


def _same_flaw(kept: Finding, other: Finding) -> bool:
    """Whether two failing twin findings on one target describe one flaw."""
    if kept.rule_id in _ONE_PER_TARGET or other.rule_id in _ONE_PER_TARGET:
        return True
    return kept.location.line is not None and kept.location.line == other.location.line


def merge_twins(findings: Sequence[Finding], passed: Sequence[str]) -> tuple[list[Finding], list[str]]:
    """A Dockerfile target's findings with each twin pair merged under its DA6xx id, and the passed ids left."""
    result = list(findings)
    for dockerfile_id, image_id in TWINS:
        for image_finding in [f for f in result if f.rule_id == image_id and _fails(f)]:
            for index, kept in enumerate(result):
                if kept.rule_id == dockerfile_id and _fails(kept) and _same_flaw(kept, image_finding):
                    if image_id not in kept.also:
                        result[index] = replace(kept, also=(*kept.also, image_id))
                    result.remove(image_finding)
                    break
    for rule_id, moot in NOT_APPLICABLE:
        if any(f.rule_id == rule_id and _fails(f) for f in result):
            result = [
                replace(f, also=(*f.also, moot)) if f.rule_id == rule_id and moot not in f.also else f
                for f in result
                if f.rule_id != moot
            ]
    failed = {rule_id for f in result if _fails(f) for rule_id in f.rule_ids}
    return result, sorted(set(passed) - failed)


def _names(text: str) -> set[str]:
    return set(_NAME.findall(text))


def _describes(finding: Finding, other: Finding) -> bool:
    """Whether a finding of the other target (the built image, or its Dockerfile) is the same flaw."""
    if finding.rule_id in _ONE_PER_TARGET or other.rule_id in _ONE_PER_TARGET:
        return True
    names, other_names = _names(finding.evidence), _names(other.evidence)
    # Secrets in ENV: the same variable. Shell-form commands: one per image, so any pair matches.
    return not names or not other_names or bool(names & other_names)


def attach_twin_evidence(findings: Sequence[Finding], others: Sequence[Finding], other_target: str) -> list[Finding]:
    """`findings` of one target, each carrying the evidence its twin saw on `other_target` (image and Dockerfile).

    For the integrator: when an image and the Dockerfile it was built from are scanned together, each side's
    twin finding gains the other side's view of the same flaw; nothing is added, removed or rescored.
    """
    result: list[Finding] = []
    for finding in findings:
        ids = set(finding.rule_ids)
        twins = {t for rule_id in ids if (t := twin_of(rule_id)) is not None} | ids
        extra = [
            TwinEvidence(other.rule_id, other.evidence, other.location, other_target)
            for other in others
            if _fails(other) and _fails(finding) and other.rule_id in twins and _describes(finding, other)
        ]
        if not extra:
            result.append(finding)
            continue
        also = tuple(dict.fromkeys((*finding.also, *(e.rule_id for e in extra if e.rule_id != finding.rule_id))))
        result.append(replace(finding, also=also, twin_evidence=(*finding.twin_evidence, *extra)))
    return result
