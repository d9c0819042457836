"""Turn Engine API JSON (inspect, top) into typed facts, redacting secret values on the way."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from dockaudit.command_secrets import redact_command
from dockaudit.facts.container import ContainerState, HostConfig, Mount, PortBinding, Process
from dockaudit.facts.image import Healthcheck, ImageConfig, NamedValue
from dockaudit.parse.timestamps import parse_timestamp
from dockaudit.secrets import redact_pair

Json = Mapping[str, Any]
ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - describes a binding, binds nothing


def _strs(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


_DEFAULT_CAPABILITIES = frozenset(
    {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "NET_RAW",
     "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
)  # fmt: skip
"""Docker's default capability set, against which Podman's inspect lists what a container drops."""


def _cap_drop(dropped: tuple[str, ...], added: tuple[str, ...]) -> tuple[str, ...]:
    """`("ALL",)` when every default capability is dropped (or dropped and re-added), else `dropped` as given.

    Podman's inspect lists each dropped default capability where Docker's says `ALL`.
    """
    names = {c.upper().removeprefix("CAP_") for c in (*dropped, *added)}
    if dropped and "ALL" not in {c.upper() for c in dropped} and names >= _DEFAULT_CAPABILITIES:
        return ("ALL",)
    return dropped


def command(value: Any, allow: Iterable[str] = ()) -> tuple[str, ...] | None:
    """An entrypoint or cmd as a tuple (None when unset), each argument with credentials redacted."""
    if value is None or value == []:
        return None  # Podman writes an unset entrypoint as `[]` where Docker writes null
    return tuple(redact_command(arg, allow) for arg in _strs(value))


def split_env(entry: str) -> tuple[str, str]:
    """`NAME=value` → (name, value); a bare `NAME` has an empty value."""
    name, _, value = entry.partition("=")
    return name, value


_PLAIN_PAIRS: set[tuple[str, str, tuple[str, ...]]] = set()
"""Pairs already found to hold no secret: a fleet repeats the same labels on every image, and classifying them
was most of listing 1,000 images. A pair with a secret is never remembered (no raw secret is kept)."""


def named(name: str, value: str, allow: Iterable[str] = ()) -> NamedValue:
    """A name/value pair with its value redacted when it is a secret."""
    key = (name, value, tuple(allow))
    if key in _PLAIN_PAIRS:
        return NamedValue(name, value, None)
    safe, match = redact_pair(name, value, key[2])
    if match is None and safe == value and len(_PLAIN_PAIRS) < 50_000:
        _PLAIN_PAIRS.add(key)
    return NamedValue(name, safe, match)


def env(entries: Iterable[str], allow: Iterable[str] = ()) -> tuple[NamedValue, ...]:
    """`Config.Env` entries as redacted pairs, in their order."""
    return tuple(named(*split_env(e), allow) for e in entries)


def labels(values: Mapping[str, Any] | None, allow: Iterable[str] = ()) -> tuple[NamedValue, ...]:
    """Labels as redacted pairs, sorted by name."""
    return tuple(named(k, str(v), allow) for k, v in sorted((values or {}).items()))


def healthcheck(value: Json | None) -> Healthcheck | None:
    """`Config.Healthcheck`, None when absent."""
    if not value:
        return None
    return Healthcheck(
        test=_strs(value.get("Test")),
        interval_ns=_int(value.get("Interval")),
        timeout_ns=_int(value.get("Timeout")),
        retries=_int(value.get("Retries")),
        start_period_ns=_int(value.get("StartPeriod")),
    )


def image_config(config: Json | None, allow: Iterable[str] = ()) -> ImageConfig:
    """An image's `Config` (inspect `.Config` and the saved config's `config` share their keys)."""
    cfg = config or {}
    allow = tuple(allow)
    return ImageConfig(
        user=str(cfg.get("User") or ""),
        env=env(_strs(cfg.get("Env")), allow),
        entrypoint=command(cfg.get("Entrypoint"), allow),
        cmd=command(cfg.get("Cmd"), allow),
        healthcheck=healthcheck(cfg.get("Healthcheck")),
        labels=labels(cfg.get("Labels"), allow),
        exposed_ports=tuple(sorted((cfg.get("ExposedPorts") or {}).keys())),
        volumes=tuple(sorted((cfg.get("Volumes") or {}).keys())),
        stop_signal=str(cfg.get("StopSignal") or ""),
        workdir=str(cfg.get("WorkingDir") or ""),
        shell=_strs(cfg.get("Shell")) if cfg.get("Shell") else None,
        on_build=tuple(redact_command(i, allow) for i in _strs(cfg.get("OnBuild"))),
    )


def port_bindings(inspect: Json) -> tuple[PortBinding, ...]:
    """Published ports: the actual bindings of a running container, else the requested ones."""
    settings = (inspect.get("NetworkSettings") or {}).get("Ports") or {}
    requested = (inspect.get("HostConfig") or {}).get("PortBindings") or {}
    source = settings if any(settings.values()) else requested
    out: list[PortBinding] = []
    for port, bindings in sorted(source.items()):
        for b in bindings or ():
            # An empty HostIp publishes on every interface.
            out.append(PortBinding(port, str(b.get("HostIp") or ALL_INTERFACES), _int(b.get("HostPort"))))
    return tuple(out)


def host_config(inspect: Json) -> HostConfig:
    """The security-relevant part of a container's `.HostConfig`."""
    hc = inspect.get("HostConfig") or {}
    restart = hc.get("RestartPolicy") or {}
    log = hc.get("LogConfig") or {}
    masked = hc.get("MaskedPaths")
    readonly = hc.get("ReadonlyPaths")
    pids = hc.get("PidsLimit")
    return HostConfig(
        privileged=bool(hc.get("Privileged")),
        network_mode=str(hc.get("NetworkMode") or ""),
        pid_mode=str(hc.get("PidMode") or ""),
        ipc_mode=str(hc.get("IpcMode") or ""),
        uts_mode=str(hc.get("UTSMode") or ""),
        userns_mode=str(hc.get("UsernsMode") or ""),
        cgroupns_mode=str(hc.get("CgroupnsMode") or ""),
        cgroup_parent=str(hc.get("CgroupParent") or ""),
        readonly_rootfs=bool(hc.get("ReadonlyRootfs")),
        cap_add=_strs(hc.get("CapAdd")),
        cap_drop=_cap_drop(_strs(hc.get("CapDrop")), _strs(hc.get("CapAdd"))),
        security_opt=_strs(hc.get("SecurityOpt")),
        memory=_int(hc.get("Memory")),
        memory_swap=_int(hc.get("MemorySwap")),
        nano_cpus=_int(hc.get("NanoCpus")),
        cpu_quota=_int(hc.get("CpuQuota")),
        cpu_period=_int(hc.get("CpuPeriod")),
        cpu_shares=_int(hc.get("CpuShares")),
        pids_limit=None if pids is None else _int(pids),
        devices=tuple(
            f"{d.get('PathOnHost', '')}:{d.get('PathInContainer', '')}:{d.get('CgroupPermissions', '')}"
            for d in hc.get("Devices") or ()
        ),
        device_cgroup_rules=_strs(hc.get("DeviceCgroupRules")),
        restart_policy=str(restart.get("Name") or ""),
        restart_max_retries=_int(restart.get("MaximumRetryCount")),
        log_driver=str(log.get("Type") or ""),
        log_options=tuple(sorted((str(k), str(v)) for k, v in (log.get("Config") or {}).items())),
        masked_paths=None if masked is None else _strs(masked),
        readonly_paths=None if readonly is None else _strs(readonly),
        oom_kill_disable=bool(hc.get("OomKillDisable")),
        init=bool(hc.get("Init")),
        port_bindings=port_bindings(inspect),
        tmpfs=tuple(sorted((hc.get("Tmpfs") or {}).keys())),
        extra_hosts=_strs(hc.get("ExtraHosts")),
    )


