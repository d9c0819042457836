"""Real-world patterns met on the held-out eval set of December 2026 (42 public Dockerfiles from 40 repositories).

Files of our own reproducing patterns met in public Dockerfiles; none is copied from those repositories.
"""

from __future__ import annotations

from tests.realworld.model import KEEP, Case, Probe, dockerfile

DA204_FED = (
    "rules.md DA204 add-remote-url: an unverified download reaches the image through the stages it copies from "
    "or is built FROM, not only through its own stage"
)
DA204_DISCARDED = (
    "issue #12 Done when: findings name flaws of the runtime image; a stage nothing copies from is not in it"
)

CAPSH_DROP = (
    "harden.md 'Who the image runs as': entrypoints that drop privileges themselves -> no USER; DA101/DA606 become "
    "info naming the user (capsh --user switches user like setpriv)"
)

CAPSH_START = """#!/bin/bash
# Root at start: set up config and capabilities, then run the daemon as its own user.
chown -R app:app /etc/app
setcap CAP_NET_BIND_SERVICE+eip /usr/bin/appd
capsh --user="${APP_USER}" --keep=1 -- -c "/usr/bin/appd --no-daemon" &
wait $!
"""

WINDOWS_OLD_NAMESPACE = (
    "harden.md: Windows images (# escape=`, PowerShell SHELL, Windows bases) get no Linux edits; the Windows bases "
    "include Docker Hub's old microsoft/dotnet-framework, microsoft/iis and microsoft/aspnet"
)

HEALTH_PATH = (
    "harden.md HEALTHCHECK: added only when a probe can pass: the server's documented health path (Loki /ready, "
    "Prometheus 2 /-/healthy) lets busybox wget check the status"
)
HEALTH_OLD = (
    "harden.md HEALTHCHECK: never a probe that cannot pass: Prometheus 1.x (single-dash flags) has no /-/healthy, "
    "but serves its own metrics at /metrics (200 in every 1.x release), which busybox wget can probe"
)

BUILDER_SCRIPT = (
    "harden.md 'Who the image runs as': the entrypoint script is read from the build context when it is copied in, "
    "also through a builder stage that copied it from the context"
)

CHPST_ENTRYPOINT = """#!/bin/sh
set -eu
if [ "$(id -u)" = '0' ]; then
  chown "$PUID:$PGID" "$HOME" || true
  exec chpst -u ":$PUID:$PGID" env HOME="$HOME" "$@"
else
  exec "$@"
fi
"""

SERVER_HEALTH_COMMAND = (
    "harden.md HEALTHCHECK: added only when a probe can pass: ... or the app has its own health subcommand "
    "(pg_isready, mysqladmin ping, rabbitmq-diagnostics ping ship with their servers)"
)
DOCKER_SOCKET = (
    "harden.md: a fix must never make an image worse: a Docker-socket client (watchtower, traefik's Docker "
    "provider) opens /var/run/docker.sock, root:docker 0660 on the host, so a non-root USER breaks it: advice"
)
SHELL_LESS_VOLUME = (
    "harden.md: `--chown` for directories the app must write (declared VOLUMEs): on a stage without a shell nothing "
    "can chown a VOLUME, so a USER there leaves the app unable to write its data: advice"
)

DA210_FED = (
    "rules.md DA210 curl-pipe-shell: a download piped into a shell; like DA204, a builder stage the image copies "
    "from runs it into what the image ships, while a stage nothing takes from is thrown away"
)

