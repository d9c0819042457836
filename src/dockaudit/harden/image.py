"""Harden an image: its Dockerfile when one is given, else one reconstructed from its history."""

from __future__ import annotations

from collections.abc import Callable

from dockaudit.facts.image import ImageFacts
from dockaudit.harden.context import BaseImage, HardenContext, base_from_facts
from dockaudit.harden.dockerfile import harden_dockerfile_text
from dockaudit.harden.reconstruct import reconstruct_dockerfile
from dockaudit.harden.result import HardenResult


def _no_base(_ref: str) -> BaseImage | None:
    return None


def harden_image(
    facts: ImageFacts,
    dockerfile_text: str | None = None,
    *,
    base_lookup: Callable[[str], BaseImage | None] = _no_base,
    project_dir: str | None = None,
    target: str | None = None,
    healthcheck_url: str | None = None,
) -> HardenResult:
    """Harden the image's Dockerfile; the image's own files tell what the final stage can run."""
    source = "dockerfile"
    if dockerfile_text is None:
        dockerfile_text = reconstruct_dockerfile(facts)
        source = "reconstructed"
    context = HardenContext(
        base_lookup=base_lookup,
        image=base_from_facts(facts),
        os_release=facts.os_release,
        exposed_ports=facts.config.exposed_ports,
        project_dir=project_dir,
        target=target,
        healthcheck_url=healthcheck_url,
    )
    return harden_dockerfile_text(dockerfile_text, context=context, source=source)
