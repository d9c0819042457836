"""DA1xx: what an image records about itself and where it comes from (`docker image inspect`): values in its
environment and labels, its tag, digest and provenance labels, its base, platforms and age.
"""

from __future__ import annotations

from collections.abc import Sequence

from dockaudit.facts.image import ImageFacts, NamedValue
from dockaudit.model import Fix, Origin, Severity
from dockaudit.rules import fixes
from dockaudit.rules.registry import CheckResult, Hit, RuleContext, Scope, Section, Skip, rule
from dockaudit.rules.steps import anchor, origin_of
from dockaudit.secrets import classify_pair, is_allowlisted

_NOT_FOR_DOCKERFILE = "a Dockerfile has no {what}: checked on the built image"


def _allow(ctx: RuleContext) -> tuple[str, ...]:
    return tuple(getattr(ctx.settings, "allow_secret_names", ()))


# --------------------------------------------------------------------------------------------- DA104/105


def _secret_hits(
    facts: ImageFacts, ctx: RuleContext, values: Sequence[NamedValue], instruction: str, what: str
) -> list[Hit]:
    allow = _allow(ctx)
    all_steps = list(facts.steps)
    hits: list[Hit] = []
    for item in values:
        if is_allowlisted(item.name, item.value, allow):
            continue
        match = item.secret or classify_pair(item.name, item.value, allow)
        if match is None:
            continue
        origin, location = origin_of(all_steps, instruction, item.name)
        detail = "secret-like name" if match.kind == "name" else match.detail
        value = item.value if item.secret is not None else "…(redacted)"
        fix = _secret_fix(item.name) if instruction == "ENV" else _label_fix(item.name)
        hits.append(Hit(f"{what} {item.name}={value} ({detail})", location, origin, fix=fix))
    return hits


def _secret_fix(name: str) -> Fix:
    secret = name.lower().replace(".", "_").replace("-", "_")
    return Fix(
        summary=(
            f"Remove {name} from the image and supply it at run time from a secret manager or a mounted "
            "secrets file; rotate the exposed value, it is recoverable from the image."
        ),
        dockerfile=(
            f"# delete the ENV that sets {name}; read the secret at run time instead:\n"
            f"ENV {name.upper()}_FILE=/run/secrets/{secret}"
        ),
        compose=(
            "services:\n  app:\n    secrets:\n"
            f"      - {secret}\n    environment:\n      {name.upper()}_FILE: /run/secrets/{secret}\n"
            f"secrets:\n  {secret}:\n    file: ./secrets/{secret}"
        ),
        run=f'-v "$PWD/secrets/{secret}:/run/secrets/{secret}:ro" -e {name.upper()}_FILE=/run/secrets/{secret}',
    )


def _label_fix(name: str) -> Fix:
    return Fix(
        summary=(
            f"Remove the label {name} (from LABEL and from `docker build --label`) and rotate the exposed value: "
            "labels are public metadata."
        ),
        dockerfile=f"# delete {name} from the LABEL instruction; credentials are supplied at run time, never in labels",
    )


