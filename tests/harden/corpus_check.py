"""The corpus under test: base images, hardening each case, and the judges (rules, hadolint, Trivy)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docker

from dockaudit.config import Settings
from dockaudit.engine.collect import collect_image
from dockaudit.harden.context import BaseImage, HardenContext, base_from_facts
from dockaudit.harden.dockerfile import harden_dockerfile_text
from dockaudit.harden.document import Document
from dockaudit.harden.result import HardenResult
from dockaudit.model import Severity, Status
from dockaudit.rules import load_all
from dockaudit.rules.registry import RuleContext, Scope, evaluate
from tests.harden.bases import build_bases
from tests.harden.buildkit import buildkit_build

CORPUS = Path(__file__).parent / "corpus"
BIN = Path(sys.executable).parent
STABLE_TAGS = {
    "alpine": ("dockaudit-test/h-alpine", "3.19"),
    "debian": ("dockaudit-test/h-debian", "12"),
    "ubuntu": ("dockaudit-test/h-ubuntu", "24.04"),
    "distroless": ("dockaudit-test/h-distroless", "12"),
    "golang": ("dockaudit-test/h-golang", "1.22"),
}
UNFIXABLE_LOCALLY = {"DA107", "DA113"}
"""No local build can get a registry digest or a multi-arch manifest list."""
MUST_PASS = {"DA101", "DA102", "DA103", "DA104", "DA203"}
_SECRET_ID = re.compile(r"--mount=type=secret,id=([A-Za-z0-9_.-]+)")


def cases() -> list[Path]:
    """Every corpus case directory."""
    return sorted(p for p in CORPUS.iterdir() if (p / "Dockerfile").is_file())


def tag_bases(client: docker.DockerClient) -> dict[str, str]:
    """Build the stand-in bases and give them the stable names the corpus Dockerfiles use."""
    built = build_bases(client)
    tags = {}
    for key, (repo, tag) in STABLE_TAGS.items():
        client.api.tag(built[key], repo, tag, force=True)
        tags[key] = f"{repo}:{tag}"
    return tags


def base_lookup(client: docker.DockerClient) -> Callable[[str], BaseImage | None]:
    """Bases as `dockaudit harden` sees them: collected from the engine, files included."""
    cache: dict[str, BaseImage | None] = {}

    def lookup(ref: str) -> BaseImage | None:
        if ref not in cache:
            try:
                cache[ref] = base_from_facts(collect_image(client, ref), ref)
            except Exception:
                cache[ref] = None
        return cache[ref]

    return lookup


def harden_case(case: Path, lookup: Callable[[str], BaseImage | None]) -> HardenResult:
    """Harden a case's Dockerfile with its directory as the project."""
    context = HardenContext(base_lookup=lookup, project_dir=str(case))
    return harden_dockerfile_text((case / "Dockerfile").read_text(), context=context)


def buildable(text: str) -> bool:
    """Heredocs need a newer frontend (a registry) and remote ADDs the network: neither builds here."""
    doc = Document.parse(text)
    if any(i.heredoc for i in doc.instructions):
        return False
    return not any(
        i.cmd == "ADD" and i.value and i.value[0].startswith(("http://", "https://")) for i in doc.instructions
    )


def secret_ids(text: str) -> dict[str, str]:
    """Dummy values for every secret the Dockerfile mounts."""
    return {sid: f"dummy-{sid}" for sid in _SECRET_ID.findall(text)}


@dataclass(frozen=True)
class Built:
    """Both images of a case."""

    original: str
    hardened: str


def build_case(case: Path, result: HardenResult) -> Built:
    """Build the original and the hardened Dockerfile (the latter with its generated .dockerignore)."""
    original = buildkit_build(case.name, case, result.original)
    # The build command the notes ask for: secrets from files, provenance from git.
    provenance = {"VCS_URL": f"https://example.com/corpus/{case.name}.git", "VCS_REF": "0" * 40}
    hardened = buildkit_build(
        f"{case.name}-hardened",
        case,
        result.hardened,
        secrets=secret_ids(result.hardened),
        dockerignore=result.dockerignore,
        build_args=provenance if "ARG VCS_REF" in result.hardened else None,
    )
    return Built(original, hardened)


def failing_rules(client: docker.DockerClient, tag: str) -> set[str]:
    """Checklist rules that fail on the image (severity low and above), without the unfixable ones."""
    load_all()
    facts = collect_image(client, tag)
    findings, _ = evaluate((Scope.IMAGE, Scope.HISTORY, Scope.FILESYSTEM), facts, RuleContext(settings=Settings()))
    return {
        f.rule_id
        for f in findings
        if f.status is Status.FAIL and f.severity >= Severity.LOW and f.rule_id not in UNFIXABLE_LOCALLY
    }


def hadolint(text: str) -> Counter[str]:
    """hadolint's findings by code."""
    done = subprocess.run(
        [str(BIN / "hadolint"), "-f", "json", "--no-fail", "-"], input=text, capture_output=True, text=True, check=False
    )
    return Counter(item["code"] for item in json.loads(done.stdout or "[]"))


def trivy_failures(texts: dict[str, str]) -> dict[str, Counter[str]]:
    """Trivy's Dockerfile check failures by ID for each named text, in one offline run over all of them."""
    with tempfile.TemporaryDirectory(prefix="dockaudit-trivy-") as tmp:
        for name, text in texts.items():
            Path(tmp, name).mkdir()
            Path(tmp, name, "Dockerfile").write_text(text)
        done = subprocess.run(
            [str(BIN / "trivy"), "config", "--format", "json", "--skip-check-update", "--quiet", tmp],
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
    report = json.loads(done.stdout)
    found: dict[str, Counter[str]] = {name: Counter() for name in texts}
    for result in report.get("Results") or ():
        name = result["Target"].split("/")[0]
        for misconfig in result.get("Misconfigurations") or ():
            if misconfig.get("Status", "FAIL") == "FAIL":
                found[name][misconfig["ID"]] += 1
    return found
