"""Each transform pass: what it changes, what it leaves alone, its rule ids and its idempotence.

Harden v2 (shared/spec/harden.md): every edit answers a finding of the scan of the original file, a finding
left unfixed says why, Windows files are not edited, and no HEALTHCHECK is added that cannot pass.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dockaudit.facts.filesystem import OsRelease
from dockaudit.harden import BaseImage, HardenContext, HardenResult, base_from_facts, harden_dockerfile_text
from dockaudit.harden.sources import CHECKSUM_PLACEHOLDER
from tests.rules.conftest import make_image_facts


def harden(text: str, **context: object) -> HardenResult:
    result = harden_dockerfile_text(text, context=HardenContext(**context))  # type: ignore[arg-type]
    if result.dockerignore is not None:
        # Idempotence covers the project too: the generated ignore file is in place for the second run.
        Path(str(context["project_dir"]), ".dockerignore").write_text(result.dockerignore)
    again = harden_dockerfile_text(result.hardened, context=HardenContext(**context))  # type: ignore[arg-type]
    assert again.hardened == result.hardened, "hardening is not idempotent"
    assert not again.changes
    return result


def rules(result: HardenResult) -> set[str]:
    return {rule for change in result.changes for rule in change.rule_ids}


def base(ref: str, files: set[str], **extra: object) -> dict[str, object]:
    image = BaseImage(ref=ref, files=frozenset(files), **extra)  # type: ignore[arg-type]
    return {"base_lookup": lambda r: image if r == ref else None}


ALPINE_FILES = {
    "/bin/busybox",
    "/bin/sh",
    "/etc/passwd",
    "/etc/group",
    "/usr/sbin/adduser",
    "/usr/sbin/addgroup",
    "/etc/alpine-release",
    "/usr/bin/wget",
}
DEBIAN_FILES = {
    "/bin/sh",
    "/etc/passwd",
    "/etc/group",
    "/usr/sbin/useradd",
    "/usr/sbin/groupadd",
    "/var/lib/dpkg/status",
}


class TestUser:
    """Non-root user: the base's own tools, else passwd lines, else a bare numeric USER."""

    def test_alpine_base_gets_busybox_adduser(self) -> None:
        result = harden(
            'FROM myalpine:1\nRUN apk add --no-cache curl\nCMD ["app"]\n', **base("myalpine:1", ALPINE_FILES)
        )
        assert "RUN addgroup -S -g 10001 app \\\n    && adduser -S -D -H -u 10001 -G app app\n" in result.hardened
        assert "USER 10001:10001\n" in result.hardened
        lines = result.hardened.splitlines()
        # The switch comes after the last root step, so that step still runs as root.
        assert lines.index("USER 10001:10001") > lines.index("RUN apk add --no-cache curl")
        assert {"DA101", "DA606"} <= rules(result)

    def test_debian_base_gets_useradd(self) -> None:
        result = harden('FROM mydeb:12\nCMD ["app"]\n', **base("mydeb:12", DEBIAN_FILES))
        assert "RUN groupadd -r -g 10001 app \\\n    && useradd -r -u 10001 -g app" in result.hardened

    def test_base_without_user_tools_gets_passwd_lines(self) -> None:
        result = harden('FROM bb:1\nCMD ["app"]\n', **base("bb:1", {"/bin/sh", "/etc/passwd", "/etc/group"}))
        assert 'echo "app:x:10001:10001::/nonexistent:/sbin/nologin" >> /etc/passwd' in result.hardened

    def test_scratch_gets_a_bare_numeric_user(self) -> None:
        result = harden('FROM scratch\nCOPY app /app\nENTRYPOINT ["/app"]\n')
        assert "RUN " not in result.hardened
        assert "USER 65532:65532\n" in result.hardened

    def test_unknown_base_without_known_tools_gets_a_numeric_user_and_a_note(self) -> None:
        result = harden('FROM registry.example.com/base:1\nCOPY app /app\nCMD ["/app"]\n')
        assert "RUN " not in result.hardened and "USER 10001:10001\n" in result.hardened
        assert any("no /etc/passwd entry" in note for note in result.notes)

    def test_distroless_uses_its_nonroot_user(self) -> None:
        files = {"/etc/passwd", "/etc/group", "/var/lib/dpkg/status.d/base"}
        result = harden(
            'FROM gcr.io/distroless/static\nCOPY app /app\nENTRYPOINT ["/app"]\n',
            **base("gcr.io/distroless/static", files, os_release=OsRelease("distroless")),
        )
        assert "USER 65532:65532\n" in result.hardened

    def test_named_non_root_user_is_left_with_its_numeric_ids_as_advice(self) -> None:
        """v2: an image that already runs as non-root gets no USER edit; DA116 says which IDs to write."""
        text = (
            'FROM a:1\nRUN addgroup -g 1000 node && adduser -u 1000 -G node -s /bin/sh -D node\nUSER node\nCMD ["x"]\n'
        )
        result = harden(text, **base("a:1", ALPINE_FILES))
        assert "USER node\n" in result.hardened and "USER 1000" not in result.hardened
        (left,) = [u for u in result.unfixed if "DA116" in u.rule_ids]
        assert "`USER 1000:1000`" in left.reason and left.line == 3

    def test_reuses_the_user_the_base_passwd_has(self) -> None:
        passwd = "root:x:0:0::/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n"
        # An app, not the runtime's bare prompt (`CMD ["node"]` alone is a base for others to build on).
        result = harden('FROM node:20\nCMD ["node", "server.js"]\n', **base("node:20", DEBIAN_FILES, passwd=passwd))
        assert "USER 1000:1000\n" in result.hardened and "useradd" not in result.hardened

    def test_unknown_named_user_is_left_with_a_note(self) -> None:
        result = harden("FROM scratch\nUSER ghost\n")
        assert "USER ghost\n" in result.hardened
        assert any("DA116" in note for note in result.notes)

    def test_numeric_non_root_user_is_left_alone(self) -> None:
        assert "USER 1000:1000" not in harden("FROM scratch\nUSER 1000:1000\n").hardened.replace(
            "USER 1000:1000\n", "", 1
        )

    def test_root_user_at_the_end_is_overridden(self) -> None:
        result = harden('FROM scratch\nUSER 1000\nUSER root\nCMD ["x"]\n')
        lines = result.hardened.splitlines()
        assert lines.index("USER 65532:65532") > lines.index("USER root")

    def test_no_user_when_a_test_stage_built_from_it_runs_as_root(self) -> None:
        """A USER in the runtime stage would make `FROM app AS test` + `RUN pip install` fail."""
        text = (
            'FROM python:3.12-slim AS app\nCOPY . /app\nCMD ["python", "/app/main.py"]\n'
            "FROM app AS test\nRUN pip install pytest && pytest\n"
        )
        result = harden(text)
        assert "USER" not in result.hardened
        (left,) = [u for u in result.unfixed if "DA606" in u.rule_ids]
        assert "stage `test` builds FROM this one" in left.reason

    def test_no_user_over_a_start_script_that_cannot_be_read(self, tmp_path: Path) -> None:
        """Official images' `docker-entrypoint.sh` often chowns data dirs and drops to its user itself; when the
        script is not in the build context dockaudit cannot tell, so it advises instead of adding USER."""
        text = 'FROM scratch\nCOPY app /app\nENTRYPOINT ["docker-entrypoint.sh"]\nCMD ["/app"]\n'
        result = harden(text, project_dir=str(tmp_path))
        assert "USER" not in result.hardened
        (left,) = [u for u in result.unfixed if "DA606" in u.rule_ids]
        assert "docker-entrypoint.sh" in left.reason and "could not read" in left.reason

    def test_a_drop_tool_held_in_a_script_variable_is_a_drop(self, tmp_path: Path) -> None:
        """The official redis entrypoint keeps its setpriv command line in a variable: `exec $SETPRIV "$@"`."""
        (tmp_path / "docker-entrypoint.sh").write_text(
            '#!/bin/sh\nset -e\nSETPRIV="/bin/setpriv --reuid redis --regid redis --clear-groups"\n'
            "if [ \"$1\" = 'redis-server' ] && [ \"$(id -u)\" = '0' ]; then\n"
            '\tfind . \\! -user redis -exec chown redis \'{}\' +\n\texec $SETPRIV "$0" "$@"\nfi\nexec "$@"\n'
        )
        (tmp_path / ".dockerignore").write_text(".git\n.env*\n*.pem\n*.key\n")
        text = (
            "FROM alpine:3.20\nRUN addgroup -S -g 1000 redis && adduser -S -G redis -u 999 redis\n"
            'COPY docker-entrypoint.sh /usr/local/bin/\nENTRYPOINT ["docker-entrypoint.sh"]\nCMD ["redis-server"]\n'
        )
        result = harden(text, project_dir=str(tmp_path))
        assert "USER" not in result.hardened.replace("# dockaudit", "")
        (left,) = [u for u in result.unfixed if "DA606" in u.rule_ids]
        assert "drops to redis" in left.reason and "setpriv" in left.reason

    def test_a_plain_binary_entrypoint_still_gets_a_user(self, tmp_path: Path) -> None:
        result = harden('FROM scratch\nCOPY app /app\nENTRYPOINT ["/app/server"]\n', project_dir=str(tmp_path))
        assert "USER 65532:65532\n" in result.hardened

    def test_app_files_stay_owned_by_root(self) -> None:
        result = harden('FROM scratch\nWORKDIR /app\nCOPY . .\nCOPY conf /etc/app/\nCMD ["/app/run"]\n')
        assert "--chown" not in result.hardened

    def test_volumes_are_given_to_the_new_user(self) -> None:
        result = harden(
            'FROM a:1\nRUN apk add --no-cache curl\nVOLUME /data\nCMD ["app"]\n', **base("a:1", ALPINE_FILES)
        )
        assert "RUN mkdir -p /data && chown 10001:10001 /data\nVOLUME /data\n" in result.hardened

    def test_an_empty_working_directory_the_app_writes_is_given_to_the_new_user(self) -> None:
        # meilisearch's image: the binary in /bin, `WORKDIR /meili_data` empty, the server writes its data there.
        text = (
            "FROM alpine:3.22\nRUN apk add --no-cache tini curl\nCOPY --from=build /meilisearch /bin/meilisearch\n"
            'WORKDIR /meili_data\nEXPOSE 7700\nENTRYPOINT ["tini", "--"]\nCMD ["/bin/meilisearch"]\n'
        )
        hardened = harden(text).hardened
        chown = "RUN mkdir -p /meili_data && chown 10001:10001 /meili_data\nWORKDIR /meili_data\n"
        assert chown in hardened
        # The user is created and switched to after the chown, which runs as root.
        assert hardened.index(chown) < hardened.index("USER 10001:10001")

    @pytest.mark.parametrize(
        "text",
        [
            # The app's files are copied into it: they stay root's, and so does the directory.
            'FROM alpine:3.22\nRUN apk add --no-cache curl\nWORKDIR /app\nCOPY . .\nCMD ["/app/run"]\n',
            # A directory of the filesystem hierarchy, holding the base's own files.
            'FROM alpine:3.22\nRUN apk add --no-cache curl\nWORKDIR /usr/local/bin\nCMD ["run"]\n',
            # Filled before the WORKDIR names it.
            'FROM alpine:3.22\nRUN mkdir /srvdata && cp -r /etc/x /srvdata\nWORKDIR /srvdata\nCMD ["run"]\n',
            # A base the table does not describe may hold files there.
            'FROM example.org/app-base:1\nRUN apk add --no-cache curl\nWORKDIR /app\nCMD ["run"]\n',
        ],
    )
    def test_a_working_directory_that_may_hold_files_keeps_its_owner(self, text: str) -> None:
        assert "chown" not in harden(text).hardened


