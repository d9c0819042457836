"""Correct build idioms seen in public Dockerfiles are not flagged (DA207, DA213, DA604, DA601), and flaws still are."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockaudit.facts.dockerfile import DockerfileFacts
from dockaudit.facts.image import ImageFacts
from dockaudit.model import Finding, Severity
from dockaudit.parse.dockerfile import parse_dockerfile_text
from dockaudit.parse.dockerfile_image import image_facts_from_dockerfile
from tests.rules.conftest import run_rule


def dockerfile(text: str, context: Path | None = None) -> DockerfileFacts:
    return parse_dockerfile_text(text, "Dockerfile", context_dir=context)


def image_of(text: str) -> ImageFacts:
    return image_facts_from_dockerfile(dockerfile(text))


def rule(rule_id: str, text: str) -> list[Finding]:
    facts: DockerfileFacts | ImageFacts = dockerfile(text) if rule_id.startswith("DA6") else image_of(text)
    return run_rule(rule_id, facts)


# ---------------------------------------------------------------------------------------------- DA604

PURGED_IN_THE_SAME_RUN = {
    # php:*-apache images extended with a PECL extension: the build deps go away in the same RUN.
    "apt purge of named deps": (
        "FROM php:8.3-apache\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends $PHPIZE_DEPS gcc make \\\n"
        " && pecl install xdebug && docker-php-ext-enable xdebug \\\n"
        " && apt-get purge -y --auto-remove $PHPIZE_DEPS gcc make && rm -rf /var/lib/apt/lists/*\n"
    ),
    # The Docker Official Images' savedAptMark idiom (python, php, openjdk...).
    "apt-mark auto and autoremove": (
        "FROM debian:12-slim\n"
        'RUN set -eux; savedAptMark="$(apt-mark showmanual)"; apt-get update; \\\n'
        "    apt-get install -y --no-install-recommends gcc libssl-dev make; make -C /src install; \\\n"
        "    apt-mark auto '.*' > /dev/null; apt-mark manual $savedAptMark; \\\n"
        "    apt-get purge -y --auto-remove -o APT::AutoRemove::RecommendsImportant=false; \\\n"
        "    rm -rf /var/lib/apt/lists/*\n"
    ),
    # docker-library/postgres and ghost: the fallback build branch marks everything auto with xargs.
    "apt-mark showmanual | xargs apt-mark auto": (
        "FROM debian:12-slim\n"
        'RUN set -eux; savedAptMark="$(apt-mark showmanual)"; apt-get update; \\\n'
        "    apt-get install -y --no-install-recommends dpkg-dev gcc make; make -C /src install; \\\n"
        "    apt-mark showmanual | xargs apt-mark auto > /dev/null; apt-mark manual $savedAptMark; \\\n"
        "    apt-get purge -y --auto-remove; rm -rf /var/lib/apt/lists/*\n"
    ),
    # ghost's Dockerfile: a global CLI is a tool, not the project's devDependencies.
    "npm global install of a CLI": (
        'FROM node:22-slim\nENV NODE_ENV production\nRUN npm install -g "ghost-cli@1.26.0"; npm cache clean --force\n'
    ),
    # Alpine's virtual package, as the postgres, php and python alpine images use it.
    "apk virtual build deps": (
        "FROM python:3.12-alpine\n"
        "RUN apk add --no-cache --virtual .build-deps gcc musl-dev libffi-dev \\\n"
        " && pip install --no-cache-dir cffi && apk del --no-network .build-deps\n"
    ),
    "npm prune of dev deps": "FROM node:22-slim\nRUN npm ci && npm run build && npm prune --omit=dev\n",
    # linuxserver/docker-swag: `--virtual=NAME` and `apk del --purge NAME`.
    "apk virtual group with =": (
        "FROM alpine:3.20\n"
        "RUN apk add --no-cache --virtual=build-dependencies build-base cargo python3-dev \\\n"
        " && pip install --no-cache-dir certbot && apk del --purge build-dependencies\n"
    ),
    # docker-library/ghost: the group name and the delete list are variables, deleted under `then`.
    "apk virtual group in variables": (
        "FROM node:18-alpine\n"
        "RUN apkDel=; if ! yarn add sharp; then virtual='.build-deps-sharp'; apkDel=\"$apkDel $virtual\"; \\\n"
        '    apk add --no-cache --virtual "$virtual" g++ make python3; yarn add sharp --build-from-source; fi; \\\n'
        '    if [ -n "$apkDel" ]; then apk del --no-network $apkDel; fi\n'
    ),
}


@pytest.mark.parametrize("text", PURGED_IN_THE_SAME_RUN.values(), ids=PURGED_IN_THE_SAME_RUN.keys())
def test_build_tools_purged_in_the_same_run_do_not_ship(text: str) -> None:
    assert rule("DA604", text) == []


def test_build_tools_removed_only_by_a_later_run_are_still_reported() -> None:
    # minio's 2015 Dockerfile: `apt-get remove build-essential` in a later RUN leaves them in the lower layer.
    text = (
        "FROM ubuntu:24.04\nRUN apt-get update && apt-get install -y build-essential curl\nRUN make\n"
        "RUN apt-get remove -y build-essential && apt-get -y autoremove\n"
        'CMD ["minio", "server", "/data"]\n'
    )
    (finding,) = rule("DA604", text)
    assert finding.evidence == "the only stage installs build-essential" and finding.location.line == 2


def test_build_tools_left_behind_are_still_reported() -> None:
    kept = (
        "FROM python:3.12-slim\nRUN apt-get update && apt-get install -y gcc libpq-dev && apt-get purge -y gcc\n"
        'CMD ["gunicorn", "app:app"]\n'
    )
    (finding,) = rule("DA604", kept)
    assert finding.evidence == "the only stage installs libpq-dev"


# ---------------------------------------------------------------------------------------------- DA207

CACHE_IDIOMS = {
    # Debian trixie's official images end every install with `apt-get dist-clean` (apt 2.7+).
    "apt-get dist-clean": (
        "FROM debian:13\nRUN set -eux; apt-get update; apt-get install -y --no-install-recommends ca-certificates "
        "curl; apt-get dist-clean\n"
    ),
    # BuildKit cache mounts as Docker's docs show them for apt, pip, npm and yarn.
    "apt cache mounts": (
        "FROM debian:12\nRUN --mount=type=cache,target=/var/cache/apt,sharing=locked "
        "--mount=type=cache,target=/var/lib/apt,sharing=locked \\\n"
        "    apt-get update && apt-get install -y --no-install-recommends curl\n"
    ),
    "pip cache mount on ~/.cache": (
        "FROM python:3.12\nRUN --mount=type=cache,target=/root/.cache pip install -r requirements.txt\n"
    ),
    "npm cache mount for the node user": "FROM node:22\nRUN --mount=type=cache,target=/home/node/.npm npm ci\n",
    "yarn cache mount": (
        "FROM node:22\nRUN --mount=type=cache,target=/usr/local/share/.cache/yarn yarn install --frozen-lockfile\n"
    ),
    "PIP_NO_CACHE_DIR in ENV": "FROM python:3.12\nENV PIP_NO_CACHE_DIR=1\nRUN pip install -r requirements.txt\n",
    # pip's option parser takes an unambiguous prefix: `--no-cache` is `--no-cache-dir` (healthchecks' Dockerfile).
    "pip --no-cache abbreviation": "FROM python:3.12\nRUN pip install --no-cache /wheels/*\n",
    # `apk add --no-network` installs from files already fetched: nothing is downloaded or cached.
    "apk --no-network": (
        "FROM alpine:3.22\nRUN apk add --no-cache --virtual .build-deps gcc && make && "
        "apk add --no-network --virtual .rundeps libffi && apk del --no-network .build-deps\n"
    ),
}


@pytest.mark.parametrize("text", CACHE_IDIOMS.values(), ids=CACHE_IDIOMS.keys())
def test_cache_idioms_keep_no_package_cache(text: str) -> None:
    assert rule("DA207", text) == []


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "FROM debian:12\nRUN --mount=type=cache,target=/var/cache/apt apt-get update && apt-get install -y curl\n",
            "apt install without removing /var/lib/apt/lists",  # the archives are mounted, the lists are not
        ),
        ("FROM python:3.12\nRUN pip install flask\n", "pip install without --no-cache-dir"),
        ("FROM python:3.12\nENV PIP_NO_CACHE_DIR=0\nRUN pip install flask\n", "pip install without --no-cache-dir"),
        ("FROM alpine:3.22\nRUN apk add curl\n", "apk add without --no-cache"),
        # The second pip has the option; the first caches pip's own wheel.
        ("FROM python:3.12\nRUN pip install --upgrade pip && pip install --no-cache x\n", "without --no-cache-dir"),
        ("FROM python:3.12\nRUN pip install --no-color flask\n", "pip install without --no-cache-dir"),
    ],
)
def test_package_caches_left_in_the_layer_are_still_reported(text: str, reason: str) -> None:
    (finding,) = rule("DA207", text)
    assert reason in finding.evidence


# ---------------------------------------------------------------------------------------------- DA213


def test_a_scratch_directory_deleted_in_the_same_run_is_not_flagged() -> None:
    # The AUR build pattern of Arch images: clone, open up for the build user, build, remove.
    text = (
        "FROM archlinux:base-devel\n"
        "RUN git clone https://aur.archlinux.org/yay-bin.git /opt/aurbuild && chmod 777 /opt/aurbuild \\\n"
        " && su builder -c 'cd /opt/aurbuild && makepkg -s' && rm -rf /opt/aurbuild\n"
    )
    assert rule("DA213", text) == []
    assert rule("DA213", "FROM debian:12\nRUN mkdir -p /tmp/build && chmod 777 /tmp/build\n") == []


def test_world_writable_app_data_is_still_low() -> None:
    (finding,) = rule("DA213", "FROM debian:12\nRUN chmod -R 777 /app\n")
    assert finding.severity is Severity.LOW and "/app" in finding.evidence


@pytest.mark.parametrize(
    ("command", "severity", "words"),
    [
        ("chmod 777 /etc/shadow", Severity.HIGH, "writable by everyone"),
        ("chmod o+w /etc/sudoers", Severity.HIGH, "writable by everyone"),
        ("chmod 664 /etc/passwd", Severity.HIGH, "writable by its group"),
        ("chmod g+w /etc/shadow", Severity.HIGH, "writable by its group"),
        ("chmod -R 775 /etc", Severity.HIGH, "/etc/shadow"),
        # OpenShift's documented arbitrary-UID support (images that add the runtime UID at start-up).
        ("chgrp 0 /etc/passwd && chmod g=u /etc/passwd", Severity.MEDIUM, "arbitrary-UID pattern"),
    ],
)
def test_writable_account_files_are_high_and_the_openshift_pattern_medium(
    command: str, severity: Severity, words: str
) -> None:
    (finding,) = rule("DA213", f"FROM registry.access.redhat.com/ubi9/ubi-minimal\nRUN {command}\n")
    assert finding.severity is severity and words in finding.evidence


# ---------------------------------------------------------------------------------------------- DA601


def _project(tmp_path: Path, text: str) -> DockerfileFacts:
    (tmp_path / "src").mkdir()
    (tmp_path / "package.json").write_text("{}")
    return dockerfile(text, tmp_path)


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        ("FROM node:22\nCOPY . .\n", Severity.MEDIUM),
        ("FROM node:22\nADD . /app\n", Severity.MEDIUM),
        ("FROM node:22\nCOPY src ./src\n", Severity.MEDIUM),  # a directory: everything under it, dotfiles too
        ("FROM node:22\nCOPY package.json package-lock.json ./\nCOPY server.js ./\n", Severity.LOW),
        ("FROM eclipse-temurin:21-jre\nCOPY target/*.jar app.jar\n", Severity.LOW),  # Spring Boot's jar glob
        ("FROM node:22\nCOPY src/* ./\n", Severity.MEDIUM),
        ("FROM node:22\nCOPY --from=build /out /out\nRUN echo hi\n", Severity.INFO),
    ],
)
def test_a_missing_dockerignore_matters_in_proportion_to_what_is_copied(
    tmp_path: Path, text: str, severity: Severity
) -> None:
    (finding,) = run_rule("DA601", _project(tmp_path, text))
    assert finding.severity is severity


def test_the_evidence_names_what_copies_the_context(tmp_path: Path) -> None:
    (finding,) = run_rule("DA601", _project(tmp_path, "FROM node:22\nWORKDIR /app\nCOPY . .\n"))
    assert "line 3 `COPY .`" in finding.evidence


# ---------------------------------------------------------------------------------------------- DA203/DA204


def test_a_quoted_url_in_add_is_one_remote_download_not_a_local_file() -> None:
    """linuxserver/docker-baseimage-alpine quotes its s6-overlay URLs: DA204 only, not DA203 as well."""
    text = 'FROM alpine:3.20\nADD --chmod=755 "https://example.com/releases/s6-overlay-noarch.sh" /init\n'
    assert rule("DA203", text) == []
    (finding,) = rule("DA204", text)
    assert "https://example.com/releases/s6-overlay-noarch.sh" in finding.evidence


def test_a_user_from_an_arg_without_default_may_come_from_the_base_images_env() -> None:
    """jupyter/docker-stacks: `ARG NB_UID` then `USER ${NB_UID}`, where the base sets ENV NB_UID: no false claim."""
    text = 'FROM quay.io/jupyter/docker-stacks-foundation\nARG NB_UID\nCMD ["start-notebook.py"]\nUSER ${NB_UID}\n'
    (finding,) = rule("DA606", text)
    assert finding.severity is Severity.LOW
    assert "unless the base image quay.io/jupyter/docker-stacks-foundation sets it in its ENV" in finding.evidence


def test_an_add_whose_url_comes_from_an_arg_default_is_a_remote_download() -> None:
    """keycloak's UBI Dockerfile: `ARG KEYCLOAK_DIST=https://...-$KEYCLOAK_VERSION.tar.gz`, `ADD $KEYCLOAK_DIST`."""
    text = (
        "FROM registry.access.redhat.com/ubi9\nENV KEYCLOAK_VERSION=22.0.5\n"
        "ARG KEYCLOAK_DIST=https://example.com/keycloak-$KEYCLOAK_VERSION.tar.gz\nADD $KEYCLOAK_DIST /tmp/keycloak/\n"
    )
    (finding,) = rule("DA204", text)
    assert "https://example.com/keycloak-22.0.5.tar.gz" in finding.evidence
    assert rule("DA203", text) == []