def mounts(inspect: Json) -> tuple[Mount, ...]:
    """`.Mounts` of a container."""
    return tuple(
        Mount(
            type=str(m.get("Type") or ""),
            source=str(m.get("Source") or ""),
            destination=str(m.get("Destination") or ""),
            read_write=bool(m.get("RW")),
            propagation=str(m.get("Propagation") or ""),
            name=str(m.get("Name") or ""),
        )
        for m in inspect.get("Mounts") or ()
    )


def state(inspect: Json) -> ContainerState:
    """`.State` plus the restart count."""
    st = inspect.get("State") or {}
    health = st.get("Health")
    return ContainerState(
        status=str(st.get("Status") or ""),
        running=bool(st.get("Running")),
        pid=_int(st.get("Pid")),
        exit_code=_int(st.get("ExitCode")),
        oom_killed=bool(st.get("OOMKilled")),
        health_status=str(health.get("Status")) if isinstance(health, Mapping) and health.get("Status") else None,
        restart_count=_int(inspect.get("RestartCount")),
        started_at=parse_timestamp(st.get("StartedAt")),
    )


_PID = ("PID",)
_PPID = ("PPID",)
_UID = ("UID", "USER")
_STATE = ("STAT", "S", "STATE")
_CMD = ("COMMAND", "CMD", "ARGS")


def _column(titles: Sequence[str], names: Sequence[str]) -> int | None:
    for name in names:
        if name in titles:
            return titles.index(name)
    return None


def processes(top: Json, allow: Iterable[str] = ()) -> tuple[Process, ...]:
    """`docker top` rows, whatever columns the engine's `ps` printed; command lines redacted."""
    titles = [str(t).upper() for t in top.get("Titles") or ()]
    cols = [_column(titles, names) for names in (_PID, _PPID, _UID, _STATE, _CMD)]

    def cell(row: Sequence[Any], index: int | None) -> str:
        return str(row[index]) if index is not None and index < len(row) else ""

    return tuple(
        Process(
            pid=_int(cell(row, cols[0])),
            ppid=_int(cell(row, cols[1])),
            uid=cell(row, cols[2]),
            state=cell(row, cols[3]),
            command=redact_command(cell(row, cols[4]), allow),
        )
        for row in top.get("Processes") or ()
    )
