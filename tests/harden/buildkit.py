"""BuildKit builds (Debian's docker client with DOCKER_BUILDKIT=1) of a context directory, content-hashed tags."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from tests.fixtures.images import TEST_LABEL

DOCKER = "/usr/bin/docker"
"""Debian's 20.10 client: the first `docker` on PATH has no buildx and only does legacy builds."""


class BuildError(RuntimeError):
    """The build exited non-zero; the message holds its output."""


def _base_ids(dockerfile: str) -> str:
    """IDs of the local images the Dockerfile builds FROM, so a rebuilt base invalidates the cached tag."""
    ids = []
    for ref in re.findall(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)", dockerfile, re.MULTILINE | re.IGNORECASE):
        done = subprocess.run([DOCKER, "image", "inspect", "-f", "{{.Id}}", ref], capture_output=True, text=True)
        ids.append(done.stdout.strip() if done.returncode == 0 else ref)
    return ",".join(ids)


def _hash(context: Path, dockerfile: str, secrets: Mapping[str, str]) -> str:
    digest = hashlib.sha256(dockerfile.encode() + _base_ids(dockerfile).encode())
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(context)).encode() + b"\0")
        digest.update(path.read_bytes())
    digest.update(repr(sorted(secrets)).encode())
    return digest.hexdigest()[:12]


def tag_exists(tag: str) -> bool:
    """Whether the engine has `tag`."""
    return subprocess.run([DOCKER, "image", "inspect", tag], capture_output=True, check=False).returncode == 0


def buildkit_build(
    name: str,
    context: Path,
    dockerfile: str,
    *,
    secrets: Mapping[str, str] | None = None,
    dockerignore: str | None = None,
    build_args: Mapping[str, str] | None = None,
    target: str | None = None,
) -> str:
    """Build `dockerfile` in a copy of `context` (with `dockerignore` when given); returns the tag.

    `secrets` maps secret ids to dummy values, passed as `--secret id=ID,src=FILE` from outside the context;
    `target` builds that stage (`--target`).
    """
    secrets = dict(secrets or {})
    build_args = dict(build_args or {})
    with tempfile.TemporaryDirectory(prefix="dockaudit-harden-") as tmp:
        ctx = Path(tmp) / "ctx"
        shutil.copytree(context, ctx)
        (ctx / "Dockerfile").write_text(dockerfile)
        if dockerignore is not None:
            (ctx / ".dockerignore").write_text(dockerignore)
        key = dockerfile + repr(sorted(build_args.items())) + repr(target)
        tag = f"dockaudit-test/harden-{name}:{_hash(ctx, key, secrets)}"
        if tag_exists(tag):
            return tag
        args = [DOCKER, "build", "-q", "--label", f"{TEST_LABEL}=1", "-t", tag]
        for arg, value in build_args.items():
            args += ["--build-arg", f"{arg}={value}"]
        if target is not None:
            args += ["--target", target]
        for secret_id, value in secrets.items():
            file = Path(tmp) / f"{secret_id}.secret"
            file.write_text(value)
            args += ["--secret", f"id={secret_id},src={file}"]
        env = {**os.environ, "DOCKER_BUILDKIT": "1"}
        done = subprocess.run([*args, str(ctx)], capture_output=True, text=True, env=env, timeout=300, check=False)
        if done.returncode != 0:
            raise BuildError(f"building {name} failed:\n{done.stdout}\n{done.stderr}")
        return tag
