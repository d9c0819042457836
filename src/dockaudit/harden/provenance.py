"""The provenance pass: OCI source and revision labels, filled from build args the CI passes."""

from __future__ import annotations

from dockaudit.harden.document import Document, Edit
from dockaudit.harden.passes import PassOutput, runtime_stage, why
from dockaudit.harden.plan import Plan
from dockaudit.harden.result import Change

RULES = ("DA108",)
LABELS = ("org.opencontainers.image.source", "org.opencontainers.image.revision")
BUILD_ARGS = '--build-arg VCS_URL="$(git config --get remote.origin.url)" --build-arg VCS_REF="$(git rev-parse HEAD)"'


SCHEMA_LABELS = {LABELS[0]: "org.label-schema.vcs-url", LABELS[1]: "org.label-schema.vcs-ref"}
"""The Label Schema keys the OCI ones replaced: a file that still uses them already records the same facts."""
BUILD_ARG_NAMES = {LABELS[0]: "VCS_URL", LABELS[1]: "VCS_REF"}


def _labels(values: tuple[str, ...]) -> dict[str, str]:
    """A LABEL's keys and values as written (the parser gives them alternating, values with their quotes)."""
    return {key.strip("\"'"): value for key, value in zip(values[::2], values[1::2], strict=False)}


def _arg_names(values: tuple[str, ...]) -> set[str]:
    return {value.split("=", 1)[0] for value in values}


def provenance_pass(doc: Document, plan: Plan) -> PassOutput:
    """Label the runtime image with the repository and commit it was built from, when the scan found no labels:
    the values of the file's Label Schema `vcs-url`/`vcs-ref` labels when it has them, else build args."""
    ctx = plan.ctx
    stage = runtime_stage(doc, plan)
    if stage is None or not plan.flagged(RULES):
        return PassOutput()
    labels = {k: v for i in stage.instructions if i.cmd == "LABEL" for k, v in _labels(i.value).items()}
    # When hardening an image, labels it already carries (from any source) count too.
    if set(labels) & set(LABELS) or (ctx.image is not None and set(ctx.image.labels) & set(LABELS)):
        return PassOutput()
    declared = {name for i in stage.instructions if i.cmd == "ARG" for name in _arg_names(i.value)}
    anchor = stage.instructions[-1] if stage.instructions else doc.instructions[stage.from_index]
    indent = anchor.indent
    values: list[str] = []
    new_args: list[str] = []
    for label in LABELS:
        schema = labels.get(SCHEMA_LABELS[label])
        if schema is not None:
            values.append(f"{label}={schema}")
            continue
        arg = BUILD_ARG_NAMES[label]
        values.append(f'{label}="${{{arg}}}"')
        if arg not in declared:
            new_args.append(arg)
    from_schema = [SCHEMA_LABELS[label] for label in LABELS if SCHEMA_LABELS[label] in labels]
    text = why(indent, "record the repository and commit this image was built from", RULES)
    text += "".join(f"{indent}ARG {arg}\n" for arg in new_args)
    text += f"{indent}LABEL {' '.join(values)}\n"
    notes: tuple[str, ...] = ()
    if len(from_schema) < len(LABELS):
        notes = (f"Pass the provenance build args when building: docker build {BUILD_ARGS} . (DA108)",)
    if from_schema:
        what = f"OCI source/revision labels with the values of {' and '.join(from_schema)}"
        if len(from_schema) < len(LABELS):
            what += " and a build arg"
    else:
        what = "OCI source/revision labels from VCS_URL and VCS_REF build args"
    change = Change(RULES, what, doc.origin(anchor))
    return PassOutput((Edit(anchor.index, after=text),), (change,), notes)
