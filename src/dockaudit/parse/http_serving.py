"""Whether and on which port an image serves HTTP: its base (the table), its command line (gunicorn, nginx,
flask...), or an HTTP framework its dependency file names.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from dockaudit.facts.dockerfile import DockerfileInstruction
from dockaudit.parse.base_images import ResolvedBase
from dockaudit.parse.build_context import CopyInstruction, read_context_file
from dockaudit.parse.privilege_drop import dropped_command
from dockaudit.parse.shell_text import (
    SHELLS,
    command_words,
    expand,
    logical_lines,
    run_words,
    shell_words,
    split_segments,
    strip_init,
)

_HTTP_SERVERS: tuple[tuple[re.Pattern[str], re.Pattern[str] | None, int | None], ...] = (
    # (program, port option, default port)
    (re.compile(r"^(?:gunicorn|hypercorn)$"), re.compile(r"(?:-b|--bind)[= ](?:[\w.\[\]:]*:)?(\d+)"), 8000),
    (re.compile(r"^uvicorn$"), re.compile(r"--port[= ](\d+)"), 8000),
    (re.compile(r"^fastapi$"), re.compile(r"--port[= ](\d+)"), 8000),  # FastAPI's CLI: `fastapi run`, uvicorn inside
    (re.compile(r"^uwsgi$"), re.compile(r"--http(?:-socket)?[= ](?:[\w.]*:)?(\d+)"), None),
    (re.compile(r"^(?:http-server)$"), re.compile(r"(?:-p|--port)[= ](\d+)"), 8080),
    (re.compile(r"^(?:httpd|busybox)$"), re.compile(r"-p[= ](?:[\w.]*:)?(\d+)"), 80),
    (re.compile(r"^(?:nginx|caddy)$"), None, 80),
    # Apache as Debian (`apache2ctl -D FOREGROUND`) and the official images start it, and lighttpd: `Listen 80`
    # and `server.port = 80` in the configuration their packages install.
    (re.compile(r"^(?:apache2|apache2ctl|apachectl|apache2-foreground|httpd-foreground|lighttpd)$"), None, 80),
    (re.compile(r"^(?:rails)$"), re.compile(r"(?:-p|--port)[= ](\d+)"), 3000),
    (re.compile(r"^(?:puma)$"), re.compile(r"(?:-p|--port)[= ](\d+)"), 9292),
    (re.compile(r"^catalina\.sh$"), None, 8080),
    (re.compile(r"^react-scripts$"), None, 3000),  # create-react-app: `react-scripts start` on PORT, 3000
    (re.compile(r"^(?:next|streamlit)$"), re.compile(r"(?:-p|--port|--server\.port)[= ](\d+)"), None),
    # The Prometheus family and other Go servers whose web UI/API port is documented and set by one flag.
    (re.compile(r"^prometheus$"), re.compile(r"--web\.listen-address[= ]\S*:(\d+)"), 9090),
    (re.compile(r"^alertmanager$"), re.compile(r"--web\.listen-address[= ]\S*:(\d+)"), 9093),
    (re.compile(r"^pushgateway$"), re.compile(r"--web\.listen-address[= ]\S*:(\d+)"), 9091),
    (re.compile(r"^node_exporter$"), re.compile(r"--web\.listen-address[= ]\S*:(\d+)"), 9100),
    (re.compile(r"^(?:grafana-server|grafana)$"), None, 3000),
    (re.compile(r"^loki$"), re.compile(r"-server\.http-listen-port[= ](\d+)"), 3100),
    # Self-hosted apps whose one program is their web server (each project's install docs name the port).
    (re.compile(r"^jenkins\.sh$"), re.compile(r"--httpPort[= ](\d+)"), 8080),  # jenkinsci/docker
    (re.compile(r"^minio$"), re.compile(r"--address[= ]\S*:(\d+)"), 9000),  # min.io docs: `minio server`
    (re.compile(r"^code-server$"), re.compile(r"--bind-addr[= ]\S*:(\d+)"), 8080),  # coder/code-server
    (re.compile(r"^gitea$"), re.compile(r"(?:-p|--port)[= ](\d+)"), 3000),  # docs.gitea.com: `gitea web`
    (re.compile(r"^n8n$"), None, 5678),  # docs.n8n.io: N8N_PORT, 5678 by default
    (re.compile(r"^miniflux$"), None, 8080),  # miniflux.app/docs: LISTEN_ADDR, port 8080 by default
    (re.compile(r"^portainer$"), re.compile(r"--bind[= ]\S*:(\d+)"), 9000),  # docs.portainer.io: HTTP on 9000
    (re.compile(r"^ghost$"), None, 2368),  # ghost.org/docs/config: server.port, 2368 by default
    (re.compile(r"^meilisearch$"), re.compile(r"--http-addr[= ]\S*:(\d+)"), 7700),  # meilisearch.com/docs: 7700
    # The official solr image's command: Jetty serves Solr's HTTP API and admin UI on SOLR_PORT, 8983 by default
    # (solr.apache.org/guide, "Taking Solr to Production"; `solr start -p` changes it).
    (re.compile(r"^solr-foreground$"), re.compile(r"(?:-p|--port)[= ](\d+)"), 8983),
)


_HEALTH_PATHS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Documented endpoints that answer 200 once the server is up and healthy (503 while starting or failing).
    (re.compile(r"^(?:prometheus|alertmanager|pushgateway)$"), "/-/healthy"),  # prometheus.io/docs, management API
    (re.compile(r"^(?:grafana-server|grafana)$"), "/api/health"),  # grafana.com/docs, HTTP API health
    (re.compile(r"^loki$"), "/ready"),  # grafana.com/docs/loki, API: GET /ready
    (re.compile(r"^code-server$"), "/healthz"),  # coder.com/docs/code-server/FAQ: GET /healthz
    (re.compile(r"^miniflux$"), "/healthcheck"),  # miniflux.app/docs/howto.html: GET /healthcheck answers OK
    (re.compile(r"^portainer$"), "/api/system/status"),  # docs.portainer.io API: public status endpoint
    (re.compile(r"^meilisearch$"), "/health"),  # meilisearch.com/docs/reference/api/health: 200 once available
    (re.compile(r"^metabase\.jar$"), "/api/health"),  # metabase.com/docs, "Monitoring": GET /api/health
    (re.compile(r"^sonar(?:qube|-application)[\w.-]*\.jar$"), "/api/system/status"),  # SonarQube web API
    (re.compile(r"^jenkins\.war$"), "/login"),  # jenkins.io/doc: the login page answers 200 once Jenkins is up
)


_JARS: tuple[tuple[re.Pattern[str], re.Pattern[str] | None, int], ...] = (
    # (jar or war a `java -jar` runs, port option, default port) for Java servers whose HTTP port is documented.
    (re.compile(r"^metabase\.jar$"), None, 3000),  # metabase.com/docs: MB_JETTY_PORT, 3000 by default
    (re.compile(r"^sonar(?:qube|-application)[\w.-]*\.jar$"), re.compile(r"-Dsonar\.web\.port=(\d+)"), 9000),
    (re.compile(r"^jenkins\.war$"), re.compile(r"--httpPort[= ](\d+)"), 8080),  # jenkins.io: --httpPort
)


_PROMETHEUS_1 = re.compile(r"(?:^|\s)-[a-z]+\.[a-z.-]+")
"""A single-dash dotted flag (`-config.file=`): Prometheus 1.x; from 2.0 on its flags take two dashes."""


def _server_program(words: Sequence[str]) -> str:
    """The name a server is known by: the program's file name, or for `java -jar`, the jar's."""
    program = words[0].rsplit("/", 1)[-1] if words else ""
    if program == "java" and "-jar" in words[1:-1]:
        return words[words.index("-jar") + 1].rsplit("/", 1)[-1]
    return program


def starts_jvm_server(argv: Sequence[str]) -> bool:
    """Whether the command starts a Java server (`java -jar`, Tomcat's catalina.sh, Jenkins' jenkins.sh)."""
    words = run_words(argv)
    program = words[0].rsplit("/", 1)[-1] if words else ""
    return program in ("java", "catalina.sh", "jenkins.sh")


def health_path_from_command(argv: Sequence[str]) -> str | None:
    """The documented health path of the server the command starts, when it is one of the known ones."""
    words = run_words(argv)
    program = _server_program(words)
    if _PROMETHEUS_1.search(" ".join(words[1:])) and program in ("prometheus", "alertmanager"):
        # Prometheus 1.x (Go flags written `-config.file`) predates /-/healthy; its own metrics at /metrics
        # answer 200 from every 1.x release on (prometheus.io/docs/prometheus/1.8, "Getting started").
        return "/metrics" if program == "prometheus" else None
    return next((path for pattern, path in _HEALTH_PATHS if pattern.match(program)), None)


_CONFIG_OPTIONS: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = (
    # (HTTP-only server, the option naming the config file that may set its port)
    (re.compile(r"^puma$"), re.compile(r"(?:^|\s)(?:-C|--config)[= ](\S+)")),
    (re.compile(r"^(?:gunicorn|hypercorn)$"), re.compile(r"(?:^|\s)(?:-c|--config)[= ](\S+)")),
)


def configured_server(argv: Sequence[str]) -> tuple[str, str] | None:
    """(server, config file) when the command starts an HTTP-only server without a port option but with a config
    file, which then decides the port (Rails' generated `config/puma.rb` reads `PORT`, 3000 by default)."""
    words = _past_bundler(run_words(argv))
    if not words:
        return None
    program = words[0].rsplit("/", 1)[-1]
    line = " ".join(words[1:])
    for pattern, option in _CONFIG_OPTIONS:
        match = option.search(line) if pattern.match(program) else None
        if match is not None:
            return program, match.group(1)
    return None


def _past_bundler(words: list[str]) -> list[str]:
    if words[:1] and words[0].rsplit("/", 1)[-1] == "bundle" and words[1:2] == ["exec"]:
        return words[2:]  # Bundler runs the app's own server: `bundle exec puma`, `bundle exec rails server`
    return words


def http_from_command(argv: Sequence[str]) -> tuple[int, str] | None:
    """(port, program) when the command starts a server known to speak HTTP, with the port it listens on."""
    words = _past_bundler(run_words(argv))
    if not words:
        return None
    program = words[0].rsplit("/", 1)[-1]
    line = " ".join(words)
    if program.startswith("python") and words[1:3] == ["-m", "http.server"]:
        port = next((w for w in words[3:] if w.isdecimal()), "8000")
        return int(port), "python -m http.server"
    if program.startswith("python") and "manage.py" in " ".join(words[1:2]) and "runserver" in words:
        address = words[words.index("runserver") + 1] if words.index("runserver") + 1 < len(words) else "8000"
        port = address.rsplit(":", 1)[-1]
        return (int(port), "django runserver") if port.isdecimal() else None
    if program in ("flask",) and "run" in words:
        match = re.search(r"(?:-p|--port)[= ](\d+)", line)
        return int(match.group(1)) if match else 5000, "flask run"
    if program == "php" and "-S" in words:
        match = re.search(r"-S[= ]\S*:(\d+)", line)
        return (int(match.group(1)), "php -S") if match else None
    if program == "busybox" and (len(words) < 2 or words[1] != "httpd"):
        return None
    if program == "portainer" and "--http-disabled" in words:
        return None
    if (
        (program == "minio" and "server" not in words)
        or (program == "gitea" and words[1:2] not in ([], ["web"]))
        or (program == "rails" and words[1:2] not in (["server"], ["s"]))
        or (program == "fastapi" and words[1:2] not in (["run"], ["dev"]))
    ):
        # Their other subcommands (minio's admin client, `gitea admin`, `rails db:migrate`) serve nothing.
        return None
    server = _server_program(words)
    for pattern, option, default in _JARS if program == "java" else _HTTP_SERVERS:
        if pattern.match(server):
            if option is None:
                return (default, server) if default is not None else None
            given = next((m.group(1) for m in option.finditer(line) if line[m.end() : m.end() + 1] != "."), None)
            if given is not None and int(given) > 0:
                return int(given), server
            flag = option.pattern.split("[= ]", 1)[0] if "[= ]" in option.pattern else None
            if flag is not None and re.search(rf"{flag}[= ]", line):
                # The option is given, but not as a port we can read (`--bind unix:/run/app.sock`,
                # `--bind 0.0.0.0:${PORT}`): the default would be a guess.
                return None
            if configured_server(words) is not None:
                return None  # a config file may set the port: see `configured_server`
            return (default, server) if default is not None else None
    return None


def server_in_script(text: str, where: str) -> tuple[list[str], str] | None:
    """(command line, where) of the one server known to speak HTTP that a start script starts, if it starts one.

    An entrypoint script does its set-up and then `exec`s the server (metabase's run_metabase.sh), runs it as its
    last command, or keeps its command line in an array it runs (sonarqube's `DEFAULT_CMD=(java -jar ...)`). Only
    those count: a server named mid-script may be a check (`nginx -t`) or one branch of several. Two different
    servers mean unsure."""
    found = _started_servers(text)
    if len(found) != 1:
        return None
    words, number = next(iter(found.values()))
    return words, f"{where} line {number}"


_CASE_PATTERN = re.compile(r"^\s*\(?[^\s()]+\)\s+(?=\S)")
"""A `case` branch's pattern before a command on its line (`web) exec gunicorn ...`, `*) exec "$@"`)."""
_NOT_PROGRAMS = frozenset({"esac", "fi", "done", "}", ";;", "exit", "wait", "true", ":", "echo", "return", "break"})
"""Shell words that can end a script's last line without starting anything."""


def started_programs(text: str) -> list[str]:
    """The programs a script's `exec` lines and its last line start, past a privilege drop, without the command it
    is handed (`exec "$@"`, `exec gosu app "$0" "$@"`). Two or more: the image runs one of several roles chosen by
    its command (`case "$1" in server) exec gunicorn ...;; worker) exec celery ...`)."""
    lines = [line for _, line in logical_lines(text) if line.strip() and not line.lstrip().startswith("#")]
    # `main "$@"` as the last line calls the script's own function, whose exec lines are read where they are.
    functions = {m.group(1) or m.group(2) for m in _FUNCTION.finditer(text)}
    programs: dict[str, None] = {}
    for position, line in enumerate(lines):
        for segment in split_segments(line):
            segment = _CASE_PATTERN.sub("", segment, count=1)
            if position != len(lines) - 1 and shell_words(segment)[:1] != ["exec"]:
                continue
            words = dropped_command(command_words(segment))
            if words and not words[0].startswith("$") and words[0] not in _NOT_PROGRAMS | functions:
                programs[posixpath.basename(words[0])] = None
    return list(programs)


_FUNCTION = re.compile(r"(?m)^\s*(?:function\s+)?([A-Za-z_][\w-]*)\s*\(\)|^\s*function\s+([A-Za-z_][\w-]*)")


def starts_no_server(text: str) -> bool:
    """Whether a start script starts no server known to speak HTTP (it hands over to an init, or to "$@")."""
    return not _started_servers(text)


def _started_servers(text: str) -> dict[tuple[int, str], tuple[list[str], int]]:
    """The HTTP servers a script starts (see `server_in_script`): their words and line, by (port, program)."""
    lines = [(n, line) for n, line in logical_lines(text) if line.strip() and not line.lstrip().startswith("#")]
    found: dict[tuple[int, str], tuple[list[str], int]] = {}
    for position, (number, line) in enumerate(lines):
        array = _ARRAY_ASSIGNMENT.match(line)
        code = line[array.end() :].rstrip().rstrip(")") if array else line
        segments = split_segments(code)
        for segment in (_CASE_PATTERN.sub("", s, count=1) for s in segments):
            last = position == len(lines) - 1
            if not (array or last or shell_words(segment)[:1] == ["exec"]):
                continue
            words = dropped_command(command_words(segment))
            server = http_from_command(words)
            if server is not None:
                found.setdefault(server, (words, number))
    return found


_PACKAGE_INSTALL = (
    r"\b(?:apk(?:\s+-[\w=-]+)*\s+add|(?:apt-get|apt|yum|dnf|microdnf|zypper)(?:\s+-[\w=-]+)*\s+install)\b[^&;|]*"
)
"""A package manager's install command up to its package names (`apk --no-cache add`, `apt-get -y install`)."""
_INSTALLED_BY_RUN: tuple[tuple[str, re.Pattern[str]], ...] = (
    # (app, how a RUN installs it) for self-hosted apps whose image starts them through an init or a script.
    # Web servers from the distribution's packages: their packaged configuration serves HTTP on port 80.
    ("nginx", re.compile(_PACKAGE_INSTALL + r"(?<![\w-])nginx(?:-(?:full|light|extras|core))?(?![\w.-])")),
    ("apache2", re.compile(_PACKAGE_INSTALL + r"(?<![\w-])(?:apache2|httpd)(?![\w.-])")),
    ("lighttpd", re.compile(_PACKAGE_INSTALL + r"(?<![\w-])lighttpd(?![\w.-])")),
    ("code-server", re.compile(r"\b(?:dpkg -i|apt(?:-get)? install|npm (?:i|install))\b[^&;|]*\bcode-server\b")),
    ("ghost", re.compile(r"\bghost install\b")),  # ghost-cli, as the official image installs Ghost
    ("gitea", re.compile(r"\bapk add\b[^&;|]*\bgitea\b")),
    ("n8n", re.compile(r"\bnpm (?:i|install) (?:-g|--global)\b[^&;|]*\bn8n(?:@\S*)?(?=\s|$)")),
)
_INSTALLED_BINARIES = frozenset({"gitea", "minio", "miniflux", "portainer", "code-server"})
"""Apps shipped as one binary, copied in (often from a build stage) under their own name."""
_NODE_APPS = frozenset({"ghost", "n8n"})
"""Apps that `node` runs (`node current/index.js`), so a `node` start command is theirs."""
_OPAQUE_STARTERS = frozenset({"init", "s6-svscan", "supervisord", "my_init", "runsvdir", "docker-init"})


def installed_server(
    runs: Sequence[DockerfileInstruction], copies: Sequence[CopyInstruction], command: Sequence[str]
) -> tuple[list[str], str] | None:
    """([app], where) when the image installs exactly one self-hosted app known to serve HTTP and starts it
    through something that does not name it: an entrypoint script not in the build context, an init (s6,
    supervisord), or `node` for a Node app. A command that names another program (`python worker.py`) is not the
    app's; like a start script's server, `serves_http` trusts it only on a port the Dockerfile exposes."""
    found: dict[str, int] = {}
    for run in runs:
        text = " ".join(run.value)
        for app, pattern in _INSTALLED_BY_RUN:
            if pattern.search(text):
                found.setdefault(app, run.start_line)
    for copy in copies:
        name = posixpath.basename(copy.dest.rstrip("/"))
        if name in _INSTALLED_BINARIES:
            found.setdefault(name, copy.line)
        elif copy.dest.rstrip("/").split("/node_modules/")[-1] in _NODE_APPS and "/node_modules/" in copy.dest:
            found.setdefault(copy.dest.rstrip("/").split("/node_modules/")[-1], copy.line)
    words = run_words(command)
    if len(found) != 1 or not words:
        return None
    ((app, line),) = found.items()
    program = words[0].rsplit("/", 1)[-1]
    opaque = (
        program.endswith(".sh")
        or "entrypoint" in program
        or program in _OPAQUE_STARTERS
        or (app in _NODE_APPS and program in ("node", "nodejs"))
    )
    if not opaque:
        return None
    return [app], f"{' '.join(words)[:80]} (which runs {app}, installed at line {line})"


_LISTEN_SED = re.compile(
    # `sed -i 's/Listen 80/Listen 8080/' /etc/apache2/ports.conf`, `s/^Listen 80$/Listen 8080/`,
    # `s|listen  *80;|listen 8080;|` (nginx): a server's listening port moved in the configuration its package
    # or base image installed. Apache's directive is `Listen`, nginx's `listen`.
    r"s(?P<d>[/|#,@])\^?(?P<kw>Listen|listen)(?:\s|\\s)[ *+?\\s]*(?P<old>\d+)\b[;$]*(?P=d)"
    r"(?P=kw)\s+(?P<new>\d+);?(?P=d)"
)
_CONF_PATH = re.compile(r"[\w./-]*\.conf\b")


def listen_moves(
    runs: Sequence[DockerfileInstruction], copies: Sequence[CopyInstruction]
) -> dict[int, tuple[int, int]]:
    """{old port: (new port, line)} for the Apache and nginx `Listen` directives the file's `sed` edits move (a PaaS
    or a non-root user needs 8080 rather than 80). A move is dropped when two edits disagree, or when a later COPY
    writes over the edited configuration (its own `Listen` then decides)."""
    moves: dict[int, dict[int, int]] = {}
    for run in runs:
        text = " ".join(run.value)
        found = [(int(m.group("old")), int(m.group("new"))) for m in _LISTEN_SED.finditer(text)]
        if not found:
            continue
        edited = _CONF_PATH.findall(text)
        overwritten = any(
            copy.line > run.start_line
            and any(
                posixpath.basename(path) == posixpath.basename(copy.dest.rstrip("/"))
                or path.startswith(copy.dest.rstrip("/") + "/")
                for path in edited
            )
            for copy in copies
        )
        if not edited or overwritten:
            continue
        for old, new in found:
            moves.setdefault(old, {})[new] = run.start_line
    return {old: next(iter(new.items())) for old, new in moves.items() if len(new) == 1 and 0 < next(iter(new)) < 65536}


def _moved(port: int, moves: Mapping[int, tuple[int, int]]) -> tuple[int, str]:
    """The port a server configured by `Listen` ends up on, and the words saying it was moved."""
    if port not in moves:
        return port, ""
    new, line = moves[port]
    return new, f", moved from {port} by the RUN at line {line}"


_CONFIGURED_LISTEN = frozenset(
    {"nginx", "apache2", "apache2ctl", "apachectl", "apache2-foreground", "httpd-foreground", "httpd"}
)
"""Servers whose port is their configuration's `Listen`/`listen` (httpd is Apache's name outside Debian)."""


def server_in_shell_form(argv: Sequence[str]) -> tuple[int, str] | None:
    """The server a shell-form command ends by starting: `([ -z "$CRON" ] || crond) && exec httpd -D FOREGROUND`."""
    words = strip_init(list(argv))
    if len(words) < 3 or words[0].rsplit("/", 1)[-1] not in SHELLS or words[1] != "-c":
        return None
    server = server_in_script(words[2], "the command")
    return http_from_command(server[0]) if server is not None else None


_ARRAY_ASSIGNMENT = re.compile(r"^\s*(?:local\s+|declare\s+-a\s+)?[A-Za-z_][A-Za-z0-9_]*=\(")
"""`CMD=(java -jar app.jar ...)`: a command kept in a bash array, whose words are the command line."""


def serves_http(
    base: ResolvedBase,
    command: Sequence[str],
    cmd: Sequence[str],
    entrypoint_ins: DockerfileInstruction | None,
    cmd_ins: DockerfileInstruction | None,
    exposed: Sequence[int],
    copies: Sequence[CopyInstruction],
    context_dir: Path | None,
    script_server: tuple[list[str], str] | None = None,
    app_server: tuple[int, str] | None = None,
    moves: Mapping[int, tuple[int, int]] | None = None,
) -> tuple[int, str] | None:
    """(port, why) when the image serves HTTP: its base, its command line, the server its start script starts (see
    `server_in_script`), the server the app's own files start (`app_server`: the port its Node script listens on,
    its Procfile's web process), or its framework and only port. `moves`: Apache and nginx ports the file's
    edits of their configuration move (`listen_moves`)."""
    moves = moves or {}
    known = base.known
    if known is not None and known.http_port is not None:
        own = cmd_ins is not None or entrypoint_ins is not None
        program = ""
        if own and command:
            words = list(command)
            if len(words) >= 3 and words[0].rsplit("/", 1)[-1] in SHELLS and words[1] == "-c":
                words = shell_words(words[2])
            program = posixpath.basename(words[0]) if words else ""
        if known.service:
            # The base's own server: its default command, the entrypoint script that starts it, or its binary.
            own_server = program == posixpath.basename(known.name.rstrip("*/")) or program == known.name.split("/")[-1]
            serves = (
                not own
                or (known.drop is not None and program in known.drop.when)
                or "entrypoint" in program
                or own_server
            )
            port, moved = _moved(known.http_port, moves)
            if serves and (not exposed or port in exposed):
                return port, f"{base.ref} serves HTTP on {port}{moved} ({known.source})"
        elif known.http_port in exposed:
            # An app framework base (ASP.NET Core) whose apps listen for HTTP on this port by default.
            return known.http_port, f"apps on {base.ref} serve HTTP on {known.http_port} ({known.source})"
    # An entrypoint script usually ends with `exec "$@"`: the CMD is then the server. The probe runs inside the
    # container, so the port the command listens on counts whether or not EXPOSE names it.
    found = (
        http_from_command(command)
        or http_from_command(cmd)
        or http_from_command(_package_script(command, copies, context_dir))
        or server_in_shell_form(command)
        or server_in_shell_form(cmd)
    )
    if found is not None:
        port, program = found
        stated = re.search(rf"(?<!\d){port}(?!\d)", " ".join((*command, *cmd))) is not None
        moved = ""
        if not stated and program in _CONFIGURED_LISTEN:
            port, moved = _moved(port, moves)
        # A default port the command line does not state may be moved by a config file (nginx, Tomcat) or an
        # environment variable (FLASK_RUN_PORT, PORT): trust it only when EXPOSE agrees or says nothing.
        if stated or not exposed or port in exposed:
            where = "which the Dockerfile exposes" if port in exposed else "as its command line says"
            return port, f"{program} serves HTTP on {port}, {where}{moved}"
    if found is None and script_server is not None:
        port, program = http_from_command(script_server[0]) or (0, "")
        moved = ""
        if program in _CONFIGURED_LISTEN and not re.search(rf"(?<!\d){port}(?!\d)", " ".join(script_server[0])):
            port, moved = _moved(port, moves)
        # A script's server may be one of several it can start (by argument or environment): only a port the
        # Dockerfile exposes confirms it is the one this image runs.
        if port in exposed:
            return (
                port,
                f"{script_server[1]} starts {program}, which serves HTTP on {port}, which the Dockerfile "
                f"exposes{moved}",
            )
    if found is None and app_server is not None and (not exposed or app_server[0] in exposed):
        # Like a server's default port: the app's own port counts when EXPOSE agrees or says nothing.
        return app_server
    configured = configured_server(command) or configured_server(cmd)
    if found is None and configured is not None and len(set(exposed)) == 1:
        port = exposed[0]
        server, config = configured
        return port, f"{server} reads its port from {config}, and the Dockerfile exposes only port {port}"
    if found is None and len(set(exposed)) == 1:
        framework = _web_framework(command, copies, context_dir) or _web_framework(cmd, copies, context_dir)
        if framework is not None:
            port = exposed[0]
            return port, f"the app is built on {framework} (an HTTP framework) and exposes only port {port}"
    return None


_FRAMEWORKS: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    # language: (dependency files, HTTP frameworks and servers named in them)
    "node": (
        ("package.json",),
        frozenset(
            {
                "express",
                "fastify",
                "koa",
                "@hapi/hapi",
                "hapi",
                "@nestjs/core",
                "next",
                "nuxt",
                "restify",
                "@remix-run/serve",
                "json-server",
                "http-server",
                "serve",
                "@adonisjs/core",
                "sails",
            }
        ),
    ),
    "python": (
        ("requirements.txt", "requirements.in", "pyproject.toml", "Pipfile"),
        frozenset(
            {
                "flask",
                "django",
                "fastapi",
                "starlette",
                "aiohttp",
                "tornado",
                "bottle",
                "sanic",
                "streamlit",
                "gradio",
                "uvicorn",
                "gunicorn",
                "hypercorn",
                "quart",
                "falcon",
                "litestar",
            }
        ),
    ),
}


