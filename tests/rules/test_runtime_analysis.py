"""Who the image runs as: the runtime analysis and DA606/DA608, one case per pattern met in public Dockerfiles.

Every Dockerfile here is our own, written after a pattern found in the named public repositories (never copied).
Each case states what the analysis must find and what DA606 (root) and DA608 (healthcheck) must report.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dockaudit.errors import UsageError
from dockaudit.facts.dockerfile import BaseImage, DockerfileFacts
from dockaudit.facts.image import ImageFacts
from dockaudit.model import Status
from dockaudit.parse.dockerfile import parse_dockerfile_text
from dockaudit.parse.dockerfile_image import image_facts_from_dockerfile
from tests.rules.conftest import run_rule

PASS = "pass"
SKIP = "skip"


@dataclass(frozen=True)
class Case:
    """A Dockerfile after a public pattern, with the analysis and rule outcomes it must give."""

    name: str
    source: str
    text: str
    files: dict[str, str] = field(default_factory=dict)
    stage: int | str | None = "last"
    """The runtime stage index, None (no runtime image), or `last`."""
    user: str | None = None
    root: bool | str | None = "any"
    drop: tuple[str, str] | str | None = "any"
    """(tool, user) of the privilege drop, None for no drop, `any` not judged."""
    base_image: bool | None = None
    windows: bool | None = None
    accounts: tuple[tuple[str, int | None], ...] | None = None
    """(name, uid) of the first accounts, in order."""
    has: tuple[str, ...] = ()
    lacks: tuple[str, ...] = ()
    http: int | str | None = "any"
    needs_root: bool | None = None
    da606: str | None = None
    """`high`, `low`, `info`, PASS or SKIP; None: not judged."""
    da608: str | None = None
    target: str | None = None


def dockerfile(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


REDIS_ENTRYPOINT = """#!/bin/sh
set -e
if [ "${1#-}" != "$1" ]; then
  set -- redis-server "$@"
fi
if [ "$1" = 'redis-server' ] && [ "$(id -u)" = '0' ]; then
  find . \\! -user redis -exec chown redis '{}' +
  exec gosu redis "$0" "$@"
