"""DA611 and the shipped endoflife.date snapshot: end-of-life runtimes and distributions, dated, never guessed."""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest

from dockaudit.config import Settings, Thresholds
from dockaudit.facts.filesystem import OsRelease
from dockaudit.model import Finding, Origin, Severity, Status
from dockaudit.parse.dockerfile import parse_dockerfile_text
from dockaudit.parse.dockerfile_image import image_facts_from_dockerfile
from dockaudit.rules import eol
from dockaudit.rules.eol import dump_snapshot, named_in_ref, parse_snapshot, snapshot, support
from tests.rules.conftest import make_config, make_ctx, make_image_facts, nv, run_rule

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT_FILE = ROOT / "src" / "dockaudit" / "rules" / "data" / "endoflife.json"


def da611(dockerfile: str, **ctx_args: object) -> list[Finding]:
    return run_rule("DA611", parse_dockerfile_text(dockerfile), make_ctx(**ctx_args))  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------- the snapshot


def test_every_product_names_its_source_and_the_date_of_its_data() -> None:
    snap = snapshot()
    assert {"python", "nodejs", "ruby", "php", "go", "eclipse-temurin", "dotnet", "debian", "ubuntu"} <= set(
        snap.products
    )
    assert {"alpine-linux", "centos", "rhel", "docker-engine", "openjdk-builds-from-oracle"} <= set(snap.products)
    for product in snap.products.values():
        assert product.source.startswith("https://github.com/") and "endoflife" in product.source
        assert date(2023, 1, 1) <= product.as_of <= snap.compiled
        assert product.cycles and all(c.eol is not None for c in product.cycles)


def test_the_shipped_file_is_in_the_layout_the_refresh_script_writes() -> None:
    text = SNAPSHOT_FILE.read_text(encoding="utf-8")
    assert dump_snapshot(json.loads(text)) == text
    assert parse_snapshot(text).products.keys() == snapshot().products.keys()


def test_a_malformed_snapshot_is_rejected_with_the_key_at_fault() -> None:
    bad = {
        "compiled": "2026-01-01",
        "products": {"python": {"as_of": "2025-01-01", "cycles": {"3.8": {"eol": "soon"}}}},
    }
    with pytest.raises(ValueError, match=r"products\.python\.cycles\.3\.8\.eol"):
        parse_snapshot(json.dumps(bad))


@pytest.mark.parametrize(
    ("product", "version", "cycle", "ends"),
    [
        ("python", "3.8.17", "3.8", date(2024, 10, 7)),
        ("python", "2", "2.x", date(2020, 1, 1)),  # every 2.x line is over
        ("go", "1.8", "1.10", date(2019, 2, 25)),  # older than the oldest line tracked
        ("debian", "buster", "10", date(2024, 6, 30)),  # LTS included
        ("ubuntu", "bionic", "18.04", date(2028, 4, 1)),  # ESM included
        ("alpine-linux", "3.12.1", "3.12", date(2022, 5, 1)),
        ("dotnet", "6.0", "6", date(2024, 11, 12)),
        ("docker-engine", "17.3", "17.03", date(2017, 5, 5)),
    ],
)
def test_versions_map_to_their_release_cycle(product: str, version: str, cycle: str, ends: date) -> None:
    found = support(product, version)
    assert found is not None and (found.cycle, found.ends) == (cycle, ends)


def test_a_major_version_whose_lines_are_not_all_over_cannot_be_judged() -> None:
    found = support("python", "3")  # means the newest 3.x: ends with the newest 3.x line
    assert found is not None and found.ends == date(2030, 10, 31) and not found.ended(date(2026, 11, 28))
    assert support("python", "3.99") is None  # newer than the data


# ---------------------------------------------------------------------------------------------- Dockerfiles


