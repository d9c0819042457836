"""One table of well-known images (`parse/data/known_images.toml`) answers both the Dockerfile and the Compose side."""

from __future__ import annotations

import tomllib
from importlib import resources

import pytest

from dockaudit.parse.base_images import compile_table, known_base, read_table
from dockaudit.rules.known_images import is_datastore, known_image


def test_every_entry_names_its_source() -> None:
    text = resources.files("dockaudit.parse").joinpath("data/known_images.toml").read_text(encoding="utf-8")
    entries = tomllib.loads(text)["image"]
    assert entries and all(str(e.get("source", "")).strip() for e in entries)


@pytest.mark.parametrize(
    ("image", "user", "drops_to", "root_server", "app_user"),
    [
        ("postgres:16", "", "postgres 999:999", False, ""),
        ("postgres:16-alpine", "", "postgres 70:70", False, ""),
        ("docker.io/library/redis:7@sha256:" + "a" * 64, "", "redis 999:999", False, ""),
        ("valkey/valkey:8", "", "redis 999:999", False, ""),
        ("nginx:1.27", "", "", True, ""),
        ("php:8.3-apache", "", "", True, ""),
        ("node:22-alpine", "", "", False, "1000:1000"),
        ("memcached:1.6", "11211:11211", "", False, ""),
        ("jenkins/jenkins:lts", "1000:1000", "", False, ""),
        ("bitnami/redis:7.2", "1001:1001", "", False, ""),
        ("lscr.io/linuxserver/plex:latest", "", "abc 911:911", False, ""),
        ("lsiobase/xenial", "", "abc 911:911", False, ""),
    ],
)
def test_compose_side_reads_the_shared_table(
    image: str, user: str, drops_to: str, root_server: bool, app_user: str
) -> None:
    known = known_image(image)
    assert known is not None
    assert (known.user, known.drops_to, known.root_server, known.app_user) == (user, drops_to, root_server, app_user)
    # The Dockerfile side reads the very same entry.
    base = known_base(image.split("@", 1)[0])
    assert base is not None and base.source == known.source


def test_distributions_and_unknown_images_say_nothing_about_a_service() -> None:
    assert known_image("debian:12") is None
    assert known_image("python:3.13-slim") is None
    assert known_image("example.com/team/app:1.0") is None


def test_datastores_come_from_the_same_table() -> None:
    assert (
        is_datastore("postgres:16")
        and is_datastore("bitnami/redis:7")
        and is_datastore("mcr.microsoft.com/mssql/server")
    )
    assert not is_datastore("nginx:1.27") and not is_datastore("")


def test_old_linuxserver_namespace_drops_privileges_on_the_dockerfile_side() -> None:
    base = known_base("lsiobase/alpine:3.12")
    assert base is not None and base.drop is not None and base.drop.user == "abc"


def _table_texts() -> tuple[str, str]:
    data = resources.files("dockaudit.parse").joinpath("data")
    return (
        data.joinpath("known_images.toml").read_text(encoding="utf-8"),
        data.joinpath("known_images.json").read_text(encoding="utf-8"),
    )


def test_the_shipped_json_is_the_compiled_toml() -> None:
    toml_text, compiled = _table_texts()
    assert compiled == compile_table(toml_text), "known_images.json is stale: run scripts/gen_known_images.py"
    assert read_table(toml_text, compiled) == tomllib.loads(toml_text)


def test_a_table_edited_and_not_compiled_again_is_read_from_its_toml() -> None:
    toml_text, compiled = _table_texts()
    edited = toml_text + '\n[[image]]\nname = "example/edited"\nsource = "a test"\n'
    assert read_table(edited, compiled)["image"][-1]["name"] == "example/edited"
    assert read_table(toml_text, None) == read_table(toml_text, "not json") == tomllib.loads(toml_text)