def _package_script(command: Sequence[str], copies: Sequence[CopyInstruction], context_dir: Path | None) -> list[str]:
    """The command line `npm start` / `npm run NAME` (yarn, pnpm) runs, from the package.json the build copies in."""
    words = run_words(command)
    if len(words) < 2 or posixpath.basename(words[0]) not in ("npm", "yarn", "pnpm"):
        return []
    name = words[2] if words[1] in ("run", "run-script") and len(words) > 2 else words[1]
    for _path, text in _context_files(copies, context_dir, ("package.json",)):
        try:
            scripts = json.loads(text).get("scripts") or {}
        except (ValueError, AttributeError):
            continue
        script = scripts.get(name) if isinstance(scripts, dict) else None
        if isinstance(script, str):
            return shell_words(split_segments(script)[-1]) if split_segments(script) else []
    return []


def _context_files(
    copies: Sequence[CopyInstruction], context_dir: Path | None, names: Sequence[str]
) -> list[tuple[str, str]]:
    """(path, text) of the build-context files named `names` that the runtime stage copies in (whole or in a
    directory)."""
    texts: list[tuple[str, str]] = []
    if context_dir is None:
        return texts
    for copy in copies:
        if copy.from_stage is not None:
            continue
        for source in copy.sources:
            base = source.rstrip("/")
            candidates = (
                [base]
                if posixpath.basename(base) in names
                else [
                    posixpath.join(base, name)
                    for name in names
                    if base in (".", "./", "") or not posixpath.splitext(base)[1]
                ]
            )
            for candidate in candidates:
                text = read_context_file(context_dir, candidate)
                if text is not None:
                    texts.append((candidate, text))
    return texts


