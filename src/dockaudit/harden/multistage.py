"""The multi-stage pass: build tools in the only stage get a reasoned suggestion, not a risky rewrite."""

from __future__ import annotations

import re

from dockaudit.config import Settings
from dockaudit.harden.context import HardenContext
from dockaudit.harden.document import Document, Edit
from dockaudit.harden.passes import PassOutput, has_mark, why
from dockaudit.harden.result import Change
from dockaudit.parse.dockerfile import parse_dockerfile_text
from dockaudit.rules import dockerfile as _dockerfile_rules
from dockaudit.rules.registry import RuleContext, Skip

RULE_IDS = ("DA604", "DA306")
PHRASE = "build tools ship in the runtime image"


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


def multistage_pass(doc: Document, ctx: HardenContext) -> PassOutput:
    """Mark the RUN lines that install build tools in a single-stage build and explain the split."""
    if len(doc.stages) != 1:
        return PassOutput()
    # The rule's own detection decides, so the suggestion and the finding always agree.
    facts = parse_dockerfile_text(doc.text)
    result = _dockerfile_rules.single_stage_build(facts, RuleContext(settings=Settings()))
    if isinstance(result, Skip) or not result:
        return PassOutput()
    lines = {hit.location.line for hit in result}
    edits: list[Edit] = []
    changes: list[Change] = []
    for ins in doc.instructions:
        if ins.line not in lines or has_mark(doc, ins, PHRASE):
            continue
        text = why(
            ins.indent, f"{PHRASE}: build in a `FROM ... AS build` stage, COPY --from=build the artefacts", RULE_IDS
        )
        edits.append(Edit(ins.index, before=text))
        changes.append(Change(RULE_IDS, "suggested a multi-stage split (comment)", doc.origin(ins)))
    artefacts = _artefacts(doc)
    copy = (
        "; ".join(f"COPY --from=build {a} {a if a.startswith('/') and '*' not in a else '/app/'}" for a in artefacts)
        or "COPY --from=build <artefacts> /app/"
    )
    notes = (
        "Build tools are installed in the only stage (DA604): the split into a build stage and a minimal runtime "
        "stage was not made automatically, because which installed files the app needs at run time (shared "
        "libraries, site-packages, node_modules) and which runtime base fits cannot be told from the Dockerfile "
        f"alone. Shape: `FROM {doc.stages[0].base} AS build` with the install and compile steps, then "
        f"`FROM <minimal runtime base>`; {copy}",
    )
    return PassOutput(tuple(edits), tuple(changes), notes)
