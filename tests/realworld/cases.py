"""Real-world Dockerfile patterns as cases of our own: each names the public repositories where it was met.

None of these files is copied from those repositories: each is a short Dockerfile written to reproduce one
pattern (an official-image idiom, an app layout, a base image, a Windows image, a flaw or a correct idiom).
Expectations follow the specs (../shared/spec/rules.md v2, harden.md v2, issue #12), not today's code.
"""

from __future__ import annotations

from tests.realworld.cases_heldout import HELDOUT_CASES
from tests.realworld.cases_heldout_5_to_7 import HELDOUT_5_TO_7_CASES
from tests.realworld.cases_servers import SERVER_CASES
from tests.realworld.model import (
    ALPINE,
    DEBIAN,
    DISTROLESS,
    FAKE_GOSU,
    KEEP,
    NO_HEALTHCHECK,
    Case,
    Probe,
    Runtime,
    dockerfile,
)

DROP = "harden.md 'Who the image runs as': entrypoint drops privileges -> no edit; DA101/DA606 become info"
NONROOT = "harden.md: final stage already runs as a non-root user -> no edit"
BASE = (
    "harden.md: base image (ONBUILD, or no CMD/ENTRYPOINT of its own) -> no "
    "USER/HEALTHCHECK; rules.md v2: root and healthcheck findings are info advice "
    "for child images"
)
SAFE = (
    "harden.md: entrypoint drops privileges -> no edit, or a suitable user known in the base -> USER <uid>:<gid>; "
    "the official entrypoint both drops from root and runs under --user, so either is safe, a new user is not"
)
REUSE = (
    "harden.md: a suitable non-root user exists (created in the file or known in the "
    "base) -> USER <uid>:<gid> of that user"
)
CREATE = (
    "harden.md: no user exists -> create one with a tool present in that stage "
    "(useradd/adduser, else /etc/passwd lines, else bare numeric USER 65532)"
)
TABLE = (
    "harden.md base table: node 1000, nginx 101, postgres 999, redis 999, "
    "mysql/mariadb 999, httpd/php www-data 33, jenkins 1000, bitnami 1001, "
    "distroless :nonroot and chainguard 65532"
)
WINDOWS = (
    "harden.md: Windows images (# escape=`, PowerShell SHELL, Windows bases) get no "
    "Linux edits; USER ContainerUser advice only"
)
HC = (
    "harden.md HEALTHCHECK: added only when an HTTP port is known and a client "
    "(curl/wget/busybox wget/the runtime) exists in the final stage"
)
HC_NONE = "harden.md HEALTHCHECK: otherwise no HEALTHCHECK instruction; DA102/DA608 stays with the reason"
HC_SERVER = (
    "harden.md HEALTHCHECK: added only when a probe can pass: ... or the app has its own health subcommand "
    "(pg_isready, mysqladmin ping ship with their servers)"
)
TWINS = "rules.md v2 'One finding per flaw': a twin pair is reported once, under the DA6xx id"
CLEANUP = (
    "harden.md: package-cache cleanup only inside the RUN that installs, and not "
    "when a later RUN installs without its own update"
)
CACHE = (
    "harden.md: nothing deleted inside a --mount=type=cache target; issue #12 item "
    "5: DA207 on cache mounts is a false positive"
)
STAGES = (
    "rules.md v2 'Base images and stages': the audited stage is --target, else the "
    "last stage unless it only exports or tests"
)
BUILDER = (
    "issue #12 Done when: builder stages that are thrown away get no cleanup edits; "
    "harden never removes what scan did not flag"
)
DA609 = "rules.md DA609 literal-password-in-run: critical, redacted like every secret"
DA610 = "rules.md DA610 passwordless-sudo: high"
DA611 = "rules.md DA611 eol-runtime-tag: high, from the dated endoflife.date snapshot"
PLACEHOLDER = (
    "issue #12 item 6: build-time placeholders "
    "(SECRET_KEY_BASE=precompile_placeholder, *=dummy, empty values, one-character "
    "sentinels) are not secrets"
)
DA605 = "rules.md DA605 secret-in-arg-or-env: critical"
DA210 = "rules.md DA210 curl-pipe-shell: medium"
DA204 = "rules.md DA204 add-remote-url: medium (unverified download, no checksum)"
IGNORE = "issue #12 item 5: .dockerignore matters in proportion to what is copied (COPY . . / ADD . / directories)"
PURGE = "issue #12 item 5: DA604 when build tools are purged in the same RUN is a false positive"
DA207_FP = (
    "issue #12 item 5: DA207 on apt-get dist-clean, apk --no-network, cache mounts "
    "is a false positive; rules.md DA207: cleanup in the same RUN"
)
TEMP = "issue #12 item 5: chmod 777 of a temp dir deleted in the same RUN is a false positive"
SHADOW = (
    "rules.md v2: world- or group-writable /etc/shadow, /etc/passwd, /etc/sudoers, "
    "/etc/group is high; issue #12 item 6: OpenShift chmod g=u /etc/passwd at least "
    "medium"
)
CHOWN = (
    "harden.md: app files stay owned by root and read-only to the runtime user; "
    "--chown only for directories the app must write"
)
LINT = "harden.md: no edit whose only effect is silencing a linter (no comment insertion 'fixes')"
USER_PLACE = "harden.md: USER is never placed before ONBUILD or in a stage that later RUNs package installs"
ARG_USER = (
    "harden.md: the last USER, ARG defaults resolved (USER $APP_UID with ARG "
    "APP_UID=1000 is 1000); issue #12 item 6: USER whose ARG default resolves to root"
)
AGREE = "harden.md 'Agreement with scan': harden never removes or rewrites something scan did not flag"

HTTPD_SITE = {"www/index.html": "<h1>ok</h1>\n"}

DROP_ENTRYPOINT = """#!/bin/sh
set -e
# Root at start: take the data directory, then drop to the app user for good.
if [ "$(id -u)" = '0' ]; then
	mkdir -p /data
	chown -R app:app /data
	exec {tool} app "$0" "$@"
fi
exec "$@"
"""