_NODE_PROGRAMS = frozenset({"node", "nodejs", "npm", "yarn", "pnpm", "bun"})
_DEPENDENCY = re.compile(r"^\s*[\"']?([A-Za-z0-9_.@/-]+?)[\"']?\s*(?:[=<>~!\[;:]|$)")


def _web_framework(command: Sequence[str], copies: Sequence[CopyInstruction], context_dir: Path | None) -> str | None:
    """The HTTP framework the app's dependency file (copied in from the build context) names, if any."""
    words = run_words(command)
    program = posixpath.basename(words[0]) if words else ""
    # supervisord is itself a Python program, and in Python app images it runs the app's server (gunicorn...).
    python = program.startswith("python") or program == "supervisord"
    language = "node" if program in _NODE_PROGRAMS else "python" if python else None
    if language is None:
        return None
    names, frameworks = _FRAMEWORKS[language]
    for path, text in _context_files(copies, context_dir, names):
        found = _named_dependency(text, frameworks, path.endswith("package.json"))
        if found is not None:
            return found
    return None


def _named_dependency(text: str, frameworks: frozenset[str], is_json: bool) -> str | None:
    if is_json:
        try:
            data = json.loads(text)
        except ValueError:
            return None
        deps = {**(data.get("dependencies") or {})} if isinstance(data, dict) else {}
        return next((name for name in deps if name in frameworks), None)
    for line in text.splitlines():
        match = _DEPENDENCY.match(line.split("#", 1)[0])
        if match and match.group(1).lower() in frameworks:
            return match.group(1).lower()
    return None