class TestProcess:
    """Exec-form commands and stop signals."""

    def test_simple_shell_form_becomes_exec_form(self) -> None:
        result = harden("FROM scratch\nCMD python app.py --port 8000\n")
        assert 'CMD ["python", "app.py", "--port", "8000"]\n' in result.hardened
        assert {"DA103", "DA607"} <= rules(result)

    def test_sh_c_in_json_form_is_unwrapped(self) -> None:
        result = harden('FROM scratch\nCMD ["/bin/sh", "-c", "node server.js"]\n')
        assert 'CMD ["node", "server.js"]\n' in result.hardened

    def test_shell_syntax_stays_with_a_note(self) -> None:
        result = harden("FROM scratch\nCMD ./start.sh && app $PORT\n")
        assert "CMD ./start.sh && app $PORT\n" in result.hardened
        assert any("shell syntax" in note for note in result.notes)

    def test_a_shell_form_that_execs_its_program_is_left_alone(self) -> None:
        # Docker's documented idiom: `exec` makes the app PID 1, so scan reports nothing and harden has no reason.
        result = harden("FROM scratch\nCMD ./start.sh && exec app $PORT\n")
        assert "CMD ./start.sh && exec app $PORT\n" in result.hardened
        assert not any("DA607" in u.rule_ids for u in result.unfixed)
        assert not any("shell syntax" in note for note in result.notes)

    def test_shell_entrypoint_with_a_cmd_is_not_converted(self) -> None:
        result = harden('FROM scratch\nENTRYPOINT app serve\nCMD ["--verbose"]\n')
        assert "ENTRYPOINT app serve\n" in result.hardened

    def test_sigkill_stop_signal_is_replaced(self) -> None:
        result = harden('FROM scratch\nSTOPSIGNAL SIGKILL\nCMD ["app"]\n')
        assert "STOPSIGNAL SIGTERM\n" in result.hardened and "SIGKILL\n" not in result.hardened
        assert "DA111" in rules(result)

    def test_no_stop_signal_is_added_where_none_was_flagged(self) -> None:
        """v2: a missing STOPSIGNAL is no finding, so nothing is added for it."""
        result = harden('FROM scratch\nCMD ["nginx", "-g", "daemon off;"]\n')
        assert "STOPSIGNAL" not in result.hardened

    def test_sigkill_of_nginx_becomes_its_graceful_signal(self) -> None:
        result = harden('FROM scratch\nSTOPSIGNAL 9\nCMD ["nginx", "-g", "daemon off;"]\n')
        assert "STOPSIGNAL SIGQUIT\n" in result.hardened


