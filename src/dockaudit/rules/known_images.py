"""What well-known public images do at run time, for when the image itself is not present locally.

Each entry is read from the image's own Dockerfile and entrypoint script (docker-library and vendor
repositories, 2026): its default user, whether the entrypoint starts as root and drops privileges itself
(gosu, su-exec), the paths the server writes to, the capabilities that root start needs, and the
variables its entrypoint also reads from a file (`NAME_FILE`). Datastores are the images DA703 guards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class KnownImage:
    """Run-time behaviour of one well-known image."""

    repos: tuple[str, ...]
    """Repository names as `repository_name` returns them (`postgres`, `bitnami/*` for a namespace)."""
    source: str
    """Where the behaviour was read."""
    user: str = ""
    """The image's default `USER` as `uid:gid`; empty when it starts as root."""
    drops_to: str = ""
    """The user (`name uid:gid`) a root-started entrypoint switches to; empty when it does not."""
    root_server: bool = False
    """The main process stays root by design (nginx, httpd masters) and a `user:` would break it."""
    app_user: str = ""
    """A non-root `uid:gid` the image provides for the app without using it by default (node's `node`)."""
    writable: tuple[str, ...] = ()
    """Paths the server writes to outside its declared volumes: each needs a tmpfs under `read_only`."""
    caps: tuple[str, ...] = ()
    """Capabilities the root-started entrypoint needs once all are dropped."""
    file_variables: tuple[str, ...] = ()
    """Variables the entrypoint also reads from `NAME_FILE` (a Compose secret can replace them)."""


_DB_DROP_CAPS = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID")

KNOWN_IMAGES: tuple[KnownImage, ...] = (
    KnownImage(
        ("postgres", "postgis/postgis", "timescale/timescaledb"),
        "docker-library/postgres docker-entrypoint.sh (gosu/su-exec postgres; file_env)",
        drops_to="postgres 999:999",
        writable=("/var/run/postgresql", "/tmp"),
        caps=_DB_DROP_CAPS,
        file_variables=("POSTGRES_PASSWORD", "POSTGRES_USER", "POSTGRES_DB", "POSTGRES_INITDB_ARGS"),
    ),
    KnownImage(
        ("mysql", "percona", "percona/percona-server"),
        "docker-library/mysql docker-entrypoint.sh (gosu mysql; file_env)",
        drops_to="mysql 999:999",
        writable=("/var/run/mysqld", "/tmp"),
        caps=_DB_DROP_CAPS,
        file_variables=("MYSQL_ROOT_PASSWORD", "MYSQL_PASSWORD", "MYSQL_USER", "MYSQL_DATABASE"),
    ),
    KnownImage(
        ("mariadb",),
        "MariaDB/mariadb-docker docker-entrypoint.sh (gosu mysql; file_env for MARIADB_* and MYSQL_*)",
        drops_to="mysql 999:999",
        writable=("/run/mysqld", "/tmp"),
        caps=_DB_DROP_CAPS,
        file_variables=(
            "MARIADB_ROOT_PASSWORD",
            "MARIADB_PASSWORD",
            "MARIADB_USER",
            "MARIADB_DATABASE",
            "MYSQL_ROOT_PASSWORD",
            "MYSQL_PASSWORD",
            "MYSQL_USER",
            "MYSQL_DATABASE",
        ),
    ),
    KnownImage(
        ("mongo",),
        "docker-library/mongo docker-entrypoint.sh (gosu mongodb; file_env)",
        drops_to="mongodb 999:999",
        writable=("/tmp",),
        caps=_DB_DROP_CAPS,
        file_variables=("MONGO_INITDB_ROOT_USERNAME", "MONGO_INITDB_ROOT_PASSWORD"),
    ),
    KnownImage(
        ("redis", "valkey/valkey"),
        "docker-library/redis docker-entrypoint.sh (chown of /data, then gosu/setpriv redis)",
        drops_to="redis 999:999",
        writable=("/tmp",),
        caps=("CHOWN", "SETGID", "SETUID"),
    ),
    KnownImage(
        ("rabbitmq",),
        "docker-library/rabbitmq docker-entrypoint.sh (gosu rabbitmq)",
        drops_to="rabbitmq 999:999",
        writable=("/tmp",),
        caps=_DB_DROP_CAPS,
    ),
    KnownImage(("memcached",), "docker-library/memcached Dockerfile (USER memcache)", user="11211:11211"),
    KnownImage(
        (
            "elasticsearch",
            "elastic/elasticsearch",
            "docker.elastic.co/elasticsearch/elasticsearch",
            "opensearchproject/opensearch",
        ),
        "elastic/dockerfiles and opensearch-build Dockerfiles (USER 1000)",
        user="1000:1000",
    ),
    KnownImage(
        ("nginx",),
        "nginxinc/docker-nginx (the master process runs as root; workers as nginx 101)",
        root_server=True,
        writable=("/var/cache/nginx", "/var/run", "/run", "/tmp"),
        caps=("CHOWN", "DAC_OVERRIDE", "SETGID", "SETUID", "NET_BIND_SERVICE"),
    ),
    KnownImage(
        ("httpd", "php", "wordpress"),
        "docker-library/httpd and php (apache and php-fpm masters run as root; workers as www-data 33)",
        root_server=True,
        writable=("/usr/local/apache2/logs", "/var/run/apache2", "/run", "/tmp"),
        caps=("CHOWN", "DAC_OVERRIDE", "SETGID", "SETUID", "NET_BIND_SERVICE"),
        file_variables=("WORDPRESS_DB_PASSWORD", "WORDPRESS_DB_USER", "WORDPRESS_DB_NAME", "WORDPRESS_DB_HOST"),
    ),
    KnownImage(
        ("linuxserver/*", "lscr.io/linuxserver/*"),
        "linuxserver.io base images (s6-overlay starts as root, then runs the app as abc with PUID/PGID)",
        drops_to="abc (PUID:PGID)",
    ),
    KnownImage(("node",), "nodejs/docker-node Dockerfile (user node 1000, not the default)", app_user="1000:1000"),
    KnownImage(("nginxinc/nginx-unprivileged",), "nginxinc/docker-nginx-unprivileged (USER 101)", user="101:101"),
    KnownImage(("jenkins/jenkins",), "jenkinsci/docker Dockerfile (USER jenkins 1000)", user="1000:1000"),
    KnownImage(("grafana/grafana",), "grafana/grafana Dockerfile (USER 472)", user="472:0"),
    KnownImage(("prom/prometheus",), "prometheus/prometheus Dockerfile (USER nobody)", user="65534:65534"),
    KnownImage(("bitnami/*",), "bitnami/containers (non-root images, USER 1001)", user="1001:1001"),
    KnownImage(("cgr.dev/chainguard/*",), "Chainguard images (nonroot 65532 by default)", user="65532:65532"),
)

