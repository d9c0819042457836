"""Harden a Compose project: edits to its files that keep comments, order and anchors, each naming its rule.

Only what the scan flags is edited, and only where the edit cannot break a working service; otherwise the
finding gets advice saying why. The hardened files are read back through Compose (`config`) and rescanned
before they are handed out: a file Compose rejects, or an edit that did not remove its finding, is withdrawn.
Each service's edits are decided in `compose_plan`, spliced into the text by `compose_edit` and checked by
`compose_validate`; this module runs them over the project.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dockaudit.facts.compose import ComposeProject, ComposeService, ServiceFacts
from dockaudit.facts.image import ImageFacts
from dockaudit.harden.compose_plan import (
    VARIABLE_REFERENCE,
    ComposeChange,
    HardeningRun,
    MovedSecret,
    ServicePlan,
    add_top_level_secrets,
)
from dockaudit.harden.compose_validate import validate_hardening
from dockaudit.harden.diff import unified_diff
from dockaudit.harden.yamltext import YamlText
from dockaudit.model import Severity, Status
from dockaudit.parse.compose import written_text
from dockaudit.parse.compose_binary import ComposeBinary
from dockaudit.parse.compose_source import SourceIndex, build_index
from dockaudit.rules.compose import evaluate_service
from dockaudit.rules.registry import RuleContext
from dockaudit.secrets import classify_pair, redact, redact_text


@dataclass(frozen=True)
class HardenedFile:
    """One Compose file before and after hardening."""

    path: str
    abs_path: str
    original: str
    hardened: str


@dataclass(frozen=True)
class ComposeHardening:
    """The hardened files of a project, what changed and why, and the advice that could not be applied."""

    files: tuple[HardenedFile, ...]
    """Only the files that changed."""
    changes: tuple[ComposeChange, ...]
    notes: tuple[str, ...]
    secrets: tuple[MovedSecret, ...] = ()
    validated: bool = False
    """The hardened files passed `docker compose config` and the rescan."""
    redacted_diff: str = ""
    secret_values: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    """The moved values by secret name, only for writing the secret files (`harden -o`); never shown."""

    @property
    def changed(self) -> bool:
        """Whether any file changed."""
        return bool(self.files)

    def diff(self) -> str:
        """Unified diff of every changed file, secret values redacted (the written files hold no moved secret)."""
        return self.redacted_diff


ImageLookup = Callable[[ComposeService], ImageFacts | None]


def _no_image(service: ComposeService) -> ImageFacts | None:
    return None


def harden_compose(
    project: ComposeProject,
    *,
    image_lookup: ImageLookup = _no_image,
    ctx: RuleContext | None = None,
    binary: ComposeBinary | None = None,
    environ: Mapping[str, str] | None = None,
) -> ComposeHardening:
    """Hardened versions of the project's Compose files, validated by Compose and a rescan."""
    from dockaudit.config import Settings

    ctx = ctx or RuleContext(settings=Settings())
    index = build_index(list(zip(project.file_paths, project.files, strict=True)))
    texts = {}
    for abs_path, doc in index.documents.items():
        try:
            texts[abs_path] = YamlText(Path(abs_path).read_text(encoding="utf-8-sig"), doc)
        except (OSError, UnicodeDecodeError):
            continue
    run = HardeningRun(project, index, texts)
    run.raw_secrets.extend(_written_secrets(index))
    images = {svc.name: image_lookup(svc) for svc in project.services}
    targeted: dict[str, set[str]] = {}
    for svc in project.services:
        facts = ServiceFacts(svc, images[svc.name])
        findings, _ = evaluate_service(facts, ctx)
        failing = {f.rule_id: f for f in findings if f.status is Status.FAIL and f.severity > Severity.INFO}
        before = len(run.changes)
        ServicePlan(run, svc, images[svc.name], failing).apply()
        targeted[svc.name] = {r for c in run.changes[before:] for r in c.rule_ids}
    add_top_level_secrets(run)
    files = []
    for abs_path, text in texts.items():
        hardened = text.render()
        if hardened != text.text:
            display = next(
                (layer.display for ls in index.layers.values() for layer in ls if layer.abs_path == abs_path), abs_path
            )
            files.append(HardenedFile(display, abs_path, text.text, hardened))
    result = ComposeHardening(
        tuple(files),
        tuple(run.changes),
        tuple(dict.fromkeys(run.notes)),
        tuple(run.secrets),
        secret_values=dict(run.secret_values),
    )
    if not files:
        return _with_diff(result, run.raw_secrets, validated=True)
    problem = validate_hardening(
        project, {f.abs_path: f.hardened for f in files}, targeted, images, ctx, binary, environ
    )
    if problem is not None:
        # Never hand out a file Compose rejects or an edit that did not take: the advice stays, the edits go.
        notes = (*result.notes, f"The hardened files were withdrawn: {problem}")
        return _with_diff(ComposeHardening((), (), notes, ()), run.raw_secrets, validated=False)
    return _with_diff(result, run.raw_secrets, validated=True)


def _with_diff(result: ComposeHardening, raw_secrets: Sequence[str], *, validated: bool) -> ComposeHardening:
    """The result with its display diff, every secret value written in the files redacted."""
    text = "".join(unified_diff(f.original, f.hardened, f.path) for f in result.files)
    for value in sorted(set(raw_secrets), key=len, reverse=True):
        if len(value) >= 4:
            text = text.replace(value, redact(value))
    text = "\n".join(redact_text(line)[0] for line in text.split("\n"))
    return ComposeHardening(
        result.files, result.changes, result.notes, result.secrets, validated, text, result.secret_values
    )


def _written_secrets(index: SourceIndex) -> list[str]:
    """Every secret value written under a service's `environment:`, as written (defaults of references too)."""
    found: list[str] = []
    for layers in index.layers.values():
        for layer in layers:
            env = layer.node.get("environment")
            pairs: list[tuple[str, str]] = []
            if isinstance(env, Mapping):
                pairs = [(str(k), str(v)) for k, v in env.items() if v is not None]
            elif isinstance(env, list):
                pairs = [(str(e).partition("=")[0], str(e).partition("=")[2]) for e in env if "=" in str(e)]
            for name, raw in pairs:
                written = written_text(raw)[0]
                if written and classify_pair(name, written) is not None:
                    found.append(written)
                    found.extend(
                        part for part in VARIABLE_REFERENCE.split(raw) if written.find(part) >= 0 and len(part) >= 4
                    )
    return found
