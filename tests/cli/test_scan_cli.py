"""`dockaudit scan` against the real engine: exit codes, stdout carrying only the report, every output format."""

from __future__ import annotations

import io
import json
import re
import stat
import subprocess
import sys
import tarfile

import docker
import pytest

from tests.cli.run import dockaudit
from tests.fixtures import planted
from tests.report.schemas import validate_report, validate_sarif

pytestmark = pytest.mark.docker


def test_bad_image_fails_at_default_threshold_and_stdout_is_only_json(capsys, bad_image):
    run = dockaudit(capsys, "scan", bad_image, "--no-trivy", "-f", "json")
    assert run.code == 1
    report = run.json()
    [target] = report["targets"]
    assert target["kind"] == "image" and target["engine"] == "local" and target["name"] == bad_image
    assert target["summary"]["critical"] > 0
    assert target["scans"] == {"checklist": "ok", "layers": "ok", "trivy": "skipped"}
    assert {"DA101", "DA104", "DA302"} <= {f["rule_id"] for f in target["findings"]}
    assert "exit 1:" in run.err and "at or above high" in run.err
    planted.assert_no_planted_secret(run.out)


def test_options_may_follow_the_targets(capsys, bad_image, good_image):
    before = dockaudit(capsys, "scan", "-f", "json", "--no-trivy", "--fail-on", "never", bad_image, good_image)
    after = dockaudit(capsys, "scan", bad_image, "--no-trivy", good_image, "--fail-on", "never", "-f", "json")
    assert before.code == after.code == 0
    names = [t["name"] for t in after.json()["targets"]]
    assert names == sorted([bad_image, good_image])
    assert [t["name"] for t in before.json()["targets"]] == names


@pytest.mark.parametrize(("fail_on", "code"), [("high", 0), ("medium", 0), ("low", 1), ("info", 1), ("never", 0)])
def test_good_image_thresholds_are_inclusive(capsys, good_image, fail_on, code):
    run = dockaudit(capsys, "scan", good_image, "--no-trivy", "--fail-on", fail_on, "-f", "json")
    report = run.json()
    worst = [f["severity"] for f in report["targets"][0]["findings"] if f["status"] == "fail"]
    assert "high" not in worst and "critical" not in worst and "medium" not in worst
    assert run.code == code, run.err
    assert f"exit {code}:" in run.err


def test_target_that_names_nothing_is_a_usage_error(capsys):
    run = dockaudit(capsys, "scan", "no-such-image-or-container-xyz:1", "--no-trivy")
    assert run.code == 2
    assert "names nothing" in run.err
    assert run.out == ""


def test_prefix_forces_the_kind(capsys, good_image):
    assert dockaudit(capsys, "scan", f"image:{good_image}", "--no-trivy", "--fail-on", "never").code == 0
    run = dockaudit(capsys, "scan", f"container:{good_image}", "--no-trivy")
    assert run.code == 2 and "no container" in run.err


def test_images_and_containers_mix_in_one_call(capsys, good_image, bad_containers):
    run = dockaudit(capsys, "scan", good_image, bad_containers["host"], "--no-trivy", "-f", "json")
    report = run.json()
    kinds = [t["kind"] for t in report["targets"]]
    # The container's image comes along as a target of its own: its DA1xx-DA3xx findings belong there.
    assert kinds == ["image", "image", "container"]
    container = report["targets"][2]
    assert container["image"]["id"].startswith("sha256:")
    images = {t["id"]: t for t in report["targets"] if t["kind"] == "image"}
    assert container["image"]["id"] in images
    assert {"DA101", "DA104"} <= {f["rule_id"] for f in images[container["image"]["id"]]["findings"]}
    assert all(f["rule_id"].startswith("DA4") for f in container["findings"])
    assert {"DA402", "DA404"} <= {f["rule_id"] for f in container["findings"]}
    assert run.code == 1
    planted.assert_no_planted_secret(run.out)