# ---- a Node app's own entry script ----------------------------------------------------------------------------

_NODE_HTTP_MODULES = frozenset({"http", "https", "node:http", "node:https"})
_JS_MODULE = re.compile(r"""(?:\brequire\s*\(\s*|\bfrom\s+|\bimport\s+)['"]([^'"]+)['"]""")
_JS_LISTEN = re.compile(r"\.listen\s*\(\s*([^,()]+?)\s*[,)]")
_JS_LINE_COMMENT = re.compile(r"(?m)^\s*//.*$")
_JS_PORT = re.compile(
    r"^(?:(?P<literal>\d{2,5})"
    r"|process\.env\.(?P<env>[A-Za-z_][A-Za-z0-9_]*)\s*(?:\|\||\?\?)\s*['\"]?(?P<default>\d{2,5})['\"]?)$"
)


def node_entry_script(command: Sequence[str]) -> str | None:
    """The script a `node FILE` command line runs (`node server.js`, `node --max-old-space-size=512 src/index`)."""
    words = run_words(command)
    if len(words) < 2 or posixpath.basename(words[0]) not in ("node", "nodejs"):
        return None
    script = next((w for w in words[1:] if not w.startswith("-")), None)
    if script is None or "$" in script:
        return None
    # `node server` runs server.js; a bare name with another extension is not a script node would run that way.
    return script if script.endswith((".js", ".cjs", ".mjs")) else f"{script}.js"