fi
exec "$@"
"""

CASES = [
    # ---------------------------------------------------------------- entrypoints that drop privileges
    Case(
        name="postgres-base-entrypoint-drops-with-gosu",
        source="docker-library/postgres usage: init scripts COPY'd onto the official image",
        text="FROM postgres:16.4\nCOPY init.sql /docker-entrypoint-initdb.d/\n",
        drop=("gosu", "postgres"),
        accounts=(("postgres", 999),),
        base_image=False,
        da606="info",
        da608="high-or-medium",
    ),
    Case(
        name="postgres-alpine-base-drops-with-su-exec-to-uid-70",
        source="docker-library/postgres alpine variants (postgres is 70 there)",
        text="FROM postgres:16-alpine\nENV POSTGRES_DB=app\n",
        drop=("su-exec", "postgres"),
        accounts=(("postgres", 70),),
        da606="info",
    ),
    Case(
        name="postgres-base-with-other-command-does-not-drop",
        source="images that reuse postgres for a client job (CMD psql ...): the entrypoint only drops for postgres",
        text='FROM postgres:16.4\nCMD ["psql", "-h", "db", "-c", "select 1"]\n',
        drop=None,
        da606="high",
    ),
    Case(
        name="redis-style-dockerfile-with-its-own-gosu-entrypoint",
        source="docker-library/redis debian Dockerfile and docker-entrypoint.sh (`exec gosu redis`)",
        text=dockerfile("""
            FROM debian:bookworm-slim
            RUN groupadd -r -g 999 redis && useradd -r -g redis -u 999 redis
            RUN apt-get update && apt-get install -y --no-install-recommends gosu && rm -rf /var/lib/apt/lists/*
            COPY docker-entrypoint.sh /usr/local/bin/
            ENTRYPOINT ["docker-entrypoint.sh"]
            EXPOSE 6379
            CMD ["redis-server"]
            """),
        files={"docker-entrypoint.sh": REDIS_ENTRYPOINT},
        drop=("gosu", "redis"),
        accounts=(("redis", 999),),
        has=("gosu",),
        http=None,
        da606="info",
    ),
    Case(
        name="language-image-ending-with-its-repl-is-a-base",
        source="docker-library/node and python Dockerfiles (ENTRYPOINT docker-entrypoint.sh, CMD node / python3)",
        text=dockerfile("""
            FROM alpine:3.20
            RUN addgroup -g 1000 node && adduser -u 1000 -G node -s /bin/sh -D node
            COPY docker-entrypoint.sh /usr/local/bin/
            ENTRYPOINT ["docker-entrypoint.sh"]
            CMD ["node"]
            """),
        files={"docker-entrypoint.sh": '#!/bin/sh\nset -e\nexec "$@"\n'},
        base_image=True,
        da606="info",
    ),
    Case(
        name="app-that-runs-node-on-its-script-is-not-a-base",
        source="node apps (CMD node server.js)",
        text='FROM node:22-alpine\nCOPY . /app\nCMD ["node", "/app/server.js"]\n',
        base_image=False,
    ),
    Case(
        name="entrypoint-prepends-the-drop-tool-with-set",
        source='hashicorp/vault and getsentry docker-entrypoint.sh (`set -- su-exec vault "$@"` ... `exec "$@"`)',
        text=dockerfile("""
            FROM alpine:3.20
            RUN addgroup vault && adduser -S -G vault vault && apk add --no-cache su-exec libcap
            COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
            ENTRYPOINT ["docker-entrypoint.sh"]
            CMD ["server", "-dev"]
            """),
        files={
            "docker-entrypoint.sh": (
                '#!/bin/sh\nset -e\nif [ "$1" = \'server\' ]; then set -- vault "$@"; fi\n'
                "if [ \"$(id -u)\" = '0' ]; then\n  chown -R vault:vault /vault/logs\n"
                '  set -- su-exec vault "$@"\nfi\nexec "$@"\n'
            )
        },
        drop=("su-exec", "vault"),
        da606="info",
    ),
    Case(
        name="rabbitmq-base-entrypoint-drops-with-gosu",
        source="docker-library/rabbitmq: plugins enabled on the official image, its entrypoint chowns and gosu's",
        text="FROM rabbitmq:3.12-management\nRUN rabbitmq-plugins enable --offline rabbitmq_shovel\n",
        drop=("gosu", "rabbitmq"),
        accounts=(("rabbitmq", 999),),
        da606="info",
    ),
    Case(
        name="rabbitmq-alpine-base-drops-with-su-exec-to-uid-100",
        source="docker-library/rabbitmq alpine variant (su-exec; rabbitmq is 100 there)",
        text="FROM rabbitmq:3.12-alpine\nCOPY rabbitmq.conf /etc/rabbitmq/\n",
        drop=("su-exec", "rabbitmq"),
        accounts=(("rabbitmq", 100),),
        da606="info",
    ),
    Case(
        name="alpine-entrypoint-drops-with-su-exec",
        source='docker-library/redis alpine docker-entrypoint.sh (`exec su-exec redis "$0" "$@"`)',
        text=dockerfile("""
            FROM alpine:3.20
            RUN addgroup -S -g 1000 redis && adduser -S -G redis -u 999 redis && apk add --no-cache su-exec
            COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
            ENTRYPOINT ["docker-entrypoint.sh"]
            CMD ["redis-server"]
            """),
        files={"docker-entrypoint.sh": REDIS_ENTRYPOINT.replace("gosu", "su-exec")},
        drop=("su-exec", "redis"),
        accounts=(("redis", 999),),
        da606="info",
    ),
    Case(
        name="entrypoint-copied-to-bin-dir-without-slash",
        source="docker-library/ghost (`COPY docker-entrypoint.sh /usr/local/bin`, `exec gosu node`)",
        text=dockerfile("""
            FROM node:22-bookworm-slim
            RUN apt-get update && apt-get install -y --no-install-recommends gosu && rm -rf /var/lib/apt/lists/*
            COPY docker-entrypoint.sh /usr/local/bin
            ENTRYPOINT ["docker-entrypoint.sh"]
            CMD ["node", "current/index.js"]
            """),
        files={
            "docker-entrypoint.sh": '#!/bin/bash\nset -e\nif [ "$(id -u)" = 0 ]; then exec gosu node "$0" "$@"; fi\n'
        },
        drop=("gosu", "node"),
        da606="info",
    ),
    Case(
        name="setpriv-reuid",
        source="docker-library/rabbitmq-style entrypoints (`setpriv --reuid --regid --init-groups`)",
        text='FROM debian:bookworm-slim\nCOPY entrypoint.sh /entrypoint.sh\nENTRYPOINT ["/entrypoint.sh"]\n',
        files={
            "entrypoint.sh": '#!/bin/sh\nchown -R app /data\nexec setpriv --reuid=app --regid=app --init-groups "$@"\n'
        },
        drop=("setpriv", "app"),
        needs_root=False,
        da606="info",
    ),
    Case(
        name="runuser-u",
        source='CentOS/RHEL-based app images (`exec runuser -u app -- "$@"`)',
        text='FROM rockylinux:9\nCOPY start.sh /start.sh\nENTRYPOINT ["/start.sh"]\nCMD ["app"]\n',
        files={"start.sh": '#!/bin/sh\nexec runuser -u app -- "$@"\n'},
        drop=("runuser", "app"),
        da606="info",
    ),
    Case(
        name="chpst-u",
        source="runit-based images (`exec chpst -u app:app ...`)",
        text='FROM alpine:3.20\nCOPY run /run.sh\nENTRYPOINT ["/run.sh"]\n',
        files={"run": "#!/bin/sh\nexec chpst -u app:app /usr/bin/app\n"},
        drop=("chpst", "app"),
        da606="info",
    ),
    Case(
        name="su-s-c-user-last",
        source='daewood/alpine-redis run.sh (`exec su -s /bin/sh -c "$cmd" redis`)',
        text='FROM alpine:3.20\nCOPY run.sh /usr/local/bin/run.sh\nENTRYPOINT ["run.sh"]\nCMD ["redis-server"]\n',
        files={
            "run.sh": '#!/bin/sh\n[ "$1" = "redis-server" ] || exec "$@"\ncmd=exec; for i; do cmd="$cmd \'$i\'"; done\n'
            'exec su -s /bin/sh -c "$cmd" redis\n'
        },
        drop=("su", "redis"),
        da606="info",
    ),
    Case(
        name="su-login-user-then-command",
        source='chunhui2001/docker-lite entrypoint (`exec su - redis /bin/sh -c "$cmd"`)',
        text='FROM alpine:3.20\nCOPY entrypoint.sh /entrypoint.sh\nENTRYPOINT ["/entrypoint.sh"]\n',
        files={"entrypoint.sh": '#!/bin/sh\nexec su - redis /bin/sh -c "$*"\n'},
        drop=("su", "redis"),
        da606="info",
    ),
    Case(
        name="su-without-user-is-root",
        source="scripts that `su -c` as root (no user operand): no drop",
        text='FROM alpine:3.20\nCOPY entrypoint.sh /entrypoint.sh\nENTRYPOINT ["/entrypoint.sh"]\n',
        files={"entrypoint.sh": '#!/bin/sh\nexec su -c "exec /usr/bin/app"\n'},
        drop=None,
        da606="high",
    ),
    Case(
        name="phusion-setuser",
        source="cbcunc/sci-wms on phusion/baseimage (`exec /sbin/setuser redis ...`)",
        text=dockerfile("""
            FROM phusion/baseimage:jammy-1.0.4
            COPY redis.sh /etc/service/redis/run
            CMD ["/etc/service/redis/run"]
            """),
        files={"redis.sh": "#!/bin/bash\nexec /sbin/setuser redis /usr/bin/redis-server /etc/redis/redis.conf\n"},
        drop=("setuser", "redis"),
        da606="info",
    ),
    Case(
        name="su-exec-in-cmd",
        source='lorenzomorandini/postgres-replication (`CMD ["su-exec", "postgres", "postgres"]`)',
        text='FROM alpine:3.20\nRUN apk add --no-cache su-exec\nCMD ["su-exec", "postgres", "postgres"]\n',
        drop=("su-exec", "postgres"),
        da606="info",
    ),
    Case(
        name="tini-then-gosu-in-entrypoint",
        source='jenkins-style and many app images (`ENTRYPOINT ["tini", "--", "gosu", "app", ...]`)',
        text='FROM debian:bookworm-slim\nENTRYPOINT ["/usr/bin/tini", "--", "gosu", "app", "/app/server"]\n',
        drop=("gosu", "app"),
        da606="info",
    ),
    Case(
        name="s6-overlay-linuxserver-base",
        source="linuxserver/docker-* images (s6-overlay runs services as abc, PUID/PGID)",
        text="FROM lscr.io/linuxserver/baseimage-ubuntu:jammy\nCOPY root/ /\nEXPOSE 8989\n",
        drop=("s6-setuidgid", "abc"),
        da606="info",
    ),
    Case(
        name="entrypoint-writing-etc-needs-root",
        source="envsubst-rendering entrypoints (nginx docker-entrypoint.d style) without a privilege drop",
        text=dockerfile("""
            FROM debian:bookworm-slim
            RUN useradd -r -u 1003 app
            COPY entrypoint.sh /entrypoint.sh
            ENTRYPOINT ["/entrypoint.sh"]
            CMD ["/usr/local/bin/app"]
            """),
        files={"entrypoint.sh": '#!/bin/sh\nset -e\nenvsubst < /etc/app.tmpl > /etc/app.conf\nexec "$@"\n'},
        drop=None,
        needs_root=True,
        accounts=(("app", 1003),),
        da606="high",
    ),
    Case(
        name="entrypoint-that-checks-its-uid-works-without-root",
        source="official images' `allow the container to be started with --user` guard",
        text='FROM debian:bookworm-slim\nCOPY entrypoint.sh /entrypoint.sh\nENTRYPOINT ["/entrypoint.sh"]\n',
        files={"entrypoint.sh": '#!/bin/sh\nif [ "$(id -u)" = 0 ]; then chown -R app /data; fi\nexec "$@"\n'},
        drop=None,
        needs_root=False,
        da606="high",
    ),
    # ---------------------------------------------------------------- users of the base image
    Case(
        name="node-base-provides-node-user",
        source="nodejs/docker-node best practices (`USER node`), many Express apps",
        text='FROM node:20-alpine\nWORKDIR /app\nCOPY . .\nEXPOSE 3000\nCMD ["node", "server.js"]\n',
        accounts=(("node", 1000),),
        drop=None,
        root=True,
        http=None,
        has=("node", "wget", "sh"),
        lacks=("curl",),
        da606="high",
    ),
    Case(
        name="bitnami-runs-as-1001",
        source="bitnami/containers (`USER 1001`) and images built FROM them",
        text="FROM bitnami/redis:7.2\nCOPY redis.conf /opt/bitnami/redis/mounted-etc/redis.conf\n",
        user="1001",
        root=False,
        da606=PASS,
    ),
    Case(
        name="bitnami-root-for-install-then-back",
        source="its-software-services-devops/apache-oidc (`USER root` ... `USER 1001`)",
        text="FROM bitnami/apache:2.4\nUSER root\nRUN apt-get update && apt-get install -y libjansson4\nUSER 1001\n",
        user="1001",
        root=False,
        da606=PASS,
    ),
    Case(
        name="bitnami-root-left-at-the-end",
        source="Dockerfiles that forget to switch back after `USER root`",
        text="FROM bitnami/apache:2.4\nUSER root\nRUN apt-get update && apt-get install -y libjansson4\n",
        user="root",
        root=True,
        da606="high",
    ),
    Case(
        name="nginx-unprivileged-runs-as-101",
        source="nginxinc/docker-nginx-unprivileged static sites",
        text="FROM nginxinc/nginx-unprivileged:1.27-alpine\nCOPY dist/ /usr/share/nginx/html/\n",
        user="101",
        root=False,
        http=8080,
        da606=PASS,
    ),
    Case(
        name="distroless-nonroot-tag",
        source="GoogleContainerTools/distroless (`:nonroot`), Go services",
        text=dockerfile("""
            FROM golang:1.22 AS build
            RUN go build -o /app .
            FROM gcr.io/distroless/static-debian12:nonroot
            COPY --from=build /app /app
            ENTRYPOINT ["/app"]
            """),
        user="65532",
        root=False,
        lacks=("sh", "curl", "wget"),
        da606=PASS,
    ),
    Case(
        name="distroless-default-tag-has-nonroot-account",
        source="distroless images used without :nonroot (they run as root but ship nonroot 65532)",
        text='FROM gcr.io/distroless/base-debian12\nCOPY app /app\nENTRYPOINT ["/app"]\n',
        root=True,
        accounts=(("nonroot", 65532),),
        lacks=("sh",),
        da606="high",
    ),
    Case(
        name="chainguard-static",
        source="chainguard-images (static runs as 65532)",
        text='FROM cgr.dev/chainguard/static:latest\nCOPY app /app\nENTRYPOINT ["/app"]\n',
        root=False,
        da606=PASS,
    ),
    Case(
        name="dotnet-user-app-uid-from-base-env",
        source="dotnet templates on mcr.microsoft.com/dotnet/aspnet:8.0 (`USER $APP_UID`)",
        text=dockerfile("""
            FROM mcr.microsoft.com/dotnet/aspnet:8.0 AS base
            USER $APP_UID
            WORKDIR /app
            EXPOSE 8080
            FROM base AS final
            COPY publish/ .
            ENTRYPOINT ["dotnet", "Api.dll"]
            """),
        user="1654",
        root=False,
        http=8080,
        lacks=("curl", "wget"),
        da606=PASS,
    ),
    # ---------------------------------------------------------------- USER with build args
    Case(
        name="arg-uid-default",
        source="dev-container Dockerfiles (`ARG USER_UID=1000`, `ARG USER_GID=$USER_UID`)",
        text=dockerfile("""
            FROM debian:bookworm-slim
            ARG USER_UID=1000
            ARG USER_GID=$USER_UID
            RUN groupadd -g $USER_GID dev && useradd -u $USER_UID -g $USER_GID dev
            USER ${USER_UID}:${USER_GID}
            CMD ["sleep", "infinity"]
            """),
        user="1000:1000",
        root=False,
        accounts=(("dev", 1000),),
        da606=PASS,
    ),
    Case(
        name="arg-user-defaults-to-root",
        source="configurable images (`ARG RUN_AS=root`, `USER $RUN_AS`)",
        text='FROM debian:bookworm-slim\nARG RUN_AS=root\nUSER $RUN_AS\nCMD ["app"]\n',
        user="root",
        root=True,
        da606="high",
    ),
    Case(
        name="arg-user-without-default",
        source="CI-built images (`ARG UID` passed by --build-arg)",
        text='FROM debian:bookworm-slim\nARG UID\nUSER ${UID}\nCMD ["app"]\n',
        root=None,
        da606="low",
    ),
    Case(
        name="global-arg-redeclared-in-stage",
        source="multi-stage builds sharing a global `ARG APP_USER=app`",
        text=dockerfile("""
            ARG APP_USER=svc
            FROM debian:bookworm-slim
            ARG APP_USER
            RUN useradd -u 2000 $APP_USER
            USER $APP_USER
            CMD ["app"]
            """),
        user="svc",
        root=False,
        accounts=(("svc", 2000),),
        da606=PASS,
    ),
    Case(
        name="arg-default-from-shell-default-syntax",
        source="`USER ${UID:-10001}` in hardened templates",
        text='FROM alpine:3.20\nARG UID\nUSER ${UID:-10001}\nCMD ["app"]\n',
        user="10001",
        root=False,
        da606=PASS,
    ),
    # ---------------------------------------------------------------- users the file creates
    Case(
        name="user-created-but-never-switched",
        source="Dockerfiles that `useradd` and forget `USER`",
        text=dockerfile("""
            FROM python:3.12-slim
            RUN useradd --create-home --uid 1500 appuser
            COPY . /app
            CMD ["python", "/app/main.py"]
            """),
        accounts=(("appuser", 1500),),
        root=True,
        da606="high",
    ),
    Case(
        name="passwd-line-account",
        source="scratch/busybox images that write /etc/passwd lines",
        text='FROM busybox:1.36\nRUN echo "web:x:8080:8080::/www:/bin/false" >> /etc/passwd\nCMD ["httpd", "-f"]\n',
        accounts=(("web", 8080),),
        da606="high",
    ),
    Case(
        name="nginx-style-system-user-created",
        source="nginxinc/docker-nginx debian Dockerfile (`adduser --system --uid 101 --ingroup nginx nginx`)",
        text=dockerfile("""
            FROM debian:bookworm-slim
            RUN addgroup --system --gid 101 nginx && adduser --system --uid 101 --ingroup nginx nginx
            CMD ["nginx", "-g", "daemon off;"]
            """),
        accounts=(("nginx", 101),),
        # nginx starts as root and runs its workers as the `user` of nginx.conf: advice, not a USER.
        drop=("nginx", ""),
        da606="info",
    ),
    # ---------------------------------------------------------------- base images and stages
    Case(
        name="onbuild-base",
        source="psychonautwiki/bifrost and the old node:onbuild images (ONBUILD COPY/RUN)",
        text=dockerfile("""
            FROM node:20
            WORKDIR /usr/src/app
            ONBUILD COPY package.json .
            ONBUILD RUN npm install
            ONBUILD COPY . .
            CMD ["npm", "start"]
            """),
        base_image=True,
        da606="info",
        da608="info",
    ),
    Case(
        name="runtime-base-without-command",
        source="company base images (FROM ubuntu, install a runtime, no CMD of their own)",
        text=dockerfile("""
            FROM ubuntu:24.04
            RUN apt-get update && apt-get install -y --no-install-recommends python3 && rm -rf /var/lib/apt/lists/*
            ENV PYTHONUNBUFFERED=1
            """),
        base_image=True,
        da606="info",
        da608="info",
    ),
    Case(
        name="static-site-on-nginx-without-cmd-is-an-app",
        source="countless `FROM nginx` + `COPY dist /usr/share/nginx/html` front-ends",
        text="FROM nginx:1.27\nCOPY dist/ /usr/share/nginx/html/\n",
        base_image=False,
        drop=("nginx (its master process starts the workers as `user nginx`)", "nginx"),
        http=80,
        has=("curl",),
        da606="info",
        da608="medium",
    ),
    Case(
        name="export-stage-last",
        source="docker build --output patterns (`FROM scratch AS export-stage`, `COPY --from=build`)",
        text=dockerfile("""
            FROM golang:1.22 AS build
            RUN go build -o /out/app .
            FROM scratch AS export-stage
            COPY --from=build /out/ /
            """),
        stage=None,
        da606=SKIP,
        da608=SKIP,
    ),
    Case(
        name="runtime-then-export",
        source="Go projects that ship an image and export the binary from the same Dockerfile",
        text=dockerfile("""
            FROM golang:1.22 AS build
            RUN go build -o /out/app .
            FROM alpine:3.20 AS runtime
            COPY --from=build /out/app /usr/local/bin/app
            CMD ["app"]
            FROM scratch AS export
            COPY --from=build /out/app /
            """),
        stage=1,
        da606="high",
    ),
    Case(
        name="test-stage-last",
        source="sapience/xrpl-go-style `FROM app AS test` at the end",
        text=dockerfile("""
            FROM python:3.12-slim AS app
            COPY . /app
            USER 1000
            CMD ["python", "/app/main.py"]
            FROM app AS test
            USER root
            RUN pip install pytest && pytest /app
            """),
        stage=0,
        user="1000",
        root=False,
        da606=PASS,
    ),
    Case(
        name="ci-only-file",
        source="chrisgavin/paginated-go-gh (stages ci, build, test; no runtime image)",
        text=dockerfile("""
            FROM golang:1.22 AS ci
            COPY . /src
            FROM ci AS lint
            RUN go vet ./...
            FROM ci AS test
            RUN go test ./...
            """),
        stage=None,
        da606=SKIP,
    ),
    Case(
        name="target-picks-a-stage",
        source="dev/prod targets in one Dockerfile (`docker build --target prod`)",
        text=dockerfile("""
            FROM node:20 AS prod
            USER node
            CMD ["node", "server.js"]
            FROM prod AS dev
            USER root
            CMD ["npm", "run", "dev"]
            """),
        target="prod",
        stage=0,
        root=False,
        da606=PASS,
    ),
    Case(
        name="sshd-must-start-as-root",
        source='sshd images (rastasheep/ubuntu-sshd style, `CMD ["/usr/sbin/sshd", "-D"]`)',
        text=dockerfile("""
            FROM ubuntu:24.04
            RUN apt-get update && apt-get install -y openssh-server && rm -rf /var/lib/apt/lists/*
            EXPOSE 22
            CMD ["/usr/sbin/sshd", "-D"]
            """),
        drop=("sshd", ""),
        da606="info",
    ),
    Case(
        name="busybox-httpd-is-not-apache",
        source="busybox httpd static servers (`httpd -f -p 8080 -h /www`): no privilege switch of their own",
        text='FROM busybox:1.36\nCOPY www /www\nEXPOSE 8080\nCMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n',
        drop=None,
        http=8080,
        da606="high",
    ),
    Case(
        name="memcached-u-drops",
        source="ubuntu memcached images (`memcached -u memcached`)",
        text='FROM ubuntu:22.04\nRUN apt-get install -y memcached\nCMD ["memcached", "-u", "memcache"]\n',
        drop=("memcached", "memcache"),
        da606="info",
    ),
    Case(
        name="uwsgi-uid-drops",
        source="early searx and other Python images (`uwsgi --uid searx --gid searx --http :5000`)",
        text=(
            "FROM debian:12\nRUN useradd searx\nEXPOSE 5000\n"
            'CMD ["/usr/local/bin/uwsgi", "--uid", "searx", "--gid", "searx", "--http", ":5000", "-w", "app"]\n'
        ),
        drop=("uwsgi", "searx"),
        da606="info",
    ),
    Case(
        name="gunicorn-user-drops",
        source="Django images started as root that hand gunicorn's workers to www-data",
        text='FROM python:3.12-slim\nCMD ["gunicorn", "--user=www-data", "-b", ":8000", "app.wsgi"]\n',
        drop=("gunicorn", "www-data"),
        http=8000,
        da606="info",
    ),
    Case(
        name="uwsgi-without-uid-stays-root",
        source="uwsgi images with no --uid: the workers keep root",
        text='FROM debian:12\nEXPOSE 5000\nCMD ["uwsgi", "--http", ":5000", "-w", "app"]\n',
        drop=None,
        da606="high",
    ),
    Case(
        name="sshd-started-at-the-end-of-a-shell-command",
        source="zp4rker/centos7-ssh-style images (`CMD echo ... | passwd --stdin && /usr/sbin/sshd -D`)",
        text="FROM centos:7\nRUN yum install -y openssh-server\nEXPOSE 22\nCMD ssh-keygen -A && /usr/sbin/sshd -D\n",
        drop=("sshd", ""),
        da606="info",
    ),
    Case(
        name="s6-overlay-init-entrypoint",
        source='just-containers/s6-overlay users (`ENTRYPOINT ["/init"]` on alpine)',
        text='FROM alpine:3.20\nADD s6-overlay.tar.gz /\nCOPY rootfs/ /\nENTRYPOINT ["/init"]\n',
        drop=("init", ""),
        da606="info",
    ),
    Case(
        name="tini-only-entrypoint-is-a-base",
        source='11philip22/docker-alpine_tini-style bases (`ENTRYPOINT ["/sbin/tini", "--"]`, no CMD)',
        text='FROM alpine:3.20\nRUN apk add --no-cache tini\nENTRYPOINT ["/sbin/tini", "--"]\n',
        base_image=True,
        da606="info",
        da608="info",
    ),
    Case(
        name="prometheus-left-as-root-goes-back-to-nobody",
        source="saturn-pos/railway-prometheus (`FROM prom/prometheus`, `USER root` at the end)",
        text=dockerfile("""
            FROM prom/prometheus
            COPY prometheus.yml /etc/prometheus/prometheus.yml
            USER root
            ENTRYPOINT ["/bin/prometheus"]
            CMD ["--config.file=/etc/prometheus/prometheus.yml"]
            """),
        accounts=(("nobody", 65534),),
        http=9090,
        has=("wget",),
        da606="high",
    ),
    Case(
        name="tomcat-catalina-run",
        source='Tomcat tarball images (`CMD ["/apache-tomcat/bin/catalina.sh", "run"]`)',
        text='FROM eclipse-temurin:17-jre\nEXPOSE 8080\nCMD ["/opt/tomcat/bin/catalina.sh", "run"]\n',
        http=8080,
    ),
    Case(
        name="rails-server-default-port",
        source='Rails apps (`CMD ["rails", "server", "-b", "0.0.0.0"]`, EXPOSE 3000)',
        text='FROM ruby:3.3\nEXPOSE 3000\nCMD ["rails", "server", "-b", "0.0.0.0"]\n',
        http=3000,
        has=("curl",),
    ),
    Case(
        name="nginx-with-its-own-config-port-is-not-guessed",
        source="nginx on ubuntu with a custom nginx.conf (`EXPOSE 8080`, default 80 not exposed)",
        text=dockerfile("""
            FROM ubuntu:24.04
            RUN apt-get install -y nginx
            COPY nginx.conf /etc/nginx/
            EXPOSE 8080
            CMD ["nginx", "-g", "daemon off;"]
            """),
        http=None,
    ),
    Case(
        name="toolbox-image-whose-command-is-a-shell",
        source="alpine bases shipping su-exec and tini for children (`ENTRYPOINT [tini, --]`, `CMD [/bin/sh]`)",
        text='FROM alpine:3.20\nRUN apk add su-exec tini\nENTRYPOINT ["/sbin/tini", "--"]\nCMD ["/bin/sh"]\n',
        base_image=True,
        da606="info",
    ),
    Case(
        name="start-script-written-by-a-run-needs-root",
        source="ssh lab images that printf a start-up script (`service ssh start`) and run it with bash",
        text=dockerfile("""
            FROM debian:bookworm
            RUN apt-get update && apt-get install -y openssh-server
            RUN printf "%s\\n" "#!/bin/bash" "whoami" "service ssh start" "/bin/bash" > start-up.sh
            CMD ["bash", "start-up.sh"]
            """),
        needs_root=True,
        da606="high",
    ),
    # ---------------------------------------------------------------- Windows
    Case(
        name="windows-escape-backtick",
        source="dotnet/dotnet-docker nanoserver Dockerfiles (`# escape=``)",
        text=dockerfile("""
            # escape=`
            FROM mcr.microsoft.com/windows/nanoserver:ltsc2022
            COPY app C:/app
            ENTRYPOINT ["C:/app/app.exe"]
            """),
        windows=True,
        da606="info",
    ),
    Case(
        name="windows-powershell-shell",
        source='PowerShell/PowerShell-Docker servercore images (`SHELL ["powershell", ...]`)',
        text=dockerfile("""
            FROM mcr.microsoft.com/windows/servercore:ltsc2022
            SHELL ["powershell", "-Command"]
            RUN Write-Host hi
            CMD ["powershell"]
            """),
        windows=True,
    ),
    Case(
        name="pwsh-on-linux-is-not-windows",
        source='mcr.microsoft.com/powershell Linux images (`ENTRYPOINT ["pwsh"]`)',
        text='FROM mcr.microsoft.com/powershell:lts-alpine-3.17\nCOPY . /app\nENTRYPOINT ["pwsh", "-NoExit"]\n',
        windows=False,
    ),
    # ---------------------------------------------------------------- tools of the runtime stage
    Case(
        name="purged-curl-after-apt-mark-auto",
        source="docker-library/python and postgres (`apt-mark auto '.*'` then `apt-get purge --auto-remove`)",
        text=dockerfile("""
            FROM debian:bookworm-slim
            RUN set -eux; savedAptMark="$(apt-mark showmanual)"; apt-get update; \\
                apt-get install -y --no-install-recommends curl ca-certificates; \\
                curl -fsSLo /usr/local/bin/gosu https://example.com/gosu; chmod +x /usr/local/bin/gosu; \\
                apt-mark auto '.*' > /dev/null; [ -z "$savedAptMark" ] || apt-mark manual $savedAptMark; \\
                apt-get purge -y --auto-remove -o APT::AutoRemove::RecommendsImportant=false; \\
                rm -rf /var/lib/apt/lists/*
            HEALTHCHECK CMD curl -f http://127.0.0.1:8080/ || exit 1
            CMD ["app"]
            """),
        has=("gosu",),
        lacks=("curl",),
        da608="medium",
    ),
    Case(
        name="curl-installed-after-the-mark-stays",
        source="nginxinc/docker-nginx debian Dockerfile (curl installed with nginx after the build-deps dance)",
        text=dockerfile("""
            FROM debian:bookworm-slim
            RUN apt-get update && apt-get install -y gnupg1 \\
                && apt-mark showmanual | xargs apt-mark auto > /dev/null \\
                && apt-get install --no-install-recommends -y nginx curl \\
                && apt-get remove --purge --auto-remove -y gnupg1 && rm -rf /var/lib/apt/lists/*
            HEALTHCHECK CMD curl -f http://127.0.0.1/ || exit 1
            CMD ["nginx", "-g", "daemon off;"]
            """),
        has=("curl",),
        da608=PASS,
    ),
    Case(
        name="apk-virtual-group-deleted",
        source="nginxinc/docker-nginx alpine (`apk add --virtual .cert-deps curl` ... `apk del .cert-deps`)",
        text=dockerfile("""
            FROM alpine:3.20
            RUN apk add --no-cache --virtual .fetch-deps curl openssl && curl -o /x https://example.com/x \\
                && apk del .fetch-deps
            HEALTHCHECK CMD curl -f http://127.0.0.1/ || exit 1
            CMD ["app"]
            """),
        lacks=("curl",),
        has=("wget",),
        da608="medium",
    ),
    Case(
        name="wget-healthcheck-on-alpine-works",
        source="alpine-based apps probing with busybox wget",
        text='FROM alpine:3.20\nHEALTHCHECK CMD wget -q -O /dev/null http://127.0.0.1:8080/ || exit 1\nCMD ["app"]\n',
        da608=PASS,
    ),
    Case(
        name="shell-healthcheck-on-distroless",
        source="distroless images with a shell-form HEALTHCHECK copied from a debian Dockerfile",
        text=dockerfile("""
            FROM gcr.io/distroless/static-debian12:nonroot
            COPY app /app
            HEALTHCHECK CMD /app health || exit 1
            ENTRYPOINT ["/app"]
            """),
        lacks=("sh",),
        da608="medium",
    ),
    Case(
        name="healthcheck-with-the-apps-own-binary",
        source='Go services (`HEALTHCHECK CMD ["/app", "healthcheck"]`)',
        text=dockerfile("""
            FROM gcr.io/distroless/static-debian12:nonroot
            COPY app /app
            HEALTHCHECK CMD ["/app", "healthcheck"]
            ENTRYPOINT ["/app"]
            """),
        da608=PASS,
    ),
    Case(
        name="unknown-base-is-never-claimed-to-lack-a-tool",
        source="company base images nobody outside knows",
        text=dockerfile("""
            FROM registry.example.com/platform/python-base:3
            HEALTHCHECK CMD curl -f http://127.0.0.1:8000/ || exit 1
            CMD ["app"]
            """),
        da608=PASS,
    ),
    # ---------------------------------------------------------------- HTTP ports
    Case(
        name="gunicorn-bind",
        source="Flask/Django apps (`gunicorn --bind 0.0.0.0:8000`)",
        text='FROM python:3.12-slim\nEXPOSE 8000\nCMD ["gunicorn", "--bind", "0.0.0.0:8000", "app:app"]\n',
        http=8000,
        has=("python3",),
    ),
    Case(
        name="uvicorn-port",
        source="FastAPI apps (`uvicorn main:app --host 0.0.0.0 --port 80`)",
        text='FROM python:3.12-slim\nEXPOSE 80\nCMD ["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "80"]\n',
        http=80,
    ),
    Case(
        name="unknown-app-on-exposed-port-is-not-assumed-http",
        source="node/java apps whose protocol the Dockerfile does not tell",
        text='FROM node:20-slim\nEXPOSE 3000\nCMD ["node", "server.js"]\n',
        http=None,
    ),
    Case(
        name="express-app-named-in-package-json",
        source="docker/awesome-compose react-express-mongodb backend (node:21-alpine, `COPY . .`, EXPOSE 3000)",
        text='FROM node:21-alpine\nWORKDIR /app\nCOPY . .\nRUN npm ci\nEXPOSE 3000\nCMD ["npm", "start"]\n',
        files={"package.json": '{"dependencies": {"express": "^4.19.2", "mongoose": "^8.0.0"}}'},
        http=3000,
    ),
    Case(
        name="flask-app-named-in-requirements",
        source="Flask tutorials (`COPY requirements.txt .`, `CMD python app.py`, EXPOSE 5000)",
        text=dockerfile("""
            FROM python:3.12-slim
            WORKDIR /app
            COPY requirements.txt .
            RUN pip install --no-cache-dir -r requirements.txt
            COPY . .
            EXPOSE 5000
            CMD ["python", "app.py"]
            """),
        files={"requirements.txt": "Flask==3.0.3  # web\nredis>=5\n"},
        http=5000,
    ),
    Case(
        name="flask-run-port-moved-by-the-environment-is-not-guessed",
        source="docker/awesome-compose flask (`ENV FLASK_RUN_PORT 8000`, EXPOSE 8000, `CMD flask run`)",
        text=dockerfile("""
            FROM python:3.12-alpine
            WORKDIR /src
            COPY requirements.txt .
            RUN pip install --no-cache-dir -r requirements.txt
            COPY . .
            ENV FLASK_RUN_PORT 8000
            EXPOSE 8000
            CMD ["flask", "run"]
            """),
        files={"requirements.txt": "flask\n"},
        http=None,
    ),
    Case(
        name="flask-run-on-its-default-port",
        source="Flask quickstarts (`CMD flask run --host=0.0.0.0`, EXPOSE 5000)",
        text='FROM python:3.12-slim\nCOPY . /app\nEXPOSE 5000\nCMD ["flask", "run", "--host=0.0.0.0"]\n',
        http=5000,
    ),
    Case(
        name="prometheus-serves-its-ui-on-9090",
        source="prometheus/prometheus Dockerfile (busybox base, EXPOSE 9090, ENTRYPOINT /bin/prometheus)",
        text=dockerfile("""
            FROM busybox:1.36
            COPY prometheus /bin/prometheus
            EXPOSE 9090
            ENTRYPOINT ["/bin/prometheus"]
            CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
            """),
        http=9090,
    ),
    Case(
        name="prometheus-moved-by-its-listen-flag",
        source="prometheus deployments (`--web.listen-address=:9091`)",
        text=(
            "FROM busybox:1.36\nCOPY prometheus /bin/\n"
            'ENTRYPOINT ["/bin/prometheus", "--web.listen-address=0.0.0.0:9091"]\n'
        ),
        http=9091,
    ),
    Case(
        name="celery-worker-is-not-http",
        source="Celery workers next to a web service (same base, no HTTP framework)",
        text=dockerfile("""
            FROM python:3.12-slim
            COPY requirements.txt .
            RUN pip install --no-cache-dir -r requirements.txt
            EXPOSE 5555
            CMD ["python", "-m", "celery", "-A", "tasks", "worker"]
            """),
        files={"requirements.txt": "celery[redis]==5.4.0\n"},
        http=None,
    ),
    Case(
        name="framework-app-with-two-ports-is-ambiguous",
        source="apps exposing an HTTP and a metrics or debug port",
        text='FROM node:20-slim\nCOPY . .\nEXPOSE 3000 9229\nCMD ["node", "index.js"]\n',
        files={"package.json": '{"dependencies": {"fastify": "^4"}}'},
        http=None,
    ),
    Case(
        name="django-runserver",
        source="Django tutorials (`python manage.py runserver 0.0.0.0:8000`)",
        text="FROM python:3.13-slim\nEXPOSE 8000\nCMD python /app/manage.py runserver 0.0.0.0:8000\n",
        http=8000,
    ),
    Case(
        name="php-fpm-speaks-fastcgi",
        source="docker-library/php fpm images (9000 is FastCGI, not HTTP)",
        text="FROM php:8.3-fpm\nCOPY . /var/www/html\n",
        http=None,
        drop=("php-fpm (its pool workers run as www-data)", "www-data"),
        da606="info",
    ),
    Case(
        name="exposed-port-differs-from-bind",
        source="apps that EXPOSE one port and listen on another",
        text='FROM python:3.12-slim\nEXPOSE 80\nCMD ["gunicorn", "-b", ":8000", "app:app"]\n',
        # The probe runs inside the container: gunicorn's own bind (8000) counts, never the other EXPOSE.
        http=8000,
    ),
    Case(
        name="next-app-package-json-from-the-build-stage",
        source="umami: the runtime stage copies package.json from a builder that took it from the context",
        text=dockerfile(
            """
            FROM node:22-alpine AS builder
            WORKDIR /app
            COPY . .
            RUN yarn build
            FROM node:22-alpine AS runner
            WORKDIR /app
            COPY --from=builder /app/package.json ./package.json
            COPY --from=builder /app/.next/standalone ./
            USER node
            EXPOSE 3000
            CMD ["yarn", "start-docker"]
            """
        ),
        files={
            "package.json": '{"scripts": {"start-docker": "npm-run-all check-db start-server"}, '
            '"dependencies": {"next": "15.0.0", "react": "19.0.0"}}'
        },
        http=3000,
    ),
    # Self-hosted apps installed by the file and started by something that does not name them.
    Case(
        name="ghost-cli-install-run-by-node",
        source="the official ghost image: `ghost install` in a RUN, CMD node current/index.js, EXPOSE 2368",
        text=dockerfile(
            """
            FROM node:22-bookworm-slim
            RUN npm install -g ghost-cli && ghost install 5.96.0 --db sqlite3 --no-prompt --dir /var/lib/ghost
            WORKDIR /var/lib/ghost
            ENTRYPOINT ["docker-entrypoint.sh"]
            EXPOSE 2368
            CMD ["node", "current/index.js"]
            """
        ),
        http=2368,
    ),
    Case(
        name="gitea-binary-started-by-s6",
        source="gitea's image: the binary copied from a build stage, s6-svscan started by an entrypoint",
        text=dockerfile(
            """
            FROM golang:1.23-alpine AS build
            RUN go build -o /out/gitea .
            FROM alpine:3.20
            RUN apk add --no-cache curl s6
            COPY --from=build /out/gitea /app/gitea/gitea
            EXPOSE 22 3000
            ENTRYPOINT ["/usr/bin/entrypoint"]
            CMD ["/bin/s6-svscan", "/etc/s6"]
            """
        ),
        http=3000,
    ),
    Case(
        name="code-server-deb-behind-entrypoint-script",
        source="code-server images: the .deb installed, started by an entrypoint script not in the context",
        text=dockerfile(
            """
            FROM debian:12
            RUN apt-get update && apt-get install -y curl code-server
            EXPOSE 8080
            ENTRYPOINT ["/usr/bin/entrypoint.sh", "--bind-addr", "0.0.0.0:8080", "."]
            """
        ),
        http=8080,
    ),
    Case(
        name="installed-app-run-by-another-program",
        source="an image that installs an app but runs its own worker: the command is not the app's",
        text=dockerfile(
            """
            FROM node:22-slim
            RUN npm install -g n8n
            EXPOSE 5678
            CMD ["python3", "worker.py"]
            """
        ),
        http=None,
    ),
    Case(
        name="installed-app-port-not-exposed",
        source="the app's default port is not exposed: it may be configured elsewhere",
        text=dockerfile(
            """
            FROM node:22-slim
            RUN npm install -g n8n
            EXPOSE 8443
            ENTRYPOINT ["tini", "--", "/docker-entrypoint.sh"]
            """
        ),
        http=None,
    ),
    Case(
        name="two-installed-apps",
        source="two known apps in one image: which one the script starts is unknown",
        text=dockerfile(
            """
            FROM alpine:3.20
            RUN apk add --no-cache gitea
            COPY minio /usr/local/bin/minio
            EXPOSE 3000 9000
            ENTRYPOINT ["/entrypoint.sh"]
            """
        ),
        http=None,
    ),
]


def facts_of(case: Case, tmp_path: Path, lookup: object = None) -> DockerfileFacts:
    for name, content in case.files.items():
        (tmp_path / name).write_text(content)
    return parse_dockerfile_text(
        case.text,
        "Dockerfile",
        context_dir=tmp_path,
        target=case.target,
        base_lookup=lookup,  # type: ignore[arg-type]
    )


def verdict(rule_id: str, facts: DockerfileFacts) -> str:
    found = run_rule(rule_id, facts)
    if not found:
        return PASS
    (finding,) = found
    if finding.status is Status.SKIPPED:
        return SKIP
    return finding.severity.label


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_runtime_analysis(case: Case, tmp_path: Path) -> None:
    runtime = facts_of(case, tmp_path).runtime
    assert runtime is not None
    if case.stage != "last":
        assert runtime.stage == case.stage, runtime.stage_reason
    if case.user is not None:
        assert runtime.user.spec == case.user, runtime.user.detail
    if case.root != "any":
        assert runtime.user.root is case.root, runtime.user.detail
    if case.drop != "any":
        got = (runtime.drop.tool, runtime.drop.user) if runtime.drop else None
        assert got == case.drop, runtime.drop
    if case.base_image is not None:
        assert (runtime.base_image is not None) is case.base_image, runtime.base_image
    if case.windows is not None:
        assert (runtime.windows is not None) is case.windows, runtime.windows
    if case.accounts is not None:
        got_accounts = [(a.name, a.uid) for a in runtime.accounts][: len(case.accounts)]
        assert got_accounts == list(case.accounts)
    for tool in case.has:
        assert runtime.has_tool(tool) is True, (tool, sorted(runtime.tools))
    for tool in case.lacks:
        assert runtime.has_tool(tool) is False, (tool, sorted(runtime.tools), runtime.tools_complete)
    if case.http != "any":
        assert runtime.http_port == case.http, runtime.http_reason
    if case.needs_root is not None:
        assert (runtime.entrypoint_needs_root is not None) is case.needs_root, runtime.entrypoint_needs_root


RULE_CASES = [c for c in CASES if c.da606 is not None or c.da608 is not None]


@pytest.mark.parametrize("case", RULE_CASES, ids=[c.name for c in RULE_CASES])
def test_root_and_healthcheck_findings(case: Case, tmp_path: Path) -> None:
    facts = facts_of(case, tmp_path)
    if case.da606 is not None:
        assert verdict("DA606", facts) == case.da606
        # The image rule over the same file agrees, so the twins merge into one finding of one severity.
        assert verdict("DA101", image_facts_from_dockerfile(facts)) == case.da606
    if case.da608 == "high-or-medium":
        assert verdict("DA608", facts) == "medium"
    elif case.da608 is not None:
        assert verdict("DA608", facts) == case.da608
        assert verdict("DA102", image_facts_from_dockerfile(facts)) == case.da608


def test_drop_finding_names_the_user_and_where(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "redis-style-dockerfile-with-its-own-gosu-entrypoint")
    (finding,) = run_rule("DA606", facts_of(case, tmp_path))
    assert "drops to redis" in finding.evidence
    assert "docker-entrypoint.sh line 8" in finding.evidence


def test_missing_healthcheck_tool_is_named(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "purged-curl-after-apt-mark-auto")
    (finding,) = run_rule("DA608", facts_of(case, tmp_path))
    assert "calls curl" in finding.evidence and finding.location.line == 8


def test_arg_resolving_to_root_says_how(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "arg-user-defaults-to-root")
    (finding,) = run_rule("DA606", facts_of(case, tmp_path))
    assert "ARG RUN_AS=root (line 2)" in finding.evidence
    assert finding.location.line == 3


def test_unknown_target_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"--target nope: no such stage \(stages: prod, dev\)"):
        parse_dockerfile_text("FROM a AS prod\nFROM prod AS dev\n", target="nope")


def test_local_base_image_is_read_instead_of_the_table(tmp_path: Path) -> None:
    """A locally present base (its passwd, Config.User and files) beats the table entry for its name."""
    local = BaseImage(
        ref="node:20",
        files=frozenset({"/bin/sh", "/usr/bin/curl", "/etc/passwd"}),
        passwd="root:x:0:0::/root:/bin/sh\nsvc:x:4000:4000::/home/svc:/bin/sh\n",
        user="4000",
    )
    case = Case(name="local", source="", text='FROM node:20\nCMD ["node", "server.js"]\n')
    runtime = facts_of(case, tmp_path, lambda ref: local if ref == "node:20" else None).runtime
    assert runtime is not None
    assert runtime.user.spec == "4000" and runtime.user.root is False
    assert [a.name for a in runtime.accounts] == ["svc"]
    assert runtime.has_tool("curl") is True and runtime.has_tool("wget") is False


def test_built_image_with_gosu_entrypoint_is_advice() -> None:
    """DA101 on a built image: its command drops privileges, so root at start is advice."""
    from dataclasses import replace

    from tests.rules.conftest import make_image_facts

    facts = make_image_facts()
    facts = replace(facts, config=replace(facts.config, user="", entrypoint=("gosu", "app", "/app/server"), cmd=None))
    (finding,) = run_rule("DA101", facts)
    assert finding.severity.label == "info" and "drops to app" in finding.evidence


def _built(entrypoint: tuple[str, ...] | None, cmd: tuple[str, ...] | None, *paths: str, **config: Any) -> ImageFacts:
    from dataclasses import replace

    from tests.rules.conftest import file_fact, make_filesystem, make_image_facts

    facts = make_image_facts()
    files = [file_fact(p, mode=0o755) for p in paths]
    return replace(
        facts,
        config=replace(facts.config, user="", entrypoint=entrypoint, cmd=cmd, **config),
        filesystem=make_filesystem(*files),
    )


def test_built_image_shipping_gosu_with_an_entrypoint_script_is_advice() -> None:
    """The official-image pattern seen from the layers alone: gosu in the image, a docker-entrypoint.sh start."""
    facts = _built(
        ("docker-entrypoint.sh",), ("redis-server",), "/usr/local/bin/gosu", "/usr/local/bin/docker-entrypoint.sh"
    )
    (finding,) = run_rule("DA101", facts)
    assert finding.severity.label == "info" and "gosu" in finding.evidence


def test_built_image_without_a_drop_tool_is_high() -> None:
    facts = _built(("docker-entrypoint.sh",), ("app",), "/usr/local/bin/docker-entrypoint.sh", "/bin/sh")
    (finding,) = run_rule("DA101", facts)
    assert finding.severity.label == "high"


@pytest.mark.parametrize(("present", "verdict"), [(("/bin/sh",), "medium"), (("/bin/sh", "/usr/bin/curl"), PASS)])
def test_built_image_healthcheck_calling_a_missing_tool_fails(present: tuple[str, ...], verdict: str) -> None:
    from dockaudit.facts.image import Healthcheck

    check = Healthcheck(test=("CMD-SHELL", "curl -f http://127.0.0.1:8080/ || exit 1"))
    facts = _built(None, ("/app/server",), *present, healthcheck=check)
    found = run_rule("DA102", facts)
    assert (found[0].severity.label if found else PASS) == verdict
    if found:
        assert "calls curl" in found[0].evidence