def test_every_format_is_written_private_and_valid(capsys, tmp_path, bad_image):
    paths = {
        fmt: tmp_path / f"r.{ext}"
        for fmt, ext in (
            ("json", "json"),
            ("sarif", "sarif"),
            ("html", "html"),
            ("markdown", "md"),
            ("junit", "xml"),
            ("table", "txt"),
        )
    }
    argv = ["scan", bad_image, "--no-trivy"]
    for fmt, path in paths.items():
        argv += ["-f", fmt, "-o", str(path)]
    run = dockaudit(capsys, *argv)
    assert run.code == 1
    assert run.out == ""
    for path in paths.values():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        planted.assert_no_planted_secret(path.read_text(encoding="utf-8"))
    validate_report(paths["json"].read_text(encoding="utf-8"))
    sarif = json.loads(paths["sarif"].read_text(encoding="utf-8"))
    validate_sarif(sarif)
    results = sarif["runs"][0]["results"]
    assert results and all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results)
    rule_ids = {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert {r["ruleId"] for r in results} <= rule_ids
    assert "<testsuites" in paths["junit"].read_text(encoding="utf-8")
    assert "| Severity | Rule |" in paths["markdown"].read_text(encoding="utf-8")


def test_output_pairs_infer_format_from_extension(capsys, tmp_path, good_image):
    out = tmp_path / "r.sarif"
    run = dockaudit(capsys, "scan", good_image, "--no-trivy", "-o", str(out), "--fail-on", "never")
    assert run.code == 0
    validate_sarif(out.read_text(encoding="utf-8"))


def test_unwritable_output_exits_2_and_other_outputs_are_still_written(capsys, tmp_path, good_image):
    good = tmp_path / "ok.json"
    bad = tmp_path / "missing-dir" / "r.sarif"
    run = dockaudit(
        capsys,
        "scan",
        good_image,
        "--no-trivy",
        "--fail-on",
        "never",
        "-f",
        "sarif",
        "-o",
        str(bad),
        "-f",
        "json",
        "-o",
        str(good),
    )
    assert run.code == 2
    assert f"cannot write {bad}" in run.err
    assert "exit 2:" in run.err
    validate_report(good.read_text(encoding="utf-8"))


def test_existing_report_is_replaced_whole_and_made_private(capsys, tmp_path, good_image):
    out = tmp_path / "r.json"
    out.write_text("old contents")
    out.chmod(0o644)
    dockaudit(capsys, "scan", good_image, "--no-trivy", "-f", "json", "-o", str(out))
    validate_report(out.read_text(encoding="utf-8"))
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_trivy_db_failure_exits_3_and_still_reports_the_checklist(capsys, tmp_path, good_image):
    run = dockaudit(
        capsys,
        "scan",
        good_image,
        "--scanners",
        "checklist,vuln",
        "--offline",
        "--trivy-cache-dir",
        str(tmp_path / "empty-cache"),
        "--fail-on",
        "never",
        "-f",
        "json",
    )
    assert run.code == 3, run.err
    report = run.json()
    target = report["targets"][0]
    assert target["scans"]["trivy"].startswith("failed:")
    assert target["scans"]["checklist"] == "ok" and target["passed"]
    assert report["scanners"]["trivy"]["db"]["status"] == "missing"
    assert "exit 3:" in run.err


@pytest.mark.trivy
def test_trivy_config_scanners_run_offline(capsys, tmp_path, bad_image):
    run = dockaudit(
        capsys,
        "scan",
        bad_image,
        "--scanners",
        "checklist,misconfig,secret",
        "--offline",
        "--trivy-cache-dir",
        str(tmp_path / "cache"),
        "--no-cache",
        "-f",
        "json",
    )
    report = run.json()
    target = report["targets"][0]
    assert target["scans"]["trivy"].split(":")[0] in ("ok", "degraded"), target["scans"]
    assert run.code == 1, run.err
    sources = {f["source"] for f in target["findings"]}
    assert "checklist" in sources
    planted.assert_no_planted_secret(run.out)


def test_all_images_with_include_and_exclude(capsys, good_image, bad_image, docker_client):
    good_id, bad_id = (docker_client.images.get(i).id for i in (good_image, bad_image))
    good_repo, bad_repo = good_image.split(":")[0], bad_image.split(":")[0]
    run = dockaudit(
        capsys, "scan", "--all-images", "--include", f"{good_repo}:*", "--no-trivy", "-f", "json", "--fail-on", "never"
    )
    ids = {t["id"] for t in run.json()["targets"]}
    assert good_id in ids and bad_id not in ids
    run = dockaudit(
        capsys,
        "scan",
        "--all-images",
        "--include",
        f"{bad_repo}:*",
        "--include",
        f"{good_repo}:*",
        "--exclude",
        f"{good_repo}:*",
        "--no-trivy",
        "-f",
        "json",
        "--fail-on",
        "never",
    )
    ids = {t["id"] for t in run.json()["targets"]}
    assert bad_id in ids and good_id not in ids


def test_running_containers_and_host_checks(capsys, bad_containers):
    run = dockaudit(
        capsys, "scan", "--running", "--include", "*", "--host-checks", "--no-trivy", "-f", "json", "--fail-on", "never"
    )
    report = run.json()
    kinds = {t["kind"] for t in report["targets"]}
    assert kinds == {"host", "container", "image"}
    # The only images are those the running containers run.
    images = {t["id"] for t in report["targets"] if t["kind"] == "image"}
    assert images == {t["image"]["id"] for t in report["targets"] if t["kind"] == "container"}
    ids = {t["id"] for t in report["targets"] if t["kind"] == "container"}
    for planted_id in bad_containers.values():
        assert any(i.startswith(planted_id) for i in ids)
    host = next(t for t in report["targets"] if t["kind"] == "host")
    assert host["engine"] == "local" and (host["findings"] or host["passed"])


def test_dockerfile_and_project_directory(capsys, tmp_path):
    project = tmp_path / "proj"
    project.mkdir()
    (project / "Dockerfile").write_text("FROM debian:latest\nRUN apt-get update\nCMD python app.py\n")
    run = dockaudit(capsys, "scan", str(project), "--no-trivy", "-f", "json", "--fail-on", "never")
    [target] = run.json()["targets"]
    assert target["kind"] == "dockerfile" and target["engine"] is None
    assert target["name"] == str(project / "Dockerfile")
    ids = {f["rule_id"] for f in target["findings"]}
    assert {"DA601", "DA606"} <= ids
    lines = {f["location"]["line"] for f in target["findings"] if f["rule_id"] == "DA603"}
    assert lines == {1}
    sarif = dockaudit(capsys, "scan", f"path:{project / 'Dockerfile'}", "--no-trivy", "-f", "sarif")
    result = json.loads(sarif.out)["runs"][0]["results"][0]
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"].endswith("proj/Dockerfile")
    assert location["region"]["startLine"] >= 1


def test_saved_image_tarball(capsys, tmp_path, good_image, docker_client: docker.DockerClient):
    archive = tmp_path / "good.tar"
    with archive.open("wb") as out:
        for chunk in docker_client.images.get(good_image).save():
            out.write(chunk)
    run = dockaudit(capsys, "scan", str(archive), "--no-trivy", "-f", "json", "--fail-on", "never")
    [target] = run.json()["targets"]
    assert target["kind"] == "image-archive" and target["engine"] is None
    assert target["name"] == str(archive)
    assert target["passed"]


def test_a_tar_named_file_that_is_no_tar_archive_is_refused_in_one_line(capsys, tmp_path):
    # A truncated or mis-saved archive used to be read as a Dockerfile ("not a text file (invalid UTF-8)").
    broken = tmp_path / "image.tar"
    broken.write_bytes(bytes(range(256)) * 4)
    run = dockaudit(capsys, "scan", str(broken), "--no-trivy")
    assert run.code == 2
    assert f"{broken}: not an image tarball (not a tar archive" in run.err
    assert "Traceback" not in run.err and "Dockerfile" not in run.out


def test_subprocess_keeps_stdout_for_the_report(tmp_path, good_image):
    proc = subprocess.run(
        [sys.executable, "-m", "dockaudit", "scan", good_image, "--no-trivy", "-f", "json", "--fail-on", "never"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    validate_report(proc.stdout)
    assert proc.stderr.strip().splitlines()[-1].startswith("dockaudit: exit 0:")


def test_table_is_plain_when_piped_and_lists_grade(capsys, bad_image):
    run = dockaudit(capsys, "scan", bad_image, "--no-trivy")
    assert "\x1b[" not in run.out
    assert "score" in run.out and "CRITICAL" in run.out and "DA104" in run.out


@pytest.mark.trivy
def test_vulnerabilities_from_the_offline_db_reach_every_format(capsys, tmp_path, docker_client):
    from tests.trivy import images, trivydb

    image_id = images.build(docker_client, "debian", images.FILES["debian"])
    cache = tmp_path / "trivy-cache"
    trivydb.write_fixture_db(cache)
    sarif_path, html_path = tmp_path / "r.sarif", tmp_path / "r.html"
    run = dockaudit(
        capsys,
        "scan",
        f"image:{image_id}",
        "--offline",
        "--trivy-cache-dir",
        str(cache),
        "--no-cache",
        "--fail-on",
        "critical",
        "-f",
        "json",
        "-f",
        "sarif",
        "-o",
        "-",
        "-o",
        str(sarif_path),
        "-f",
        "html",
        "-o",
        str(html_path),
    )
    report = run.json()
    assert report["scanners"]["trivy"]["version"] and report["scanners"]["trivy"]["db"]["status"] in ("ok", "stale")
    [target] = report["targets"]
    assert target["scans"]["trivy"].split(":")[0] in ("ok", "degraded")
    vulns = {f["rule_id"]: f for f in target["findings"] if f["source"] == "trivy-vuln"}
    assert "CVE-2024-0727" in vulns
    vuln = vulns["CVE-2024-0727"]["vulnerability"]
    assert vuln["fixed"] == "3.0.13-1~deb12u1" and vuln["package"]
    assert run.code in (0, 1), run.err
    sarif = json.loads(sarif_path.read_text(encoding="utf-8"))
    validate_sarif(sarif)
    assert "CVE-2024-0727" in {r["ruleId"] for r in sarif["runs"][0]["results"]}
    assert "CVE-2024-0727" in html_path.read_text(encoding="utf-8")


def test_usage_errors_exit_2(capsys, tmp_path, good_image):
    assert dockaudit(capsys, "scan").code == 2
    bad_config = tmp_path / "bad.toml"
    bad_config.write_text("this is [not toml")
    run = dockaudit(capsys, "scan", good_image, "--no-trivy", "--config", str(bad_config))
    assert run.code == 2 and run.out == ""
    assert dockaudit(capsys, "scan", good_image, "--scanners", "vuln,sbom").code == 2
    with pytest.raises(SystemExit) as exc:
        dockaudit(capsys, "scan", good_image, "-f", "pdf")
    assert exc.value.code == 2


def test_config_ignores_suppress_and_stale_ones_are_reported(capsys, tmp_path, bad_image):
    config = tmp_path / ".dockaudit.toml"
    config.write_text(
        '[[ignore]]\nrule = "DA1*"\nreason = "accepted for the demo"\n\n'
        '[[ignore]]\nrule = "DA999"\nreason = "left over"\n'
    )
    run = dockaudit(capsys, "scan", bad_image, "--no-trivy", "--config", str(config), "-f", "json")
    target = run.json()["targets"][0]
    da1 = [f for f in target["findings"] if f["rule_id"].startswith("DA1") and f["status"] == "fail"]
    assert da1 and all(f["suppressed"]["reason"] == "accepted for the demo" for f in da1)
    assert "DA999" in run.err and "matched no finding" in run.err


def test_files_need_no_engine_but_engine_targets_do(capsys, monkeypatch, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\nUSER 10001\n")
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:1")
    run = dockaudit(capsys, "scan", str(tmp_path), "--fail-on", "never", "-f", "json")
    assert run.code == 0, run.err
    assert run.json()["errors"] == [] and "not needed for these targets" in run.err
    run = dockaudit(capsys, "scan", str(tmp_path), "nginx:1.27", "--fail-on", "never", "-f", "json")
    assert run.code == 3
    assert [e["stage"] for e in run.json()["errors"]] == ["engine"]


@pytest.mark.chromium
def test_markup_in_labels_and_file_names_never_runs_in_the_html_report(capsys, tmp_path, docker_client):
    from tests.fixtures.images import build_image
    from tests.report.chromium import dump_dom

    label = "<script>document.documentElement.setAttribute('data-pwned','label')</script>.token"
    file_name = "app/<img src=x onerror=document.documentElement.setAttribute('data-pwned','file')>.pem"
    dockerfile = f'FROM scratch\nCOPY app /app\nLABEL "{label}"="notasecretvalue123"\n'
    tag = build_image(docker_client, "html-escape", dockerfile, {file_name: planted.PRIVATE_KEY_PEM.encode()})
    html, md = tmp_path / "r.html", tmp_path / "r.md"
    run = dockaudit(
        capsys, "scan", tag, "--no-trivy", "-f", "html", "-o", str(html), "-f", "markdown", "-o", str(md), "-f", "json"
    )
    report = run.json()
    evidence = " ".join(f["evidence"] + str(f["location"]["path"]) for f in report["targets"][0]["findings"])
    assert "<script>" in evidence and "<img src=x" in evidence, "the planted markup should reach the findings"
    dom = dump_dom(html)
    assert 'data-report-ready="1"' in dom
    assert 'data-pwned="' not in dom
    assert "&lt;script&gt;document.documentElement" in dom
    # In Markdown, raw markup may only appear inside fenced code blocks, which GitHub shows as text.
    prose = re.sub(r"(?ms)^\s*(`{3,}).*?^\s*\1\s*$", "", md.read_text(encoding="utf-8"))
    assert "<script" not in prose and "<img" not in prose
    planted.assert_no_planted_secret(html.read_text(encoding="utf-8"))


def test_a_containers_image_is_audited_once_even_when_also_named(capsys, bad_image, bad_containers):
    run = dockaudit(
        capsys, "scan", bad_containers["host"], bad_containers["bridge"], bad_image, "--no-trivy", "-f", "json"
    )
    targets = run.json()["targets"]
    assert [t["kind"] for t in targets].count("image") == 1
    image = next(t for t in targets if t["kind"] == "image")
    assert image["name"] == bad_image.removeprefix("docker.io/library/")
    assert {t["image"]["id"] for t in targets if t["kind"] == "container"} == {image["id"]}


def test_an_invalid_dockerfile_is_bad_input_exit_2_and_the_other_targets_are_still_audited(capsys, tmp_path):
    bad = tmp_path / "bad" / "Dockerfile"
    bad.parent.mkdir()
    bad.write_text("FROM scratch\nBOGUS instruction\n")
    good = tmp_path / "good" / "Dockerfile"
    good.parent.mkdir()
    good.write_text("FROM scratch\nUSER 10001\n")
    run = dockaudit(capsys, "scan", f"path:{bad}", f"path:{good}", "--fail-on", "never", "-f", "json")
    assert run.code == 2, run.err
    last = run.err.strip().splitlines()[-1]
    assert last == f"dockaudit: exit 2: invalid input: {bad}:2: unknown instruction 'BOGUS'"
    validate_report(run.json())
    by_name = {t["name"]: t for t in run.json()["targets"]}
    assert [e["stage"] for e in by_name[str(bad)]["errors"]] == ["input"]
    assert by_name[str(good)]["errors"] == [] and by_name[str(good)]["scans"]["checklist"] == "ok"
    assert "engine, scanner or DB failure" not in run.err


def test_a_file_that_is_not_a_saved_image_is_bad_input_exit_2(capsys, tmp_path):
    archive = tmp_path / "image.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"hi\n"))
    run = dockaudit(capsys, "scan", f"path:{archive}", "--no-trivy", "-f", "json")
    assert run.code == 2, run.err
    (target,) = run.json()["targets"]
    assert target["kind"] == "image-archive" and [e["stage"] for e in target["errors"]] == ["input"]
    assert "not a saved image" in target["errors"][0]["message"]