def local_requires(text: str) -> list[str]:
    """The app's own modules a Node script loads (`require('./app')`, `from '../lib/server.js'`)."""
    return [m for m in _JS_MODULE.findall(_JS_LINE_COMMENT.sub("", text)) if m.startswith(("./", "../"))]


def js_module_files(path: str) -> list[str]:
    """The files node tries for `require(path)`: the path itself, then `.js`, then `index.js` in it."""
    if path.endswith((".js", ".cjs", ".mjs")):
        return [path]
    return [f"{path}.js", posixpath.join(path, "index.js")]


def node_listener(text: str, env: Mapping[str, str | None], required: Sequence[str] = ()) -> tuple[int, str] | None:
    """(port, module) when a Node script starts an HTTP server itself: it (or `required`, the texts of the app's
    modules it loads, such as the `./app` that builds an express app) loads an HTTP framework (express, fastify...)
    or node's `http` module, and every `.listen(...)` in the script names the same port: a number, `PORT` (a
    constant set in the file to one of these), or `process.env.NAME || number` (the variable's value when the
    Dockerfile sets it). Anything else (a port computed elsewhere, two ports, a socket path) says nothing."""
    code = _JS_LINE_COMMENT.sub("", text)
    loaded = [m for source in (code, *required) for m in _JS_MODULE.findall(_JS_LINE_COMMENT.sub("", source))]
    modules = [m for m in loaded if m in _FRAMEWORKS["node"][1] or m in _NODE_HTTP_MODULES]
    if not modules:
        return None
    ports = {_js_port(arg, code, env) for arg in _JS_LISTEN.findall(code)}
    if len(ports) != 1:
        return None
    (port,) = ports
    return (port, modules[0]) if port is not None else None


