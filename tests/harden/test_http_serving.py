"""Which servers a command line or a start script starts, and on which HTTP port (parse/http_serving.py)."""

from __future__ import annotations

import pytest

from dockaudit.facts.dockerfile import DockerfileInstruction
from dockaudit.parse.build_context import CopyInstruction
from dockaudit.parse.http_serving import (
    health_path_from_command,
    http_from_command,
    installed_server,
    server_in_script,
    starts_jvm_server,
)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["java", "-jar", "/app/metabase.jar"], (3000, "metabase.jar")),
        (["java", "-Xmx1g", "-jar", "lib/sonarqube.jar", "-Dsonar.web.port=9100"], (9100, "sonarqube.jar")),
        (["java", "-jar", "/usr/share/jenkins/jenkins.war", "--httpPort=8081"], (8081, "jenkins.war")),
        (["java", "-jar", "app.jar"], None),  # any Spring/Quarkus app: its port and protocol are its own
        (["sh", "-c", "exec java $JAVA_OPTS -jar /app/metabase.jar"], (3000, "metabase.jar")),
        (["sh", "-c", "exec gunicorn -b :8001 app:app"], (8001, "gunicorn")),
        (["react-scripts", "start"], (3000, "react-scripts")),
        (["gunicorn", "--bind", "unix:/var/tmp/app.sock", "app.wsgi"], None),  # a socket for a proxy, no port
        (["gunicorn", "--bind", "0.0.0.0:${APP_PORT}", "app.wsgi"], None),  # a port only the environment knows
        (["gunicorn", "-b", "0.0.0.0:8080", "app.wsgi"], (8080, "gunicorn")),
        (["gunicorn", "app.wsgi"], (8000, "gunicorn")),
        (["bundle", "exec", "puma", "-p", "3000"], (3000, "puma")),  # Bundler runs the app's server
        (["bundle", "exec", "rails", "server", "-b", "0.0.0.0", "-p", "3000"], (3000, "rails")),
        (["rails", "db:migrate"], None),  # only `rails server` serves
        (["tini", "--", "/bin/sh", "-c", "/bin/meilisearch"], (7700, "meilisearch")),
        (["meilisearch", "--http-addr", "0.0.0.0:7701"], (7701, "meilisearch")),
    ],
)
def test_http_from_command_knows_java_servers_by_their_jar(argv: list[str], expected: tuple[int, str] | None) -> None:
    assert http_from_command(argv) == expected


def test_health_paths_of_java_servers_and_prometheus_1() -> None:
    assert health_path_from_command(["java", "-jar", "/app/metabase.jar"]) == "/api/health"
    assert health_path_from_command(["java", "-jar", "lib/sonarqube.jar"]) == "/api/system/status"
    assert health_path_from_command(["/bin/prometheus", "-config.file=/etc/p.yml"]) == "/metrics"
    assert health_path_from_command(["/bin/prometheus", "--config.file=/etc/p.yml"]) == "/-/healthy"
    assert health_path_from_command(["/bin/alertmanager", "-config.file=/etc/a.yml"]) is None
    assert health_path_from_command(["/bin/meilisearch"]) == "/health"


def test_jvm_servers_are_told_from_other_servers() -> None:
    assert starts_jvm_server(["java", "-jar", "app.jar"])
    assert starts_jvm_server(["/usr/bin/tini", "--", "/usr/local/bin/jenkins.sh"])
    assert starts_jvm_server(["catalina.sh", "run"])
    assert not starts_jvm_server(["gunicorn", "app:app"])


def test_a_script_that_execs_its_server_names_it_with_the_line() -> None:
    script = "#!/bin/sh\nset -e\nchown -R app /data\nexec su-exec app gunicorn --bind 0.0.0.0:8000 app:app\n"
    found = server_in_script(script, "entrypoint.sh")
    assert found == (["gunicorn", "--bind", "0.0.0.0:8000", "app:app"], "entrypoint.sh line 4")


def test_a_server_kept_in_an_array_or_run_last_counts() -> None:
    array = "#!/bin/bash\nCMD=('java' '-jar' 'lib/sonarqube.jar')\nexec \"${CMD[@]}\"\n"
    assert server_in_script(array, "run.sh") == (["java", "-jar", "lib/sonarqube.jar"], "run.sh line 2")
    last = "#!/bin/sh\ncd /srv\nnginx -g 'daemon off;'\n"
    found = server_in_script(last, "start.sh")
    assert found is not None and found[0][0] == "nginx" and found[1] == "start.sh line 3"


def test_a_server_named_mid_script_or_two_servers_are_not_trusted() -> None:
    config_test = "#!/bin/sh\nnginx -t\nexec php-fpm -F\n"
    assert server_in_script(config_test, "start.sh") is None
    two = "#!/bin/sh\nif [ \"$MODE\" = web ]; then\n  exec nginx -g 'daemon off;'\nfi\nexec gunicorn app:app\n"
    assert server_in_script(two, "start.sh") is None
    commented = '#!/bin/sh\n# exec gunicorn app:app\nexec "$@"\n'
    assert server_in_script(commented, "start.sh") is None


def test_an_installed_app_started_through_an_opaque_command_is_named_with_its_line() -> None:
    run = DockerfileInstruction(
        "RUN", ("apt-get install -y code-server",), "RUN apt-get install -y code-server", (), 3, 3, 0
    )
    assert installed_server([run], [], ["/usr/bin/entrypoint.sh", "--bind-addr", "0.0.0.0:8080"]) == (
        ["code-server"],
        "/usr/bin/entrypoint.sh --bind-addr 0.0.0.0:8080 (which runs code-server, installed at line 3)",
    )
    assert health_path_from_command(["code-server"]) == "/healthz"
    copy = CopyInstruction(("/out/gitea",), "/app/gitea/gitea", "build", 5)
    assert installed_server([], [copy], ["/bin/s6-svscan", "/etc/s6"]) == (
        ["gitea"],
        "/bin/s6-svscan /etc/s6 (which runs gitea, installed at line 5)",
    )
    # The command names another program, or nothing starts: not the app's.
    assert installed_server([], [copy], ["python3", "worker.py"]) is None
    assert installed_server([], [copy], []) is None
