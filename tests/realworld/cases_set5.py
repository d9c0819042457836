"""Real-world patterns met on the fifth held-out set (December 2026, 25 public Dockerfiles from 25 repositories).

Files of our own reproducing patterns met in public Dockerfiles; none is copied from those repositories.
"""

from __future__ import annotations

from tests.realworld.model import ALPINE, FAKE_GOSU, KEEP, Case, Probe, Runtime, dockerfile

GLOB_COPIED_DROP = (
    "harden.md 'Who the image runs as': entrypoints that drop privileges themselves, read from the entrypoint script "
    "when the build context has it (a wildcard COPY brings it in like a named one) -> no USER; DA101/DA606 info"
)

START_WITH_DROP = """#!/bin/sh
# Root at start: match the data directory's owner, then run the server as the game user.
if [ "$(id -u)" = 0 ]; then
  runAsUser=mc
  chown -R "$runAsUser:$runAsUser" /data
  exec su-exec "$runAsUser" "$@"
fi
exec "$@"
"""

SET5_CASES: tuple[Case, ...] = (
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
)
