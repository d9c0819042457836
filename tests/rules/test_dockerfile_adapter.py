"""The DA1xx/DA2xx rules judge a Dockerfile through the image it describes, with line numbers."""

from __future__ import annotations

from dockaudit.config import Settings
from dockaudit.facts.filesystem import OsRelease
from dockaudit.facts.image import Healthcheck
from dockaudit.model import Finding, Status
from dockaudit.parse.dockerfile import parse_dockerfile_text
from dockaudit.parse.dockerfile_image import image_facts_from_dockerfile, os_from_base
from dockaudit.rules import load_all
from dockaudit.rules.registry import RuleContext, Scope, evaluate
from tests.fixtures import recipes
from tests.rules.conftest import NOW

DOCKERFILE = """\
FROM golang:1.22 AS build
RUN go build -o /out/app .

FROM debian:buster
ARG NPM_TOKEN
ENV APP_ENV=production DB_PASSWORD=hunter2hunter2
LABEL org.opencontainers.image.source="https://example.com/app"
RUN apt-get update && apt-get install -y curl
RUN echo "//r/:_authToken=$NPM_TOKEN" > /root/.npmrc
ADD https://example.com/tool.tgz /opt/
EXPOSE 22 8080
HEALTHCHECK CMD curl -f http://localhost/
USER app
STOPSIGNAL SIGKILL
VOLUME /sys
CMD python /app/main.py
"""


def findings_for(text: str) -> list[Finding]:
    load_all()
    facts = image_facts_from_dockerfile(parse_dockerfile_text(text))
    found, _ = evaluate((Scope.IMAGE, Scope.HISTORY), facts, RuleContext(settings=Settings(), now=NOW))
    return found


def failed_lines(findings: list[Finding]) -> dict[str, list[int | None]]:
    out: dict[str, list[int | None]] = {}
    for f in findings:
        if f.status is Status.FAIL:
            out.setdefault(f.rule_id, []).append(f.location.line)
    return out


def test_final_stage_config_is_read() -> None:
    facts = image_facts_from_dockerfile(parse_dockerfile_text(DOCKERFILE))
    config = facts.config
    assert config.user == "app"
    assert config.cmd == ("/bin/sh", "-c", "python /app/main.py")
    assert config.healthcheck == Healthcheck(test=("CMD-SHELL", "curl -f http://localhost/"))
    assert config.exposed_ports == ("22/tcp", "8080/tcp")
    assert config.stop_signal == "SIGKILL" and config.volumes == ("/sys",)
    assert [e.name for e in config.env] == ["APP_ENV", "DB_PASSWORD"]
    assert "hunter2hunter2" not in repr(facts)
    assert facts.os_release == OsRelease(id="debian", version_id="10", pretty_name="debian:buster")
    # Only the final stage becomes history; `go build` of the build stage is not in the image.
    assert not any("go build" in h.created_by for h in facts.history)


def test_findings_carry_dockerfile_lines() -> None:
    lines = failed_lines(findings_for(DOCKERFILE))
    assert lines["DA103"] == [16]
    assert lines["DA104"] == [6]
    assert lines["DA109"] == [11]
    assert lines["DA111"] == [14]
    assert "DA112" not in lines  # a Dockerfile has no size; its EOL base is DA611's, on the Dockerfile run
    assert lines["DA114"] == [15]
    assert lines["DA116"] == [13]
    assert lines["DA202"] == [9]  # expands the secret ARG instead of using a secret mount
    assert lines["DA204"] == [10]
    assert lines["DA207"] == [8] and lines["DA208"] == [8] and lines["DA212"] == [8]


def test_image_only_rules_are_skipped_with_a_reason() -> None:
    skipped = {f.rule_id: f.evidence for f in findings_for(DOCKERFILE) if f.status is Status.SKIPPED}
    assert set(skipped) == {"DA106", "DA107", "DA112", "DA113", "DA115"}
    assert all("Dockerfile" in reason for reason in skipped.values())


def test_missing_user_and_healthcheck_point_at_the_final_from() -> None:
    lines = failed_lines(findings_for('FROM alpine:3.22\nRUN true\nFROM debian:12-slim\nCMD ["/app"]\n'))
    assert lines["DA101"] == [3] and lines["DA102"] == [3]


def test_bad_fixture_dockerfile_agrees_with_its_image() -> None:
    found = failed_lines(findings_for(recipes.bad_dockerfile("dockaudit-test/base:1")))
    # The same flaws the built image shows (see test_image_history_docker), minus what only a build records:
    # DA201 needs the build-arg value, DA107/DA113 need a registry and platforms.
    assert {"DA101", "DA102", "DA103", "DA104", "DA105", "DA108", "DA109", "DA203", "DA213"} <= set(found)


def test_base_names_map_to_distributions() -> None:
    assert os_from_base("alpine:3.20") == OsRelease(id="alpine", version_id="3.20", pretty_name="alpine:3.20")
    assert os_from_base("ubuntu:jammy") == OsRelease(id="ubuntu", version_id="22.04", pretty_name="ubuntu:jammy")
    assert os_from_base("python:3.12-slim-bookworm") == OsRelease(
        id="debian", version_id="12", pretty_name="python:3.12-slim-bookworm"
    )
    assert os_from_base("gcr.io/distroless/static-debian12:nonroot") == OsRelease(id="distroless")
    assert os_from_base("scratch") == OsRelease(id="scratch")
    assert os_from_base("myorg/app:1.0") is None
