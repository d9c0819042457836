"""What hardening knows before it edits: the scan's findings on the original file and its runtime analysis.

Every edit a pass makes must answer a finding listed here (rule id and original line), so hardening never
touches what the scan did not flag; findings below `low` are advice and are never "fixed".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from dockaudit.config import Settings
from dockaudit.errors import UsageError
from dockaudit.facts.dockerfile import BaseImage, DockerfileFacts, RuntimeFacts
from dockaudit.harden.context import HardenContext
from dockaudit.harden.result import Unfixed
from dockaudit.model import Finding, Severity, Status
from dockaudit.parse.dockerfile import parse_dockerfile_text
from dockaudit.parse.dockerfile_image import image_facts_from_dockerfile
from dockaudit.rules import load_all
from dockaudit.rules.registry import RuleContext, Scope, evaluate

__all__ = ["STAGE_WIDE", "Plan", "Unfixed", "make_plan"]

STAGE_WIDE = frozenset({"DA101", "DA102", "DA606", "DA608", "DA108", "DA601", "DA602"})
"""Rules a target fails at most once, whatever line the finding points at: edits match them by id alone."""


@dataclass(frozen=True)
class Plan:
    """The original file's findings and runtime analysis, shared by every pass."""

    ctx: HardenContext
    facts: DockerfileFacts | None
    findings: tuple[Finding, ...]
    failure: str | None = None
    """Why the file could not be analysed (then nothing that depends on the analysis is edited)."""

    @property
    def runtime(self) -> RuntimeFacts | None:
        """The runtime analysis of the original file."""
        return self.facts.runtime if self.facts is not None else None

    def flagged(self, rule_ids: tuple[str, ...], line: int | None = None) -> bool:
        """Whether the scan failed one of `rule_ids` at `line` (any line for stage-wide rules), low or above."""
        return any(self.finding(rule_id, line) is not None for rule_id in rule_ids)

    def finding(self, rule_id: str, line: int | None = None) -> Finding | None:
        """The failing finding of `rule_id` (at `line` unless the rule is stage-wide), low or above."""
        for finding in self.findings:
            if finding.rule_id != rule_id or finding.severity < Severity.LOW:
                continue
            if rule_id in STAGE_WIDE or line is None or finding.location.line == line:
                return finding
        return None

    def advice(self, rule_ids: tuple[str, ...]) -> Finding | None:
        """An info-level finding of one of `rule_ids`: advice that hardening leaves to the user."""
        return next((f for f in self.findings if f.rule_id in rule_ids and f.severity is Severity.INFO), None)


def _lookup(ctx: HardenContext) -> object:
    """The base lookup, with the image being hardened standing in for the runtime stage's base when given."""
    image = ctx.image
    if image is None:
        return ctx.base_lookup

    def lookup(ref: str) -> BaseImage | None:
        found = ctx.base_lookup(ref)
        if found is not None:
            return found
        # Its files tell what the runtime stage can run; its user and command are the Dockerfile's own.
        return replace(image, ref=ref, user="", entrypoint=None, cmd=None)

    return lookup


def make_plan(text: str, ctx: HardenContext) -> Plan:
    """Scan the original text the way `dockaudit scan` does; raises `UsageError` for an unknown `--target`."""
    project = Path(ctx.project_dir) if ctx.project_dir is not None else None
    try:
        facts = parse_dockerfile_text(
            text,
            "Dockerfile",
            context_dir=project,
            allow_secret_names=ctx.allow_secret_names,
            target=ctx.target,
            base_lookup=_lookup(ctx),  # type: ignore[arg-type]
        )
    except UsageError as exc:
        if ctx.target is not None and str(exc).startswith("--target"):
            raise
        return Plan(ctx, None, (), failure=str(exc))
    load_all()
    rule_ctx = RuleContext(settings=Settings(allow_secret_names=tuple(ctx.allow_secret_names)))
    findings, _ = evaluate((Scope.DOCKERFILE,), facts, rule_ctx)
    image_findings, _ = evaluate((Scope.IMAGE, Scope.HISTORY), image_facts_from_dockerfile(facts), rule_ctx)
    failing = tuple(f for f in (*findings, *image_findings) if f.status is Status.FAIL)
    return Plan(ctx, facts, failing)