def node_http_module(module: str) -> str:
    """How a `node_listener` module is named to a user."""
    return "node's http module" if module in _NODE_HTTP_MODULES else module


def _js_port(expression: str, code: str, env: Mapping[str, str | None], depth: int = 0) -> int | None:
    match = _JS_PORT.match(expression.strip())
    if match is None:
        name = expression.strip()
        if depth or not re.fullmatch(r"[A-Za-z_$][\w$]*", name):
            return None
        # A variable the file sets once and never again: `const PORT = process.env.PORT || 3000;`.
        assigned = re.findall(rf"(?m)^\s*(?:const|let|var)\s+{re.escape(name)}\s*=\s*([^;\n]+?)\s*;?\s*$", code)
        # Every assignment to it, the declaration's included (not `==`, `===`, `<=`, `=>` or `obj.port =`).
        assignments = re.findall(rf"(?<![\w$.]){re.escape(name)}\s*[-+*/|&?]{{0,3}}=(?![=>])", code)
        return _js_port(assigned[0], code, env, depth + 1) if len(assigned) == 1 == len(assignments) else None
    if match["literal"] is not None:
        return int(match["literal"])
    name = match["env"]
    if name in env:
        value = env[name]
        return int(value) if value is not None and value.isdecimal() else None
    return int(match["default"])