def test_eol_runtime_and_distribution_in_one_from_tag_are_one_finding() -> None:
    # cookiecutter-style Django images pinned to python:3.7-slim-buster long after both ended.
    (finding,) = da611('FROM python:3.7-slim-buster\nCMD ["python"]\n')
    assert finding.severity is Severity.HIGH and finding.location.line == 1 and finding.origin is Origin.USER
    assert "Python 3.7 reached end of life on 2023-06-27 (endoflife.date data as of 2025-08-14)" in finding.evidence
    assert "Debian 10 reached end of life on 2024-06-30 (including extended support)" in finding.evidence


@pytest.mark.parametrize(
    ("from_line", "needle"),
    [
        ("node:14", "Node.js 14 reached end of life on 2023-04-30"),
        ("ruby:2.3", "Ruby 2.3 reached end of life on 2019-03-31"),
        ("php:7.3-apache", "PHP 7.3 reached end of life on 2021-12-06"),
        ("openjdk:8-jre", "OpenJDK builds from Oracle 8 is older than 9"),
        ("mcr.microsoft.com/dotnet/aspnet:6.0", ".NET 6 reached end of life on 2024-11-12"),
        ("centos:7", "CentOS 7 reached end of life on 2024-06-30"),
        ("ubuntu:16.04", "Ubuntu 16.04 reached end of life on 2026-04-02 (including extended support)"),
        ("python:2.7-alpine3.10", "Python 2.7 reached end of life on 2020-01-01"),
        ("bitnami/python:3.6", "Python 3.6 reached end of life on 2021-12-23"),
        ("wordpress:4.9-php7.1-apache", "PHP 7.1 reached end of life on 2019-12-01"),  # a runtime in another's tag
        ("mcr.microsoft.com/powershell:alpine-3.10", "Alpine Linux 3.10 reached end of life on 2021-05-01"),
        ("mysql:5.7.20", "MySQL 5.7 reached end of life on 2023-10-31"),
        ("postgres:9.6-alpine", "PostgreSQL 9.6 reached end of life on 2021-11-11"),
    ],
)
def test_eol_tags_seen_in_public_dockerfiles_are_found(from_line: str, needle: str) -> None:
    (finding,) = da611(f"FROM {from_line}\n")
    assert needle in finding.evidence and finding.status is Status.FAIL


def test_an_eol_build_stage_is_reported_as_such() -> None:
    # The multi-stage Go pattern from Docker's own docs, as many repositories still have it.
    (finding,) = da611(
        "FROM golang:1.8 AS builder\nRUN go build -o /app\nFROM gcr.io/distroless/base\nCOPY --from=builder /app /\n"
    )
    # High as well: a Go binary carries the standard library of the (unpatched) Go that built it.
    assert finding.location.line == 1 and finding.severity is Severity.HIGH
    assert "(build stage builder)" in finding.evidence and "older than 1.10" in finding.evidence


def test_build_and_runtime_stages_on_the_same_ended_release_are_one_finding() -> None:
    # The .NET pattern: sdk:X AS build, aspnet:X runtime; one upgrade fixes both lines.
    (finding,) = da611(
        "FROM mcr.microsoft.com/dotnet/aspnet:6.0 AS base\n"
        "FROM mcr.microsoft.com/dotnet/sdk:6.0 AS build\nRUN dotnet publish -o /app\n"
        "FROM base\nCOPY --from=build /app /app\n"
    )
    assert finding.location.line == 1 and finding.severity is Severity.HIGH
    assert ".NET 6 reached end of life on 2024-11-12" in finding.evidence
    assert finding.evidence.endswith("; also FROM mcr.microsoft.com/dotnet/sdk:6.0 (build stage build) (line 2)")


def test_stages_on_different_ended_releases_stay_separate_findings() -> None:
    found = da611("FROM golang:1.8 AS builder\nRUN go build -o /app\nFROM debian:9\nCOPY --from=builder /app /\n")
    assert [f.location.line for f in found] == [1, 3]
    assert "also" not in found[0].evidence + found[1].evidence