def _fix_secret_env(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return _secret_fix("SECRET")


@rule(
    id="DA104",
    slug="secret-in-env",
    title="Secret in an image ENV",
    severity=Severity.CRITICAL,
    scope=Scope.IMAGE,
    section=Section.SECRETS,
    rationale=(
        "Environment variables baked into an image are readable by anyone who can pull it "
        "(`docker image inspect`), and they stay in every copy of the image. Secrets belong in the runtime "
        "environment, supplied by a secret manager."
    ),
    references=('seed "Never bake secrets in"', "CIS 4.10", "CIS-DI-0010", "DS-0031"),
    fix=_fix_secret_env,
)
def secret_in_env(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """An `Env` entry with a secret-like name and a literal value, or a value in a known credential format."""
    return _secret_hits(facts, ctx, facts.config.env, "ENV", "ENV")


def _fix_secret_label(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return _label_fix("the label")


@rule(
    id="DA105",
    slug="secret-in-label",
    title="Secret in an image label",
    severity=Severity.HIGH,
    scope=Scope.IMAGE,
    section=Section.SECRETS,
    rationale=(
        "Labels are public metadata: registries, `docker inspect` and scanners show them to anyone. "
        "A credential in a label is published with the image."
    ),
    references=("CIS-DI-0010",),
    fix=_fix_secret_label,
)
def secret_in_label(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """A label whose name or value looks like a secret."""
    return _secret_hits(facts, ctx, facts.config.labels, "LABEL", "label")


# --------------------------------------------------------------------------------------------- DA106


def _fix_tag(facts: ImageFacts, ctx: RuleContext) -> Fix:
    repo = facts.repo_tags[0].rsplit(":", 1)[0] if facts.repo_tags else "myapp"
    return Fix(
        summary="Tag every build with an immutable version (release or git SHA) and deploy that tag or the digest.",
        dockerfile="",
        compose=fixes.compose_service({"image": f"{repo}:1.2.3"}),
        run=f"docker build -t {repo}:1.2.3 -t {repo}:$(git rev-parse --short HEAD) .",
    )


@rule(
    id="DA106",
    slug="mutable-tag",
    title="Only tagged latest, or untagged",
    severity=Severity.MEDIUM,
    scope=Scope.IMAGE,
    section=Section.PINNING,
    rationale=(
        "`latest` moves with every build, so what runs in production cannot be told from what was tested, "
        "and rollbacks have nothing to return to. An untagged image cannot be referenced at all."
    ),
    references=('seed "Pin tags, never latest"', "DKL-DI-0006"),
    fix=_fix_tag,
)
def mutable_tag(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """The image's only tags are `:latest`, or it has none."""
    if facts.dockerfile:
        return Skip(_NOT_FOR_DOCKERFILE.format(what="tags"))
    tags = [t for t in facts.repo_tags if t != "<none>:<none>"]
    if not tags:
        return [Hit("the image has no tag (dangling)", origin=Origin.USER)]
    if all(t.rsplit(":", 1)[-1] == "latest" for t in tags):
        return [Hit(f"the only tags are {', '.join(tags)}", origin=Origin.USER)]
    return []


# --------------------------------------------------------------------------------------------- DA107


def _fix_digest(facts: ImageFacts, ctx: RuleContext) -> Fix:
    repo = facts.repo_tags[0].rsplit(":", 1)[0] if facts.repo_tags else "registry.example.com/myapp"
    return Fix(
        summary="Push the image and deploy it by digest (`repo@sha256:...`), which can never change.",
        compose=fixes.compose_service({"image": f"{repo}@sha256:<digest>"}),
        run=f"docker push {repo}:1.2.3  # then run {repo}@sha256:<digest from the push>",
    )


@rule(
    id="DA107",
    slug="no-repo-digest",
    title="No repository digest",
    severity=Severity.LOW,
    scope=Scope.IMAGE,
    section=Section.PINNING,
    rationale=(
        "Only a digest pins exact image content; tags can be moved. An image that was never pushed or pulled "
        "by digest has no digest to pin, so deployments cannot refer to it immutably."
    ),
    references=('seed "Use digests in production"',),
    fix=_fix_digest,
)
def no_repo_digest(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """`RepoDigests` is empty."""
    if facts.dockerfile:
        return Skip(_NOT_FOR_DOCKERFILE.format(what="repository digest"))
    if facts.repo_digests:
        return []
    return [Hit("RepoDigests is empty: the image was never pushed or pulled by digest", origin=Origin.USER)]


# --------------------------------------------------------------------------------------------- DA108


_PROVENANCE = ("org.opencontainers.image.source", "org.opencontainers.image.revision")


def _fix_provenance(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary="Record where the image was built from: the repository URL and the commit.",
        dockerfile=(
            "ARG VCS_REF\n"
            'LABEL org.opencontainers.image.source="https://github.com/ORG/REPO" \\\n'
            '      org.opencontainers.image.revision="${VCS_REF}"'
        ),
        run="docker build --build-arg VCS_REF=$(git rev-parse HEAD) .",
    )


@rule(
    id="DA108",
    slug="no-provenance-labels",
    title="No provenance labels",
    severity=Severity.LOW,
    scope=Scope.IMAGE,
    section=Section.SCANNING,
    rationale=(
        "Without the OCI source and revision labels nobody can tell which commit an image was built from, "
        "so a vulnerable image cannot be traced back to the code to fix. Signing and provenance tools attest them. "
        "They are also what signing and provenance tools attest."
    ),
    references=('seed "Built from a Dockerfile in version control"',),
    fix=_fix_provenance,
)
def no_provenance_labels(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """Neither `org.opencontainers.image.source` nor `.revision` is set."""
    names = {label.name for label in facts.config.labels if label.value.strip()}
    if any(name in names for name in _PROVENANCE):
        return []
    return [Hit(f"none of {', '.join(_PROVENANCE)} is set", anchor(list(facts.steps), "LABEL"), Origin.USER)]


# --------------------------------------------------------------------------------------------- DA112


_FULL_DISTROS = frozenset({"ubuntu", "centos", "rhel", "fedora", "debian"})


def _is_slim(facts: ImageFacts) -> bool:
    names = [*facts.repo_tags, facts.base_image or "", facts.reference or ""]
    return any("slim" in name for name in names)


def _fix_heavy_base(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary="Build in a full image, then copy the result into a minimal, supported runtime base.",
        dockerfile=(
            "FROM debian:12 AS build\n# ... build steps ...\n"
            "FROM gcr.io/distroless/base-debian12:nonroot\nCOPY --from=build /out/app /app\n"
            'ENTRYPOINT ["/app"]'
        ),
    )


@rule(
    id="DA112",
    slug="heavy-base",
    title="Heavy base image",
    severity=Severity.MEDIUM,
    scope=Scope.IMAGE,
    section=Section.MINIMAL_BASE,
    rationale=(
        "A full distribution ships hundreds of packages the application never uses, each one a CVE to patch. "
        "A slim or distroless base ships only what the application needs."
    ),
    references=('seed "Mind the base image"',),
    fix=_fix_heavy_base,
)
def heavy_base(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """A full distribution (not -slim) over the size threshold."""
    os_release = fixes.image_os(facts)
    if os_release is None:
        return Skip("the OS release was not detected (layers not read or no /etc/os-release)")
    if facts.dockerfile:
        return Skip("a Dockerfile has no image size: checked on the built image")
    limit_mb = ctx.settings.thresholds.heavy_base_mb
    full = os_release.id.lower() in _FULL_DISTROS and not _is_slim(facts)
    if not full or facts.size <= limit_mb * 1024 * 1024:
        return []
    name = os_release.pretty_name or f"{os_release.id} {os_release.version_id}".strip()
    size_mb = facts.size // (1024 * 1024)
    return [
        Hit(f"{name} is a full distribution and the image is {size_mb} MB (over {limit_mb} MB)", origin=Origin.BASE)
    ]


# --------------------------------------------------------------------------------------------- DA113


def _fix_multi_arch(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary="Build and push a multi-platform image (manifest list) with buildx.",
        run="docker buildx build --platform linux/amd64,linux/arm64 -t REPO:TAG --push .",
    )


@rule(
    id="DA113",
    slug="single-arch",
    title="Single architecture",
    severity=Severity.INFO,
    scope=Scope.IMAGE,
    section=Section.MULTI_ARCH,
    rationale=(
        "A single-platform image cannot run on ARM nodes (Graviton, Apple silicon) without emulation. "
        "A manifest list lets each node pull its own native build."
    ),
    references=('seed "Multi-arch builds"',),
    fix=_fix_multi_arch,
)
def single_arch(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """One platform and no manifest list known locally."""
    if facts.dockerfile:
        return Skip(_NOT_FOR_DOCKERFILE.format(what="platforms"))
    if facts.has_manifest_list:
        return []
    platform = "/".join(p for p in (facts.os, facts.architecture, facts.variant) if p)
    return [Hit(f"only {platform}; no manifest list is known locally", origin=Origin.USER)]


# --------------------------------------------------------------------------------------------- DA115


def _fix_stale(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary="Rebuild regularly (e.g. weekly in CI) with `--pull` so base-image security fixes land.",
        run="docker build --pull --no-cache -t REPO:TAG .",
    )


@rule(
    id="DA115",
    slug="stale-image",
    title="Image not rebuilt recently",
    severity=Severity.MEDIUM,
    scope=Scope.IMAGE,
    section=Section.SCANNING,
    rationale=(
        "Security fixes reach an image only when it is rebuilt on an updated base. An image that has not been "
        "rebuilt for months carries every vulnerability fixed since."
    ),
    references=("CIS 4.4",),
    fix=_fix_stale,
)
def stale_image(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """`Created` is older than the stale threshold (90 days by default)."""
    if facts.dockerfile:
        return Skip(_NOT_FOR_DOCKERFILE.format(what="creation date"))
    if facts.created is None:
        return Skip("the image has no creation date")
    if facts.created.year <= 1980:
        # Reproducible builds (SOURCE_DATE_EPOCH=0, Nix, ko) set a fixed epoch: the age is unknown.
        return Skip(f"Created is {facts.created.date().isoformat()}, a fixed reproducible-build timestamp")
    limit = ctx.settings.thresholds.stale_days
    age = (ctx.now - facts.created).days
    if age <= limit:
        return []
    return [Hit(f"created {age} days ago ({facts.created.date().isoformat()}), over {limit} days", origin=Origin.USER)]
