"""Fixes you can apply: hardened Dockerfiles, `docker run` commands and Compose services, as diffs."""

from __future__ import annotations

from dockaudit.harden.context import BaseImage, HardenContext, base_from_facts
from dockaudit.harden.dockerfile import harden_dockerfile_text
from dockaudit.harden.document import DockerfileSyntaxError
from dockaudit.harden.image import harden_image
from dockaudit.harden.reconstruct import reconstruct_dockerfile
from dockaudit.harden.result import Change, HardenResult
from dockaudit.harden.runtime import RuntimeHardening, harden_container

__all__ = [
    "BaseImage",
    "Change",
    "DockerfileSyntaxError",
    "HardenContext",
    "HardenResult",
    "RuntimeHardening",
    "base_from_facts",
    "harden_container",
    "harden_dockerfile_text",
    "harden_image",
    "reconstruct_dockerfile",
]