class TestHealthcheck:
    """A probe that can pass, else a commented template and the reason; never one that cannot pass."""

    def test_known_http_server_and_wget_give_a_probe(self) -> None:
        result = harden('FROM a:1\nEXPOSE 8080\nCMD ["httpd", "-f", "-p", "8080"]\n', **base("a:1", ALPINE_FILES))
        assert 'CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]' in result.hardened
        assert {"DA102", "DA608"} <= rules(result)

    def test_curl_installed_by_the_dockerfile_is_used_and_any_http_answer_passes(self) -> None:
        result = harden(
            "FROM d:1\nRUN apt-get update && apt-get install -y curl\nEXPOSE 8000\n"
            'CMD ["gunicorn", "-b", ":8000", "a:b"]\n',
            **base("d:1", DEBIAN_FILES),
        )
        assert '["curl", "-sS", "-o", "/dev/null", "http://127.0.0.1:8000/"]' in result.hardened

    def test_healthcheck_url_is_probed_strictly(self) -> None:
        result = harden(
            'FROM d:1\nRUN apt-get update && apt-get install -y curl\nCMD ["app"]\n',
            healthcheck_url="http://127.0.0.1:9000/healthz",
            **base("d:1", DEBIAN_FILES),
        )
        assert '["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:9000/healthz"]' in result.hardened

    def test_python_runtime_does_the_request_when_there_is_no_client(self) -> None:
        result = harden('FROM python:3.12-slim\nEXPOSE 8000\nCMD ["gunicorn", "-b", "0.0.0.0:8000", "app:app"]\n')
        assert 'CMD ["python3", "-c", "import http.client as h, urllib.parse as p;' in result.hardened

    def test_apache_a_shell_form_command_ends_with_is_probed_with_busybox_wget(self) -> None:
        # FreshRSS's older image: Apache from Alpine's packages, started last by a compound shell-form CMD that an
        # entrypoint script (not in the build context) runs.
        text = (
            "FROM alpine:3.19\nRUN apk add --no-cache apache2 php82-apache2\n"
            'ENTRYPOINT ["./entrypoint.sh"]\nEXPOSE 80\n'
            'CMD ([ -z "$CRON_MIN" ] || crond -d 6) && \\\n\texec httpd -D FOREGROUND\n'
        )
        result = harden(text)
        assert 'HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 CMD ["wget", "-q", "-O", ' in (
            result.hardened
        )
        assert "(httpd serves HTTP on 80, which the Dockerfile exposes)" in result.hardened

    def test_nginx_from_the_packages_under_s6_is_probed_on_80(self, tmp_path: Path) -> None:
        # Kanboard's image: nginx and php-fpm from Alpine's packages, supervised by s6 from an entrypoint script.
        (tmp_path / "docker").mkdir()
        (tmp_path / "docker" / "entrypoint.sh").write_text("#!/bin/sh\nchown -R nginx /data\nexec s6-svscan /etc/s6\n")
        text = (
            "FROM alpine:3.19\nRUN apk --no-cache --update add nginx php82-fpm s6 curl\n"
            "COPY docker/entrypoint.sh /usr/local/bin/entrypoint.sh\nEXPOSE 80 443\n"
            'ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]\n'
        )
        result = harden(text, project_dir=str(tmp_path))
        assert 'CMD ["curl", "-sS", "-o", "/dev/null", "http://127.0.0.1:80/"]' in result.hardened
        assert "which runs nginx, installed at line 2" in result.hardened

    def test_a_packaged_nginx_under_s6_with_only_wget_gets_no_status_checking_probe(self, tmp_path: Path) -> None:
        # Its `/` is the app's (a login page, or a 401): busybox wget fails on an error status, so no probe.
        (tmp_path / "start.sh").write_text("#!/bin/sh\nexec s6-svscan /etc/s6\n")
        text = (
            "FROM alpine:3.19\nRUN apk add --no-cache nginx php82-fpm s6\nCOPY start.sh /usr/local/bin/start.sh\n"
            'EXPOSE 80\nENTRYPOINT ["/usr/local/bin/start.sh"]\n'
        )
        result = harden(text, project_dir=str(tmp_path))
        assert "\nHEALTHCHECK" not in result.hardened
        (left,) = [u for u in result.unfixed if "DA608" in u.rule_ids]
        assert "wget fails on an error status" in left.reason

    def test_a_packaged_web_server_beside_an_app_of_its_own_gets_no_probe(self) -> None:
        text = 'FROM alpine:3.19\nRUN apk add --no-cache nginx curl\nEXPOSE 80\nCMD ["python3", "app.py"]\n'
        assert "\nHEALTHCHECK" not in harden(text).hardened

    def test_puma_with_a_config_file_on_the_only_exposed_port_is_probed_with_ruby(self) -> None:
        # DocuSeal's image: `bundle exec puma -C config/puma.rb` on ruby:alpine, which has busybox wget (no use on a
        # `/` that may answer an error) and Ruby, whose Net::HTTP takes any answer.
        text = 'FROM ruby:3.3-alpine\nEXPOSE 3000\nCMD ["bundle", "exec", "puma", "-C", "/app/config/puma.rb"]\n'
        result = harden(text)
        assert 'CMD ["ruby", "-e", "require \'net/http\'; u = URI(\'http://127.0.0.1:3000/\');' in result.hardened
        assert "puma reads its port from /app/config/puma.rb, and the Dockerfile exposes only port 3000" in (
            result.hardened
        )
        # Two ports: which one the config chose is unknown.
        two = text.replace("EXPOSE 3000", "EXPOSE 3000 9394")
        assert "\nHEALTHCHECK" not in harden(two).hardened

    def test_node_app_on_an_http_framework_is_probed_with_node(self, tmp_path: Path) -> None:
        (tmp_path / "package.json").write_text('{"dependencies": {"express": "^4"}}')
        (tmp_path / ".dockerignore").write_text(".git\n.env*\n*.pem\n*.key\nnode_modules\n")
        text = 'FROM node:20-alpine\nWORKDIR /app\nCOPY . .\nEXPOSE 3000\nCMD ["node", "server.js"]\n'
        result = harden(text, project_dir=str(tmp_path))
        assert 'CMD ["node", "-e", "require(\'http\').get(\'http://127.0.0.1:3000/\'' in result.hardened

    def test_no_known_http_port_gives_a_commented_template_and_the_reason(self) -> None:
        result = harden('FROM a:1\nEXPOSE 5432\nCMD ["worker"]\n', **base("a:1", ALPINE_FILES))
        assert "\nHEALTHCHECK" not in result.hardened
        assert "# HEALTHCHECK --interval=30s" in result.hardened
        (left,) = [u for u in result.unfixed if "DA608" in u.rule_ids]
        assert "EXPOSE 5432 is not known to speak HTTP" in left.reason

    @pytest.mark.parametrize(
        ("text", "check"),
        [
            # docker-library/postgres: built from source FROM alpine, CMD after the entrypoint script.
            (
                "FROM alpine:3.20\nRUN apk add --no-cache su-exec\nCOPY docker-entrypoint.sh /usr/local/bin/\n"
                'ENTRYPOINT ["docker-entrypoint.sh"]\nEXPOSE 5432\nCMD ["postgres"]\n',
                '["sh", "-c", "pg_isready -q -h 127.0.0.1 -U \\"${POSTGRES_USER:-postgres}\\" '
                '-d \\"${POSTGRES_DB:-${POSTGRES_USER:-postgres}}\\""]',
            ),
            # An image FROM the official one that adds extensions and keeps its server.
            ("FROM postgres:16-alpine\nRUN apk add --no-cache postgresql16-contrib\n", '["sh", "-c", "pg_isready -q'),
            # No shell in the runtime stage: the exec form, as the default superuser.
            (
                "FROM gcr.io/distroless/cc-debian12\nCOPY --from=build /usr/lib/postgresql /usr/lib/postgresql\n"
                'ENTRYPOINT ["/usr/lib/postgresql/16/bin/postgres"]\n',
                '["pg_isready", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres"]',
            ),
            # A broker with the management plugin enabled, its server inherited.
            (
                "FROM rabbitmq:3.13-alpine\nRUN rabbitmq-plugins enable --offline rabbitmq_management\nEXPOSE 15672\n",
                '["rabbitmq-diagnostics", "-q", "ping"]',
            ),
            ('FROM mariadb:11\nCOPY my.cnf /etc/mysql/conf.d/\nCMD ["mariadbd"]\n', '["mariadb-admin", "ping"'),
            ("FROM mysql:8.0\nCOPY init.sql /docker-entrypoint-initdb.d/\n", '["mysqladmin", "ping"'),
        ],
        ids=["postgres-from-source", "postgres-child", "postgres-no-shell", "rabbitmq-child", "mariadb", "mysql-child"],
    )
    def test_a_server_with_its_own_health_command_is_checked_with_it(self, text: str, check: str) -> None:
        result = harden(text)
        assert f"--retries=3 CMD {check}" in result.hardened, result.hardened
        assert "DA608" in rules(result)
        assert not [u for u in result.unfixed if "DA608" in u.rule_ids]

    @pytest.mark.parametrize(
        ("command", "url"),
        [
            ('["/sbin/tini", "--", "/usr/local/bin/jenkins.sh"]', "http://127.0.0.1:8080/"),
            ('["minio", "server", "/data", "--address", ":9100"]', "http://127.0.0.1:9100/"),
            ('["/usr/bin/code-server", "--bind-addr", "0.0.0.0:8443"]', "http://127.0.0.1:8443/healthz"),
            ('["/app/gitea", "web"]', "http://127.0.0.1:3000/"),
            ('["/usr/bin/miniflux"]', "http://127.0.0.1:8080/healthcheck"),
            ('["/portainer"]', "http://127.0.0.1:9000/api/system/status"),
            ('["tini", "--", "n8n"]', "http://127.0.0.1:5678/"),
        ],
        ids=["jenkins", "minio-server", "code-server", "gitea-web", "miniflux", "portainer", "n8n"],
    )
    def test_a_known_web_app_is_probed_on_its_port(self, command: str, url: str) -> None:
        result = harden(
            f"FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl "
            f"&& rm -rf /var/lib/apt/lists/*\nENTRYPOINT {command}\n"
        )
        assert f'"{url}"]' in result.hardened, result.hardened

    @pytest.mark.parametrize(
        "command",
        ['["minio", "admin", "info"]', '["gitea", "admin", "user", "list"]', '["/portainer", "--http-disabled"]'],
        ids=["minio-client", "gitea-admin", "portainer-https-only"],
    )
    def test_a_web_apps_other_subcommands_get_no_http_probe(self, command: str) -> None:
        result = harden(
            f"FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl "
            f"&& rm -rf /var/lib/apt/lists/*\nENTRYPOINT {command}\n"
        )
        assert "\nHEALTHCHECK" not in result.hardened

    def test_a_database_base_running_another_program_gets_no_database_check(self) -> None:
        result = harden('FROM postgres:16\nCOPY app.py /app.py\nCMD ["python3", "/app.py"]\n')
        assert "pg_isready" not in result.hardened

    def test_a_built_image_without_the_health_command_gets_none(self) -> None:
        lacking = base("db:1", {"/bin/sh", "/usr/local/bin/postgres", "/etc/passwd"}, cmd=("postgres",))
        assert "pg_isready" not in harden('FROM db:1\nCMD ["postgres"]\n', **lacking).hardened

    def test_no_client_gives_a_template_too(self) -> None:
        result = harden('FROM scratch\nCOPY app /app\nEXPOSE 8080\nENTRYPOINT ["/app", "-http", ":8080"]\n')
        assert "\nHEALTHCHECK" not in result.hardened

    def test_existing_healthcheck_is_kept(self) -> None:
        text = 'FROM scratch\nHEALTHCHECK CMD ["/app", "health"]\nUSER 1:1\nCMD ["/app"]\n'
        assert "HEALTHCHECK" not in harden(text).hardened.replace('HEALTHCHECK CMD ["/app", "health"]', "")

    def test_a_java_server_gets_a_start_period_as_long_as_its_start(self) -> None:
        jar = (
            "FROM eclipse-temurin:21-jre-jammy\n"
            "RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\n"
            'EXPOSE 9000\nCMD ["java", "-jar", "lib/sonarqube.jar"]\n'
        )
        python = 'FROM python:3.12-slim\nEXPOSE 8000\nCMD ["gunicorn", "-b", "0.0.0.0:8000", "app:app"]\n'
        assert "--start-period=300s" in harden(jar).hardened
        assert "--start-period=15s" in harden(python).hardened

    def test_healthcheck_none_is_left_with_a_reason(self) -> None:
        result = harden('FROM scratch\nHEALTHCHECK NONE\nCMD ["/app"]\n')
        assert "HEALTHCHECK NONE" in result.hardened
        assert any("on purpose" in u.reason for u in result.unfixed)

    def test_a_check_calling_a_missing_tool_is_replaced_by_one_that_can_pass(self) -> None:
        text = (
            "FROM python:3.12-slim\nEXPOSE 8000\nHEALTHCHECK CMD curl -f http://localhost:8000/ || exit 1\n"
            'CMD ["gunicorn", "-b", "0.0.0.0:8000", "app:app"]\n'
        )
        result = harden(text)
        assert "curl -f" not in result.hardened
        assert (
            'HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 CMD ["python3"' in result.hardened
        )


