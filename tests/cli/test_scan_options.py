"""Pure parts of `scan`: target prefixes, filters, -f/-o pairing, scanners, engine ids, NO_COLOR."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from dockaudit.cli import parse_scanners
from dockaudit.commands.scan import Output, _color, plan_outputs
from dockaudit.engine.endpoint import Endpoint
from dockaudit.engine.fleet import EngineSpec, connect_all, engine_id, engine_specs
from dockaudit.errors import UsageError
from dockaudit.model import TargetKind
from dockaudit.targets import ResolvedTarget, Selection, apply_filters, parse_target, resolve, short_ref


def test_prefixes_force_a_kind_and_plain_text_is_auto() -> None:
    assert parse_target("container:web").kind == "container"
    assert parse_target("image:nginx:1.27").value == "nginx:1.27"
    assert parse_target("path:./Dockerfile").kind == "path"
    assert parse_target("nginx:1.27").kind == "auto"
    assert parse_target("registry.local:5000/app:1").kind == "auto"
    with pytest.raises(UsageError):
        parse_target("image:")


def test_short_ref_drops_docker_hub_prefixes() -> None:
    assert short_ref("docker.io/library/nginx:1") == "nginx:1"
    assert short_ref("docker.io/acme/app:2") == "acme/app:2"
    assert short_ref("ghcr.io/acme/app:2") == "ghcr.io/acme/app:2"


def test_include_exclude_globs_match_any_tag_and_keep_host_targets() -> None:
    targets = [
        ResolvedTarget(TargetKind.IMAGE, "app:1", "local", "app:1", "sha256:abc", ("app:1", "app:latest")),
        ResolvedTarget(TargetKind.IMAGE, "db:2", "local", "db:2", "sha256:def", ("db:2",)),
        ResolvedTarget(TargetKind.HOST, "local", "local", "local", "local"),
    ]
    kept = apply_filters(targets, Selection(include=("*:latest",)))
    assert [t.name for t in kept] == ["app:1", "local"]
    kept = apply_filters(targets, Selection(exclude=("app:*",)))
    assert [t.name for t in kept] == ["db:2", "local"]


def test_a_path_target_resolves_without_any_engine(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    resolution = resolve([parse_target(f"path:{tmp_path}")], {}, Selection())
    [target] = resolution.targets
    assert target.kind is TargetKind.DOCKERFILE and target.engine is None
    with pytest.raises(UsageError, match="names nothing"):
        resolve([parse_target(f"path:{tmp_path / 'missing'}")], {}, Selection())
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="without a Dockerfile"):
        resolve([parse_target(str(tmp_path / "empty"))], {}, Selection())


def test_target_on_an_unreachable_engine_is_not_a_usage_error() -> None:
    resolution = resolve([parse_target("app:1")], {}, Selection(), unreachable=["prod"])
    assert resolution.targets == ()


def test_formats_pair_with_outputs_in_order() -> None:
    assert plan_outputs([], []) == [Output("table", None)]
    assert plan_outputs(["json"], []) == [Output("json", None)]
    assert plan_outputs(["sarif", "html"], ["a.sarif", "b.html"]) == [
        Output("sarif", Path("a.sarif")),
        Output("html", Path("b.html")),
    ]
    assert plan_outputs(["json", "table"], ["r.json"]) == [Output("json", Path("r.json")), Output("table", None)]
    assert plan_outputs([], ["r.md", "r.xml"]) == [Output("markdown", Path("r.md")), Output("junit", Path("r.xml"))]
    assert plan_outputs(["json"], ["-"]) == [Output("json", None)]


def test_two_reports_cannot_share_stdout_and_unknown_extensions_need_a_format() -> None:
    with pytest.raises(UsageError, match="only one report"):
        plan_outputs(["json", "sarif"], [])
    with pytest.raises(UsageError, match="extension"):
        plan_outputs([], ["report.bin"])


def test_scanner_selection() -> None:
    assert parse_scanners(True, None) == {"checklist"}
    assert parse_scanners(False, None) == {"checklist", "vuln", "misconfig", "secret"}
    assert parse_scanners(False, "vuln, checklist") == {"vuln", "checklist"}
    with pytest.raises(UsageError, match="unknown scanner sbom"):
        parse_scanners(False, "vuln,sbom")


def test_engine_ids_are_short_and_unique() -> None:
    assert engine_id(Endpoint("unix:///var/run/docker.sock", "default")) == "local"
    assert engine_id(Endpoint("ssh://ops@box:2222", "flag")) == "ops@box:2222"
    assert engine_id(Endpoint("tcp://10.0.0.5:2376", "context", context="prod")) == "prod"
    specs = engine_specs(["tcp://10.0.0.5:2375", "tcp://10.0.0.5:2375", "unix:///var/run/docker.sock"], env={})
    assert [s.id for s in specs] == ["10.0.0.5:2375", "local"]
    assert all(s.explicit for s in specs)
    [implicit] = engine_specs(env={"DOCKER_HOST": "unix:///var/run/docker.sock"})
    assert implicit.id == "local"


def test_connect_all_keeps_failures_as_values() -> None:
    def connector(spec: EngineSpec, timeout: float):
        raise UsageError(f"no route to {spec.endpoint.url}")

    specs = engine_specs(["tcp://10.0.0.5:2375"], env={})
    engines, failures = connect_all(specs, connector=connector)
    assert engines == {}
    assert failures[0].message == "no route to tcp://10.0.0.5:2375"
    assert failures[0].info.endpoint == "tcp://10.0.0.5:2375"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_color_and_dumb_terminals_get_plain_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert _color(_Tty()) is True
    assert _color(io.StringIO()) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert _color(_Tty()) is False
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert _color(_Tty()) is False


def test_progress_is_off_unless_asked_and_counts_each_target_once() -> None:
    from dockaudit.audit_options import ProgressEvent
    from dockaudit.commands.scan import _progress

    with _progress(False) as off:
        assert off is None
    with _progress(True, io.StringIO()) as update:
        assert update is not None
        update.start(2)
        for engine in ("a", "b"):  # the same name on two engines is two targets
            update(ProgressEvent("app:1", "collect", "reading image", engine=engine))
            update(ProgressEvent("app:1", "done", "grade A", 1.0, engine=engine))
            update(ProgressEvent("app:1", "done", "grade A", 1.0, engine=engine))
        assert update.progress.tasks[0].completed == 2
