"""The multi-stage pass: build tools in the only stage get a reasoned suggestion, not a risky rewrite."""

from __future__ import annotations

import re

from dockaudit.harden.document import Document
from dockaudit.harden.passes import PassOutput
from dockaudit.harden.plan import Plan
from dockaudit.harden.result import Unfixed

RULE_IDS = ("DA604",)


_OUTPUTS: tuple[tuple[re.Pattern[str], str | None], ...] = (
    (re.compile(r"\b(?:go|gcc|g\+\+|cc|clang|rustc)\s+[^&;|]*?-o\s+(\S+)"), None),
    (re.compile(r"\bmvn\b[^&;|]*\bpackage\b"), "target/*.jar"),
    (re.compile(r"\bgradle\w*\b[^&;|]*\b(?:build|assemble|bootJar)\b"), "build/libs/*.jar"),
    (re.compile(r"\bcargo\s+build\b[^&;|]*--release"), "target/release/"),
    (re.compile(r"\bnpm\s+run\s+build\b"), "dist/"),
)


def _artefacts(doc: Document) -> list[str]:
    """What the compile steps produce, as far as their command lines tell."""
    found: list[str] = []
    for ins in doc.instructions:
        if ins.cmd != "RUN" or ins.json:
            continue
        for pattern, fixed in _OUTPUTS:
            for match in pattern.finditer(ins.original):
                path = fixed or match.group(1)
                if path not in found:
                    found.append(path)
    return found


def multistage_pass(doc: Document, plan: Plan) -> PassOutput:
    """Explain the build/runtime split for the single-stage build tools the scan flagged (advice, no edit)."""
    lines = sorted({f.location.line for f in plan.findings if f.rule_id == "DA604" and f.location.line is not None})
    if not lines or len(doc.stages) != 1:
        return PassOutput()
    artefacts = _artefacts(doc)
    copy = (
        "; ".join(f"COPY --from=build {a} {a if a.startswith('/') and '*' not in a else '/app/'}" for a in artefacts)
        or "COPY --from=build <artefacts> /app/"
    )
    reason = (
        "the split into a build stage and a minimal runtime stage was not made automatically, because which "
        "installed files the app needs at run time (shared libraries, site-packages, node_modules) and which "
        f"runtime base fits cannot be told from the Dockerfile alone. Shape: `FROM {doc.stages[0].base} AS build` "
        f"with the install and compile steps, then `FROM <minimal runtime base>`; {copy}"
    )
    return PassOutput(unfixed=tuple(Unfixed(RULE_IDS, reason, line) for line in lines))