class TestSources:
    """ADD, remote downloads and base pinning."""

    def test_local_add_becomes_copy_and_archives_stay(self) -> None:
        result = harden("FROM scratch\nADD --chown=1:1 app/ /app/\nADD site.tar.gz /srv/\n")
        assert "COPY --chown=1:1 app/ /app/\n" in result.hardened
        assert "ADD site.tar.gz /srv/\n" in result.hardened
        assert "DA203" in rules(result)

    def test_add_to_a_relative_destination_without_workdir_is_left(self) -> None:
        """COPY to a relative path without WORKDIR draws hadolint DL3045; the ADD stays, with the reason."""
        result = harden('FROM alpine:3.20\nADD target/app.jar app.jar\nCMD ["java", "-jar", "/app.jar"]\n')
        assert "ADD target/app.jar app.jar\n" in result.hardened
        assert any("DA203" in u.rule_ids and "relative" in u.reason for u in result.unfixed)

    def test_remote_add_becomes_a_checksummed_download_that_fails_until_filled(self) -> None:
        result = harden("FROM alpine:3\nADD https://example.com/tini /sbin/tini\n")
        assert "ADD https" not in result.hardened
        assert f"ARG TINI_SHA256={CHECKSUM_PLACEHOLDER}" in result.hardened
        assert "sha256sum -c" in result.hardened
        assert "DA204" in rules(result)

    def test_base_with_a_local_digest_is_pinned(self) -> None:
        digest = "sha256:" + "a" * 64
        result = harden(
            "FROM --platform=linux/amd64 deb:12 AS run\n", **base("deb:12", DEBIAN_FILES, repo_digest=f"deb@{digest}")
        )
        assert f"FROM --platform=linux/amd64 deb:12@{digest} AS run\n" in result.hardened

    def test_base_without_digest_is_left_with_the_command_to_get_it(self) -> None:
        """v2: no comment-only "fix"; the finding stays with the command that fetches the digest."""
        result = harden('FROM deb:12\nCMD ["x"]\n')
        assert "docker pull" not in result.hardened
        (left,) = [u for u in result.unfixed if "DA603" in u.rule_ids]
        assert "docker pull deb:12" in left.reason and left.line == 1


