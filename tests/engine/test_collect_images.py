"""Image facts of the fixture images on the real engine, field by field."""

from __future__ import annotations

import json
import re
import subprocess
import tarfile
import threading
import tracemalloc
import uuid
from pathlib import Path

import docker
import pytest

from dockaudit.engine import api
from dockaudit.engine.client import connect, resolve_endpoint
from dockaudit.engine.collect import ImageSummary, collect_image, image_facts_from_archive, inventory
from dockaudit.engine.layers import read_image_stream
from dockaudit.engine.source import EngineSource
from dockaudit.errors import CancelledError, EngineError
from dockaudit.facts.filesystem import FileType
from dockaudit.facts.image import ImageFacts
from tests.engine.conftest import EngineContainers, EngineImages, EngineUnderTest
from tests.fixtures import planted

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def bad(engine: EngineUnderTest, engine_images: EngineImages) -> ImageFacts:
    return collect_image(engine.client, engine_images.bad, engine_id="test-engine")


@pytest.fixture(scope="module")
def good(engine: EngineUnderTest, engine_images: EngineImages) -> ImageFacts:
    return collect_image(engine.client, engine_images.good)


BUILDAH_RUN_FILES = {"/dev", "/proc", "/sys", "/run", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf"}
"""What buildah leaves in a RUN step's layer: its mount points and the empty files it bind-mounted over."""


def env_of(facts: ImageFacts) -> dict[str, str]:
    return {e.name: e.value for e in facts.config.env}


def test_bad_image_identity(bad: ImageFacts, engine: EngineUnderTest, engine_images: EngineImages) -> None:
    bad_image = engine_images.bad
    inspect = engine.client.api.inspect_image(bad_image)
    assert bad.id == inspect["Id"]
    assert bad_image in bad.repo_tags
    assert bad.reference == bad_image and bad.name == bad_image
    # Never pushed: no registry digest. Podman records one under its `localhost/` pseudo-registry; it is dropped.
    assert bad.repo_digests == ()
    if engine.podman:
        assert bad_image.startswith("localhost/") and inspect["RepoDigests"][0].startswith("localhost/")
    assert (bad.architecture, bad.os) == ("amd64", "linux")
    assert bad.created is not None and bad.created.tzinfo is not None
    assert bad.size == inspect["Size"]
    assert bad.layers == tuple(inspect["RootFS"]["Layers"])
    assert bad.engine == "test-engine"


def test_a_name_given_through_the_docker_api_has_a_digest_on_podman_only(
    engine: EngineUnderTest, engine_images: EngineImages
) -> None:
    repository = f"dockaudit-test/named-{uuid.uuid4().hex[:8]}"
    engine.client.api.tag(engine_images.base, repository, "1")
    try:
        facts = collect_image(engine.client, f"{repository}:1", read_layers=False)
    finally:
        engine.client.api.remove_image(f"{repository}:1", noprune=True)
    if engine.podman:
        # Podman digests every name an image has, pushed or not: DA107 cannot tell this one was never pushed.
        (digest,) = facts.repo_digests
        assert digest.startswith(f"docker.io/{repository}@sha256:")
    else:
        assert facts.repo_digests == ()


def test_bad_image_config(bad: ImageFacts, engine: EngineUnderTest) -> None:
    cfg = bad.config
    assert cfg.user == ""
    assert cfg.healthcheck is None
    assert cfg.entrypoint is None
    assert cfg.cmd == ("/bin/sh", "-c", "sleep 3600; exit 0")
    assert cfg.exposed_ports == ("22/tcp", "8080/tcp")
    assert cfg.stop_signal == ""
    env = {e.name: e for e in cfg.env}
    assert env["APP_ENV"].value == "production" and env["APP_ENV"].secret is None
    assert env["AWS_ACCESS_KEY_ID"].secret is not None and env["AWS_ACCESS_KEY_ID"].secret.kind == "aws-access-key-id"
    assert env["AWS_ACCESS_KEY_ID"].value == "AKIA…(redacted, 20 chars)"
    assert env["AWS_SECRET_ACCESS_KEY"].secret is not None
    assert env["DB_PASSWORD"].secret is not None and env["DB_PASSWORD"].secret.kind == "name"
    labels = {label.name: label for label in cfg.labels}
    assert labels["com.example.slack-token"].secret is not None
    assert labels["maintainer"].value == "ops@example.com"
    assert labels["dockaudit.test"].value == "1"
    # buildah labels what it builds with its own version.
    assert ("io.buildah.version" in labels) is engine.podman


def test_bad_image_history_is_aligned_and_redacted(
    bad: ImageFacts, engine: EngineUnderTest, engine_images: EngineImages
) -> None:
    # Docker's history API tags the base's top step; Podman's tags none, so the origin comes from the heuristic.
    assert bad.base_image == (None if engine.podman else engine_images.base)
    layered = [h for h in bad.history if not h.empty_layer]
    assert [h.layer_index for h in layered] == list(range(len(bad.layers)))
    assert all(h.layer_index is None for h in bad.history if h.empty_layer)
    base_steps = [h for h in bad.history if h.from_base]
    assert base_steps and all(h.from_base is not None for h in bad.history)
    assert base_steps[-1].index == len(base_steps) - 1
    add = next(h for h in bad.history if "ADD file:" in h.created_by)
    assert add.from_base is False and not add.empty_layer
    runs = [h for h in bad.history if h.build_args]
    assert len(runs) == 3
    for run in runs:
        (arg,) = run.build_args
        assert arg.name == "NPM_TOKEN" and arg.secret is not None and arg.secret.kind == "npm-token"
        assert run.created_by.startswith("|1 NPM_TOKEN=npm_…(redacted, 40 chars) /bin/sh -c ")
    env_step = next(h for h in bad.history if "ENV APP_ENV" in h.created_by)
    assert {s.kind for s in env_step.secrets} >= {"aws-access-key-id"}
    if engine.podman:
        # buildah comments every step after the first with the image it started from: the base by name for the
        # first step of this build, the previous step's image id after that.
        first = next(h for h in bad.history if "ARG NPM_TOKEN" in h.created_by)
        assert first.comment == f"FROM {engine_images.base}"
        assert all(re.fullmatch(r"FROM [0-9a-f]{12}", h.comment) for h in bad.history[first.index + 1 :])
    else:
        assert all(h.comment == "" for h in bad.history)


def test_no_planted_secret_reaches_the_facts(bad: ImageFacts) -> None:
    planted.assert_no_planted_secret(repr(bad))


def test_bad_image_filesystem(bad: ImageFacts, engine: EngineUnderTest) -> None:
    fs = bad.filesystem
    assert fs is not None and bad.filesystem_skip_reason is None
    assert fs.layout == "classic"
    assert len(fs.layers) == len(bad.layers)
    assert [layer.digest for layer in fs.layers] == list(bad.layers)
    assert fs.layers[0].from_base is True and fs.layers[-1].from_base is False
    assert "chmod 4755" in fs.layers[-1].created_by
    assert bad.os_release == fs.os_release
    assert fs.os_release is not None
    assert (fs.os_release.id, fs.os_release.version_id) == ("debian", "12")

    suid = fs.get("/usr/local/bin/suid-helper")
    assert suid is not None and suid.mode == 0o4755 and suid.type is FileType.FILE and suid.uid == 0
    # The COPY wrote it without the bit; the later chmod layer rewrote it.
    assert [f.replaced_later for f in fs.files if f.path == "/usr/local/bin/suid-helper"] == [True, False]

    (creds,) = [f for f in fs.files if f.path == "/app/.aws/credentials"]
    assert creds.deleted_later and not creds.in_final
    assert creds.secret is not None and creds.secret.kind == "aws-credentials" and creds.content is None
    (id_rsa,) = [f for f in fs.files if f.path == "/root/.ssh/id_rsa"]
    assert id_rsa.deleted_later and id_rsa.secret is not None
    assert fs.layers[id_rsa.layer_index].created_by.startswith("/bin/sh -c #(nop) COPY file:")

    key = fs.get("/app/deploy_key.pem")
    assert key is not None and key.secret is not None and key.secret.kind == "private-key" and key.mode == 0o600

    lists = fs.get("/var/lib/apt/lists/deb.debian.org_dists_bookworm_InRelease")
    assert lists is not None and lists.size > 0
    git = fs.get("/app/.git")
    assert git is not None and git.type is FileType.DIR
    assert fs.get("/app/data.txt").mode == 0o666  # type: ignore[union-attr]
    assert fs.get("/app/shared").mode == 0o777  # type: ignore[union-attr]

    shadow = fs.get("/etc/shadow")
    assert shadow is not None and shadow.content is not None and shadow.content.startswith(b"root::")
    assert [f.replaced_later for f in fs.files if f.path == "/etc/shadow"] == [True, False]
    passwd = fs.get("/etc/passwd")
    assert passwd is not None and b"toor:x:0:0:" in (passwd.content or b"")
    status = fs.get("/var/lib/dpkg/status")
    assert status is not None and b"Package: base-files" in (status.content or b"")

    # 64 KiB of blob.bin overwritten by an 8 KiB one, plus the deleted secrets and the replaced /etc files.
    assert fs.wasted_bytes >= 65536 + creds.size + id_rsa.size
    assert fs.total_size == sum(layer.size for layer in fs.layers)

    run_layers = {h.layer_index for h in bad.history if h.instruction == "RUN"}
    leftovers = {f.path for f in fs.files if f.layer_index in run_layers and f.path in BUILDAH_RUN_FILES}
    if engine.podman:
        assert leftovers == BUILDAH_RUN_FILES
        hosts = fs.get("/etc/hosts")
        assert hosts is not None and hosts.size == 0 and hosts.secret is None
    else:
        assert leftovers == set()


def test_good_image(good: ImageFacts, engine: EngineUnderTest, engine_images: EngineImages) -> None:
    cfg = good.config
    assert cfg.user == "10001:10001"
    assert cfg.entrypoint == ("/bin/busybox", "sleep") and cfg.cmd == ("3600",)
    assert cfg.healthcheck is not None and not cfg.healthcheck.disabled
    assert cfg.healthcheck.test == ("CMD", "/bin/busybox", "test", "-f", "/app/run.sh")
    hc = cfg.healthcheck
    assert (hc.interval_ns, hc.timeout_ns, hc.retries) == (30 * 10**9, 3 * 10**9, 3)
    assert cfg.stop_signal == "SIGTERM"
    assert cfg.workdir == "/app"
    labels = {label.name: label.value for label in cfg.labels}
    assert labels["org.opencontainers.image.source"] == "https://example.com/dockaudit/good"
    assert labels["org.opencontainers.image.revision"] == "0123456789abcdef0123456789abcdef01234567"
    assert all(e.secret is None for e in cfg.env) and all(label.secret is None for label in cfg.labels)
    assert good.base_image == (None if engine.podman else engine_images.base)
    assert all(h.build_args == () and h.secrets == () for h in good.history)
    fs = good.filesystem
    assert fs is not None
    run = fs.get("/app/run.sh")
    assert run is not None and (run.uid, run.gid, run.mode) == (10001, 10001, 0o755)
    assert not any(f.secret for f in fs.files)


def test_good_image_healthcheck_comes_from_the_config_blob_where_podman_inspect_drops_it(
    engine: EngineUnderTest, engine_images: EngineImages, good: ImageFacts
) -> None:
    inspected = engine.client.api.inspect_image(engine_images.good)["Config"]
    # Podman 4.3's image inspect has no Healthcheck; dockaudit reads it from the image config in the export.
    assert ("Healthcheck" in inspected) is not engine.podman
    assert good.config.healthcheck is not None
    quick = collect_image(engine.client, engine_images.good, read_layers=False)
    assert (quick.config.healthcheck is None) is engine.podman


def test_without_layers_history_is_aligned_from_the_api_alone(
    engine: EngineUnderTest, engine_images: EngineImages, bad: ImageFacts
) -> None:
    quick = collect_image(engine.client, engine_images.bad, read_layers=False)
    assert quick.filesystem is None and quick.filesystem_skip_reason
    assert [h.layer_index for h in quick.history] == [h.layer_index for h in bad.history]
    assert [h.created_by for h in quick.history] == [h.created_by for h in bad.history]
    assert [h.from_base for h in quick.history] == [h.from_base for h in bad.history]
    assert quick.config == bad.config


def test_image_by_id_has_no_reference(engine: EngineUnderTest, bad: ImageFacts) -> None:
    by_id = collect_image(engine.client, bad.id[7:19], read_layers=False)
    assert by_id.reference is None and by_id.id == bad.id


def test_missing_image_is_an_engine_error(engine: EngineUnderTest) -> None:
    with pytest.raises(EngineError, match="not found"):
        collect_image(engine.client, "dockaudit-test/does-not-exist:0")


def test_the_source_reads_images_by_reference_and_fails_one_at_a_time(
    engine: EngineUnderTest, engine_images: EngineImages
) -> None:
    bad_image, good_image = engine_images.bad, engine_images.good
    with connect(resolve_endpoint(host=engine.url)) as connected:
        source = EngineSource(connected)
        good = source.image_facts(good_image)
        assert good.reference == good_image and good.engine == connected.info.id
        with pytest.raises(EngineError, match="does-not-exist"):
            source.image_facts("dockaudit-test/does-not-exist:0")
        bad = source.image_facts(bad_image)
        assert bad.filesystem is not None
        assert source.find_image("dockaudit-test/does-not-exist:0") is None
        found = source.find_image(bad_image)
        assert found is not None and found.id == bad.id and bad_image in found.repo_tags


def test_inventory_lists_images_with_container_counts(
    engine: EngineUnderTest, engine_images: EngineImages, engine_containers: EngineContainers
) -> None:
    inv = inventory(engine.client)
    (row,) = [i for i in inv.images if engine_images.bad in i.repo_tags]
    assert isinstance(row, ImageSummary)
    assert row.containers >= 3  # host, bridge, privileged
    assert row.size > 0 and row.created is not None and row.repo_digests == ()
    ids = {c.id for c in inv.containers}
    assert {engine_containers.host, engine_containers.bridge, engine_containers.privileged} <= ids
    host = next(c for c in inv.containers if c.id == engine_containers.host)
    assert host.running is engine.starts_containers
    assert host.state == ("running" if engine.starts_containers else "created")
    assert host.name.startswith("dockaudit-test-bad-host-")
    assert host.image == engine_images.bad


def save_classic(client: docker.DockerClient, ref: str, path: Path) -> None:
    with path.open("wb") as out:
        for chunk in api.export_image(client, ref):
            out.write(chunk)


def test_podman_exports_layers_once_at_the_top_and_links_them(
    engine: EngineUnderTest, engine_images: EngineImages, bad: ImageFacts, tmp_path: Path
) -> None:
    archive = tmp_path / "saved.tar"
    save_classic(engine.client, engine_images.bad, archive)
    with tarfile.open(archive) as tar:
        members = {m.name: m for m in tar.getmembers()}
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    layer_dirs = [m for name, m in members.items() if name.endswith("/layer.tar")]
    assert len(manifest[0]["Layers"]) == len(bad.layers)
    if engine.podman:
        # `<diff id>.tar` at the top, each `<v1 id>/layer.tar` a symlink to it, the manifest naming the top file.
        assert manifest[0]["Layers"] == [f"{d.removeprefix('sha256:')}.tar" for d in bad.layers]
        assert layer_dirs and all(m.issym() for m in layer_dirs)
    else:
        assert all(name.endswith("/layer.tar") for name in manifest[0]["Layers"])
        assert any(m.isfile() for m in layer_dirs)
    assert image_facts_from_archive(archive).filesystem.files == bad.filesystem.files  # type: ignore[union-attr]


def test_classic_and_oci_layouts_give_identical_file_facts(
    engine: EngineUnderTest, engine_images: EngineImages, bad: ImageFacts, tmp_path: Path
) -> None:
    bad_image = engine_images.bad
    classic = tmp_path / "classic.tar"
    save_classic(engine.client, bad_image, classic)
    oci = tmp_path / "oci.tar"
    # skopeo reads Podman's storage directly, and Docker's through its socket.
    source = f"containers-storage:{bad_image}" if engine.podman else f"docker-daemon:{bad_image}"
    subprocess.run(
        ["skopeo", "copy", "--quiet", source, f"oci-archive:{oci}:{bad_image}"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    from_classic = image_facts_from_archive(classic)
    from_oci = image_facts_from_archive(oci)
    assert from_classic.filesystem is not None and from_oci.filesystem is not None
    assert (from_classic.filesystem.layout, from_oci.filesystem.layout) == ("classic", "oci")
    assert from_oci.filesystem.files == from_classic.filesystem.files == bad.filesystem.files  # type: ignore[union-attr]
    assert from_oci.layers == from_classic.layers == bad.layers
    assert from_oci.filesystem.wasted_bytes == bad.filesystem.wasted_bytes  # type: ignore[union-attr]
    assert bad_image in from_oci.repo_tags
    assert from_classic.engine is None and from_classic.config == bad.config
    assert from_oci.config == bad.config
    # Without an engine the base is found by the history heuristic: the base's CMD ends it.
    assert [h.from_base for h in from_classic.history][:6] == [True] * 6
    assert from_classic.history[-1].from_base is False
    planted.assert_no_planted_secret(repr(from_oci))


def test_a_60_mb_image_streams_in_bounded_memory(engine: EngineUnderTest, engine_big_image: str) -> None:
    size = engine.client.api.inspect_image(engine_big_image)["Size"]
    assert size > 50 * 1024 * 1024
    tracemalloc.start()
    try:
        saved = read_image_stream(api.export_image(engine.client, engine_big_image))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes while streaming a {size} byte image"
    one = [f for f in saved.filesystem.files if f.path == "/data/one.bin"]
    assert len(one) == 1 and one[0].deleted_later and one[0].size == 30 * 1024 * 1024
    assert saved.filesystem.wasted_bytes >= 30 * 1024 * 1024


def test_cancel_stops_a_layer_read(engine: EngineUnderTest, engine_big_image: str) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CancelledError):
        collect_image(engine.client, engine_big_image, cancel=cancel)
    # The engine is still usable: the abandoned stream was closed, not drained.
    assert collect_image(engine.client, engine_big_image, read_layers=False).id


def test_buildkit_history_aligns_and_the_base_ends_where_buildkit_starts(
    docker_client: docker.DockerClient, buildkit_image: str
) -> None:
    full = collect_image(docker_client, buildkit_image)
    quick = collect_image(docker_client, buildkit_image, read_layers=False)
    for facts in (full, quick):
        user = [h for h in facts.history if h.comment == "buildkit.dockerfile.v0"]
        assert user and all(h.from_base is False for h in user)
        assert all(h.from_base is True for h in facts.history if h.comment != "buildkit.dockerfile.v0")
        assert [h.layer_index for h in facts.history if not h.empty_layer] == list(range(len(facts.layers)))
        (run,) = [h for h in user if h.build_args]
        assert run.build_args[0].secret is not None and run.created_by.startswith("RUN |1 NPM_TOKEN=npm_…(redacted")
        planted.assert_no_planted_secret(repr(facts))
    assert [h.layer_index for h in quick.history] == [h.layer_index for h in full.history]
    assert full.filesystem is not None and full.filesystem.get("/app/state") is not None
    assert full.config.user == "10001"


def test_the_source_names_the_local_base_of_a_buildkit_image(buildkit_image: str, base_image: str) -> None:
    with connect(resolve_endpoint(host="unix:///var/run/docker.sock")) as engine:
        facts = EngineSource(engine).image_facts(buildkit_image, read_layers=False, name_base=True)
    assert facts.base_image == base_image
    # The base's own history length decides the origin, the same answer the heuristic gave.
    assert [h.from_base for h in facts.history] == [h.comment != "buildkit.dockerfile.v0" for h in facts.history]
