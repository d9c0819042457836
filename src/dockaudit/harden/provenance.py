"""The provenance pass: OCI source and revision labels, filled from build args the CI passes."""

from __future__ import annotations

from dockaudit.harden.document import Document, Edit
from dockaudit.harden.passes import PassOutput, runtime_stage, why
from dockaudit.harden.plan import Plan
from dockaudit.harden.result import Change

RULES = ("DA108",)
LABELS = ("org.opencontainers.image.source", "org.opencontainers.image.revision")
BUILD_ARGS = '--build-arg VCS_URL="$(git config --get remote.origin.url)" --build-arg VCS_REF="$(git rev-parse HEAD)"'


def _label_keys(values: tuple[str, ...]) -> set[str]:
    keys = set()
    for i, word in enumerate(values):
        # The parser gives LABEL as alternating keys and values.
        if i % 2 == 0:
            keys.add(word.strip("\"'"))
    return keys


def provenance_pass(doc: Document, plan: Plan) -> PassOutput:
    """Label the runtime image with the repository and commit it was built from, when the scan found no labels."""
    ctx = plan.ctx
    stage = runtime_stage(doc, plan)
    if stage is None or not plan.flagged(RULES):
        return PassOutput()
    keys = {k for i in stage.instructions if i.cmd == "LABEL" for k in _label_keys(i.value)}
    # When hardening an image, labels it already carries (from any source) count too.
    if keys & set(LABELS) or (ctx.image is not None and set(ctx.image.labels) & set(LABELS)):
        return PassOutput()
    anchor = stage.instructions[-1] if stage.instructions else doc.instructions[stage.from_index]
    indent = anchor.indent
    text = why(indent, "record the repository and commit this image was built from", RULES)
    text += f"{indent}ARG VCS_URL\n{indent}ARG VCS_REF\n"
    text += f'{indent}LABEL {LABELS[0]}="${{VCS_URL}}" {LABELS[1]}="${{VCS_REF}}"\n'
    note = f"Pass the provenance build args when building: docker build {BUILD_ARGS} . (DA108)"
    change = Change(RULES, "OCI source/revision labels from VCS_URL and VCS_REF build args", doc.origin(anchor))
    return PassOutput((Edit(anchor.index, after=text),), (change,), (note,))
