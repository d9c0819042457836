"""Hardening in the audit session: Dockerfiles, images and containers hardened with the session's settings, base
images read from its engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from dockaudit.errors import DockauditError

if TYPE_CHECKING:
    from dockaudit.audit import AuditSession
    from dockaudit.facts.container import ContainerFacts
    from dockaudit.facts.dockerfile import BaseImage
    from dockaudit.facts.image import ImageFacts
    from dockaudit.harden.result import HardenResult
    from dockaudit.harden.runtime import RuntimeHardening


def base_lookup(session: AuditSession) -> Callable[[str], BaseImage | None]:
    """Base images named in Dockerfiles, read from the session's engine when it has them."""
    from dockaudit.harden.context import base_from_facts

    source = session.source

    def lookup(ref: str) -> BaseImage | None:
        facts = source.base_image(ref) if source is not None else None
        return base_from_facts(facts, ref) if facts is not None else None

    return lookup


def harden_dockerfile(session: AuditSession, path: Path) -> HardenResult:
    """The hardened Dockerfile of a file (base images read from the engine when it has them)."""
    from dockaudit.harden.context import HardenContext
    from dockaudit.harden.dockerfile import harden_dockerfile_text

    text = path.read_bytes().decode("utf-8-sig")
    context = HardenContext(
        base_lookup=base_lookup(session),
        project_dir=str(path.parent),
        allow_secret_names=tuple(session.settings.allow_secret_names),
        target=session.options.dockerfile_target,
        healthcheck_url=session.options.healthcheck_url,
    )
    return harden_dockerfile_text(text, context=context)


def harden_image(
    session: AuditSession, facts: ImageFacts, dockerfile_text: str | None, project_dir: str | None
) -> HardenResult:
    """The hardened Dockerfile of an image: its own Dockerfile when given, else one rebuilt from history."""
    from dockaudit.harden.image import harden_image as harden

    return harden(
        facts,
        dockerfile_text,
        base_lookup=base_lookup(session),
        project_dir=project_dir,
        target=session.options.dockerfile_target,
        healthcheck_url=session.options.healthcheck_url,
    )


def harden_container(session: AuditSession, facts: ContainerFacts) -> RuntimeHardening:
    """The hardened `docker run` and Compose service of a container, limits from its observed usage."""
    from dockaudit.harden.runtime import harden_container as harden

    source = session.require_source()
    facts = source.with_usage(facts)
    try:
        image: ImageFacts | None = source.image_facts(
            facts.image_id, allow_secret_names=session.settings.allow_secret_names
        )
    except DockauditError:
        image = None  # the image may be gone (a dangling container): harden from the container alone
    return harden(facts, image)