class TestSecrets:
    """Secret ARG/ENV leave the image; RUN lines mount them."""

    def test_secret_arg_moves_to_a_secret_mount(self) -> None:
        text = (
            'FROM scratch\nARG NPM_TOKEN=abc\nRUN echo "//r/:_authToken=${NPM_TOKEN}" > .npmrc && npm ci\nCMD ["x"]\n'
        )
        result = harden(text)
        assert "\nARG NPM_TOKEN" not in result.hardened
        assert "RUN --mount=type=secret,id=npm_token " in result.hardened
        assert 'NPM_TOKEN="$(cat /run/secrets/npm_token)" && export NPM_TOKEN && ' in result.hardened
        assert any("--secret id=npm_token,src=" in note for note in result.notes)

    def test_secret_env_key_is_removed_and_others_kept(self) -> None:
        result = harden("FROM scratch\nENV DEBUG=1 API_KEY=xyz LOG=info\n")
        assert "ENV DEBUG=1 LOG=info\n" in result.hardened
        assert "xyz" not in result.hardened
        assert {"DA104", "DA605"} <= rules(result)

    def test_a_secret_env_a_later_run_reads_stays_with_the_reason(self) -> None:
        # Removing it would build that RUN without the token: the download would fail. The scan flags the ENV, not
        # the RUN, so harden may not rewrite the RUN; it says what to do instead.
        text = (
            "FROM alpine:3.20\nENV API_TOKEN=abcd1234efgh5678\n"
            'RUN wget --header "Authorization: $API_TOKEN" https://example.org/x\nCMD ["/x"]\n'
        )
        result = harden(text)
        assert "ENV API_TOKEN=abcd1234efgh5678\n" in result.hardened
        (left,) = [u for u in result.unfixed if "DA605" in u.rule_ids and u.line == 2]
        assert "the RUN on line 3 reads it while building" in left.reason
        assert "--mount=type=secret,id=api_token" in left.reason

    def test_a_secret_arg_an_exec_form_run_reads_stays(self) -> None:
        text = 'FROM scratch\nARG NPM_TOKEN=abc\nRUN ["/bin/sh", "-c", "echo $NPM_TOKEN > .npmrc"]\nCMD ["x"]\n'
        result = harden(text)
        assert "ARG NPM_TOKEN=abc\n" in result.hardened
        assert any("exec or heredoc form" in u.reason for u in result.unfixed)

    def test_allowlisted_names_stay(self) -> None:
        result = harden("FROM scratch\nENV NODE_VERSION=20 GPG_KEY=ABCDEF PASSWORD_FILE=/run/secrets/db\n")
        assert "ENV NODE_VERSION=20 GPG_KEY=ABCDEF PASSWORD_FILE=/run/secrets/db\n" in result.hardened

    def test_url_word_is_quoted_whole(self) -> None:
        text = "FROM scratch\nARG PIP_TOKEN\nRUN pip install --index-url https://u:${PIP_TOKEN}@pypi.example/simple x\n"
        result = harden(text)
        assert '"https://u:${PIP_TOKEN}@pypi.example/simple"' in result.hardened
        # The bare ARG was not flagged (no value): it stays, its use reads the mount.
        assert "\nARG PIP_TOKEN\n" in result.hardened


