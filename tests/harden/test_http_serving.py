"""Which servers a command line or a start script starts, and on which HTTP port (parse/http_serving.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockaudit.facts.dockerfile import DockerfileInstruction
from dockaudit.parse.build_context import CopyInstruction, script_source
from dockaudit.parse.http_serving import (
    configured_server,
    health_path_from_command,
    http_from_command,
    installed_server,
    listen_moves,
    local_requires,
    node_entry_script,
    node_listener,
    procfile_runner,
    procfile_web_server,
    server_in_script,
    server_in_shell_form,
    started_programs,
    starts_jvm_server,
    starts_no_server,
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
        (["fastapi", "run", "--host", "0.0.0.0", "/app/src/app"], (8000, "fastapi")),  # FastAPI CLI, uvicorn's port
        (["fastapi", "run", "--port", "80", "app/main.py"], (80, "fastapi")),
        (["fastapi", "--version"], None),
        (["apache2ctl", "-D", "FOREGROUND"], (80, "apache2ctl")),  # Debian's packaged Apache: `Listen 80`
        (["lighttpd", "-D", "-f", "/etc/lighttpd/lighttpd.conf"], (80, "lighttpd")),
        # A config file may set the port: no default is assumed (`serves_http` asks EXPOSE instead).
        (["bundle", "exec", "puma", "-C", "config/puma.rb"], None),
        (["gunicorn", "-c", "gunicorn.conf.py", "app:app"], None),
        (["gunicorn", "-c", "gunicorn.conf.py", "-b", ":9000", "app:app"], (9000, "gunicorn")),  # the flag wins
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


@pytest.mark.parametrize(
    ("run", "moves"),
    [
        ("sed -i 's/Listen 80/Listen 8080/' /etc/apache2/ports.conf", {80: (8080, 4)}),
        ("sed -i 's/^Listen 80$/Listen 8081/' /etc/httpd/conf/httpd.conf", {80: (8081, 4)}),
        ("sed -ri 's|listen  *80;|listen 8080;|' /etc/nginx/conf.d/default.conf", {80: (8080, 4)}),
        ("sed -i 's/listen\\s*80;/listen 8080;/g' /etc/nginx/conf.d/default.conf", {80: (8080, 4)}),
        ("sed -i 's,Listen 80,Listen 8080,' ports.conf && sed -i 's/:80>/:8080>/' 000-default.conf", {80: (8080, 4)}),
        # Not a configuration file (a README), a port from the environment, or two edits that disagree: no move.
        ("sed -i 's/Listen 80/Listen 8080/' README.md", {}),
        ("sed -i 's/Listen 80/Listen ${PORT}/' /etc/apache2/ports.conf", {}),
        ("sed -i 's/Listen 80/Listen 8080/' a.conf && sed -i 's/Listen 80/Listen 9090/' b.conf", {}),
        ("sed -i 's/Listen 80/listen 8080/' /etc/apache2/ports.conf", {}),  # another directive's name
    ],
)
def test_a_sed_that_moves_apache_or_nginx_listen(run: str, moves: dict[int, tuple[int, int]]) -> None:
    assert listen_moves([run_ins(4, run)], []) == moves


def test_a_configuration_copied_over_the_edited_one_cancels_the_move() -> None:
    run = run_ins(4, "sed -i 's/Listen 80/Listen 8080/' /etc/apache2/ports.conf")
    over = CopyInstruction(("docker/ports.conf",), "/etc/apache2/ports.conf", None, 5)
    whole_dir = CopyInstruction(("apache/",), "/etc/apache2", None, 6)
    before = CopyInstruction(("docker/ports.conf",), "/etc/apache2/ports.conf", None, 3)
    assert listen_moves([run], [over]) == {}
    assert listen_moves([run], [whole_dir]) == {}
    # A file copied in first and edited after keeps the edit.
    assert listen_moves([run], [before]) == {80: (8080, 4)}


def test_a_server_configured_by_a_file_is_named_with_the_file() -> None:
    assert configured_server(["/app/bin/bundle", "exec", "puma", "-C", "/app/config/puma.rb", "--dir", "/app"]) == (
        "puma",
        "/app/config/puma.rb",
    )
    assert configured_server(["gunicorn", "--config=conf.py", "app:app"]) == ("gunicorn", "conf.py")
    assert configured_server(["puma", "-p", "3000"]) is None  # no config file named
    assert configured_server(["unicorn", "-c", "config/unicorn.rb"]) is None  # not known here to speak only HTTP


def run_ins(line: int, text: str) -> DockerfileInstruction:
    return DockerfileInstruction("RUN", (text,), f"RUN {text}", (), line, line, 0)


@pytest.mark.parametrize(
    ("run", "app"),
    [
        ("apk --no-cache --update add tzdata openssl nginx bash s6 curl php8-fpm", "nginx"),
        ("apt-get update && apt-get install -y --no-install-recommends nginx-light", "nginx"),
        ("apt-get -y install apache2 libapache2-mod-php", "apache2"),
        ("dnf install -y httpd && dnf clean all", "apache2"),
        ("apk add lighttpd", "lighttpd"),
        # Not the web server: a plugin, a library, another package.
        ("apt-get install -y python3-certbot-nginx", None),
        ("apt-get install -y libnginx-mod-http-geoip", None),
        ("apt-get install -y apache2-utils", None),
        ("pip install nginx-config-parser", None),
    ],
)
def test_a_packaged_web_server_started_by_an_opaque_command_is_found(run: str, app: str | None) -> None:
    found = installed_server([run_ins(11, run)], [], ["/usr/local/bin/entrypoint.sh"])
    where = f"/usr/local/bin/entrypoint.sh (which runs {app}, installed at line 11)"
    assert found == (None if app is None else ([app], where))
    # Started by a command of its own (a Python app beside the web server), it is not known to be the server.
    assert installed_server([run_ins(11, run)], [], ["python3", "app.py"]) is None


def test_the_server_a_shell_form_command_ends_by_starting_counts() -> None:
    compound = '([ -z "$CRON_MIN" ] || crond -d 6) && exec httpd -D FOREGROUND'
    assert server_in_shell_form(["/bin/sh", "-c", compound]) == (80, "httpd")
    assert server_in_shell_form(["/bin/sh", "-c", "nginx -t && nginx -g 'daemon off;'"]) == (80, "nginx")
    # Two different servers: unsure.
    assert server_in_shell_form(["/bin/sh", "-c", "nginx && exec gunicorn app:app"]) is None
    assert server_in_shell_form(["httpd", "-D", "FOREGROUND"]) is None  # exec form: `http_from_command` reads it


def test_a_script_handing_over_to_an_init_starts_no_server_of_its_own() -> None:
    assert starts_no_server("#!/bin/bash\nchown -R nginx /var/www/app/data\nexec /bin/s6-svscan /etc/services.d\n")
    assert starts_no_server('#!/bin/sh\nset -e\nexec "$@"\n')
    branches = "#!/bin/sh\nif [ \"$MODE\" = web ]; then\n  exec nginx -g 'daemon off;'\nfi\nexec gunicorn app:app\n"
    assert not starts_no_server(branches)  # unsure which, but it does start servers: the installed nginx is not it


def test_a_start_script_deep_in_a_directory_copied_to_the_root_is_read(tmp_path: Path) -> None:
    # Kanboard's `ADD docker/ /` brings docker/usr/local/bin/entrypoint.sh to /usr/local/bin/entrypoint.sh.
    (tmp_path / "docker" / "usr" / "local" / "bin").mkdir(parents=True)
    (tmp_path / "docker" / "usr" / "local" / "bin" / "entrypoint.sh").write_text("#!/bin/sh\nexec s6-svscan /s6\n")
    add = CopyInstruction(("docker/",), "/", None, 20)
    assert script_source("/usr/local/bin/entrypoint.sh", [add], tmp_path, "/") == (
        "docker/usr/local/bin/entrypoint.sh",
        "entrypoint.sh",
    )
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "start.sh").write_text("#!/bin/sh\nexec app\n")
    app = CopyInstruction((".",), "/var/www/app", None, 19)
    assert script_source("/var/www/app/bin/start.sh", [app], tmp_path, "/") == ("bin/start.sh", "start.sh")
    # Not in the directory: the earlier COPY that does bring it counts.
    (tmp_path / "start.sh").write_text("#!/bin/sh\nexec app\n")
    own = CopyInstruction(("start.sh",), "/opt/start.sh", None, 18)
    assert script_source("/opt/start.sh", [own, add], tmp_path, "/") == ("start.sh", "start.sh")


@pytest.mark.parametrize(
    ("argv", "script"),
    [
        (["node", "server.js"], "server.js"),
        (["node", "server"], "server.js"),  # node resolves a bare name to NAME.js
        (["node", "--max-old-space-size=512", "src/index.mjs"], "src/index.mjs"),
        (["/bin/sh", "-c", "exec node /app/dist/main.js"], "/app/dist/main.js"),
        (["tini", "--", "node", "app.js"], "app.js"),
        (["node"], None),  # the REPL
        (["node", "$APP"], None),  # a script only the environment names
        (["npm", "start"], None),
        (["python", "app.py"], None),
    ],
)
def test_the_script_a_node_command_runs(argv: list[str], script: str | None) -> None:
    assert node_entry_script(argv) == script


EXPRESS_APP = "const express = require('express')\nconst app = express()\napp.get('/', (req, res) => res.send('hi'))\n"


@pytest.mark.parametrize(
    ("code", "env", "expected"),
    [
        (EXPRESS_APP + "app.listen(3000)\n", {}, (3000, "express")),
        (
            EXPRESS_APP + "const PORT = process.env.PORT || 8080;\napp.listen(PORT, () => console.log('up'))\n",
            {},
            (8080, "express"),
        ),
        (EXPRESS_APP + "app.listen(process.env.PORT ?? '4000')\n", {}, (4000, "express")),
        # The Dockerfile sets the variable: its value wins; set without a value (a bare ARG), nothing is known.
        (EXPRESS_APP + "app.listen(process.env.PORT || 3000)\n", {"PORT": "5000"}, (5000, "express")),
        (EXPRESS_APP + "app.listen(process.env.PORT || 3000)\n", {"PORT": None}, None),
        ("import http from 'node:http'\nhttp.createServer(handler).listen(8000, '0.0.0.0')\n", {}, (8000, "node:http")),
        ("import Fastify from 'fastify'\nconst port = 3001\nawait fastify.listen(port)\n", {}, (3001, "fastify")),
        # Not enough to know: the port from a config module, two servers on two ports, a socket path, no listen.
        (EXPRESS_APP + "app.listen(config.port)\n", {}, None),
        (EXPRESS_APP + "app.listen(3000)\nadmin.listen(9000)\n", {}, None),
        (EXPRESS_APP + "app.listen('/run/app.sock')\n", {}, None),
        (EXPRESS_APP + "module.exports = app\n", {}, None),
        (EXPRESS_APP + "let port = 3000\nport = 4000\nlet port = 5000\napp.listen(port)\n", {}, None),
        (EXPRESS_APP + "let port = 3000\nif (prod) port = 80\napp.listen(port)\n", {}, None),  # set again
        (EXPRESS_APP + "let port = 3000\nport ||= 80\napp.listen(port)\n", {}, None),
        (EXPRESS_APP + "let port = 3000\nif (port === 80) log()\napp.listen(port)\n", {}, (3000, "express")),
        # A port but no HTTP server module: a TCP or WebSocket-only server, or an HTTP client.
        ("const net = require('net')\nnet.createServer(onConn).listen(7000)\n", {}, None),
        ("// const express = require('express')\nserver.listen(3000)\n", {}, None),  # commented out
    ],
)
def test_a_node_script_that_listens_on_a_port_it_names(
    code: str, env: dict[str, str | None], expected: tuple[int, str] | None
) -> None:
    assert node_listener(code, env) == expected


def test_a_node_script_listening_on_an_app_its_own_module_builds() -> None:
    index = "const app = require('./app')\nconst port = 8080\napp.listen(port, () => {})\n"
    assert local_requires(index) == ["./app"]
    assert node_listener(index, {}) is None  # index.js alone names no HTTP module
    assert node_listener(index, {}, [EXPRESS_APP + "module.exports = app\n"]) == (8080, "express")


@pytest.mark.parametrize(
    ("argv", "runner"),
    [
        (["bundle", "exec", "foreman", "start"], "foreman"),
        (["honcho", "start"], "honcho"),
        (["/bin/sh", "-c", "exec forego start"], "forego"),
        (["foreman", "start", "web"], None),  # one process, given by name: not the Procfile's order
        (["foreman", "run", "rake", "db:migrate"], None),
        (["bundle", "exec", "puma"], None),
    ],
)
def test_a_procfile_runner_is_told_from_other_commands(argv: list[str], runner: str | None) -> None:
    assert procfile_runner(argv) == runner


RAILS_WEB = "web: bundle exec rake db:migrate && bundle exec rails server -p $PORT\njobs: bin/threaded.rb\n"


@pytest.mark.parametrize(
    ("procfile", "env", "expected"),
    [
        (RAILS_WEB, {"PORT": "3000"}, (3000, "rails")),
        (RAILS_WEB, {}, (5000, "rails")),  # the runner's own first port
        ("web: gunicorn -b 0.0.0.0:$PORT app:app  # the site\nworker: celery -A app worker\n", {}, (5000, "gunicorn")),
        ("web: bundle exec puma -p 8080\n", {"PORT": "3000"}, (8080, "puma")),  # a port the command names
        # Not known: web is not the first process (the runner gives it PORT + 100), a PORT without a value, a
        # web process that is no known server, no web process.
        ("jobs: bin/threaded.rb\n" + RAILS_WEB, {"PORT": "3000"}, None),
        (RAILS_WEB, {"PORT": None}, None),
        ("web: bin/start-app\n", {"PORT": "3000"}, None),
        ("worker: celery -A app worker\n", {}, None),
    ],
)
def test_the_web_process_a_procfile_runner_starts(
    procfile: str, env: dict[str, str | None], expected: tuple[int, str] | None
) -> None:
    assert procfile_web_server(procfile, env) == expected


@pytest.mark.parametrize(
    ("script", "programs"),
    [
        # One role: set-up, then the server; or the command it is handed, after a privilege drop of itself.
        ("#!/bin/sh\nchown app /data\nexec gunicorn -b :8000 app:app\n", ["gunicorn"]),
        ('#!/bin/sh\nif [ "$(id -u)" = 0 ]; then exec gosu app "$0" "$@"; fi\nexec "$@"\n', []),
        ('#!/bin/sh\nif [ "$1" = web ]; then exec puma -C config/puma.rb; fi\nexec "$@"\n', ["puma"]),
        # The last line calls the script's own function (docker-library's `_main "$@"`).
        ('#!/bin/bash\nmain() {\n  chown app /data\n  exec gunicorn app:app\n}\nmain "$@"\n', ["gunicorn"]),
        ('#!/bin/bash\nfunction _main {\n  exec "$@"\n}\n_main "$@"\n', []),
        # Roles chosen by the first argument.
        (
            '#!/bin/sh\ncase "$1" in\n  web) exec gunicorn app:app ;;\n  worker) exec celery -A app worker ;;\nesac\n',
            ["gunicorn", "celery"],
        ),
        (
            '#!/bin/sh\nif [ "$1" = run ]; then\n  exec /app/bin/app start\nelse\n  exec su-exec app rq worker\nfi\n',
            ["app", "rq"],
        ),
    ],
)
def test_the_programs_a_start_script_can_end_by_starting(script: str, programs: list[str]) -> None:
    assert started_programs(script) == programs
