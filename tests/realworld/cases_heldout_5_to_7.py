"""Real-world patterns met on the fifth, sixth and seventh held-out sets (December 2026, about 25 public Dockerfiles
from as many repositories each).

Files of our own reproducing patterns met in public Dockerfiles; none is copied from those repositories.
"""

from __future__ import annotations

from tests.realworld.model import ALPINE, DEBIAN, FAKE_GOSU, KEEP, NO_HEALTHCHECK, Case, Probe, Runtime, dockerfile

GLOB_COPIED_DROP = (
    "harden.md 'Who the image runs as': entrypoints that drop privileges themselves, read from the entrypoint script "
    "when the build context has it (a wildcard COPY brings it in like a named one) -> no USER; DA101/DA606 info"
)

PARENT_STAGE_LAYERS = (
    "rules.md DA207: package lists kept in a layer are in the image; the layers of a stage the runtime stage is "
    "built FROM (`FROM base`) are the image's own, and removing the lists in a later layer does not shrink it. "
    "harden.md: no cleanup where a later RUN of a stage built FROM this one installs without its own update"
)

SOLR = (
    "harden.md HEALTHCHECK: the service speaks HTTP on a known port: the official solr image's `solr-foreground` "
    "serves Solr's HTTP API on 8983 (exposed), and its eclipse-temurin base ships curl (adoptium/containers#255)"
)
TOMCAT_EMPTY_WEBAPPS = (
    "harden.md HEALTHCHECK: never a probe that cannot pass: the official tomcat image's webapps is empty, so `/` "
    "answers 404, which wget treats as a failure; curl may be purged with the build dependencies"
)

ROLES = (
    "harden.md HEALTHCHECK: never a probe that cannot pass: an entrypoint that starts the web server or a worker "
    "by its first argument makes one image for several services, and an image HEALTHCHECK of the web port would "
    "mark every worker container unhealthy"
)

ROLE_ENTRYPOINT = """#!/bin/bash
set -e
server() {
  /app/manage.py db upgrade
  exec gunicorn -b 0.0.0.0:5000 --name app -w 4 app.wsgi:app
}
worker() {
  exec supervisord -c worker.conf
}
case "$1" in
  server) shift; server ;;
  worker) shift; worker ;;
  *) exec "$@" ;;
esac
"""

BROKEN_CHECK = (
    "rules.md DA608: a HEALTHCHECK that calls a tool the stage does not have (curl installed in a virtual group "
    "and deleted with it); named files copied to / bring no tools. harden.md: never a probe that cannot pass, and "
    "no edit where none is known to be safe: the check stays, with the reason"
)

CLICKHOUSE_DROP = (
    "harden.md 'Who the image runs as': entrypoints that drop privileges themselves -> no USER; ClickHouse's own "
    "`clickhouse su USER:GROUP program` switches user as gosu does"
)
UBUNTU_USER = (
    "harden.md: a suitable non-root user exists (known in the base) -> USER <uid>:<gid> of that user; ubuntu images "
    "from 23.04 on ship `ubuntu` (1000:1000)"
)

CLICKHOUSE_ENTRYPOINT = """#!/bin/bash
set -eo pipefail
USER="$(id --user --name "${CLICKHOUSE_UID:-101}")"
GROUP="$(id --group --name "${CLICKHOUSE_GID:-101}")"
if [[ $# -lt 1 ]] || [[ "$1" == "--"* ]]; then
    chown -R "$USER:$GROUP" /var/lib/clickhouse
    exec /usr/bin/clickhouse su "${USER}:${GROUP}" /usr/bin/clickhouse-server --config-file="$CONFIG" "$@"
fi
exec "$@"
"""

SOURCED_DROP = (
    "harden.md 'Who the image runs as': entrypoints that drop privileges themselves, read from the build context: "
    "an entrypoint that sources every script of a start-up directory drops where one of them does"
)
NO_COMMAND = (
    "harden.md: when unsure whether an edit is safe, advise: an image with no CMD or ENTRYPOINT of its own, whose "
    "base starts a prompt, runs whatever command it is given, so whether that can run without root is unknown"
)
UNNUMBERED_APP_USER = (
    "harden.md: a new user only where none exists; the file's own app user (which owns the app's files) has no "
    "fixed UID, so there is no number to switch to and a USER by name is hadolint DL3066: advice"
)
PYTHON2_ONLY = (
    "harden.md HEALTHCHECK: a client the final stage has: Debian's and Ubuntu's `python` package is Python 2, "
    "which cannot run the python3 probe, and no python3 comes with it"
)