class TestPackages:
    """Lean package installs."""

    def test_apt_gets_no_recommends_and_list_cleanup(self) -> None:
        result = harden("FROM d\nRUN apt-get update && apt-get install -y curl\n")
        assert (
            "apt-get install --no-install-recommends -y curl \\\n    && rm -rf /var/lib/apt/lists/*\n"
            in result.hardened
        )
        assert {"DA207", "DA208"} <= rules(result)

    def test_separate_apt_update_is_merged(self) -> None:
        result = harden("FROM d\nRUN apt-get update\nENV X=1\nRUN apt-get install -y curl\n")
        code = [line for line in result.hardened.splitlines() if not line.startswith("#")]
        assert "\n".join(code).count("apt-get update") == 1
        assert "RUN apt-get update && apt-get install --no-install-recommends -y curl" in result.hardened
        assert "DA205" in rules(result)

    def test_apk_pip_dnf_npm(self) -> None:
        text = (
            "FROM a\nRUN apk update && apk add python3\nRUN pip3 install -r req.txt\n"
            "RUN dnf install -y git\nRUN npm ci\n"
        )
        result = harden(text)
        assert "RUN apk add --no-cache python3\n" in result.hardened
        assert "pip3 install --no-cache-dir -r req.txt" in result.hardened
        assert "&& dnf clean all" in result.hardened
        assert "&& npm cache clean --force" in result.hardened

    def test_pip_that_already_disables_its_cache_is_left_alone(self) -> None:
        # pip takes `--no-cache` for `--no-cache-dir`; only the pip that caches gets the option.
        result = harden("FROM a\nRUN pip install --upgrade pip && pip install --no-cache /wheels/*\n")
        assert "RUN pip install --no-cache-dir --upgrade pip && pip install --no-cache /wheels/*\n" in result.hardened

    def test_backtick_escape_marks_a_windows_file_that_is_not_edited(self) -> None:
        """v2: `# escape=`` ` `` is how Windows Dockerfiles start; they get no Linux edits, only reasons."""
        text = "# escape=`\nFROM d\nRUN apt-get update && `\n    apt-get install -y curl\n"
        result = harden(text)
        assert result.hardened == text and not result.changes
        assert any("Windows" in u.reason for u in result.unfixed)

    def test_cleanup_is_not_added_when_a_later_run_installs_without_update(self) -> None:
        text = (
            "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y curl\nCOPY . /app\n"
            'RUN apt-get install -y jq\nCMD ["/app/run"]\n'
        )
        result = harden(text)
        # The first install keeps its lists (the later RUN needs them); the last one may drop them.
        assert "RUN apt-get update && apt-get install --no-install-recommends -y curl\nCOPY" in result.hardened
        assert any("line 4" in u.reason and "DA207" in u.rule_ids for u in result.unfixed)

    def test_nothing_is_deleted_inside_a_cache_mount(self) -> None:
        text = 'FROM debian:bookworm-slim\nRUN --mount=type=cache,target=/root/.npm npm ci\nCMD ["node", "server.js"]\n'
        assert "npm cache clean" not in harden(text).hardened

    def test_builder_stages_that_are_thrown_away_get_no_cleanup(self) -> None:
        text = (
            "FROM debian:bookworm-slim AS build\nRUN apt-get update && apt-get install -y gcc\n"
            'FROM debian:bookworm-slim\nCOPY --from=build /out /app\nCMD ["/app"]\n'
        )
        result = harden(text)
        assert "RUN apt-get update && apt-get install -y gcc\n" in result.hardened

    def test_json_run_is_left_alone(self) -> None:
        assert (
            'RUN ["apt-get", "install", "-y", "curl"]\n'
            in harden('FROM d\nRUN ["apt-get", "install", "-y", "curl"]\n').hardened
        )