DATASTORES = frozenset(
    {
        "postgres", "postgresql", "postgis", "timescaledb", "mysql", "mariadb", "percona", "percona-server",
        "mongo", "mongodb", "redis", "redis-stack", "redis-stack-server", "valkey", "keydb", "dragonfly",
        "memcached", "elasticsearch", "opensearch", "solr", "meilisearch", "typesense", "rabbitmq", "kafka",
        "zookeeper", "nats", "cassandra", "scylla", "couchdb", "couchbase", "influxdb", "clickhouse",
        "clickhouse-server", "neo4j", "cockroach", "arangodb", "questdb", "etcd", "rethinkdb", "orientdb",
        "yugabyte", "surrealdb", "edgedb", "mssql",
    }
)  # fmt: skip
"""Last path components of database, cache, search and broker images (DA703)."""

_DIGEST = re.compile(r"@sha256:[0-9a-f]+$")


def repository_name(image: str) -> str:
    """`postgres` for `docker.io/library/postgres:16`, `bitnami/redis` for `bitnami/redis:7@sha256:...`."""
    ref = _DIGEST.sub("", image.strip().lower())
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        ref = ref[: ref.rfind(":")]
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/", "library/"):
        if ref.startswith(prefix):
            ref = ref[len(prefix) :]
            break
    return ref


def known_image(image: str) -> KnownImage | None:
    """The table entry for an image reference, if it has one."""
    repo = repository_name(image)
    if not repo:
        return None
    for entry in KNOWN_IMAGES:
        for pattern in entry.repos:
            if pattern.endswith("/*") and repo.startswith(pattern[:-1]):
                return entry
            if repo == pattern:
                return entry
    return None


def is_datastore(image: str) -> bool:
    """Whether the image is a database, cache, search engine or message broker, by its repository name."""
    repo = repository_name(image)
    if not repo:
        return False
    last = repo.rsplit("/", 1)[-1]
    # mcr.microsoft.com/mssql/server names the product one level up.
    return last in DATASTORES or (last == "server" and "mssql" in repo)