def test_env_runtime_versions_of_the_final_stage_are_judged_on_their_line() -> None:
    # The official images' own pattern: build the runtime from source with its version in ENV.
    (finding,) = da611("FROM debian:12-slim\nENV NODE_VERSION=14.21.3\nRUN echo build node\n")
    assert finding.location.line == 2 and "Node.js 14" in finding.evidence


@pytest.mark.parametrize(
    "from_line",
    [
        "python:3.13-slim",
        "node:22-alpine",
        "debian:12",
        "python:3",
        "node:lts",
        "myorg/python:1.0",
        "eclipse-temurin:21",
    ],
)
def test_supported_ambiguous_or_foreign_tags_pass(from_line: str) -> None:
    assert da611(f"FROM {from_line}\n") == []


def test_stages_built_from_earlier_stages_are_not_judged_twice() -> None:
    findings = da611("FROM node:14 AS base\nFROM base AS test\nFROM base\n")
    assert [f.location.line for f in findings] == [1]


# ---------------------------------------------------------------------------------------------- stale data


def test_a_scheduled_end_past_the_data_date_says_the_data_may_be_stale() -> None:
    # Python 3.9 ended 2025-10-31: after the python data's date (2025-08-14), which is over 365 days old in 2026-11.
    (finding,) = da611("FROM python:3.9\n")
    assert "as that endoflife.date data as of 2025-08-14 scheduled it; the data may be stale" in finding.evidence
    assert "scripts/refresh_eol.py" in finding.evidence and finding.severity is Severity.MEDIUM


def test_the_stale_age_is_configurable() -> None:
    settings = Settings(thresholds=Thresholds(eol_data_max_age_days=1000))
    (finding,) = da611("FROM python:3.9\n", settings=settings)
    assert "may be stale" not in finding.evidence and finding.severity is Severity.HIGH


def test_a_release_newer_than_stale_data_is_skipped_instead_of_guessed() -> None:
    (finding,) = da611("FROM python:3.15-slim\n")
    assert finding.status is Status.SKIPPED and "may be stale" in finding.evidence
    fresh = datetime(2025, 9, 1, tzinfo=UTC)
    assert da611("FROM python:3.15-slim\n", now=fresh) == []


def test_before_the_end_date_nothing_is_reported() -> None:
    assert da611("FROM python:3.9\n", now=datetime(2025, 9, 1, tzinfo=UTC)) == []


# ---------------------------------------------------------------------------------------------- images


def test_an_image_os_release_past_its_end_is_found() -> None:
    facts = make_image_facts(os_release=OsRelease(id="alpine", version_id="3.12.12", pretty_name="Alpine Linux v3.12"))
    (finding,) = run_rule("DA611", facts)
    assert finding.location.path == "/etc/os-release" and finding.origin is Origin.BASE
    assert "Alpine Linux 3.12 reached end of life on 2022-05-01" in finding.evidence


def test_an_image_runtime_version_in_its_environment_is_found() -> None:
    env = ("PATH=/usr/local/bin:/usr/bin", "PYTHON_VERSION=3.7.17")
    (finding,) = run_rule("DA611", make_image_facts(config=make_config(env=env)))
    assert "ENV PYTHON_VERSION=3.7.17: Python 3.7" in finding.evidence


def test_temurin_java_is_told_from_its_java_home() -> None:
    env = (nv("JAVA_HOME", "/opt/java/openjdk"), nv("JAVA_VERSION", "jdk-17.0.8.1+1"))
    assert run_rule("DA611", make_image_facts(config=make_config(env=env))) == []
    old = (nv("JAVA_HOME", "/opt/java/openjdk"), nv("JAVA_VERSION", "jdk-19.0.2+7"))
    (finding,) = run_rule("DA611", make_image_facts(config=make_config(env=old)))
    assert "Eclipse Temurin 19" in finding.evidence


def test_a_current_image_passes_and_one_without_releases_is_skipped() -> None:
    assert run_rule("DA611", make_image_facts()) == []  # debian 12
    (skipped,) = run_rule("DA611", make_image_facts(os_release=None))
    assert skipped.status is Status.SKIPPED