CASES: tuple[Case, ...] = (
    # ---------------------------------------------------------------- who the image runs as: drops at run time
    Case(
        name="postgres-alpine-su-exec-entrypoint",
        pattern="database image built FROM alpine; the entrypoint chowns PGDATA as root, then `exec su-exec postgres`",
        source="docker-library/postgres (alpine variants, docker-entrypoint.sh)",
        text=dockerfile("""
            FROM alpine:3.20
            RUN set -eux; apk add --no-cache --virtual .build-deps gcc make musl-dev; \\
                echo building; apk del --no-network .build-deps
            RUN apk add --no-cache su-exec bash tzdata
            ENV PGDATA /var/lib/postgresql/data
            RUN mkdir -p "$PGDATA" && chown -R postgres:postgres "$PGDATA" && chmod 1777 "$PGDATA"
            VOLUME /var/lib/postgresql/data
            COPY docker-entrypoint.sh /usr/local/bin/
            ENTRYPOINT ["docker-entrypoint.sh"]
            STOPSIGNAL SIGINT
            EXPOSE 5432
            CMD ["postgres"]
            """),
        files={
            ("docker-entrypoint.sh"): (
                "#!/usr/bin/env bash\n"
                "set -e\n"
                "if [ \"$1\" = 'postgres' ] && [ \"$(id -u)\" = '0' ]; then\n"
                '\tchown -R postgres "$PGDATA"\n'
                '\tchmod 700 "$PGDATA"\n'
                '\texec su-exec postgres "$BASH_SOURCE" "$@"\n'
                "fi\n"
                'exec "$@"\n'
            )
        },
        present={"DA606": "info"},
        absent=("DA101", "DA604", "DA207"),
        user=KEEP,
        healthcheck=Probe(("pg_isready",), None),
        cites=(
            DROP,
            TWINS,
            PURGE,
            "harden.md HEALTHCHECK: ... or the app has its own health subcommand (5432 speaks the postgres protocol, "
            "not HTTP; pg_isready ships with the server)",
        ),
    ),
    Case(
        name="redis-debian-gosu-entrypoint",
        pattern=(
            "`groupadd -r -g 999 redis && useradd -r -g redis -u 999 redis`, gosu installed, "
            'entrypoint `exec gosu redis "$0" "$@"` after chowning /data'
        ),
        source="docker-library/redis, docker-library/mongo (gosu entrypoints)",
        text=dockerfile("""
            FROM debian:bookworm-slim
            RUN groupadd -r -g 999 redis && useradd -r -g redis -u 999 redis
            RUN set -eux; apt-get update; apt-get install -y --no-install-recommends gosu; \\
                rm -rf /var/lib/apt/lists/*; gosu nobody true
            RUN mkdir /data && chown redis:redis /data
            VOLUME /data
            WORKDIR /data
            COPY docker-entrypoint.sh /usr/local/bin/
            ENTRYPOINT ["docker-entrypoint.sh"]
            EXPOSE 6379
            CMD ["redis-server"]
            """),
        files={
            ("docker-entrypoint.sh"): (
                "#!/bin/sh\n"
                "set -e\n"
                "if [ \"$1\" = 'redis-server' -a \"$(id -u)\" = '0' ]; then\n"
                "\tfind . \\! -user redis -exec chown redis '{}' +\n"
                '\texec gosu redis "$0" "$@"\n'
                "fi\n"
                'exec "$@"\n'
            )
        },
        present={"DA606": "info"},
        absent=("DA101", "DA207"),
        user=KEEP,
        healthcheck=NO_HEALTHCHECK,
        cites=(DROP, HC_NONE + " (6379 is RESP, not HTTP)", "rules.md DA207: cleanup in the same RUN"),
    ),
    Case(
        name="ghost-node-gosu-chown-content",
        pattern="node app whose entrypoint chowns its content directory and `exec gosu node` (user from the node base)",
        source="docker-library/ghost (docker-entrypoint.sh: gosu node)",
        text=dockerfile("""
            FROM node:22-bookworm-slim
            RUN set -eux; apt-get update; apt-get install -y --no-install-recommends gosu; rm -rf /var/lib/apt/lists/*
            ENV GHOST_INSTALL /var/lib/ghost
            ENV GHOST_CONTENT /var/lib/ghost/content
            WORKDIR $GHOST_INSTALL
            VOLUME $GHOST_CONTENT
            COPY docker-entrypoint.sh /usr/local/bin
            ENTRYPOINT ["docker-entrypoint.sh"]
            EXPOSE 2368
            CMD ["node", "current/index.js"]
            """),
        files={
            ("docker-entrypoint.sh"): (
                "#!/bin/bash\n"
                "set -e\n"
                'if [[ "$*" == node*current/index.js* ]]; then\n'
                "\tfind \"$GHOST_CONTENT\" \\! -user node -exec chown node '{}' +\n"
                "\tif [ \"$(id -u)\" = '0' ]; then\n"
                '\t\texec gosu node "$BASH_SOURCE" "$@"\n'
                "\tfi\n"
                "fi\n"
                'exec "$@"\n'
            )
        },
        present={"DA606": "info"},
        absent=("DA101",),
        user=KEEP,
        cites=(DROP, TABLE),
    ),
    Case(
        name="setpriv-entrypoint",
        pattern="entrypoint that drops with util-linux `setpriv --reuid --regid --init-groups`",
        source="docker-library/rabbitmq and linuxserver-style images (setpriv/gosu entrypoints)",
        text=dockerfile("""
            FROM debian:bookworm-slim
            RUN useradd --system --uid 999 --home-dir /var/lib/app app \\
                && mkdir -p /var/lib/app && chown app:app /var/lib/app
            COPY entrypoint.sh /entrypoint.sh
            ENTRYPOINT ["/entrypoint.sh"]
            CMD ["/usr/local/bin/worker"]
            """),
        files={
            ("entrypoint.sh"): (
                "#!/bin/sh\n"
                "set -e\n"
                "chown -R app:app /var/lib/app\n"
                'exec setpriv --reuid=app --regid=app --init-groups "$@"\n'
            )
        },
        present={"DA606": "info"},
        absent=("DA101",),
        user=KEEP,
        cites=(DROP,),
    ),
    Case(
        name="runuser-entrypoint",
        pattern='entrypoint that drops with `exec runuser -u app -- "$@"`',
        source="centos/rhel-based app images (runuser in entrypoints)",
        text=dockerfile("""
            FROM rockylinux:9
            RUN dnf install -y --setopt=install_weak_deps=False python3 && dnf clean all
            RUN useradd -r -u 1001 app
            COPY entrypoint.sh /usr/local/bin/entrypoint.sh
            ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]
            CMD ["python3", "-m", "worker"]
            """),
        files={
            "entrypoint.sh": '#!/bin/sh\nmkdir -p /var/lib/app && chown app /var/lib/app\nexec runuser -u app -- "$@"\n'
        },
        present={"DA606": "info"},
        absent=("DA101", "DA207"),
        user=KEEP,
        cites=(DROP, "rules.md DA207: yum/dnf with clean all in the same RUN"),
    ),
    Case(
        name="s6-setuidgid-run-script",
        pattern="s6/runit service script that drops with `s6-setuidgid abc` / `chpst -u`",
        source="linuxserver/docker-* images (s6-overlay run scripts), phusion/baseimage (runit)",
        text=dockerfile("""
            FROM alpine:3.20
            RUN addgroup -S abc && adduser -S -G abc -u 911 abc
            COPY run.sh /usr/local/bin/run.sh
            ENTRYPOINT ["/usr/local/bin/run.sh"]
            """),
        files={
            "run.sh": "#!/bin/sh\nchown -R abc:abc /config\nexec s6-setuidgid abc /usr/local/bin/app --config /config\n"
        },
        present={"DA606": "info"},
        absent=("DA101",),
        user=KEEP,
        cites=(DROP,),
    ),
    Case(
        name="chpst-entrypoint",
        pattern="runit `chpst -u app` in the entrypoint",
        source="phusion/baseimage-docker, void-linux images (runit chpst)",
        text=dockerfile("""
            FROM debian:bookworm-slim
            RUN useradd -r -u 1002 app
            COPY start.sh /start.sh
            ENTRYPOINT ["/start.sh"]
            """),
        files={"start.sh": "#!/bin/sh\nchown app /srv\nexec chpst -u app /usr/local/bin/server\n"},
        present={"DA606": "info"},
        absent=("DA101",),
        user=KEEP,
        cites=(DROP,),
    ),
    Case(
        name="su-exec-inline-entrypoint",
        pattern='privilege drop written in ENTRYPOINT itself: `ENTRYPOINT ["su-exec", "app", ...]`',
        source="alpine app images using su-exec directly (e.g. ncopa/su-exec README usage)",
        text=dockerfile("""
            FROM alpine:3.20
            RUN apk add --no-cache su-exec && adduser -D -u 1000 app
            COPY server /usr/local/bin/server
            ENTRYPOINT ["su-exec", "app", "/usr/local/bin/server"]
            """),
        present={"DA606": "info"},
        absent=("DA101",),
        user=KEEP,
        cites=(DROP,),
    ),
    Case(
        name="su-c-entrypoint",
        pattern='`exec su app -s /bin/sh -c "$*"` after preparing volumes as root',
        source="older docker-library/jenkins-style and many app images (su -c entrypoints)",
        text=dockerfile("""
            FROM debian:bookworm-slim
            RUN useradd -m -u 1000 app
            COPY entrypoint.sh /entrypoint.sh
            ENTRYPOINT ["/entrypoint.sh"]
            CMD ["/home/app/run"]
            """),
        files={"entrypoint.sh": '#!/bin/sh\nmkdir -p /data && chown app /data\nexec su app -s /bin/sh -c "$*"\n'},
        present={"DA606": "info"},
        absent=("DA101",),
        user=KEEP,
        cites=(DROP,),
    ),
    Case(
        name="entrypoint-without-drop-gets-user",
        pattern='an entrypoint script that only renders config and `exec "$@"` does not drop privileges',
        source="nginx/envsubst-style entrypoints (docker-entrypoint.d), many app images",
        text=dockerfile("""
            FROM debian:bookworm-slim
            RUN useradd -r -u 1003 app
            COPY entrypoint.sh /entrypoint.sh
            ENTRYPOINT ["/entrypoint.sh"]
            CMD ["/usr/local/bin/app"]
            """),
        files={"entrypoint.sh": '#!/bin/sh\nset -e\nenvsubst < /etc/app.tmpl > /tmp/app.conf\nexec "$@"\n'},
        present={"DA606": "high"},
        absent=("DA101",),
        user="reuse:1003",
        cites=(REUSE, "rules.md DA606 no-user-instruction: high", TWINS),
    ),
    # ---------------------------------------------------------------- already non-root
    Case(
        name="jenkins-root-then-back-to-jenkins",
        pattern="`USER root` to install packages, then `USER jenkins` again",
        source="jenkinsci/docker README (installing more tools), many Jenkins controller images",
        text=dockerfile("""
            FROM jenkins/jenkins:2.462.3-lts-jdk17
            USER root
            RUN apt-get update && apt-get install -y --no-install-recommends lsb-release && rm -rf /var/lib/apt/lists/*
            USER jenkins
            RUN jenkins-plugin-cli --plugins "blueocean docker-workflow"
            """),
        absent=("DA606", "DA101", "DA207"),
        user=KEEP,
        cites=(NONROOT,),
    ),
    Case(
        name="jenkins-forgot-to-switch-back",
        pattern="`USER root` for an install and no switch back: the controller runs as root",
        source="Jenkins images on GitHub that install the docker CLI as root",
        text=dockerfile("""
            FROM jenkins/jenkins:2.462.3-lts-jdk17
            USER root
            RUN apt-get update && apt-get install -y --no-install-recommends docker.io && rm -rf /var/lib/apt/lists/*
            """),
        present={"DA606": "high"},
        absent=("DA101",),
        user="reuse:1000",
        cites=(REUSE, TABLE, USER_PLACE),
    ),
    Case(
        name="nginx-unprivileged-static-site",
        pattern="static site on nginxinc/nginx-unprivileged, which runs as 101 and listens on 8080",
        source="nginxinc/docker-nginx-unprivileged",
        text=dockerfile("""
            FROM nginxinc/nginx-unprivileged:1.27-alpine
            COPY nginx.conf /etc/nginx/conf.d/default.conf
            COPY dist/ /usr/share/nginx/html/
            """),
        absent=("DA606", "DA101"),
        user=KEEP,
        cites=(NONROOT, TABLE),
    ),
    Case(
        name="distroless-nonroot-go",
        pattern="Go binary built in golang, copied into gcr.io/distroless/static:nonroot",
        source="GoogleContainerTools/distroless examples, XenitAB/git-auth-proxy, PRODYNA/dapr-demo",
        text=dockerfile("""
            FROM golang:1.23 AS build
            WORKDIR /src
            COPY go.mod go.sum ./
            RUN go mod download
            COPY . .
            RUN CGO_ENABLED=0 go build -o /out/app ./cmd/app

            FROM gcr.io/distroless/static-debian12:nonroot
            COPY --from=build /out/app /app
            ENTRYPOINT ["/app"]
            """),
        absent=("DA606", "DA101"),
        user=KEEP,
        healthcheck=NO_HEALTHCHECK,
        untouched_stages=("build",),
        cites=(NONROOT, TABLE, HC_NONE + " (distroless: no shell, no client)", BUILDER),
    ),
    Case(
        name="chainguard-static",
        pattern="static binary on cgr.dev/chainguard/static (nonroot 65532 by default)",
        source="chainguard-images/images (static), wolfi-based app repos",
        text=dockerfile("""
            FROM cgr.dev/chainguard/go:latest AS build
            WORKDIR /work
            COPY . .
            RUN CGO_ENABLED=0 go build -o hello .

            FROM cgr.dev/chainguard/static:latest
            COPY --from=build /work/hello /hello
            CMD ["/hello"]
            """),
        absent=("DA606", "DA101"),
        user=KEEP,
        healthcheck=NO_HEALTHCHECK,
        cites=(NONROOT, TABLE, HC_NONE),
    ),
    Case(
        name="bitnami-nonroot-1001",
        pattern="config layered on a bitnami image, which ends with USER 1001",
        source="bitnami/containers (every image runs as 1001)",
        text=dockerfile("""
            FROM bitnami/redis:7.4
            COPY redis.conf /opt/bitnami/redis/mounted-etc/redis.conf
            """),
        absent=("DA606", "DA101"),
        user=KEEP,
        cites=(NONROOT, TABLE),
    ),
    Case(
        name="dotnet-app-uid-arg",
        pattern="`ARG APP_UID=1654` then `USER $APP_UID` (the .NET 8 images' non-root user)",
        source="dotnet/dotnet-docker samples (USER $APP_UID)",
        text=dockerfile("""
            FROM mcr.microsoft.com/dotnet/sdk:8.0 AS build
            WORKDIR /source
            COPY *.csproj .
            RUN dotnet restore
            COPY . .
            RUN dotnet publish -c Release -o /app

            FROM mcr.microsoft.com/dotnet/aspnet:8.0
            ARG APP_UID=1654
            WORKDIR /app
            COPY --from=build /app .
            USER $APP_UID
            ENTRYPOINT ["./aspnetapp"]
            """),
        absent=("DA606", "DA101"),
        user=KEEP,
        cites=(ARG_USER, NONROOT),
    ),
    Case(
        name="arg-user-defaults-to-root",
        pattern="`ARG RUN_AS=root` ... `USER ${RUN_AS}`: the default resolves to root",
        source="parameterised-user Dockerfiles on GitHub (USER ${USER} with a root default)",
        text=dockerfile("""
            FROM python:3.13-slim
            ARG RUN_AS=root
            WORKDIR /app
            COPY app.py .
            USER ${RUN_AS}
            CMD ["python", "app.py"]
            """),
        present={"DA606": "high"},
        absent=("DA101",),
        cites=(ARG_USER, "rules.md DA606: the last USER is root"),
    ),
    # ---------------------------------------------------------------- users to reuse, users to create
    Case(
        name="node-app-reuses-node-user",
        pattern="Node app on the official node image, run as root although the base has `node` (1000)",
        source="nodejs/docker-node (user node), EugeneGaray/SumSub, mbmcmullen27/blinky",
        text=dockerfile("""
            FROM node:22-alpine
            WORKDIR /usr/src/app
            COPY package*.json ./
            RUN npm ci --omit=dev && npm cache clean --force
            COPY . .
            EXPOSE 3000
            CMD ["node", "server.js"]
            """),
        present={"DA606": "high"},
        absent=("DA101", "DA207"),
        user="reuse:1000",
        cites=(REUSE, TABLE, CHOWN),
    ),
    Case(
        name="postgres-initdb-scripts-reuse-postgres",
        pattern="init scripts layered on the official postgres image (its entrypoint also works under --user postgres)",
        source="docker-library/postgres (docker-entrypoint-initdb.d usage), many app repos",
        text=dockerfile("""
            FROM postgres:16.4
            COPY init.sql /docker-entrypoint-initdb.d/
            """),
        user="safe:999",
        healthcheck=Probe(("pg_isready",), None),
        cites=(SAFE, TABLE, HC_SERVER),
    ),
    Case(
        name="mysql-config-reuse-mysql",
        pattern="my.cnf layered on the official mysql image",
        source="docker-library/mysql usage in app repos",
        text=dockerfile("""
            FROM mysql:8.4
            COPY my.cnf /etc/mysql/conf.d/app.cnf
            """),
        user="safe:999",
        healthcheck=Probe(("mysqladmin",), None),
        cites=(SAFE, TABLE, HC_SERVER + " (3306 is the MySQL protocol: no HTTP probe)"),
    ),
    Case(
        name="redis-config-reuse-redis",
        pattern="redis.conf layered on the official redis image with its own CMD",
        source="docker-library/redis usage in app repos",
        text=dockerfile("""
            FROM redis:7.4-alpine
            COPY redis.conf /usr/local/etc/redis/redis.conf
            CMD ["redis-server", "/usr/local/etc/redis/redis.conf"]
            """),
        user="safe:999",
        healthcheck=NO_HEALTHCHECK,
        cites=(SAFE, TABLE, HC_NONE),
    ),
    Case(
        name="php-apache-reuse-www-data",
        pattern="PHP app on php:apache, www-data owns the docroot",
        source="docker-library/php (apache variants), joseluisvergara/jltest, jormae/clinic",
        text=dockerfile("""
            FROM php:8.3-apache
            RUN a2enmod rewrite
            COPY src/ /var/www/html/
            """),
        user="safe:33",
        cites=(SAFE, TABLE, CHOWN),
    ),
    Case(
        name="created-user-never-switched",
        pattern="`RUN useradd ... app` but no USER: the user exists, reuse it",
        source="many Python/Java app repos (user created for chown, never switched to)",
        text=dockerfile(f"""
            FROM {DEBIAN}
            RUN groupadd -g 1001 app && useradd -u 1001 -g app -s /sbin/nologin app
            COPY www /www
            EXPOSE 8080
            CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
            """),
        files=HTTPD_SITE,
        present={"DA606": "high"},
        user="reuse:1001",
        healthcheck=Probe(("wget", "curl"), 8080),
        runtime=Runtime(uid=1001, healthy=True),
        cites=(REUSE, HC + " (busybox httpd on 8080, busybox wget present)"),
    ),
    Case(
        name="passwd-line-user-reused",
        pattern="user added by appending to /etc/passwd (no adduser in the image)",
        source="busybox/scratch-based images and OpenShift-style images that write /etc/passwd",
        text=dockerfile(f"""
            FROM {ALPINE}
            RUN echo 'web:x:10001:10001:web:/www:/sbin/nologin' >> /etc/passwd && echo 'web:x:10001:' >> /etc/group
            COPY www /www
            EXPOSE 8080
            CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
            """),
        files=HTTPD_SITE,
        present={"DA606": "high"},
        user="reuse:10001",
        healthcheck=Probe(("wget",), 8080),
        runtime=Runtime(uid=10001, healthy=True),
        cites=(REUSE, "harden.md: users the file creates include lines appended to /etc/passwd", HC),
    ),
    Case(
        name="debian-no-user-create-with-useradd",
        pattern="Debian-based service with no user at all",
        source="myekini/CNN_Image_Detection, iNeuron-Pvt-Ltd/housing_prediciton (python apps run as root)",
        text=dockerfile(f"""
            FROM {DEBIAN}
            RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
            COPY www /www
            EXPOSE 8080
            CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
            """),
        files=HTTPD_SITE,
        present={"DA606": "high"},
        absent=("DA101", "DA207"),
        user="create:useradd",
        healthcheck=Probe(("curl", "wget"), 8080),
        runtime=Runtime(healthy=True),
        cites=(CREATE, HC, TWINS),
    ),
    Case(
        name="alpine-no-user-create-with-adduser",
        pattern="Alpine-based service with no user at all",
        source="mbmcmullen27/blinky, cmparrela/go-clean-architecture (alpine apps run as root)",
        text=dockerfile(f"""
            FROM {ALPINE}
            RUN apk add --no-cache ca-certificates
            COPY www /srv/www
            EXPOSE 8081
            CMD ["httpd", "-f", "-p", "8081", "-h", "/srv/www"]
            """),
        files=HTTPD_SITE,
        present={"DA606": "high"},
        absent=("DA207",),
        user="create:adduser",
        healthcheck=Probe(("wget",), 8081),
        runtime=Runtime(healthy=True),
        cites=(CREATE, HC),
    ),
    Case(
        name="scratch-busybox-create-passwd-line",
        pattern="FROM scratch with a static busybox: a shell but no user tools",
        source="docker-library/busybox-style minimal images",
        text=dockerfile("""
            FROM scratch
            COPY busybox /bin/busybox
            RUN ["/bin/busybox", "--install", "-s", "/bin"]
            COPY www /www
            EXPOSE 8080
            CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
            """),
        files={**HTTPD_SITE, "busybox": "@busybox"},
        present={"DA606": "high"},
        user="create:passwd",
        healthcheck=Probe(("wget",), 8080),
        runtime=Runtime(healthy=True),
        cites=(CREATE, HC),
    ),
    Case(
        name="scratch-static-binary-bare-numeric-user",
        pattern="static binary copied into FROM scratch: no shell, no passwd",
        source="Go projects shipping FROM scratch (e.g. cassizx/hello_world_golang-style builds)",
        text=dockerfile(f"""
            FROM {ALPINE} AS build
            RUN cp /bin/busybox /httpd

            FROM scratch
            COPY --from=build /httpd /httpd
            COPY www /www
            EXPOSE 8080
            ENTRYPOINT ["/httpd", "-f", "-p", "8080", "-h", "/www"]
            """),
        files=HTTPD_SITE,
        present={"DA606": "high"},
        user="create:numeric",
        healthcheck=NO_HEALTHCHECK,
        untouched_stages=("build",),
        runtime=Runtime(uid=65532),
        cites=(CREATE, HC_NONE + " (no client in a scratch image)", BUILDER),
    ),
    Case(
        name="distroless-root-default-reuses-nonroot",
        pattern="distroless without :nonroot runs as root although it ships nonroot 65532",
        source="GoogleContainerTools/distroless (nonroot user in every image), Starttoaster/thatwas.notverycash.money",
        text=dockerfile(f"""
            FROM {ALPINE} AS build
            RUN cp /bin/busybox /server

            FROM {DISTROLESS}
            COPY --from=build /server /usr/local/bin/httpd
            ENTRYPOINT ["/usr/local/bin/httpd", "-f", "-p", "8080", "-h", "/tmp"]
            """),
        present={"DA606": "high"},
        user="reuse:65532",
        healthcheck=NO_HEALTHCHECK,
        untouched_stages=("build",),
        runtime=Runtime(uid=65532),
        cites=(REUSE, "harden.md: read from the base image when it is present locally (its /etc/passwd)", HC_NONE),
    ),
    Case(
        name="user-goes-after-last-install",
        pattern="user created early, packages installed after it",
        source="Rails/Django Dockerfiles that create the user first and apt-get later",
        text=dockerfile(f"""
            FROM {DEBIAN}
            RUN useradd -u 1001 -s /sbin/nologin app
            RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
            COPY www /www
            EXPOSE 8080
            CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
            """),
        files=HTTPD_SITE,
        user="reuse:1001",
        runtime=Runtime(uid=1001),
        cites=(REUSE, USER_PLACE),
    ),
    Case(
        name="gosu-entrypoint-builds-and-drops",
        pattern=(
            "gosu entrypoint that chowns /data and drops to app (built offline with a busybox-su stand-in for gosu)"
        ),
        source="docker-library/redis, docker-library/mongo, sudo-bmitch/run-as-user (gosu entrypoints)",
        text=dockerfile(f"""
            FROM {ALPINE}
            RUN addgroup -g 1000 app && adduser -u 1000 -G app -D app
            COPY gosu /usr/local/bin/gosu
            COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
            COPY www /www
            VOLUME /data
            EXPOSE 8080
            ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
            CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
            """),
        files={**HTTPD_SITE, "gosu": FAKE_GOSU, "docker-entrypoint.sh": DROP_ENTRYPOINT.format(tool="gosu")},
        present={"DA606": "info"},
        absent=("DA101",),
        user=KEEP,
        healthcheck=Probe(("wget",), 8080),
        runtime=Runtime(uid=1000, healthy=True, owned={"/data": 1000}),
        cites=(DROP, HC),
    ),
    Case(
        name="su-exec-entrypoint-builds-and-drops",
        pattern="su-exec entrypoint (alpine) that chowns /data and drops to app",
        source="docker-library/postgres alpine, ncopa/su-exec users",
        text=dockerfile(f"""
            FROM {ALPINE}
            RUN adduser -u 1000 -D app
            COPY su-exec /sbin/su-exec
            COPY entrypoint.sh /entrypoint.sh
            COPY www /www
            EXPOSE 8080
            ENTRYPOINT ["/entrypoint.sh"]
            CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
            """),
        files={**HTTPD_SITE, "su-exec": FAKE_GOSU, "entrypoint.sh": DROP_ENTRYPOINT.format(tool="su-exec")},
        present={"DA606": "info"},
        user=KEEP,
        runtime=Runtime(uid=1000, owned={"/data": 1000}),
        cites=(DROP,),
    ),
    Case(
        name="arg-uid-user-builds",
        pattern="`ARG APP_UID=1000`, user created from it, `USER ${APP_UID}`",
        source="dotnet/dotnet-docker, Home Assistant add-on style images (ARG-driven UIDs)",
        text=dockerfile(f"""
            FROM {ALPINE}
            ARG APP_UID=1000
            RUN adduser -u ${{APP_UID}} -D app
            COPY www /www
            USER ${{APP_UID}}
            EXPOSE 8080
            HEALTHCHECK --interval=30s --timeout=3s CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
            CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
            """),
        files=HTTPD_SITE,
        absent=("DA606", "DA101", "DA608", "DA102"),
        user=KEEP,
        healthcheck=KEEP,
        runtime=Runtime(uid=1000, healthy=True),
        cites=(ARG_USER, NONROOT, "rules.md DA608: a HEALTHCHECK in the final stage passes"),
    ),
    # ---------------------------------------------------------------- base images and stages
    Case(
        name="onbuild-node-base",
        pattern="ONBUILD base image for child apps (the old `node:onbuild` style)",
        source="psychonautwiki/bifrost, docker-library node/python onbuild variants",
        text=dockerfile("""
            FROM node:22
            RUN mkdir -p /usr/src/app
            WORKDIR /usr/src/app
            ONBUILD COPY package*.json /usr/src/app/
            ONBUILD RUN npm ci
            ONBUILD COPY . /usr/src/app
            CMD ["npm", "start"]
            """),
        present={"DA606": "info", "DA608": "info"},
        absent=("DA101", "DA102"),
        user=KEEP,
        healthcheck=NO_HEALTHCHECK,
        cites=(BASE, USER_PLACE),
    ),
    Case(
        name="onbuild-maven-base",
        pattern="ONBUILD ADD . + ONBUILD RUN mvn install, no CMD",
        source="Vinodrt03/simple-java-maven-app, Didar83/MarketPlace (maven onbuild bases)",
        text=dockerfile("""
            FROM maven:3.9-eclipse-temurin-21
            RUN mkdir -p /usr/src/app
            WORKDIR /usr/src/app
            ONBUILD ADD . /usr/src/app
            ONBUILD RUN mvn install
            """),
        present={"DA606": "info", "DA608": "info"},
        user=KEEP,
        healthcheck=NO_HEALTHCHECK,
        cites=(BASE,),
    ),
    Case(
        name="runtime-base-without-cmd",
        pattern="a language runtime base with no CMD/ENTRYPOINT of its own (buildpack-deps style)",
        source="docker-library/buildpack-deps, company-internal base images on GitHub",
        text=dockerfile("""
            FROM debian:bookworm
            RUN set -eux; apt-get update; apt-get install -y --no-install-recommends ca-certificates curl gnupg \\
                python3 python3-venv; rm -rf /var/lib/apt/lists/*
            ENV PATH=/opt/venv/bin:$PATH
            RUN python3 -m venv /opt/venv
            """),
        present={"DA606": "info", "DA608": "info"},
        absent=("DA207",),
        user=KEEP,
        healthcheck=NO_HEALTHCHECK,
        cites=(BASE, "rules.md DA207: cleanup in the same RUN"),
    ),
    Case(
        name="export-stage-last",
        pattern="`FROM scratch AS export` with only `COPY --from` as the last stage (docker build --output)",
        source="docker/buildx and moby build scripts (binaries exported with --output), Go CLIs",
        text=dockerfile(f"""
            FROM {ALPINE} AS build
            RUN mkdir -p /out && cp /bin/busybox /out/httpd

            FROM {ALPINE} AS runtime
            COPY --from=build /out/httpd /opt/web/httpd
            COPY www /www
            EXPOSE 8080
            CMD ["/opt/web/httpd", "-f", "-p", "8080", "-h", "/www"]

            FROM scratch AS export
            COPY --from=build /out/ /
            """),
        files=HTTPD_SITE,
        present={"DA606": "high"},
        untouched_stages=("export", "build"),
        user="create:adduser",
        runtime=Runtime(target="runtime"),
        cites=(STAGES, BUILDER, CREATE),
    ),
    Case(
        name="test-stage-last",
        pattern="a `test` stage after the runtime stage (CI runs `--target test`)",
        source="Go and Python projects with test/lint stages (e.g. docker samples 'multi-stage test')",
        text=dockerfile("""
            FROM golang:1.23 AS build
            WORKDIR /src
            COPY . .
            RUN CGO_ENABLED=0 go build -o /out/app .

            FROM gcr.io/distroless/static-debian12:nonroot AS runtime
            COPY --from=build /out/app /app
            ENTRYPOINT ["/app"]

            FROM build AS test
            RUN go test ./...
            """),
        absent=("DA606", "DA101"),
        untouched_stages=("test", "build"),
        user=KEEP,
        cites=(STAGES, "rules.md v2: stages named test/lint/ci are not the runtime image", NONROOT),
    ),
    Case(
        name="target-picks-prod-stage",
        pattern="dev and prod stages in one file, built with `--target prod`",
        source="Node/Python projects with `--target development|production` (docker docs multi-target)",
        text=dockerfile("""
            FROM node:22-alpine AS base
            WORKDIR /app
            COPY package*.json ./

            FROM base AS prod
            RUN npm ci --omit=dev
            COPY src ./src
            USER node
            CMD ["node", "src/index.js"]

            FROM base AS dev
            RUN npm install
            CMD ["npm", "run", "dev"]
            """),
        target="prod",
        absent=("DA606", "DA101"),
        untouched_stages=("dev",),
        user=KEEP,
        cites=(STAGES, "issue #12 item 2: --target NAME on scan and harden picks the runtime stage", NONROOT),
    ),
    Case(
        name="builder-stage-apt-without-cleanup",
        pattern="builder stage installs with apt and never cleans (it is thrown away)",
        source="PRODYNA/dapr-demo-style builds, Rust/Go multi-stage builds",
        text=dockerfile(f"""
            FROM {DEBIAN} AS build
            RUN apt-get update && apt-get install -y gcc make
            RUN mkdir -p /out && cp /bin/busybox /out/httpd

            FROM {ALPINE}
            RUN adduser -u 1000 -D app
            COPY --from=build /out/httpd /opt/web/httpd
            COPY www /www
            USER 1000
            EXPOSE 8080
            HEALTHCHECK CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
            CMD ["/opt/web/httpd", "-f", "-p", "8080", "-h", "/www"]
            """),
        files=HTTPD_SITE,
        absent=("DA207", "DA208", "DA604", "DA606", "DA608"),
        untouched_stages=("build",),
        user=KEEP,
        healthcheck=KEEP,
        runtime=Runtime(uid=1000, healthy=True),
        cites=(
            BUILDER,
            STAGES,
            "issue #12 item 5: findings on stages that are not the runtime image",
            "rules.md DA604: one stage that installs build tools",
        ),
    ),
    # ---------------------------------------------------------------- healthchecks
    Case(
        name="nginx-static-site-wget-probe",
        pattern="static site on nginx:alpine (HTTP on 80, busybox wget in the image)",
        source="nginxinc/docker-nginx (alpine), countless frontend repos",
        text=dockerfile("""
            FROM nginx:1.27-alpine
            COPY dist/ /usr/share/nginx/html/
            EXPOSE 80
            """),
        healthcheck=Probe(("wget", "curl"), 80),
        cites=(HC,),
    ),
    Case(
        name="python-slim-gunicorn-python-probe",
        pattern="gunicorn on python:slim (no curl/wget): probe with the runtime's own urllib",
        source="iNeuron-Pvt-Ltd/housing_prediciton, Flask/Django apps on python:slim",
        text=dockerfile("""
            FROM python:3.13-slim
            WORKDIR /app
            COPY requirements.txt .
            RUN pip install --no-cache-dir -r requirements.txt
            COPY . .
            EXPOSE 8000
            CMD ["gunicorn", "-b", "0.0.0.0:8000", "app:app"]
            """),
        absent=("DA207",),
        healthcheck=Probe(("python", "python3"), 8000),
        cites=(HC + " (the image's own language runtime can do the request)", "rules.md DA207: pip --no-cache-dir"),
    ),
    Case(
        name="exposed-port-differs-from-bind",
        pattern="EXPOSE 8080 while gunicorn binds 8000: a probe on 8080 could never pass",
        source="myekini/CNN_Image_Detection",
        text=dockerfile("""
            FROM python:3.13
            COPY . /app
            WORKDIR /app
            RUN pip install --no-cache-dir -r requirements.txt
            EXPOSE 8080
            CMD ["gunicorn", "-b", "0.0.0.0:8000", "app:app"]
            """),
        forbid_probe_ports=(8080,),
        cites=(HC, "harden.md: never a probe that cannot pass"),
    ),
    Case(
        name="curl-purged-no-curl-probe",
        pattern="curl installed for a download and purged in the same RUN; no HTTP client left",
        source="docker-library/mysql 5.7 era Dockerfiles, many Debian-slim app images",
        text=dockerfile("""
            FROM debian:bookworm-slim
            RUN set -eux; apt-get update; apt-get install -y --no-install-recommends curl ca-certificates; \\
                curl -fsSLo /usr/local/bin/app https://example.com/app-linux-amd64; chmod +x /usr/local/bin/app; \\
                apt-get purge -y --auto-remove curl; rm -rf /var/lib/apt/lists/*
            RUN useradd -r -u 1001 app
            USER 1001
            EXPOSE 8080
            CMD ["/usr/local/bin/app", "--listen", ":8080"]
            """),
        absent=("DA207", "DA606"),
        healthcheck=NO_HEALTHCHECK,
        cites=(HC_NONE + " (curl and wget purged, no language runtime)", "rules.md DA207: cleanup in the same RUN"),
    ),
    Case(
        name="postgres-no-http-probe",
        pattern="non-HTTP server (postgres wire protocol) must not get an HTTP probe; its own pg_isready fits",
        source="docker-library/postgres",
        text=dockerfile("""
            FROM postgres:16.4-alpine
            COPY schema.sql /docker-entrypoint-initdb.d/
            EXPOSE 5432
            """),
        healthcheck=Probe(("pg_isready",), None),
        forbid_probe_ports=(5432,),
        present={"DA608": "medium"},
        cites=(HC_SERVER, "rules.md DA608 no-healthcheck-instruction: medium"),
    ),
    Case(
        name="rabbitmq-amqp-no-http-probe",
        pattern="broker ports (AMQP 5672) exposed; no HTTP probe on them",
        source="docker-library/rabbitmq",
        text=dockerfile("""
            FROM rabbitmq:3.13
            COPY rabbitmq.conf /etc/rabbitmq/rabbitmq.conf
            EXPOSE 5672
            """),
        forbid_probe_ports=(5672,),
        cites=(HC, "harden.md: never a probe that cannot pass"),
    ),
    Case(
        name="existing-healthcheck-kept",
        pattern="a file with its own HEALTHCHECK and USER",
        source="Ghost/Gitea/Traefik-style images that declare their own HEALTHCHECK",
        text=dockerfile(f"""
            FROM {ALPINE}
            RUN adduser -u 1000 -D app
            COPY www /www
            USER 1000:1000
            EXPOSE 8080
            HEALTHCHECK --interval=10s --timeout=3s CMD wget -q -O /dev/null http://127.0.0.1:8080/ || exit 1
            CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
            """),
        files=HTTPD_SITE,
        absent=("DA608", "DA102", "DA606"),
        user=KEEP,
        healthcheck=KEEP,
        runtime=Runtime(uid=1000, healthy=True),
        cites=(NONROOT, "rules.md DA608: HEALTHCHECK present"),
    ),
    # ---------------------------------------------------------------- edits across instructions
    Case(
        name="later-run-installs-without-update",
        pattern="`apt-get update && install` early, a later RUN `apt-get install` relying on the same lists",
        source="kumabook/spread_beaver-style and many Dockerfiles with split apt-get installs",
        text=dockerfile(f"""
            FROM {DEBIAN}
            RUN apt-get update && apt-get install -y --no-install-recommends curl
            RUN apt-get install -y --no-install-recommends wget
            RUN useradd -u 1001 app
            COPY www /www
            USER 1001
            EXPOSE 8080
            HEALTHCHECK CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
            CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
            """),
        files=HTTPD_SITE,
        user=KEEP,
        healthcheck=KEEP,
        runtime=Runtime(uid=1001, healthy=True),
        cites=(CLEANUP,),
    ),
    Case(
        name="apt-cache-mounts",
        pattern="`RUN --mount=type=cache,target=/var/cache/apt --mount=type=cache,target=/var/lib/apt apt-get ...`",
        source="docker docs 'cache mounts' examples, moby/buildkit examples, many modern Dockerfiles",
        text=dockerfile(f"""
            FROM {DEBIAN}
            RUN rm -f /etc/apt/apt.conf.d/docker-clean
            RUN --mount=type=cache,target=/var/cache/apt --mount=type=cache,target=/var/lib/apt \\
                apt-get update && apt-get install -y --no-install-recommends curl
            RUN useradd -u 1001 app
            COPY www /www
            USER 1001
            EXPOSE 8080
            CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
            """),
        files=HTTPD_SITE,
        absent=("DA207",),
        user=KEEP,
        runtime=Runtime(uid=1001),
        cites=(CACHE,),
    ),
    Case(
        name="pip-cache-mount",
        pattern="`RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt`",
        source="astral-sh/uv and pip docs' Docker examples, FastAPI project templates",
        text=dockerfile("""
            FROM python:3.13-slim
            WORKDIR /app
            COPY requirements.txt .
            RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt
            COPY app.py .
            USER 65534
            CMD ["python", "app.py"]
            """),
        absent=("DA207", "DA606"),
        cites=(CACHE,),
    ),
    Case(
        name="copy-app-code-not-chowned",
        pattern="`COPY . .` of the app as root: harden must not hand the code to the runtime user",
        source="nodejs/docker-node best-practices discussions, EugeneGaray/SumSub",
        text=dockerfile("""
            FROM node:22-slim
            WORKDIR /app
            COPY package.json package-lock.json ./
            RUN npm ci --omit=dev && npm cache clean --force
            COPY . .
            CMD ["node", "index.js"]
            """),
        user="reuse:1000",
        cites=(CHOWN, REUSE),
    ),
    Case(
        name="consecutive-runs-not-commented",
        pattern="several short RUNs in a row (hadolint DL3059) in an otherwise hardened file",
        source="many app Dockerfiles (consecutive RUN mkdir/chmod lines)",
        text=dockerfile(f"""
            FROM {ALPINE}
            RUN mkdir -p /srv/www
            RUN mkdir -p /srv/logs
            RUN adduser -u 1000 -D app
            COPY www /srv/www
            USER 1000
            EXPOSE 8080
            HEALTHCHECK CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
            CMD ["httpd", "-f", "-p", "8080", "-h", "/srv/www"]
            """),
        files=HTTPD_SITE,
        user=KEEP,
        healthcheck=KEEP,
        runtime=Runtime(uid=1000, healthy=True),
        cites=(LINT, AGREE),
    ),
    # ---------------------------------------------------------------- Windows
    Case(
        name="windows-nanoserver-escape-backtick",
        pattern="`# escape=`` ` ``, servercore installer stage, nanoserver runtime",
        source="dotnet/dotnet-docker (nanoserver images), PowerShell/PowerShell-Docker",
        text=dockerfile("""
            # escape=`
            FROM mcr.microsoft.com/windows/servercore:ltsc2022 AS installer
            SHELL ["powershell", "-Command", "$ErrorActionPreference = 'Stop';"]
            RUN Invoke-WebRequest -OutFile app.zip https://example.com/app.zip; `
                Expand-Archive app.zip -DestinationPath C:\\app; `
                Remove-Item -Force app.zip

            FROM mcr.microsoft.com/windows/nanoserver:ltsc2022
            COPY --from=installer ["/app", "/app"]
            ENTRYPOINT ["C:\\\\app\\\\app.exe"]
            """),
        user=KEEP,
        healthcheck=NO_HEALTHCHECK,
        cites=(WINDOWS,),
    ),
    Case(
        name="windows-servercore-powershell-shell",
        pattern="PowerShell SHELL on servercore without an escape directive",
        source="nanori/jenkins-windows-slave, microsoft/iis-style images",
        text=dockerfile("""
            FROM mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022
            SHELL ["powershell", "-Command"]
            RUN Remove-Item -Recurse C:\\inetpub\\wwwroot\\*
            COPY site/ C:/inetpub/wwwroot
            EXPOSE 80
            """),
        user=KEEP,
        healthcheck=NO_HEALTHCHECK,
        cites=(WINDOWS,),
    ),
    Case(
        name="windows-cmd-shell-servercore",
        pattern="servercore with the default cmd shell, curl and msiexec",
        source="bungabear/windows-servercore-20H2-amd64-pwsh",
        text=dockerfile("""
            FROM mcr.microsoft.com/windows/servercore:ltsc2022
            RUN curl -L -o C:\\tool.msi https://example.com/tool.msi \\
                && msiexec /package C:\\tool.msi /quiet && del C:\\tool.msi
            ENTRYPOINT ["C:\\\\Program Files\\\\Tool\\\\tool.exe"]
            """),
        user=KEEP,
        healthcheck=NO_HEALTHCHECK,
        cites=(WINDOWS,),
    ),
    # ---------------------------------------------------------------- clear flaws
    Case(
        name="chpasswd-literal-root-password",
        pattern="`echo 'root:Docker!' | chpasswd` (SSH-enabled images)",
        source="Azure App Service SSH images (root:Docker!), rastasheep/ubuntu-sshd-style images",
        text=dockerfile("""
            FROM ubuntu:24.04
            RUN apt-get update && apt-get install -y --no-install-recommends openssh-server \\
                && rm -rf /var/lib/apt/lists/* \\
                && echo "root:Sup3rS3cretPw" | chpasswd
            EXPOSE 2222
            CMD ["/usr/sbin/sshd", "-D"]
            """),
        present={"DA609": "critical"},
        secrets=("Sup3rS3cretPw",),
        cites=(DA609,),
    ),
    Case(
        name="useradd-p-openssl-hash",
        pattern='`useradd -p "$(openssl passwd -1 pw)"` and a fixed crypt hash',
        source="dev-container and lab images on GitHub creating users with passwords",
        text=dockerfile("""
            FROM debian:bookworm-slim
            RUN useradd -m -s /bin/bash -p "$(openssl passwd -1 devpassword123)" dev
            RUN useradd -m -p '$6$c0ffee$W7aBqY2nM9fP1xZ8vL3kR5tH6jD0sG4eQ' ops
            USER dev
            CMD ["bash"]
            """),
        present={"DA609": "critical"},
        secrets=("devpassword123",),
        cites=(DA609, "issue #12 item 6: useradd -p, openssl passwd hashes"),
    ),
    Case(
        name="mysql-client-literal-password",
        pattern="`mysql -uroot -pS3cret -e ...` in a RUN",
        source="LAMP tutorial Dockerfiles seeding databases at build time",
        text=dockerfile("""
            FROM mariadb:11.4
            COPY schema.sql /tmp/schema.sql
            RUN mysqld_safe & sleep 5 && mysql -uroot -pMyDbPassw0rd1 -e "CREATE DATABASE app" \\
                && mysql -uroot -pMyDbPassw0rd1 app < /tmp/schema.sql
            """),
        present={"DA609": "critical"},
        secrets=("MyDbPassw0rd1",),
        cites=(DA609 + " (mysql/psql-style -p<literal>)",),
    ),
    Case(
        name="sudoers-nopasswd",
        pattern="`echo 'app ALL=(ALL) NOPASSWD:ALL' >> /etc/sudoers`",
        source="dev-container images and CI runner images on GitHub",
        text=dockerfile("""
            FROM ubuntu:24.04
            RUN apt-get update && apt-get install -y --no-install-recommends sudo && rm -rf /var/lib/apt/lists/* \\
                && useradd -m -u 1000 app && echo 'app ALL=(ALL) NOPASSWD:ALL' >> /etc/sudoers
            USER app
            CMD ["bash"]
            """),
        present={"DA610": "high"},
        absent=("DA606",),
        cites=(DA610,),
    ),
    Case(
        name="curl-pipe-sh-installer",
        pattern="`curl -fsSL https://... | sh` installer",
        source="slpuh/sptodo (composer installer piped into php), nvm/rustup/deno install lines",
        text=dockerfile("""
            FROM debian:bookworm-slim
            RUN apt-get update && apt-get install -y --no-install-recommends curl ca-certificates \\
                && rm -rf /var/lib/apt/lists/*
            RUN curl -fsSL https://deno.land/install.sh | sh
            CMD ["/root/.deno/bin/deno", "run", "main.ts"]
            """),
        present={"DA210": "medium"},
        cites=(DA210,),
    ),
    Case(
        name="wget-pipe-bash",
        pattern="`wget -qO- https://... | bash`",
        source="nodesource setup scripts in many Node-on-Debian Dockerfiles",
        text=dockerfile("""
            FROM ubuntu:24.04
            RUN apt-get update && apt-get install -y --no-install-recommends wget ca-certificates \\
                && wget -qO- https://deb.nodesource.com/setup_22.x | bash - \\
                && apt-get install -y --no-install-recommends nodejs && rm -rf /var/lib/apt/lists/*
            CMD ["node"]
            """),
        present={"DA210": "medium"},
        cites=(DA210,),
    ),
    Case(
        name="remote-add-without-checksum",
        pattern="`ADD https://.../tini /tini` without --checksum",
        source="krallin/tini README (ADD of the release binary), many Java images ADDing jars",
        text=dockerfile("""
            FROM eclipse-temurin:21-jre
            ADD https://github.com/krallin/tini/releases/download/v0.19.0/tini /tini
            RUN chmod +x /tini
            COPY app.jar /app/app.jar
            ENTRYPOINT ["/tini", "--", "java", "-jar", "/app/app.jar"]
            """),
        present={"DA204": "medium"},
        cites=(DA204,),
    ),
    Case(
        name="remote-add-with-checksum",
        pattern="`ADD --checksum=sha256:... https://...` (verified download)",
        source="docker docs ADD --checksum examples",
        text=dockerfile("""
            FROM eclipse-temurin:21-jre
            ADD --checksum=sha256:93dcc18adc78c65a028a84799ecf8ad40c936fdfc5f2a57b1acda5a8117fa82c \\
                https://github.com/krallin/tini/releases/download/v0.19.0/tini /tini
            RUN chmod +x /tini
            COPY app.jar /app/app.jar
            ENTRYPOINT ["/tini", "--", "java", "-jar", "/app/app.jar"]
            """),
        absent=("DA204",),
        cites=(DA204,),
    ),
    Case(
        name="aws-secret-in-env",
        pattern="cloud credentials baked into ENV",
        source="dockerfile smell datasets (VladCroitoru/dockerfile_smells_project), leaked-key reports",
        text=dockerfile("""
            FROM python:3.13-slim
            ENV AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE
            ENV AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
            COPY sync.py /sync.py
            CMD ["python", "/sync.py"]
            """),
        present={"DA605": "critical"},
        absent=("DA104",),
        secrets=("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",),
        cites=(DA605, TWINS),
    ),
    Case(
        name="npm-token-arg-default",
        pattern="`ARG NPM_TOKEN=npm_...` default written into .npmrc",
        source="private-registry Node Dockerfiles on GitHub",
        text=dockerfile("""
            FROM node:22-alpine
            ARG NPM_TOKEN=npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8
            WORKDIR /app
            COPY package*.json ./
            RUN echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > .npmrc && npm ci && rm .npmrc
            COPY . .
            CMD ["node", "index.js"]
            """),
        present={"DA605": "critical"},
        secrets=("npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",),
        cites=(DA605,),
    ),
    Case(
        name="eol-python-3-7",
        pattern="FROM python:3.7 (end of life 2023-06)",
        source="myekini/CNN_Image_Detection, iNeuron-Pvt-Ltd/housing_prediciton",
        text=dockerfile("""
            FROM python:3.7-slim
            WORKDIR /app
            COPY requirements.txt .
            RUN pip install --no-cache-dir -r requirements.txt
            COPY . .
            CMD ["python", "app.py"]
            """),
        present={"DA611": "high"},
        cites=(DA611,),
    ),
    Case(
        name="eol-node-14",
        pattern="FROM node:14 (end of life 2023-04)",
        source="hyoshitake/handsup_seminar, shiviraj/jobsalrtServer, EugeneGaray/SumSub",
        text=dockerfile("""
            FROM node:14-alpine
            WORKDIR /app
            COPY package*.json ./
            RUN npm ci
            COPY . .
            CMD ["node", "server.js"]
            """),
        present={"DA611": "high"},
        cites=(DA611,),
    ),
    Case(
        name="eol-ruby-2-3",
        pattern="FROM ruby:2.3 (end of life 2019-03)",
        source="kumabook/spread_beaver, koudaiii/rails-docker-sample",
        text=dockerfile("""
            FROM ruby:2.3-slim
            WORKDIR /app
            COPY Gemfile Gemfile.lock ./
            RUN bundle install
            COPY . .
            CMD ["bundle", "exec", "puma"]
            """),
        present={"DA611": "high"},
        cites=(DA611,),
    ),
    Case(
        name="eol-php-7-3",
        pattern="FROM php:7.3-apache (end of life 2021-12)",
        source="slpuh/sptodo, jormae/clinic, joseluisvergara/jltest",
        text=dockerfile("""
            FROM php:7.3-apache
            RUN docker-php-ext-install pdo_mysql
            COPY . /var/www/html/
            """),
        present={"DA611": "high"},
        cites=(DA611,),
    ),
    Case(
        name="eol-golang-1-8-builder",
        pattern="FROM golang:1.8 as the build stage (end of life 2018)",
        source="older Go service repos (golang:1.8 builders)",
        text=dockerfile("""
            FROM golang:1.8 AS build
            WORKDIR /go/src/app
            COPY . .
            RUN CGO_ENABLED=0 go build -o /app .

            FROM scratch
            COPY --from=build /app /app
            USER 65532
            ENTRYPOINT ["/app"]
            """),
        present={"DA611": "high"},
        cites=(DA611 + " (every FROM)",),
    ),
    Case(
        name="eol-centos-7",
        pattern="FROM centos:7 (end of life 2024-06)",
        source="legacy Java/PHP service Dockerfiles on centos:7",
        text=dockerfile("""
            FROM centos:7
            RUN yum install -y java-11-openjdk-headless && yum clean all
            COPY app.jar /opt/app.jar
            CMD ["java", "-jar", "/opt/app.jar"]
            """),
        present={"DA611": "high"},
        absent=("DA207",),
        cites=(DA611 + " (distributions too)", "rules.md DA207: yum clean all in the same RUN"),
    ),
    Case(
        name="supported-tags-not-eol",
        pattern="current tags must not be called end of life",
        source="docker-library/python, nodejs/docker-node, docker-library/ruby",
        text=dockerfile("""
            FROM node:24-alpine AS assets
            WORKDIR /src
            COPY package.json package-lock.json ./
            RUN npm ci

            FROM python:3.13-slim
            COPY --from=assets /src/node_modules /opt/node_modules
            USER 65534
            CMD ["python", "-V"]
            """),
        absent=("DA611",),
        cites=(DA611,),
    ),
    # ---------------------------------------------------------------- correct idioms that must not be flagged
    Case(
        name="rails-secret-key-base-placeholder",
        pattern="`SECRET_KEY_BASE=precompile_placeholder` / `SECRET_KEY_BASE_DUMMY=1` for assets:precompile",
        source="rails/rails generated Dockerfile, ministryofjustice/offenders-api, kumabook/spread_beaver",
        text=dockerfile("""
            FROM ruby:3.4-slim
            WORKDIR /rails
            ENV RAILS_ENV=production SECRET_KEY_BASE_DUMMY=1
            COPY Gemfile Gemfile.lock ./
            RUN bundle install
            COPY . .
            RUN SECRET_KEY_BASE=precompile_placeholder ./bin/rails assets:precompile
            RUN DATABASE_URL=postgresql:does_not_exist ./bin/rails assets:clean
            CMD ["./bin/rails", "server"]
            """),
        absent=("DA605", "DA104", "DA609", "DA202"),
        cites=(PLACEHOLDER,),
    ),
    Case(
        name="dummy-and-empty-secret-values",
        pattern=(
            "`ENV API_TOKEN=dummy`, `ARG DB_PASSWORD=`, `ENV "
            "POSTGRES_PASSWORD_FILE=/run/secrets/...`, `ENV GPG_KEY=...`"
        ),
        source="docker-library/python (GPG_KEY), docker-library/postgres (*_FILE), CI Dockerfiles",
        text=dockerfile("""
            FROM python:3.13-slim
            ENV GPG_KEY=7169605F62C751356D054A26A821E680E5FA6305
            ENV POSTGRES_PASSWORD_FILE=/run/secrets/db_password
            ENV API_TOKEN=dummy
            ARG DB_PASSWORD=
            USER 65534
            CMD ["python", "-V"]
            """),
        absent=("DA605", "DA104"),
        cites=(PLACEHOLDER, "rules.md Secrets: allowlist *_FILE with a path, GPG_KEY"),
    ),
    Case(
        name="secret-mount-not-flagged",
        pattern="`RUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci`",
        source="docker docs build secrets, private-registry Node projects",
        text=dockerfile("""
            FROM node:24-alpine
            WORKDIR /app
            COPY package*.json ./
            RUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci --omit=dev
            COPY src ./src
            USER node
            CMD ["node", "src/index.js"]
            """),
        absent=("DA605", "DA202", "DA104"),
        cites=("rules.md DA202/DA605: a value read from a secret mount does not count",),
    ),
    Case(
        name="python-official-purge-build-deps",
        pattern="build deps installed, `apt-mark auto` + `apt-get purge -y --auto-remove` in the same RUN",
        source="docker-library/python (Debian variants), docker-library/php",
        text=dockerfile("""
            FROM debian:bookworm-slim
            RUN set -eux; \\
                savedAptMark="$(apt-mark showmanual)"; \\
                apt-get update; \\
                apt-get install -y --no-install-recommends gcc make libc6-dev libssl-dev; \\
                make -C /usr/src/tool install; \\
                apt-mark auto '.*' > /dev/null; \\
                [ -z "$savedAptMark" ] || apt-mark manual $savedAptMark; \\
                apt-get purge -y --auto-remove -o APT::AutoRemove::RecommendsImportant=false; \\
                rm -rf /var/lib/apt/lists/*
            USER 65534
            CMD ["tool"]
            """),
        absent=("DA604", "DA207"),
        cites=(PURGE, "rules.md DA207: cleanup in the same RUN"),
    ),
    Case(
        name="alpine-virtual-build-deps-deleted",
        pattern="`apk add --no-cache --virtual .build-deps ... && apk del .build-deps`",
        source="docker-library/postgres alpine, python:3.7.3-alpine3.9 gunicorn apps",
        text=dockerfile("""
            FROM python:3.13-alpine
            COPY requirements.txt /tmp/
            RUN apk add --no-cache --virtual .build-deps gcc musl-dev libffi-dev \\
                && pip install --no-cache-dir -r /tmp/requirements.txt \\
                && apk del --no-network .build-deps
            USER 65534
            CMD ["python", "-m", "app"]
            """),
        absent=("DA604", "DA207"),
        cites=(PURGE, DA207_FP),
    ),
    Case(
        name="apt-dist-clean",
        pattern="`apt-get install ... && apt-get dist-clean` (Debian 13's cleanup command)",
        source="docker-library images on trixie (apt-get dist-clean)",
        text=dockerfile("""
            FROM debian:trixie-slim
            RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && apt-get dist-clean
            USER 65534
            CMD ["sh"]
            """),
        absent=("DA207",),
        cites=(DA207_FP,),
    ),
    Case(
        name="pip-no-cache-env",
        pattern="`ENV PIP_NO_CACHE_DIR=1` then `pip install`",
        source="python app templates (PIP_NO_CACHE_DIR / PIP_DISABLE_PIP_VERSION_CHECK)",
        text=dockerfile("""
            FROM python:3.13-slim
            ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
            COPY requirements.txt .
            RUN pip install -r requirements.txt
            USER 65534
            CMD ["python", "-m", "app"]
            """),
        absent=("DA207",),
        cites=("rules.md DA207: pip without --no-cache-dir (PIP_NO_CACHE_DIR has the same effect)",),
    ),
    Case(
        name="temp-dir-777-deleted-same-run",
        pattern="`mkdir /tmp/build && chmod 777 /tmp/build && ... && rm -rf /tmp/build`",
        source="docker-library/php (docker-php-source temp dirs), build scripts run as another user",
        text=dockerfile("""
            FROM debian:bookworm-slim
            RUN mkdir -p /tmp/build && chmod 777 /tmp/build && cd /tmp/build && echo build > out \\
                && cp out /usr/local/share/out && cd / && rm -rf /tmp/build
            USER 65534
            CMD ["cat", "/usr/local/share/out"]
            """),
        absent=("DA213",),
        cites=(TEMP,),
    ),
    Case(
        name="chmod-777-persistent-dir",
        pattern="`chmod 777 /app/uploads` kept in the image",
        source="PHP/Node upload-directory Dockerfiles",
        text=dockerfile("""
            FROM php:8.3-apache
            COPY . /var/www/html/
            RUN mkdir -p /var/www/html/uploads && chmod 777 /var/www/html/uploads
            """),
        present={"DA213": "low"},
        cites=("rules.md DA213 world-writable-chmod: low",),
    ),
    Case(
        name="chmod-world-writable-shadow",
        pattern="`chmod 666 /etc/shadow` / `chmod 777 /etc/passwd`",
        source="images that let an arbitrary UID edit account files",
        text=dockerfile("""
            FROM debian:bookworm-slim
            RUN chmod 666 /etc/shadow && chmod 777 /etc/passwd
            USER 1000
            CMD ["sh"]
            """),
        present={"DA213": "high"},
        cites=(SHADOW,),
    ),
    Case(
        name="openshift-g-equals-u-passwd",
        pattern="OpenShift arbitrary-UID pattern `chgrp 0 /etc/passwd && chmod g=u /etc/passwd`",
        source="OpenShift guidelines for images supporting arbitrary user ids; sclorg images",
        text=dockerfile("""
            FROM registry.access.redhat.com/ubi9/ubi-minimal:9.4
            RUN chgrp 0 /etc/passwd && chmod g=u /etc/passwd
            USER 1001
            CMD ["/usr/bin/bash"]
            """),
        present={"DA213": ">=medium"},
        cites=(SHADOW,),
    ),
    Case(
        name="copy-named-files-only",
        pattern="only named files copied (no `COPY . .`), no .dockerignore",
        source="PRODYNA/dapr-demo (COPY go.mod/go.sum/*.go), cassizx/hello_world_golang (COPY main.go)",
        text=dockerfile("""
            FROM python:3.13-slim
            COPY requirements.txt /app/requirements.txt
            RUN pip install --no-cache-dir -r /app/requirements.txt
            COPY app.py /app/app.py
            USER 65534
            CMD ["python", "/app/app.py"]
            """),
        not_medium=("DA601",),
        absent=("DA602",),
        cites=(IGNORE,),
    ),
    Case(
        name="copy-whole-context-without-dockerignore",
        pattern="`COPY . .` with no .dockerignore",
        source="hyoshitake/handsup_seminar, shiviraj/jobsalrtServer, myekini/CNN_Image_Detection",
        text=dockerfile("""
            FROM python:3.13-slim
            WORKDIR /app
            COPY . .
            RUN pip install --no-cache-dir -r requirements.txt
            USER 65534
            CMD ["python", "app.py"]
            """),
        present={"DA601": "medium"},
        absent=("DA602",),
        cites=(IGNORE, "rules.md DA601 no-dockerignore: medium; v2: DA602 not applicable then"),
    ),
    Case(
        name="twins-reported-once",
        pattern="root, no HEALTHCHECK, shell-form CMD and a secret ENV in one file",
        source="koudaiii/rails-docker-sample, iNeuron-Pvt-Ltd/housing_prediciton-style apps",
        text=dockerfile("""
            FROM python:3.13-slim
            ENV DJANGO_SECRET_KEY=k8s7d9f8g7h6j5k4l3m2n1b2v3c4x5z6
            COPY manage.py /app/manage.py
            EXPOSE 8000
            CMD python /app/manage.py runserver 0.0.0.0:8000
            """),
        present={"DA606": "high", "DA608": None, "DA607": "medium", "DA605": "critical"},
        absent=("DA101", "DA102", "DA103", "DA104"),
        secrets=("k8s7d9f8g7h6j5k4l3m2n1b2v3c4x5z6",),
        cites=(TWINS,),
    ),
    Case(
        name="single-stage-gcc-not-purged",
        pattern="compilers installed in the only stage and kept",
        source="koudaiii/rails-docker-sample (build-essential), scottbishop-style rails images",
        text=dockerfile("""
            FROM python:3.13-slim
            RUN apt-get update && apt-get install -y --no-install-recommends gcc libpq-dev \\
                && rm -rf /var/lib/apt/lists/*
            COPY requirements.txt .
            RUN pip install --no-cache-dir -r requirements.txt
            USER 65534
            CMD ["python", "-m", "app"]
            """),
        present={"DA604": "medium"},
        cites=("rules.md DA604 single-stage-build: medium",),
    ),
    Case(
        name="postgres-style-comments-inside-run",
        pattern="comment lines inside a continued RUN (docker-library style) and a tab-indented package list",
        source="docker-library/postgres, docker-library/php",
        text=dockerfile("""
            FROM debian:bookworm-slim
            RUN set -eux; \\
            \tapt-get update; \\
            # the extension needs these at build time only
            \tapt-get install -y --no-install-recommends \\
            \t\tgcc \\
            #\t\tlibxml2-dev \\
            \t\tmake \\
            \t; \\
            \trm -rf /var/lib/apt/lists/*
            CMD ["sh"]
            """),
        absent=("DA207",),
        cites=("rules.md DA207: cleanup in the same RUN", "issue #12 Done when: no crash, idempotent"),
    ),
)

CASES = (*CASES, *HELDOUT_CASES, *SERVER_CASES, *HELDOUT_5_TO_7_CASES)
