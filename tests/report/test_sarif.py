"""SARIF 2.1.0 that GitHub code scanning accepts: descriptors, a location on every result, stable fingerprints."""

from __future__ import annotations

import json
from dataclasses import replace

from dockaudit.report.catalog import registry_catalog
from dockaudit.report.sarif import FINGERPRINT_KEY, artifact_location, render_sarif, sarif_log
from tests.report.sample import CATALOG, dockerfile_target, image_target, report_with, sample_report
from tests.report.schemas import validate_sarif


def _run(report=None):
    return sarif_log(report or sample_report(), catalog=CATALOG)["runs"][0]


def test_sample_validates_against_the_official_schema() -> None:
    validate_sarif(render_sarif(sample_report(), catalog=CATALOG))


def test_every_result_has_a_physical_location_and_fingerprint() -> None:
    for result in _run()["results"]:
        [location] = result["locations"]
        assert location["physicalLocation"]["artifactLocation"]["uri"]
        assert len(result["partialFingerprints"][FINGERPRINT_KEY]) == 64


def test_dockerfile_results_point_at_the_line() -> None:
    run = _run(report_with(dockerfile_target()))
    by_rule = {r["ruleId"]: r["locations"][0]["physicalLocation"] for r in run["results"]}
    assert by_rule["DA606"]["artifactLocation"] == {"uri": "app/Dockerfile", "uriBaseId": "%SRCROOT%"}
    assert by_rule["DA606"]["region"] == {"startLine": 7}


def test_image_results_use_a_stable_artifact_uri() -> None:
    assert artifact_location(image_target()) == ({"uri": "docker/local/image/myapp_1.2.3"}, False)
    nameless = replace(image_target(), name="<none>@sha256:abc")
    assert artifact_location(nameless)[0]["uri"] == "docker/local/image/none_sha256_abc"


def test_absolute_dockerfile_paths_become_file_uris() -> None:
    absolute = replace(dockerfile_target(), name="/srv/app/Dockerfile")
    assert artifact_location(absolute) == ({"uri": "file:///srv/app/Dockerfile"}, True)
    dotted = replace(dockerfile_target(), name="./app/Dockerfile")
    assert artifact_location(dotted) == ({"uri": "app/Dockerfile", "uriBaseId": "%SRCROOT%"}, True)


def test_rule_descriptors_carry_descriptions_help_level_and_section_tag() -> None:
    rules = {r["id"]: r for r in _run()["tool"]["driver"]["rules"]}
    da101 = rules["DA101"]
    assert da101["shortDescription"]["text"] == "Image runs as root"
    assert da101["fullDescription"]["text"].startswith("A process running as root")
    assert "USER 65532:65532" in da101["help"]["text"] and "```dockerfile" in da101["help"]["markdown"]
    assert da101["defaultConfiguration"]["level"] == "error"
    assert "Run as non-root" in da101["properties"]["tags"]
    assert da101["properties"]["security-severity"] == "8.0"
    assert rules["CVE-2024-0727"]["helpUri"].startswith("https://")


def test_rule_index_matches_descriptor_order() -> None:
    run = _run()
    ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert all(ids[r["ruleIndex"]] == r["ruleId"] for r in run["results"])


def test_fingerprints_are_stable_across_runs_and_distinct_per_finding() -> None:
    first = [r["partialFingerprints"][FINGERPRINT_KEY] for r in _run()["results"]]
    later = replace(sample_report(), generated_at=sample_report().generated_at.replace(year=2027))
    second = [r["partialFingerprints"][FINGERPRINT_KEY] for r in _run(later)["results"]]
    assert first == second
    assert len(set(first)) == len(first)


def test_suppressed_findings_are_marked_and_skipped_ones_become_notifications() -> None:
    run = _run()
    suppressed = [r for r in run["results"] if "suppressions" in r]
    assert [r["ruleId"] for r in suppressed] == ["DA106"]
    assert suppressed[0]["suppressions"][0]["justification"] == "internal dev image"
    assert "DA103" not in {r["ruleId"] for r in run["results"]}
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert any(n["level"] == "note" and "DA103 skipped" in n["message"]["text"] for n in notes)
    assert any(n["level"] == "error" and "engine down" in n["message"]["text"] for n in notes)
    assert run["invocations"][0]["executionSuccessful"] is False


def test_registry_rules_have_descriptors_for_real_findings() -> None:
    catalog = registry_catalog()
    assert "DA101" in catalog
    log = json.loads(render_sarif(report_with(image_target())))
    validate_sarif(log)
    rule = next(r for r in log["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "DA101")
    assert rule["fullDescription"]["text"] == catalog["DA101"].rationale
    assert catalog["DA101"].section in rule["properties"]["tags"]
