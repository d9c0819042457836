"""Facts about one container: inspect (host config, mounts, state) and `docker top`."""

from __future__ import annotations

from datetime import datetime

from dockaudit.facts.image import Healthcheck, NamedValue
from dockaudit.records import Record, record


@record
class Mount(Record):
    """A container mount (`.Mounts`)."""

    type: str
    source: str
    destination: str
    read_write: bool
    propagation: str = ""
    name: str = ""


@record
class PortBinding(Record):
    """A published port: container `80/tcp` on host `0.0.0.0:8080`."""

    container_port: str
    host_ip: str
    host_port: int


@record
class Process(Record):
    """A `docker top` row (host PIDs)."""

    pid: int
    ppid: int
    uid: str
    """The user column as `docker top` prints it (name or number)."""
    state: str
    command: str


@record
class HostConfig(Record):
    """The security-relevant part of `.HostConfig`."""

    privileged: bool = False
    network_mode: str = ""
    pid_mode: str = ""
    ipc_mode: str = ""
    uts_mode: str = ""
    userns_mode: str = ""
    cgroupns_mode: str = ""
    cgroup_parent: str = ""
    readonly_rootfs: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    security_opt: tuple[str, ...] = ()
    memory: int = 0
    memory_swap: int = 0
    nano_cpus: int = 0
    cpu_quota: int = 0
    cpu_period: int = 0
    cpu_shares: int = 0
    pids_limit: int | None = None
    devices: tuple[str, ...] = ()
    """`PathOnHost:PathInContainer:perms`."""
    device_cgroup_rules: tuple[str, ...] = ()
    restart_policy: str = ""
    restart_max_retries: int = 0
    log_driver: str = ""
    log_options: tuple[tuple[str, str], ...] = ()
    masked_paths: tuple[str, ...] | None = None
    """None when the engine set the defaults; an empty tuple means unmasked."""
    readonly_paths: tuple[str, ...] | None = None
    oom_kill_disable: bool = False
    init: bool = False
    port_bindings: tuple[PortBinding, ...] = ()
    tmpfs: tuple[str, ...] = ()
    extra_hosts: tuple[str, ...] = ()


@record
class ContainerState(Record):
    """`.State` plus restart count."""

    status: str
    running: bool
    pid: int = 0
    exit_code: int = 0
    oom_killed: bool = False
    health_status: str | None = None
    restart_count: int = 0
    started_at: datetime | None = None


@record
class ContainerFacts(Record):
    """Everything known about one container."""

    id: str
    name: str
    """Without the leading `/`."""
    image_ref: str
    """`Config.Image`: what the container was started from, as typed."""
    image_id: str
    created: datetime | None
    state: ContainerState
    host_config: HostConfig
    mounts: tuple[Mount, ...]
    user: str
    """`Config.User` of the container (empty: the image's user applies)."""
    env: tuple[NamedValue, ...]
    """The container's own env entries, not those inherited unchanged from the image."""
    labels: tuple[NamedValue, ...]
    entrypoint: tuple[str, ...] | None
    cmd: tuple[str, ...] | None
    healthcheck: Healthcheck | None
    """The container's own healthcheck setting; the image's is in `image_healthcheck`."""
    image_user: str = ""
    image_healthcheck: Healthcheck | None = None
    networks: tuple[str, ...] = ()
    processes: tuple[Process, ...] | None = None
    """None when `docker top` cannot run (the container is not running)."""
    processes_skip_reason: str | None = None
    tag_drift: bool | None = None
    """True when `image_ref`'s tag now points to another image ID; None when unknown."""
    engine: str | None = None
    working_dir: str = ""
    hostname: str = ""
    stats_memory_bytes: int | None = None
    stats_cpu_percent: float | None = None
    stats_pids: int | None = None