class TestMultiStageAndProject:
    """Build tools and the build context."""

    def test_build_tools_in_the_only_stage_get_advice_not_a_comment(self) -> None:
        result = harden("FROM d\nRUN apt-get update && apt-get install -y gcc make\n")
        assert "build tools" not in result.hardened
        assert any("DA604" in u.rule_ids and "build stage" in u.reason for u in result.unfixed)

    def test_dockerignore_is_generated_for_a_project_without_one(self, tmp_path: Path) -> None:
        (tmp_path / "node_modules").mkdir()
        result = harden("FROM scratch\nCOPY . /app\n", project_dir=str(tmp_path))
        assert result.dockerignore is not None
        assert {".git", ".env*", "node_modules"} <= set(result.dockerignore.splitlines())
        assert "+++ b/.dockerignore" in result.diff()

    def test_dockerignore_never_excludes_a_file_copied_by_name(self, tmp_path: Path) -> None:
        result = harden("FROM scratch\nCOPY server.key /etc/ssl/\n", project_dir=str(tmp_path))
        assert result.dockerignore is not None and "*.key" not in result.dockerignore.splitlines()

    def test_complete_dockerignore_is_left_alone(self, tmp_path: Path) -> None:
        (tmp_path / ".dockerignore").write_text(".git\n.env*\n*.pem\n*.key\n")
        assert harden("FROM scratch\n", project_dir=str(tmp_path)).dockerignore is None

    def test_patterns_already_covered_by_wider_ones_are_not_added_again(self, tmp_path: Path) -> None:
        (tmp_path / ".dockerignore").write_text("**/.git\n.env\n.env.*\n**/*.pem\n**/*.key\n")
        assert harden("FROM scratch\n", project_dir=str(tmp_path)).dockerignore is None


class TestWholeFile:
    """Properties of the result as a whole."""

    def test_untouched_lines_stay_byte_for_byte(self) -> None:
        text = '# syntax=docker/dockerfile:1\n\n# build\nFROM scratch\n  LABEL a="b c"   d=e\nUSER 1:1\n'
        result = harden(text)
        for line in text.splitlines(keepends=True):
            assert line in result.hardened

    def test_changes_point_at_original_lines(self) -> None:
        result = harden("FROM scratch\n\n\nCMD app run\n")
        exec_change = next(c for c in result.changes if "DA103" in c.rule_ids)
        assert exec_change.line == 4

    def test_every_comment_names_its_rules(self) -> None:
        result = harden("FROM d\nADD a /a\nRUN apt-get install -y x\nCMD run\n")
        added = [line for line in result.hardened.splitlines() if line.startswith("# dockaudit:")]
        assert added and all(line.rstrip().endswith(")") and "DA" in line for line in added)

    @pytest.mark.parametrize(
        "text",
        ['FROM scratch\nUSER 1:1\nHEALTHCHECK CMD ["/a"]\nCMD ["/a"]\nLABEL org.opencontainers.image.source=x\n'],
    )
    def test_hardened_file_is_unchanged(self, text: str) -> None:
        result = harden(text)
        assert result.hardened.replace(result.hardened[: result.hardened.index("FROM")], "") == text.replace(
            text[: text.index("FROM")], ""
        )


def test_sigkill_of_apache_becomes_its_graceful_signal_and_of_busybox_httpd_sigterm() -> None:
    assert (
        "STOPSIGNAL SIGTERM" in harden('FROM scratch\nSTOPSIGNAL SIGKILL\nENTRYPOINT ["/app/httpd", "-f"]\n').hardened
    )
    assert "STOPSIGNAL SIGWINCH" in harden('FROM scratch\nSTOPSIGNAL KILL\nCMD ["httpd-foreground"]\n').hardened


def test_multi_stage_suggestion_names_the_built_artefacts() -> None:
    result = harden("FROM d\nRUN apt-get update && apt-get install -y gcc\nRUN gcc -O2 -o /usr/local/bin/app main.c\n")
    note = next(n for n in result.notes if "DA604" in n)
    assert "COPY --from=build /usr/local/bin/app /usr/local/bin/app" in note
    assert "FROM d AS build" in note


def test_quoted_shell_characters_do_not_block_exec_form() -> None:
    result = harden("FROM scratch\nCMD nginx -g 'daemon off;'\n")
    assert 'CMD ["nginx", "-g", "daemon off;"]\n' in result.hardened


def test_a_plain_sh_c_command_is_unwrapped_and_an_exec_one_is_left_alone() -> None:
    assert 'CMD ["app", "--serve"]\n' in harden('FROM scratch\nCMD ["/bin/sh", "-c", "app --serve"]\n').hardened
    # `sh -c "exec app"`: app is PID 1 already, nothing was flagged, so nothing is rewritten.
    kept = 'CMD ["/bin/sh", "-c", "exec app --serve"]\n'
    assert kept in harden("FROM scratch\n" + kept).hardened


def test_remote_download_uses_the_client_the_dockerfile_already_uses() -> None:
    text = "FROM ubuntu:24.04\nRUN curl -fsSL https://x/y -o /y\nADD https://example.com/app.bin /app/\n"
    assert "curl -fsSL -o /app/app.bin https://example.com/app.bin" in harden(text).hardened


def test_remote_download_keeps_the_mode_add_set() -> None:
    text = "FROM alpine:3.20\nADD --link --chmod=0755 https://example.com/tools/padd.sh /usr/local/bin/padd\n"
    hardened = harden(text).hardened
    assert "wget -q -O /usr/local/bin/padd https://example.com/tools/padd.sh" in hardened
    assert "&& chmod 0755 /usr/local/bin/padd" in hardened


def test_remote_download_uses_curl_when_both_clients_are_run_elsewhere_in_the_file() -> None:
    # hadolint DL4001: a file should not use both; wget here is only a package name.
    text = (
        "FROM alpine:3.20\nRUN apk add --no-cache curl wget && curl -fsS https://x/health\n"
        "ADD https://example.com/vendor.db /vendor.db\n"
    )
    assert "curl -fsSL -o /vendor.db https://example.com/vendor.db" in harden(text).hardened