STARTUP_ENTRYPOINT = """#!/bin/sh
for f in /startup-sequence/*; do
    . "$f" || exit 1
done
"""
STARTUP_LAUNCH = """DATADIR=/data
chown -R app:app "$DATADIR"
exec su-exec app /usr/local/bin/server --datadir "$DATADIR" "$@"
"""

START_WITH_DROP = """#!/bin/sh
# Root at start: match the data directory's owner, then run the server as the game user.
if [ "$(id -u)" = 0 ]; then
  runAsUser=mc
  chown -R "$runAsUser:$runAsUser" /data
  exec su-exec "$runAsUser" "$@"
fi
exec "$@"
"""

HELDOUT_5_TO_7_CASES: tuple[Case, ...] = (
    Case(
        name="glob-copied-start-script-drops-with-su-exec",
        pattern="`COPY start* /` brings in `/start`, which chowns /data and `exec su-exec` to a user made by "
        "`adduser -Ss /bin/false -u 1000 -G mc ... mc` (busybox option cluster)",
        source="itzg/docker-minecraft-server (su-exec era)",
        text=dockerfile(f"""
            FROM {ALPINE}
            RUN addgroup -g 1000 mc \\
              && adduser -Ss /bin/false -u 1000 -G mc -h /home/mc mc \\
              && mkdir -m 777 /data
            COPY su-exec /sbin/su-exec
            COPY start* /
            COPY www /www
            VOLUME ["/data"]
            EXPOSE 8080
            ENTRYPOINT ["/start"]
            CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
            """),
        files={
            ".dockerignore": ".git\n",
            "www/index.html": "<h1>ok</h1>\n",
            "su-exec": FAKE_GOSU,
            "start": START_WITH_DROP,
            "start-utils": 'log() { echo "$@"; }\n',
        },
        present={"DA606": "info"},
        user=KEEP,
        healthcheck=Probe(("wget",), 8080),
        runtime=Runtime(uid=1000, healthy=True, owned={"/data": 1000}),
        cites=(GLOB_COPIED_DROP,),
    ),
    Case(
        name="rails-style-base-build-final-lists-in-the-base-stage",
        pattern="`FROM ruby-slim AS base` installs with apt and keeps the lists; `FROM base AS build` installs more "
        "without an update; the final `FROM base` removes the lists in a later layer",
        source="Rails 7.1+ generated Dockerfiles (maybe-finance/maybe and many Rails apps)",
        text=dockerfile(f"""
            FROM {DEBIAN} AS base
            WORKDIR /app
            RUN apt-get update -qq && apt-get install --no-install-recommends -y curl libvips
            ENV APP_ENV=production

            FROM base AS build
            RUN apt-get install --no-install-recommends -y build-essential pkg-config
            COPY . .
            RUN make

            FROM base
            RUN rm -rf /var/lib/apt/lists /var/cache/apt/archives
            COPY --from=build /app/out /app/out
            RUN useradd -u 1000 app
            USER 1000
            CMD ["/app/out/server"]
            """),
        files={".dockerignore": ".git\n"},
        present={"DA207": "low"},
        user=KEEP,
        untouched_stages=("base", "build"),
        cites=(PARENT_STAGE_LAYERS,),
    ),
    Case(
        name="solr-foreground-on-temurin",
        pattern='official solr layout: FROM eclipse-temurin:17-jre-jammy, solr user, `CMD ["solr-foreground"]`, '
        "EXPOSE 8983",
        source="apache/solr-docker",
        text=dockerfile("""
            FROM eclipse-temurin:17-jre-jammy
            ARG SOLR_UID=8983
            RUN groupadd -r --gid "$SOLR_UID" solr && useradd -r --uid "$SOLR_UID" --gid "$SOLR_UID" solr
            COPY --chown=0:0 solr/ /opt/solr/
            ENV PATH="/opt/solr/bin:/opt/solr/docker/scripts:$PATH"
            EXPOSE 8983
            WORKDIR /var/solr
            USER $SOLR_UID
            ENTRYPOINT ["docker-entrypoint.sh"]
            CMD ["solr-foreground"]
            """),
        files={".dockerignore": ".git\n", "solr/README": "solr\n"},
        present={"DA608": "medium"},
        user=KEEP,
        healthcheck=Probe(("curl",), 8983),
        cites=(SOLR,),
    ),
    Case(
        name="tomcat-official-layout-gets-no-wget-probe",
        pattern="official tomcat layout: curl installed for the download and purged with apt-mark auto + purge "
        '--auto-remove, webapps left empty, `CMD ["catalina.sh", "run"]`',
        source="docker-library/tomcat (temurin variants)",
        text=dockerfile("""
            FROM eclipse-temurin:21-jdk-noble
            ENV CATALINA_HOME=/usr/local/tomcat
            ENV PATH=$CATALINA_HOME/bin:$PATH
            WORKDIR $CATALINA_HOME
            RUN set -eux; \\
                savedAptMark="$(apt-mark showmanual)"; \\
                apt-get update; \\
                apt-get install -y --no-install-recommends curl gnupg; \\
                curl -fL -o tomcat.tar.gz "https://downloads.example.org/tomcat.tar.gz"; \\
                echo "0000  tomcat.tar.gz" | sha512sum -c -; \\
                tar -xf tomcat.tar.gz --strip-components=1; rm tomcat.tar.gz; \\
                mv webapps webapps.dist; mkdir webapps; \\
                apt-mark auto '.*' > /dev/null; \\
                [ -z "$savedAptMark" ] || apt-mark manual $savedAptMark > /dev/null; \\
                apt-get purge -y --auto-remove -o APT::AutoRemove::RecommendsImportant=false; \\
                rm -rf /var/lib/apt/lists/*
            EXPOSE 8080
            CMD ["catalina.sh", "run"]
            """),
        present={"DA608": "medium"},
        healthcheck=NO_HEALTHCHECK,
        forbid_probe_ports=(8080,),
        cites=(TOMCAT_EMPTY_WEBAPPS,),
    ),
    Case(
        name="entrypoint-dispatching-server-and-worker-roles",
        pattern='`ENTRYPOINT ["/app/bin/docker-entrypoint"]` + `CMD ["server"]`: a case on $1 runs gunicorn '
        "for `server` and supervisord workers for `worker`; Flask in requirements, EXPOSE 5000",
        source="getredash/redash (and Sentry/Superset-style images that serve several roles)",
        text=dockerfile("""
            FROM python:3.12-slim
            RUN useradd --create-home redash
            WORKDIR /app
            COPY requirements.txt ./
            RUN pip install --no-cache-dir -r requirements.txt
            COPY --chown=redash . /app
            EXPOSE 5000
            USER redash
            ENTRYPOINT ["/app/bin/docker-entrypoint"]
            CMD ["server"]
            """),
        files={
            ".dockerignore": ".git\n",
            "requirements.txt": "flask==3.0.3\ngunicorn==22.0.0\nrq==1.16.2\n",
            "bin/docker-entrypoint": ROLE_ENTRYPOINT,
        },
        present={"DA608": "medium"},
        user=KEEP,
        healthcheck=NO_HEALTHCHECK,
        forbid_probe_ports=(5000,),
        cites=(ROLES,),
    ),
    Case(
        name="healthcheck-calls-curl-deleted-with-its-build-group",
        pattern="`apk add --virtual build-deps build-base curl ...` ... `apk del build-deps`, then `COPY "
        "docker-entrypoint.sh broker.conf /` and `HEALTHCHECK CMD curl -f mqtt://localhost/ || exit 1`",
        source="eclipse/mosquitto (alpine 2.0 images)",
        text=dockerfile("""
            FROM alpine:3.20
            RUN apk --no-cache add --virtual build-deps build-base curl cmake \\
                && curl -fsSL -o /tmp/src.tgz https://example.org/broker.tgz \\
                && echo "0000  /tmp/src.tgz" | sha256sum -c - \\
                && make -C /tmp/src install \\
                && apk --no-cache add ca-certificates \\
                && apk del build-deps && rm -rf /tmp/src /tmp/src.tgz
            COPY docker-entrypoint.sh broker.conf /
            EXPOSE 1883
            ENTRYPOINT ["/docker-entrypoint.sh"]
            CMD ["/usr/sbin/broker", "-c", "/broker.conf"]
            HEALTHCHECK --interval=1m --timeout=10s CMD curl -f mqtt://localhost/ || exit 1
            """),
        files={
            ".dockerignore": ".git\n",
            "docker-entrypoint.sh": '#!/bin/sh\nset -e\nexec "$@"\n',
            "broker.conf": "listener 1883\n",
        },
        present={"DA608": "medium"},
        healthcheck=KEEP,
        cites=(BROKEN_CHECK,),
    ),
    Case(
        name="clickhouse-su-entrypoint-drops",
        pattern='`exec /usr/bin/clickhouse su "${USER}:${GROUP}" clickhouse-server ...` after chown, no USER',
        source="ClickHouse/ClickHouse docker/server",
        text=dockerfile("""
            FROM ubuntu:22.04
            RUN groupadd -r clickhouse --gid=101 \\
                && useradd -r -g clickhouse --uid=101 --home-dir=/var/lib/clickhouse --shell=/bin/bash clickhouse
            COPY entrypoint.sh /entrypoint.sh
            EXPOSE 9000 8123 9009
            VOLUME /var/lib/clickhouse
            ENTRYPOINT ["/entrypoint.sh"]
            """),
        files={".dockerignore": ".git\n", "entrypoint.sh": CLICKHOUSE_ENTRYPOINT},
        present={"DA606": "info"},
        user=KEEP,
        cites=(CLICKHOUSE_DROP,),
    ),
    Case(
        name="ubuntu-noble-app-reuses-the-ubuntu-user",
        pattern="a Python bot on `ubuntu:latest` (24.04: it ships `ubuntu`, 1000:1000) running as root",
        source="matheeshaofficial/CortanaYTDL and many hobby images FROM ubuntu:latest",
        text=dockerfile("""
            FROM ubuntu:24.04
            RUN apt-get update && apt-get install -y --no-install-recommends python3 && rm -rf /var/lib/apt/lists/*
            WORKDIR /app
            COPY bot.py ./
            CMD ["python3", "bot.py"]
            """),
        files={".dockerignore": ".git\n", "bot.py": "print('polling')\n"},
        present={"DA606": "high"},
        user="reuse:1000",
        cites=(UBUNTU_USER,),
    ),
    Case(
        name="entrypoint-sourcing-a-startup-directory-drops",
        pattern='`for f in /startup-sequence/*; do . "$f"; done`, the last script of which `exec su-exec`s',
        source="znc/znc-docker (slim)",
        text=dockerfile(f"""
            FROM {ALPINE}
            RUN adduser -D -u 1000 app && mkdir -p /data
            COPY su-exec /sbin/su-exec
            COPY entrypoint.sh /
            COPY 99-launch.sh /startup-sequence/
            COPY www /www
            VOLUME /data
            ENTRYPOINT ["/entrypoint.sh"]
            """),
        files={
            ".dockerignore": ".git\n",
            "www/index.html": "<h1>ok</h1>\n",
            "su-exec": FAKE_GOSU,
            "entrypoint.sh": STARTUP_ENTRYPOINT,
            "99-launch.sh": STARTUP_LAUNCH,
        },
        present={"DA606": "info"},
        user=KEEP,
        cites=(SOURCED_DROP,),
    ),
    Case(
        name="no-command-of-its-own-gets-no-user",
        pattern="a Rails image whose final stage has no CMD or ENTRYPOINT (FROM ruby: irb); Compose gives web, "
        "sidekiq and migrate their commands",
        source="chatwoot/chatwoot docker/Dockerfile",
        text=dockerfile("""
            FROM ruby:3.3-alpine
            RUN apk add --no-cache tzdata postgresql-client
            WORKDIR /app
            COPY . /app
            EXPOSE 3000
            """),
        files={".dockerignore": ".git\n"},
        present={"DA606": "high"},
        user=KEEP,
        cites=(NO_COMMAND,),
    ),
    Case(
        name="app-user-without-a-fixed-uid-is-advice",
        pattern="`useradd -r -g saleor saleor` (no -u) and `chown -R saleor:saleor /app/`, no USER",
        source="saleor/saleor",
        text=dockerfile("""
            FROM python:3.12-slim
            RUN groupadd -r saleor && useradd -r -g saleor saleor
            WORKDIR /app
            COPY . /app
            RUN mkdir -p /app/media && chown -R saleor:saleor /app/
            EXPOSE 8000
            CMD ["gunicorn", "--bind", ":8000", "app.wsgi"]
            """),
        files={".dockerignore": ".git\n"},
        present={"DA606": "high"},
        user=KEEP,
        cites=(UNNUMBERED_APP_USER,),
    ),
    Case(
        name="python2-only-image-gets-no-python-probe",
        pattern="`apt-get install -y python python-pip` on ubuntu, `flask run --port=8080`: only Python 2",
        source="hobby Flask images FROM ubuntu",
        text=dockerfile("""
            FROM ubuntu:18.04
            RUN apt-get update && apt-get install -y python python-pip && rm -rf /var/lib/apt/lists/*
            RUN pip install flask
            COPY app.py /opt/
            ENTRYPOINT FLASK_APP=/opt/app.py flask run --host=0.0.0.0 --port=8080
            """),
        present={"DA608": "medium"},
        healthcheck=NO_HEALTHCHECK,
        forbid_probe_ports=(8080,),
        cites=(PYTHON2_ONLY,),
    ),
)