# ---- a Procfile's web process ---------------------------------------------------------------------------------

_PROCFILE_RUNNERS = frozenset({"foreman", "honcho", "forego"})
_PROCFILE_LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+?)\s*$")
_PROCFILE_BASE_PORT = 5000
"""foreman's, honcho's and forego's first port when `PORT` is not set; each process type after the first gets
100 more."""


def procfile_runner(command: Sequence[str]) -> str | None:
    """The runner (foreman, honcho, forego) when the command runs every process of the app's `Procfile`
    (`bundle exec foreman start`)."""
    words = _past_bundler(run_words(command))
    runner = posixpath.basename(words[0]) if words else ""
    return runner if len(words) == 2 and runner in _PROCFILE_RUNNERS and words[1] == "start" else None


def procfile_web_server(text: str, env: Mapping[str, str | None]) -> tuple[int, str] | None:
    """(port, program) of the `web` process a Procfile runner starts, when it is the file's first process (the
    runner gives it `PORT`, or 5000 when the environment has none) and its last command starts an HTTP server on
    `$PORT` or a port it names."""
    processes = [m.groups() for line in text.splitlines() if (m := _PROCFILE_LINE.match(line.split(" #", 1)[0]))]
    if not processes or processes[0][0] != "web":
        return None
    given = env["PORT"] if "PORT" in env else str(_PROCFILE_BASE_PORT)
    if given is None or not given.isdecimal():
        return None
    segments = split_segments(processes[0][1])
    line = expand(segments[-1], {**env, "PORT": given}) if segments else None
    return http_from_command(shell_words(line)) if line else None