def test_remote_add_without_a_client_in_the_stage_is_advice() -> None:
    result = harden('FROM debian:12-slim\nADD https://example.com/app.bin /app/\nCMD ["/app/app.bin"]\n')
    assert "ADD https://example.com/app.bin /app/" in result.hardened
    [item] = [u for u in result.unfixed if "DA204" in u.rule_ids]
    assert "neither curl nor wget" in item.reason
    assert not any("no edit is known to be safe" in note for note in result.notes)


def test_remote_add_with_an_arg_in_its_url_is_advice_about_the_url() -> None:
    result = harden("FROM alpine:3.20\nARG V=1\nADD https://example.com/app-${V}.tgz /app/\n")
    [item] = [u for u in result.unfixed if "DA204" in u.rule_ids]
    assert "its URL comes from build args" in item.reason and item.line == 3
    assert not any("no edit is known to be safe" in note for note in result.notes)


@pytest.mark.parametrize(
    ("ref", "repo_digests", "pinned"),
    [
        ("alpine:3.20", ("alpine@sha256:" + "a" * 64,), "alpine@sha256:" + "a" * 64),
        ("docker.io/library/alpine:3.20", ("alpine@sha256:" + "a" * 64,), "alpine@sha256:" + "a" * 64),
        # Retagged from a mirror: that digest may not exist under alpine, so nothing is pinned.
        ("alpine:3.20", ("mirror.example.com/base/alpine@sha256:" + "b" * 64,), None),
        ("alpine:3.20", (), None),
    ],
)
def test_a_base_is_pinned_only_by_a_digest_of_its_own_repository(
    ref: str, repo_digests: tuple[str, ...], pinned: str | None
) -> None:
    assert base_from_facts(make_image_facts(repo_digests=repo_digests), ref).repo_digest == pinned


def test_provenance_labels_from_build_args_without_declaring_an_arg_twice(tmp_path: Path) -> None:
    text = 'FROM alpine:3.20\nARG VCS_REF\nCOPY app /app\nCMD ["/app/run"]\n'
    result = harden(text, project_dir=tmp_path)
    assert "DA108" in rules(result)
    assert result.hardened.count("ARG VCS_REF") == 1
    assert "ARG VCS_URL\n" in result.hardened
    assert 'org.opencontainers.image.source="${VCS_URL}" org.opencontainers.image.revision="${VCS_REF}"' in (
        result.hardened
    )
    assert any("--build-arg VCS_URL" in note for note in result.notes)


def test_provenance_labels_reuse_the_label_schema_values_the_file_already_sets(tmp_path: Path) -> None:
    text = (
        'FROM alpine:3.20\nARG VCS_REF\nCOPY app /app\nCMD ["/app/run"]\n'
        'LABEL org.label-schema.vcs-ref=$VCS_REF \\\n      org.label-schema.vcs-url="https://example.com/app.git"\n'
    )
    result = harden(text, project_dir=tmp_path)
    change = next(c for c in result.changes if "DA108" in c.rule_ids)
    assert "org.label-schema.vcs-url and org.label-schema.vcs-ref" in change.summary
    assert (
        'LABEL org.opencontainers.image.source="https://example.com/app.git" '
        "org.opencontainers.image.revision=$VCS_REF\n" in result.hardened
    )
    assert result.hardened.count("ARG ") == 1
    assert not any("--build-arg" in note for note in result.notes)


def test_a_base_named_by_a_build_arg_gets_advice_on_where_to_pin_it(tmp_path: Path) -> None:
    text = (
        "ARG GO_VERSION=1.23\nFROM golang:${GO_VERSION}-bookworm AS build\nRUN go version\n"
        'FROM scratch\nCOPY --from=build /go/bin/app /app\nUSER 65532\nCMD ["/app"]\n'
    )
    result = harden(text, project_dir=tmp_path)
    [item] = [u for u in result.unfixed if "DA603" in u.rule_ids and u.line == 2]
    assert "named by build args (golang:${GO_VERSION}-bookworm)" in item.reason
    assert "FROM golang:${GO_VERSION}-bookworm AS build" in result.hardened


def test_a_user_given_by_a_build_arg_is_left_with_advice_to_write_its_uid(tmp_path: Path) -> None:
    text = (
        "FROM debian:12\nARG user=app\nARG uid=1000\nRUN useradd -u ${uid} ${user}\n"
        'USER ${user}\nCMD ["sleep", "infinity"]\n'
    )
    result = harden(text, project_dir=tmp_path)
    [item] = [u for u in result.unfixed if "DA116" in u.rule_ids]
    assert "given by a build arg (${user})" in item.reason
    assert "USER ${user}\n" in result.hardened


def test_a_user_created_with_a_busybox_option_cluster_is_reused_by_name(tmp_path: Path) -> None:
    # `-Ss /bin/false`: -S (system) and -s with its value; the name is the last word, not the shell.
    text = 'FROM alpine:3.20\nRUN adduser -Ss /bin/false -u 1000 -h /home/mc mc\nCMD ["/usr/bin/server"]\n'
    result = harden(text, project_dir=tmp_path)
    [change] = [c for c in result.changes if "DA606" in c.rule_ids]
    assert "the existing user mc (Dockerfile line 2)" in change.summary
    assert "USER 1000" in result.hardened


def test_a_check_calling_a_deleted_tool_stays_with_the_reason_no_probe_replaces_it(tmp_path: Path) -> None:
    text = (
        "FROM alpine:3.20\nRUN apk add --no-cache --virtual .deps curl && make install && apk del .deps\n"
        'COPY entrypoint.sh app.conf /\nEXPOSE 1883\nCMD ["/usr/sbin/broker"]\n'
        "HEALTHCHECK CMD curl -f mqtt://localhost/ || exit 1\n"
    )
    result = harden(text, project_dir=tmp_path)
    [item] = [u for u in result.unfixed if "DA608" in u.rule_ids]
    assert "the HEALTHCHECK (line 6) calls a tool the image does not have, and no port is known" in item.reason
    assert "HEALTHCHECK CMD curl -f mqtt://localhost/ || exit 1\n" in result.hardened
