"""The pure half of live Compose projects: grouping containers by their labels, pointing findings at lines."""

from __future__ import annotations

from dockaudit.audit_compose import COMPOSE_PROJECT_LABEL
from dockaudit.facts.image import NamedValue
from dockaudit.facts.inventory import ContainerSummary
from dockaudit.live_compose import PROJECT_LABEL, compose_labels, group_by_project, point_at_compose
from dockaudit.model import Finding, Fix, Location, Severity, Source, Status
from tests.compose.corpus import corpus, evaluate


def _row(name: str, **labels: str) -> ContainerSummary:
    return ContainerSummary(
        id=f"id-{name}",
        name=name,
        image="img",
        image_id="sha256:1",
        state="running",
        status="Up",
        created=None,
        labels=tuple(NamedValue(k, v) for k, v in labels.items()),
    )


def _compose_row(name: str, project: str, service: str) -> ContainerSummary:
    return _row(
        name,
        **{
            "com.docker.compose.project": project,
            "com.docker.compose.service": service,
            "com.docker.compose.project.config_files": f"/srv/{project}/compose.yaml,/srv/{project}/prod.yaml",
            "com.docker.compose.project.working_dir": f"/srv/{project}",
        },
    )


def test_containers_group_by_project_then_service_and_the_rest_stay_apart() -> None:
    rows = [
        _compose_row("shop-web-2", "shop", "web"),
        _row("lonely"),
        _compose_row("blog-db-1", "blog", "db"),
        _compose_row("shop-web-1", "shop", "web"),
        _compose_row("shop-cache-1", "shop", "cache"),
        _row("half", **{"com.docker.compose.project": "x"}),
    ]
    grouping = group_by_project(rows)
    assert [p.name for p in grouping.projects] == ["blog", "shop"]
    shop = grouping.projects[1]
    assert shop.working_dir == "/srv/shop"
    assert shop.config_files == ("/srv/shop/compose.yaml", "/srv/shop/prod.yaml")
    assert [(s.name, [c.name for c in s.containers]) for s in shop.services] == [
        ("cache", ["shop-cache-1"]),
        ("web", ["shop-web-2", "shop-web-1"]),
    ]
    assert [c.name for c in shop.containers] == ["shop-cache-1", "shop-web-2", "shop-web-1"]
    # A container without the service label is not one Compose manages as a service.
    assert [c.name for c in grouping.others] == ["lonely", "half"]


def test_labels_of_files_not_on_this_machine_are_not_readable() -> None:
    labels = compose_labels(_compose_row("a", "shop", "web").labels)
    assert labels is not None and labels.service == "web"
    assert not labels.readable
    assert compose_labels(_row("b").labels) is None


def _container_finding(rule_id: str, evidence: str) -> Finding:
    return Finding(
        rule_id=rule_id,
        slug="x",
        source=Source.CHECKLIST,
        severity=Severity.MEDIUM,
        status=Status.FAIL,
        title="t",
        section="s",
        evidence=evidence,
        fix=Fix(summary="fix", compose="services:\n  app:\n    read_only: true", run="--read-only"),
    )


def test_findings_borrow_the_line_and_fix_of_the_files_own_finding() -> None:
    project = corpus("webshop")
    db = project.service("db")
    assert db is not None
    own, _ = evaluate(project, "db")
    live = [
        _container_finding("DA409", "ReadonlyRootfs is false"),
        _container_finding("DA427", "0.0.0.0:5432->5432/tcp"),
        _container_finding("DA423", "POSTGRES_PASSWORD=shop…"),
        _container_finding("DA420", "PID 1 is sh -c"),
        _container_finding("DA101", "image finding, left alone"),
    ]
    pointed = {f.rule_id: f for f in point_at_compose(live, db, own)}
    path = "tests/compose/projects/webshop/compose.yaml"
    assert pointed["DA409"].location.line == db.location.line and pointed["DA409"].location.path.endswith(path)
    assert pointed["DA409"].fix is not None and pointed["DA409"].fix.run == "--read-only"
    assert pointed["DA409"].fix.compose.startswith("services:\n  db:\n")
    # The published port's own line (DA427 is folded into DA703 in the file's findings), and the secret's line.
    assert pointed["DA427"].location.line == 34
    assert pointed["DA423"].location.line == 31
    # No file finding for a rule that needs a process: the service's own line, the fix renamed to the service.
    assert pointed["DA420"].location == db.location
    assert pointed["DA420"].fix is not None and pointed["DA420"].fix.compose.startswith("services:\n  db:\n")
    assert pointed["DA101"].location == Location()


def test_the_audit_checks_the_same_project_label_before_loading_the_compose_code() -> None:
    assert COMPOSE_PROJECT_LABEL == PROJECT_LABEL