HELDOUT_CASES: tuple[Case, ...] = (
    Case(
        name="curl-pipe-sh-in-the-builder-the-image-copies-from",
        pattern="a Go builder installs its dependency tool with `curl ... | sh`; the runtime stage copies the binary",
        source="hobby Go services of the dep era (golang/dep install.sh piped into sh)",
        text=dockerfile("""
            FROM golang:1.22-alpine AS build-env
            RUN apk add --no-cache curl git
            RUN curl https://example.com/install.sh | sh
            WORKDIR /src
            COPY . .
            RUN go build -o /out/app .

            FROM alpine:3.20
            COPY --from=build-env /out/app /app
            USER 65534
            ENTRYPOINT ["/app"]
            """),
        files={"main.go": "package main\nfunc main() {}\n"},
        present={"DA210": "medium"},
        untouched_stages=("build-env",),
        cites=(DA210_FED,),
    ),
    Case(
        name="curl-pipe-sh-in-a-stage-nothing-takes-from",
        pattern="a lint stage installs its linter with `curl | sh`; the runtime stage neither copies from it nor "
        "builds FROM it",
        source="golangci-lint's install.sh piped into sh in CI stages of Go service Dockerfiles",
        text=dockerfile("""
            FROM golang:1.22-alpine AS lint
            RUN wget -O- -nv https://example.com/golangci/install.sh | sh -s -- -b /usr/local/bin

            FROM golang:1.22-alpine AS build
            WORKDIR /src
            COPY . .
            RUN go build -o /out/app .

            FROM alpine:3.20
            COPY --from=build /out/app /app
            USER 65534
            ENTRYPOINT ["/app"]
            """),
        files={"main.go": "package main\nfunc main() {}\n"},
        absent=("DA210",),
        cites=(DA210_FED,),
    ),
    Case(
        name="rabbitmq-management-child-checks-with-diagnostics",
        pattern="FROM rabbitmq:*-alpine enabling the management plugin, its server inherited (no CMD of its own)",
        source="docker-library/rabbitmq 3.13/alpine/management/Dockerfile",
        text=dockerfile("""
            FROM rabbitmq:3.13-alpine
            RUN set -eux; rabbitmq-plugins enable --offline rabbitmq_management
            EXPOSE 15671 15672
            """),
        healthcheck=Probe(("rabbitmq-diagnostics",), None),
        user=KEEP,
        cites=(SERVER_HEALTH_COMMAND,),
    ),
    Case(
        name="jenkins-controller-probed-on-8080",
        pattern="jenkins.sh under tini as the entrypoint, EXPOSE ${http_port} from an ARG, curl installed",
        source="jenkinsci/docker alpine/hotspot/Dockerfile",
        text=dockerfile("""
            FROM alpine:3.20
            ARG http_port=8080
            RUN apk add --no-cache bash curl git openjdk17-jre tini
            COPY jenkins.sh /usr/local/bin/jenkins.sh
            RUN adduser -D -u 1000 -h /var/jenkins_home jenkins
            USER jenkins
            EXPOSE ${http_port}
            ENTRYPOINT ["/sbin/tini", "--", "/usr/local/bin/jenkins.sh"]
            """),
        files={"jenkins.sh": '#!/bin/bash\nexec java -jar /usr/share/jenkins/jenkins.war "$@"\n'},
        healthcheck=Probe(("curl",), 8080),
        user=KEEP,
        cites=(HEALTH_PATH,),
    ),
    Case(
        name="docker-socket-client-on-scratch-keeps-root",
        pattern="a Go binary on scratch whose job is the Docker socket (ENTRYPOINT /watchtower), no USER",
        source="containrrr/watchtower dockerfiles/Dockerfile; traefik's Dockerfile (ENTRYPOINT /traefik)",
        text=dockerfile("""
            FROM alpine:3.20 AS certs
            RUN apk add --no-cache ca-certificates tzdata

            FROM scratch
            COPY --from=certs /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
            COPY watchtower /
            EXPOSE 8080
            ENTRYPOINT ["/watchtower"]
            """),
        files={"watchtower": "not a real binary\n"},
        user=KEEP,
        cites=(DOCKER_SOCKET,),
    ),
    Case(
        name="scratch-app-with-a-volume-keeps-root",
        pattern="a Go file manager on scratch declaring VOLUME /srv, writing its database beside it, no USER",
        source="filebrowser/filebrowser (early Dockerfile, FROM scratch, VOLUME /srv)",
        text=dockerfile("""
            FROM golang:1.22-alpine AS build
            WORKDIR /src
            COPY . .
            RUN CGO_ENABLED=0 go build -o /out/filebrowser .

            FROM scratch
            COPY --from=build /out/filebrowser /filebrowser
            VOLUME /srv
            EXPOSE 80
            ENTRYPOINT ["/filebrowser"]
            """),
        files={"main.go": "package main\nfunc main() {}\n"},
        user=KEEP,
        cites=(SHELL_LESS_VOLUME,),
    ),
    Case(
        name="entrypoint-copied-from-builder-drops-with-chpst",
        pattern="the Go builder stage copies the whole context; the final stage takes the binary and "
        "script/docker-entrypoint.sh from it with COPY --from; the script drops to PUID:PGID with chpst",
        source="syncthing/syncthing Dockerfile and script/docker-entrypoint.sh",
        text=dockerfile("""
            FROM golang:1.23 AS builder
            WORKDIR /src
            COPY . .
            RUN go build -o app ./cmd/app

            FROM alpine:3.20
            RUN apk add --no-cache runit
            COPY --from=builder /src/app /bin/app
            COPY --from=builder /src/script/docker-entrypoint.sh /bin/entrypoint.sh
            ENV PUID=1000 PGID=1000 HOME=/var/app
            ENTRYPOINT ["/bin/entrypoint.sh", "/bin/app"]
            """),
        files={"script/docker-entrypoint.sh": CHPST_ENTRYPOINT, "cmd/app/main.go": "package main\nfunc main() {}\n"},
        present={"DA606": "info"},
        user=KEEP,
        cites=(BUILDER_SCRIPT,),
    ),
    Case(
        name="loki-on-distroless-debug-probes-ready",
        pattern="Loki copied onto gcr.io/distroless/static:debug (busybox wget under /busybox), USER 10001",
        source="grafana/loki cmd/loki/Dockerfile",
        text=dockerfile("""
            FROM gcr.io/distroless/static:debug
            COPY loki /usr/bin/loki
            SHELL [ "/busybox/sh", "-c" ]
            RUN addgroup -g 10001 -S loki && adduser -u 10001 -S loki -G loki
            USER 10001
            EXPOSE 3100
            ENTRYPOINT [ "/usr/bin/loki" ]
            CMD ["-config.file=/etc/loki/local-config.yaml"]
            """),
        files={"loki": "not a real binary\n"},
        user=KEEP,
        healthcheck=Probe(("wget",), 3100),
        cites=(HEALTH_PATH,),
    ),
    Case(
        name="prometheus-2-on-prometheus-busybox-probes-healthy",
        pattern="Prometheus copied onto quay.io/prometheus/busybox with its --config.file flags",
        source="prometheus/prometheus Dockerfile (2.x)",
        text=dockerfile("""
            FROM quay.io/prometheus/busybox:glibc
            COPY prometheus /bin/prometheus
            USER nobody
            EXPOSE 9090
            ENTRYPOINT [ "/bin/prometheus" ]
            CMD [ "--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus" ]
            """),
        files={"prometheus": "not a real binary\n"},
        user=KEEP,
        healthcheck=Probe(("wget",), 9090),
        cites=(HEALTH_PATH,),
    ),
    Case(
        name="prometheus-1-single-dash-flags-probes-metrics",
        pattern="Prometheus 1.x (flags `-config.file`, `-storage.local.path`) on quay.io/prometheus/busybox",
        source="prometheus/prometheus Dockerfile (2016)",
        text=dockerfile("""
            FROM quay.io/prometheus/busybox:latest
            COPY prometheus /bin/prometheus
            EXPOSE 9090
            ENTRYPOINT [ "/bin/prometheus" ]
            USER nobody
            CMD [ "-config.file=/etc/prometheus/prometheus.yml", "-storage.local.path=/prometheus" ]
            """),
        files={"prometheus": "not a real binary\n"},
        user=KEEP,
        healthcheck=Probe(("wget",), 9090),
        cites=(HEALTH_OLD,),
    ),
    Case(
        name="windows-dotnet-framework-old-hub-namespace",
        pattern="an ASP.NET app built on `microsoft/dotnet-framework-build` and run on `microsoft/dotnet-framework`",
        source="microsoft/dotnet-framework-docker samples/aspnetapp/Dockerfile (2018)",
        text=dockerfile("""
            FROM microsoft/dotnet-framework-build:4.7.1 AS build
            WORKDIR /app
            COPY . .
            RUN dotnet publish -o out

            FROM microsoft/dotnet-framework:4.7.1 AS runtime
            ENV ASPNETCORE_URLS http://+:80
            WORKDIR /app
            COPY --from=build /app/out ./
            ENTRYPOINT ["dotnet", "app.dll"]
            """),
        user=KEEP,
        healthcheck=KEEP,
        absent=("DA208", "DA207"),
        cites=(WINDOWS_OLD_NAMESPACE,),
    ),
    Case(
        name="start-script-drops-with-capsh-user",
        pattern='a start script does root set-up, then `capsh --user="${DNSMASQ_USER}" --keep=1 -- -c ...`',
        source="pi-hole/docker-pi-hole src/start.sh",
        text=dockerfile("""
            FROM alpine:3.20
            RUN apk add --no-cache bash libcap && adduser -S -u 1000 app
            ENV APP_USER=app
            COPY --chmod=0755 start.sh /usr/bin/start.sh
            EXPOSE 53/udp
            ENTRYPOINT ["start.sh"]
            """),
        files={"start.sh": CAPSH_START},
        present={"DA606": "info"},
        user=KEEP,
        cites=(CAPSH_DROP,),
    ),
    Case(
        name="remote-add-in-builder-copied-into-final",
        pattern="builder stage `ADD $DIST /tmp/` of a release tarball, unpacked and COPY --from'd into a micro base",
        source="keycloak/keycloak quarkus/container/Dockerfile (ubi-micro-build stage)",
        text=dockerfile("""
            FROM registry.access.redhat.com/ubi9 AS builder
            ENV APP_VERSION 2.1.0
            ARG APP_DIST=https://github.com/example/app/releases/download/$APP_VERSION/app-$APP_VERSION.tar.gz
            RUN dnf install -y tar gzip
            ADD $APP_DIST /tmp/app/
            RUN cd /tmp/app && tar -xf app-*.tar.gz && mv /tmp/app/app-* /opt/app

            FROM registry.access.redhat.com/ubi9-micro
            COPY --from=builder --chown=1000:0 /opt/app /opt/app
            USER 1000
            ENTRYPOINT ["/opt/app/bin/run.sh"]
            """),
        present={"DA204": "medium"},
        cites=(DA204_FED,),
    ),
    Case(
        name="s6-overlay-add-in-rootfs-stage-copied-from-scratch",
        pattern="s6-overlay tarballs ADDed from GitHub releases in a rootfs stage, the final stage FROM scratch copies "
        "the whole root filesystem",
        source="linuxserver/docker-baseimage-alpine and docker-baseimage-ubuntu (rootfs-stage)",
        text=dockerfile("""
            FROM alpine:3.20 AS rootfs-stage
            ARG S6_OVERLAY_VERSION="3.2.0.0"
            RUN apk add --no-cache bash xz
            ARG S6_URL=https://github.com/just-containers/s6-overlay/releases/download/v${S6_OVERLAY_VERSION}
            ADD ${S6_URL}/s6-overlay-noarch.tar.xz /tmp
            RUN mkdir -p /root-out && tar -C /root-out -Jxpf /tmp/s6-overlay-noarch.tar.xz

            FROM scratch
            COPY --from=rootfs-stage /root-out/ /
            ENTRYPOINT ["/init"]
            """),
        present={"DA204": "medium"},
        cites=(DA204_FED,),
    ),
    Case(
        name="remote-add-in-parent-stage-of-final",
        pattern="a base stage ADDs a database from a URL; the final stage is `FROM base` (picked by an ARG)",
        source="pi-hole/docker-pi-hole src/Dockerfile (macvendor.db, padd.sh)",
        text=dockerfile("""
            FROM alpine:3.20 AS base
            RUN apk add --no-cache bash curl
            ADD --chmod=0755 https://raw.githubusercontent.com/example/tools/main/padd.sh /usr/local/bin/padd
            RUN adduser -S -u 1000 app

            FROM base AS final
            USER 1000
            ENTRYPOINT ["/usr/local/bin/padd"]
            """),
        present={"DA204": "medium"},
        cites=(DA204_FED,),
    ),
    Case(
        name="remote-add-in-builder-read-through-run-mount",
        pattern="a stage's download is read by the final stage through `RUN --mount=from=`",
        source="coder/code-server ci/release-image/Dockerfile (packages stage mounted into dpkg -i)",
        text=dockerfile("""
            FROM scratch AS packages
            ADD https://example.com/releases/tool_1.0_amd64.deb /tmp/

            FROM debian:12-slim
            RUN --mount=from=packages,src=/tmp,dst=/tmp/packages dpkg -i /tmp/packages/tool_1.0_amd64.deb
            USER 65534
            CMD ["tool"]
            """),
        present={"DA204": "medium"},
        cites=(DA204_FED,),
    ),
    Case(
        name="remote-add-in-stage-nothing-copies-from",
        pattern="a release-upload stage downloads with ADD; the runtime stage (--target) neither copies from it nor "
        "is built from it",
        source="louislam/uptime-kuma docker/dockerfile (upload-artifact stage)",
        text=dockerfile("""
            FROM node:22-bookworm-slim AS release
            WORKDIR /app
            COPY server.js .
            USER node
            CMD ["node", "server.js"]

            FROM alpine:3.20 AS upload-artifact
            ADD https://example.com/uploader.sh /usr/local/bin/uploader
            RUN chmod +x /usr/local/bin/uploader
            """),
        files={"server.js": "require('http').createServer((q, s) => s.end('ok')).listen(3000)\n"},
        target="release",
        absent=("DA204",),
        cites=(DA204_DISCARDED,),
    ),
    Case(
        name="checksummed-add-in-builder",
        pattern="`ADD --checksum=sha256:...` of a release in a builder stage",
        source="docker docs ADD --checksum; tini downloads in Java app Dockerfiles",
        text=dockerfile("""
            FROM alpine:3.20 AS fetch
            ADD --checksum=sha256:93dcc18adc78c65a028a84799ecf8ad40c936fdfc5f2a57b1acda5a8117fa82c \\
                https://github.com/krallin/tini/releases/download/v0.19.0/tini /tini

            FROM eclipse-temurin:21-jre
            COPY --from=fetch --chmod=0755 /tini /tini
            COPY app.jar /app/app.jar
            USER 1000
            ENTRYPOINT ["/tini", "--", "java", "-jar", "/app/app.jar"]
            """),
        files={"app.jar": "not a real jar\n"},
        absent=("DA204",),
        cites=(DA204_FED,),
    ),
)
