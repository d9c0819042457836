"""The rule registry: each rule is metadata plus a pure check and a fix builder over typed facts."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from dockaudit.model import Finding, Fix, Location, Origin, Severity, Source, Status
from dockaudit.records import Record, record


class Scope(enum.StrEnum):
    """The facts a rule reads (`dockaudit rules` shows it as what the rule checks)."""

    IMAGE = "image"
    HISTORY = "history"
    FILESYSTEM = "filesystem"
    CONTAINER = "container"
    HOST = "host"
    DOCKERFILE = "dockerfile"
    COMPOSE = "compose"


class Section(enum.StrEnum):
    """The production checklist sections every rule belongs to (the `section` of a finding)."""

    NON_ROOT = "Run as non-root"
    READ_ONLY_ROOTFS = "Read-only root filesystem"
    LEAST_PRIVILEGE = "Dropped capabilities, no-new-privileges and resource limits"
    PINNING = "Pinned tags and digests"
    SCANNING = "Scanning and signing"
    MULTI_ARCH = "Multi-arch"
    HEALTHCHECK = "Healthcheck"
    LOGS = "Logs"
    SECRETS = "Secrets supplied at runtime"
    PID1 = "PID 1 and STOPSIGNAL"
    REGISTRY_CREDENTIALS = "Registry credentials"
    MINIMAL_BASE = "Minimal base and multi-stage builds"
    DOCKERIGNORE = ".dockerignore"
    ONE_PROCESS = "One process per container, stateless, no bundled database"


@dataclass(frozen=True, repr=False, eq=False)
class Hit(Record):
    """One failure a check saw; the registry turns it into a `Finding`."""

    evidence: str
    location: Location = field(default_factory=Location)
    origin: Origin = Origin.UNKNOWN
    severity: Severity | None = None
    """Overrides the rule's default (e.g. DA403 read-only mounts are medium)."""
    fix: Fix | None = None
    """Overrides the rule's fix builder for this hit."""
    also: tuple[str, ...] = ()
    """Ids of other rules that see the same flaw and are reported through this hit (one finding per flaw)."""


@record
class Skip(Record):
    """The rule could not be checked; `reason` says why."""

    reason: str


CheckResult = Skip | Sequence[Hit]
"""An empty sequence is a pass."""


@record
class RuleContext(Record):
    """What rules may know besides the facts: settings and the clock (injected, for tests)."""

    settings: Any
    """`dockaudit.config.Settings`; typed loosely to keep rules importable without config."""
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    extra: dict[str, Any] = field(default_factory=dict)
    """Cross-target facts a rule needs (e.g. `scan_ages` for DA510), keyed by name."""


F = TypeVar("F")


@record
class Rule(Record, Generic[F]):
    """A catalog entry with its check and fix builder."""

    id: str
    slug: str
    title: str
    severity: Severity
    scope: Scope
    section: str
    rationale: str
    references: tuple[str, ...]
    check: Callable[[F, RuleContext], CheckResult]
    fix: Callable[[F, RuleContext], Fix]


RULES: dict[str, Rule[Any]] = {}
"""Every registered rule by id; modules register on import (see `dockaudit.rules.load_all`)."""


@record
class Variant(Record, Generic[F]):
    """A rule's check over the facts of another scope (a DA4xx rule judged on a Compose service)."""

    rule_id: str
    scope: Scope
    check: Callable[[F, RuleContext], CheckResult]
    fix: Callable[[F, RuleContext], Fix]
    decides: bool = True
    """False when the variant can only report the rule as skipped (it needs data the scope never has)."""


VARIANTS: dict[tuple[str, Scope], Variant[Any]] = {}
"""Checks of registered rules over other scopes' facts, by (rule id, scope); the rule keeps its metadata."""


def rule(
    *,
    id: str,
    slug: str,
    title: str,
    severity: Severity,
    scope: Scope,
    section: str,
    rationale: str,
    references: Sequence[str],
    fix: Callable[[F, RuleContext], Fix],
) -> Callable[[Callable[[F, RuleContext], CheckResult]], Callable[[F, RuleContext], CheckResult]]:
    """Register the decorated check under `id`; ids are unique and never reused."""

    def register(check: Callable[[F, RuleContext], CheckResult]) -> Callable[[F, RuleContext], CheckResult]:
        if id in RULES:
            raise ValueError(f"rule {id} registered twice")
        RULES[id] = Rule(id, slug, title, severity, scope, section, rationale, tuple(references), check, fix)
        return check

    return register


def variant(
    rule_id: str, *, scope: Scope, fix: Callable[[F, RuleContext], Fix], decides: bool = True
) -> Callable[[Callable[[F, RuleContext], CheckResult]], Callable[[F, RuleContext], CheckResult]]:
    """Register the decorated check as rule `rule_id` judged over `scope`'s facts, with the same id and severity."""

    def register(check: Callable[[F, RuleContext], CheckResult]) -> Callable[[F, RuleContext], CheckResult]:
        if (rule_id, scope) in VARIANTS:
            raise ValueError(f"rule {rule_id} has two {scope} variants")
        VARIANTS[(rule_id, scope)] = Variant(rule_id, scope, check, fix, decides)
        return check

    return register


def rules_for(scopes: Sequence[Scope]) -> list[Rule[Any]]:
    """The rules that judge facts of `scopes`, in id order: their own, and other rules' variants for them."""
    selected: list[Rule[Any]] = []
    for rule_ in sorted(RULES.values(), key=lambda r: r.id):
        if rule_.scope in scopes:
            selected.append(rule_)
            continue
        found = next((VARIANTS[(rule_.id, s)] for s in scopes if (rule_.id, s) in VARIANTS), None)
        if found is not None:
            selected.append(replace(rule_, scope=found.scope, check=found.check, fix=found.fix))
    return selected


def evaluate_rule(rule_: Rule[F], facts: F, ctx: RuleContext) -> tuple[list[Finding], bool]:
    """Run one rule: its findings, and whether it passed."""
    result = rule_.check(facts, ctx)
    # Most rules pass: a finding is only made for a hit or a skip (a run judges hundreds of rules).
    if isinstance(result, Skip):
        return [_finding(rule_, Status.SKIPPED, result.reason, rule_.severity)], False
    if not result:
        return [], True
    default_fix = rule_.fix(facts, ctx)
    findings = [
        _finding(
            rule_,
            Status.FAIL,
            hit.evidence,
            hit.severity if hit.severity is not None else rule_.severity,
            location=hit.location,
            origin=hit.origin,
            fix=hit.fix if hit.fix is not None else default_fix,
            also=hit.also,
        )
        for hit in result
    ]
    return findings, False


def _finding(rule_: Rule[Any], status: Status, evidence: str, severity: Severity, **more: Any) -> Finding:
    return Finding(
        rule_id=rule_.id,
        slug=rule_.slug,
        source=Source.CHECKLIST,
        severity=severity,
        status=status,
        title=rule_.title,
        section=rule_.section,
        evidence=evidence,
        references=rule_.references,
        **more,
    )


def evaluate(scopes: Sequence[Scope], facts: Any, ctx: RuleContext) -> tuple[list[Finding], list[str]]:
    """Run every registered rule of the given scopes over `facts`: findings and passed rule ids."""
    findings: list[Finding] = []
    passed: list[str] = []
    for rule_ in rules_for(scopes):
        found, ok = evaluate_rule(rule_, facts, ctx)
        findings.extend(found)
        if ok:
            passed.append(rule_.id)
    return findings, passed