def test_dockerfile_derived_image_facts_leave_the_verdict_to_the_dockerfile_run() -> None:
    facts = image_facts_from_dockerfile(parse_dockerfile_text("FROM python:3.7\n"))
    assert run_rule("DA611", facts) == []


def test_a_refreshed_copy_can_replace_the_shipped_snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = json.loads(SNAPSHOT_FILE.read_text(encoding="utf-8"))
    data["products"]["python"]["cycles"]["3.13"] = {"eol": "2026-01-01"}
    data["products"]["python"]["as_of"] = "2026-11-01"
    path = tmp_path / "endoflife.json"
    path.write_text(dump_snapshot(data))
    monkeypatch.setenv(eol.SNAPSHOT_ENV, str(path))
    (finding,) = da611("FROM python:3.13\n")
    assert "Python 3.13 reached end of life on 2026-01-01 (endoflife.date data as of 2026-11-01)" in finding.evidence


def test_named_in_ref_reads_flavours_of_official_tags() -> None:
    named = {(n.product, n.version) for n in named_in_ref("node:14.17.0-alpine3.12")}
    assert named == {("nodejs", "14.17.0"), ("alpine-linux", "3.12")}
    assert {(n.product, n.version) for n in named_in_ref("eclipse-temurin:17-jre-jammy")} == {
        ("eclipse-temurin", "17"),
        ("ubuntu", "jammy"),
    }
    assert named_in_ref("registry.access.redhat.com/ubi8/ubi-minimal:8.9")[0].product == "rhel"
    assert named_in_ref("$BASE_IMAGE") == [] and named_in_ref("scratch") == []


# ---------------------------------------------------------------------------------------------- refresh script


def _refresh_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("refresh_eol", ROOT / "scripts" / "refresh_eol.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


API_ANSWER = [
    {"cycle": "24.04", "codename": "Noble Numbat", "eol": "2029-05-31", "extendedSupport": "2036-05-31"},
    {"cycle": "23.10", "codename": "Mantic Minotaur", "eol": "2024-07-12", "extendedSupport": False},
    {"cycle": "3", "eol": True},
]


def test_api_cycles_map_to_the_snapshot_layout() -> None:
    cycles = _refresh_module().cycles_from_api(API_ANSWER)
    assert cycles == {
        "24.04": {"eol": "2029-05-31", "extended_support": "2036-05-31", "codename": "noble"},
        "23.10": {"eol": "2024-07-12", "codename": "mantic"},
        "3": {"eol": True},
    }


@pytest.fixture
def api_server() -> Iterator[str]:
    """A local HTTP server answering every `/api/<product>.json` like endoflife.date does."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(API_ANSWER).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/{{product}}.json"
    server.shutdown()


def test_refresh_writes_a_readable_snapshot_dated_today(tmp_path: Path, api_server: str) -> None:
    module = _refresh_module()
    module.API = api_server
    out = tmp_path / "endoflife.json"
    assert module.main(["-o", str(out)]) == 0
    snap = parse_snapshot(out.read_text())
    today = datetime.now(UTC).date()
    assert snap.compiled == today and all(p.as_of == today for p in snap.products.values())
    assert snap.products["ubuntu"].source == api_server.format(product="ubuntu")


def test_refresh_without_network_writes_nothing(tmp_path: Path) -> None:
    module = _refresh_module()
    module.API = "http://127.0.0.1:9/api/{product}.json"  # discard port: the connection is refused
    out = tmp_path / "endoflife.json"
    assert module.main(["-o", str(out), "--timeout", "2"]) == 3
    assert not out.exists()


def test_doctor_states_the_snapshot_and_the_age_of_its_data() -> None:
    from dockaudit.commands.doctor import eol_data_line

    line = eol_data_line()
    assert line.startswith(f"endoflife.date snapshot compiled {snapshot().compiled.isoformat()}")
    oldest = snapshot().oldest()
    assert oldest is not None and f"data as of {oldest.as_of.isoformat()} ({oldest.id}," in line
