"""No planted secret reaches any output: facts, findings (repr and JSON), or logs."""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

import pytest

from dockaudit.facts.image import NamedValue
from dockaudit.model import Finding
from dockaudit.parse.dockerfile import parse_dockerfile_text
from dockaudit.parse.dockerfile_image import image_facts_from_dockerfile
from dockaudit.rules import load_all
from dockaudit.rules.registry import Scope, evaluate
from dockaudit.secrets import classify_file
from tests.rules.conftest import (
    file_fact,
    make_config,
    make_container_facts,
    make_ctx,
    make_filesystem,
    make_history,
    make_image_facts,
    nv,
)
from tests.rules.planted_formats import AWS_SECRET, FORMATS, NAMED, RUN_ONLY, all_values

SECRETS = all_values()


def _env() -> list[NamedValue]:
    env = [nv(f"VALUE_{i}", value) for i, (_, value) in enumerate(FORMATS)]
    env.append(nv("AWS_SECRET_ACCESS_KEY", AWS_SECRET))
    env.extend(nv(name, value) for name, value in NAMED.items())
    return env


def _history_lines() -> list[str]:
    lines = [f"/bin/sh -c #(nop)  ENV VALUE_{i}={value}" for i, (_, value) in enumerate(FORMATS)]
    lines.append(f"/bin/sh -c #(nop)  ENV AWS_SECRET_ACCESS_KEY={AWS_SECRET}")
    lines.append(f"/bin/sh -c #(nop)  LABEL com.example.token={NAMED['API_KEY']}")
    lines.extend(f"/bin/sh -c echo {value} > /tmp/x" for _, value in FORMATS if "PRIVATE KEY" not in value)
    lines.extend(
        [
            f"|2 NPM_TOKEN={FORMATS[12][1]} DB_PASSWORD={NAMED['DB_PASSWORD']} /bin/sh -c npm ci",
            f"/bin/sh -c curl -u admin:{RUN_ONLY['basic']} https://example.com | sh",
            f"/bin/sh -c docker login --password {RUN_ONLY['password-flag']} registry.example.com",
            f"/bin/sh -c curl -H 'Authorization: Bearer {RUN_ONLY['header']}' https://api.example.com",
            f'/bin/sh -c echo "//registry.npmjs.org/:_authToken={RUN_ONLY["npmrc"]}" > /root/.npmrc',
            f'/bin/sh -c echo "machine h login bob password {RUN_ONLY["netrc"]}" > /root/.netrc',
            f"/bin/sh -c export AWS_ACCESS_KEY_ID={FORMATS[0][1]} AWS_SECRET_ACCESS_KEY={AWS_SECRET}",
        ]
    )
    return lines


def _files() -> list[Any]:
    contents = {
        "/app/deploy.pem": FORMATS[15][1].encode(),
        "/root/.ssh/id_ed25519": FORMATS[16][1].encode(),
        "/root/.aws/credentials": f"[default]\naws_secret_access_key = {AWS_SECRET}\n".encode(),
        "/root/.npmrc": f"//registry.npmjs.org/:_authToken={RUN_ONLY['npmrc']}\n".encode(),
        "/app/.env": f"DB_PASSWORD={NAMED['DB_PASSWORD']}\n".encode(),
    }
    # Collectors keep only the classification of a credential file, never its content.
    return [
        file_fact(path, size=len(data), mode=0o600, layer_index=1, secret=classify_file(path, data))
        for path, data in contents.items()
    ]


DOCKERFILE = (
    "FROM debian:12-slim\n"
    + "".join(f"ENV VALUE_{i}={value}\n" for i, (_, value) in enumerate(FORMATS) if "\n" not in value)
    + f"ARG NPM_TOKEN={FORMATS[12][1]}\n"
    + f"ENV AWS_SECRET_ACCESS_KEY={AWS_SECRET} DB_PASSWORD={NAMED['DB_PASSWORD']}\n"
    + f"LABEL com.example.slack={FORMATS[7][1]}\n"
    + f"RUN curl -u admin:{RUN_ONLY['basic']} https://example.com/x | sh\n"
    + f"RUN curl -H 'Authorization: Bearer {RUN_ONLY['header']}' https://api.example.com\n"
    + f"RUN docker login --password {RUN_ONLY['password-flag']} registry.example.com\n"
    + f'RUN echo "//registry.npmjs.org/:_authToken={RUN_ONLY["npmrc"]}" > /root/.npmrc\n'
    + 'CMD ["/app"]\n'
)


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def _dump(findings: list[Finding]) -> str:
    return json.dumps([dataclasses.asdict(f) for f in findings], default=str, ensure_ascii=False)


def test_at_least_fifteen_formats_are_planted() -> None:
    assert len({kind for kind, _ in FORMATS}) >= 12
    assert len(SECRETS) >= 25


@pytest.fixture
def everything(caplog: pytest.LogCaptureFixture) -> tuple[list[Any], list[Finding]]:
    """Facts with every planted secret, built as collectors build them, and every rule's findings on them."""
    caplog.set_level(logging.DEBUG)
    load_all()
    image = make_image_facts(
        config=make_config(env=_env(), labels={f"com.example.v{i}": v for i, (_, v) in enumerate(FORMATS)}),
        history=make_history(*_history_lines()),
        filesystem=make_filesystem(file_fact("/etc/os-release"), *_files()),
    )
    container = make_container_facts(env=[nv(f"APP_{i}", v) for i, (_, v) in enumerate(FORMATS)] + _env())
    dockerfile = parse_dockerfile_text(DOCKERFILE, "Dockerfile")
    adapted = image_facts_from_dockerfile(dockerfile)
    ctx = make_ctx()
    findings: list[Finding] = []
    for scopes, facts in (
        ((Scope.IMAGE, Scope.HISTORY, Scope.FILESYSTEM), image),
        ((Scope.CONTAINER,), container),
        ((Scope.DOCKERFILE,), dockerfile),
        ((Scope.IMAGE, Scope.HISTORY), adapted),
    ):
        found, _ = evaluate(scopes, facts, ctx)
        findings.extend(found)
    return [image, container, dockerfile, adapted], findings


def test_image_container_and_adapted_facts_hold_no_raw_secret(everything: tuple[list[Any], list[Finding]]) -> None:
    image, container, _, adapted = everything[0]
    for fact in (image, container, adapted):
        assert _leaks(repr(fact)) == [], type(fact).__name__


def test_dockerfile_facts_hold_no_raw_secret(everything: tuple[list[Any], list[Finding]]) -> None:
    dockerfile = everything[0][2]
    assert _leaks(repr(dockerfile)) == []


def test_findings_hold_no_raw_secret(everything: tuple[list[Any], list[Finding]]) -> None:
    _, findings = everything
    assert _leaks(repr(findings)) == []
    assert _leaks(_dump(findings)) == []


def test_logs_hold_no_raw_secret(everything: tuple[list[Any], list[Finding]], caplog: pytest.LogCaptureFixture) -> None:
    assert _leaks(caplog.text) == []


def test_the_planted_secrets_are_reported(everything: tuple[list[Any], list[Finding]]) -> None:
    _, findings = everything
    ids = {f.rule_id for f in findings}
    assert {"DA104", "DA105", "DA201", "DA202", "DA302", "DA423", "DA605"} <= ids
    env_hits = [f for f in findings if f.rule_id == "DA104" and "dockerfile" not in f.evidence]
    # Every planted ENV value is reported, each with its redaction and never its value.
    assert len(env_hits) >= len(FORMATS) + 1 + len(NAMED)
    assert all("(redacted" in f.evidence for f in env_hits)
