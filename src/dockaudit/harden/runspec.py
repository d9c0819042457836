"""A container's `docker run` settings as inspect shows them, rendered as a command and a Compose service."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from dockaudit.facts.container import ContainerFacts
from dockaudit.facts.image import Healthcheck, ImageFacts
from dockaudit.rules.fixes import compose_service

MiB = 1024 * 1024


@dataclass(frozen=True)
class RunSpec:
    """The settings of one `docker run`, in the order they are printed."""

    name: str
    image: str
    user: str = ""
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    env_file: str | None = None
    workdir: str = ""
    hostname: str = ""
    network: str = ""
    pid: str = ""
    ipc: str = ""
    uts: str = ""
    userns: str = ""
    privileged: bool = False
    ports: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    tmpfs: tuple[str, ...] = ()
    read_only: bool = False
    cap_drop: tuple[str, ...] = ()
    cap_add: tuple[str, ...] = ()
    security_opt: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    memory: int = 0
    cpus: float = 0.0
    cpu_shares: int = 0
    pids_limit: int = 0
    oom_kill_disable: bool = False
    init: bool = False
    restart: str = ""
    log_driver: str = ""
    log_options: tuple[tuple[str, str], ...] = ()
    health: Healthcheck | None = None
    labels: tuple[tuple[str, str], ...] = ()
    extra_hosts: tuple[str, ...] = ()
    extra_networks: tuple[str, ...] = field(default=())


def memory_text(value: int) -> str:
    """`512m`, `1g` or bytes, as `--memory` takes it."""
    if value % (1024 * MiB) == 0:
        return f"{value // (1024 * MiB)}g"
    if value % MiB == 0:
        return f"{value // MiB}m"
    return f"{value}b"


def _seconds(ns: int) -> str:
    return f"{ns / 1_000_000_000:g}s"


def _cap(name: str) -> str:
    return name.upper().removeprefix("CAP_")


def spec_from_facts(facts: ContainerFacts, image: ImageFacts | None) -> RunSpec:
    """The `docker run` settings that reproduce the container as inspect shows it."""
    hc = facts.host_config
    image_cfg = image.config if image is not None else None
    entrypoint = facts.entrypoint
    cmd = facts.cmd
    if image_cfg is not None and entrypoint == image_cfg.entrypoint:
        entrypoint = None
        if cmd == image_cfg.cmd:
            cmd = None
    network = hc.network_mode if hc.network_mode not in ("", "default", "bridge") else ""
    extra = tuple(n for n in facts.networks if n not in (network, "bridge"))
    if not network and extra:
        network, extra = extra[0], extra[1:]
    image_volumes = set(image_cfg.volumes) if image_cfg is not None else set()
    volumes: list[str] = []
    tmpfs = list(hc.tmpfs)
    for mount in facts.mounts:
        suffix = "" if mount.read_write else ":ro"
        if mount.propagation and mount.propagation not in ("rprivate", ""):
            suffix += ("," if suffix else ":") + mount.propagation
        if mount.type == "bind":
            volumes.append(f"{mount.source}:{mount.destination}{suffix}")
        elif mount.type == "volume":
            anonymous = bool(re.fullmatch(r"[0-9a-f]{64}", mount.name))
            if anonymous and mount.destination in image_volumes:
                continue
            volumes.append(f"{mount.destination}{suffix}" if anonymous else f"{mount.name}:{mount.destination}{suffix}")
        elif mount.type == "tmpfs" and mount.destination not in tmpfs:
            tmpfs.append(mount.destination)
    ports = []
    for binding in hc.port_bindings:
        ip = "" if binding.host_ip in ("", "0.0.0.0") else binding.host_ip  # noqa: S104 - matching, not binding
        container_port = binding.container_port.removesuffix("/tcp")
        host = f"{ip}:{binding.host_port}" if ip else str(binding.host_port)
        ports.append(f"{host}:{container_port}")
    image_labels = {lab.name: lab.value for lab in image_cfg.labels} if image_cfg is not None else {}
    labels = tuple(
        (lab.name, lab.value)
        for lab in facts.labels
        if not lab.name.startswith("com.docker.compose.") and image_labels.get(lab.name) != lab.value
    )
    cpus = (
        hc.nano_cpus / 1e9
        if hc.nano_cpus
        else (hc.cpu_quota / hc.cpu_period if hc.cpu_quota and hc.cpu_period else 0.0)
    )
    restart = hc.restart_policy if hc.restart_policy not in ("", "no") else ""
    if restart == "on-failure" and hc.restart_max_retries:
        restart = f"on-failure:{hc.restart_max_retries}"
    # The daemon adds `label=disable` by itself for host PID/IPC namespaces; it was never a run flag.
    host_ns = "host" in (hc.pid_mode, hc.ipc_mode)
    security = [o for o in hc.security_opt if not (host_ns and o.replace(":", "=") == "label=disable")]
    if hc.masked_paths == () and not hc.privileged:
        security.append("systempaths=unconfined")
    return RunSpec(
        name=facts.name,
        image=facts.image_ref,
        user=facts.user,
        entrypoint=entrypoint,
        cmd=cmd,
        env_file=f"{facts.name}.env" if facts.env else None,
        workdir=facts.working_dir if image_cfg is not None and facts.working_dir != image_cfg.workdir else "",
        # A host UTS or network namespace shows the host's name, which `docker run` cannot set.
        hostname=facts.hostname
        if facts.hostname and not facts.id.startswith(facts.hostname) and "host" not in (hc.uts_mode, hc.network_mode)
        else "",
        network=network,
        pid=hc.pid_mode if hc.pid_mode == "host" or hc.pid_mode.startswith("container:") else "",
        ipc=hc.ipc_mode if hc.ipc_mode == "host" or hc.ipc_mode.startswith("container:") else "",
        uts=hc.uts_mode if hc.uts_mode == "host" else "",
        userns=hc.userns_mode if hc.userns_mode == "host" else "",
        privileged=hc.privileged,
        ports=tuple(ports),
        volumes=tuple(volumes),
        tmpfs=tuple(tmpfs),
        read_only=hc.readonly_rootfs,
        cap_drop=tuple(_cap(c) for c in hc.cap_drop),
        cap_add=tuple(_cap(c) for c in hc.cap_add),
        security_opt=tuple(security),
        devices=hc.devices,
        memory=hc.memory,
        cpus=round(cpus, 2),
        cpu_shares=hc.cpu_shares if hc.cpu_shares not in (0, 1024) else 0,
        pids_limit=hc.pids_limit if hc.pids_limit and hc.pids_limit > 0 else 0,
        oom_kill_disable=hc.oom_kill_disable,
        init=hc.init,
        restart=restart,
        log_driver=hc.log_driver,
        log_options=hc.log_options,
        health=facts.healthcheck,
        labels=labels,
        extra_hosts=hc.extra_hosts,
        extra_networks=extra,
    )


def run_groups(spec: RunSpec) -> list[list[str]]:
    """The command as argv groups (one flag with its value per group), starting with `run -d`."""
    groups: list[list[str]] = [["run", "-d"], ["--name", spec.name]]

    def add(*words: str) -> None:
        groups.append(list(words))

    if spec.user:
        add("--user", spec.user)
    if spec.env_file:
        add("--env-file", spec.env_file)
    if spec.workdir:
        add("--workdir", spec.workdir)
    if spec.hostname:
        add("--hostname", spec.hostname)
    for flag, value in (
        ("--network", spec.network),
        ("--pid", spec.pid),
        ("--ipc", spec.ipc),
        ("--uts", spec.uts),
        ("--userns", spec.userns),
    ):
        if value:
            add(flag, value)
    if spec.privileged:
        add("--privileged")
    for port in spec.ports:
        add("-p", port)
    for volume in spec.volumes:
        add("-v", volume)
    if spec.read_only:
        add("--read-only")
    for path in spec.tmpfs:
        add("--tmpfs", path)
    for cap in spec.cap_drop:
        add("--cap-drop", cap)
    for cap in spec.cap_add:
        add("--cap-add", cap)
    for opt in spec.security_opt:
        add("--security-opt", opt)
    for device in spec.devices:
        add("--device", device)
    if spec.memory:
        add("--memory", memory_text(spec.memory))
    if spec.cpus:
        add("--cpus", f"{spec.cpus:g}")
    if spec.cpu_shares:
        add("--cpu-shares", str(spec.cpu_shares))
    if spec.pids_limit:
        add("--pids-limit", str(spec.pids_limit))
    if spec.oom_kill_disable:
        add("--oom-kill-disable")
    if spec.init:
        add("--init")
    if spec.restart:
        add("--restart", spec.restart)
    if spec.log_driver:
        add("--log-driver", spec.log_driver)
    for key, value in spec.log_options:
        add("--log-opt", f"{key}={value}")
    if spec.health is not None:
        if spec.health.disabled:
            add("--no-healthcheck")
        else:
            kind, *args = spec.health.test
            add("--health-cmd", " ".join(shlex.quote(a) for a in args) if kind == "CMD" else " ".join(args))
            timings = (
                ("--health-interval", spec.health.interval_ns),
                ("--health-timeout", spec.health.timeout_ns),
                ("--health-start-period", spec.health.start_period_ns),
            )
            for flag, ns in timings:
                if ns:
                    add(flag, _seconds(ns))
            if spec.health.retries:
                add("--health-retries", str(spec.health.retries))
    for key, value in spec.labels:
        add("--label", f"{key}={value}")
    for host in spec.extra_hosts:
        add("--add-host", host)
    entry_rest: list[str] = []
    if spec.entrypoint is not None:
        add("--entrypoint", spec.entrypoint[0] if spec.entrypoint else "")
        entry_rest = list(spec.entrypoint[1:])
    add(spec.image)
    trailing = entry_rest + list(spec.cmd or ())
    if trailing:
        add(*trailing)
    return groups


def render_run(spec: RunSpec, env_names: tuple[str, ...]) -> str:
    """`docker run` with one flag per line; env values live in the --env-file, never on the command line."""
    lines = []
    if spec.env_file:
        lines.append(f"# {spec.env_file} holds the environment: {', '.join(env_names)} (values not shown)")
    for network in spec.extra_networks:
        lines.append(f"# then: docker network connect {network} {spec.name}")
    groups = run_groups(spec)
    body = [" ".join(shlex.quote(w) for w in group) for group in groups]
    lines.append("docker " + " \\\n  ".join(body))
    return "\n".join(lines) + "\n"


def compose_settings(spec: RunSpec) -> dict[str, object]:
    """The Compose service keys equivalent to a run spec."""
    out: dict[str, object] = {"image": spec.image, "container_name": spec.name}
    if spec.user:
        out["user"] = spec.user
    if spec.entrypoint is not None:
        out["entrypoint"] = list(spec.entrypoint)
    if spec.cmd is not None:
        out["command"] = list(spec.cmd)
    if spec.env_file:
        out["env_file"] = [spec.env_file]
    if spec.workdir:
        out["working_dir"] = spec.workdir
    if spec.hostname:
        out["hostname"] = spec.hostname
    if spec.network in ("host", "none") or spec.network.startswith("container:"):
        out["network_mode"] = spec.network
    elif spec.network:
        out["networks"] = [spec.network, *spec.extra_networks]
    for key, value in (("pid", spec.pid), ("ipc", spec.ipc), ("uts", spec.uts), ("userns_mode", spec.userns)):
        if value:
            out[key] = value
    if spec.privileged:
        out["privileged"] = True
    for key, values in (("ports", spec.ports), ("volumes", spec.volumes), ("tmpfs", spec.tmpfs)):
        if values:
            out[key] = list(values)
    if spec.read_only:
        out["read_only"] = True
    for key, values in (
        ("cap_drop", spec.cap_drop),
        ("cap_add", spec.cap_add),
        ("security_opt", spec.security_opt),
        ("devices", spec.devices),
    ):
        if values:
            out[key] = list(values)
    if spec.memory:
        out["mem_limit"] = memory_text(spec.memory)
    if spec.cpus:
        out["cpus"] = spec.cpus
    if spec.cpu_shares:
        out["cpu_shares"] = spec.cpu_shares
    if spec.pids_limit:
        out["pids_limit"] = spec.pids_limit
    if spec.oom_kill_disable:
        out["oom_kill_disable"] = True
    if spec.init:
        out["init"] = True
    if spec.restart:
        out["restart"] = spec.restart
    if spec.log_driver or spec.log_options:
        logging: dict[str, object] = {"driver": spec.log_driver or "json-file"}
        if spec.log_options:
            logging["options"] = dict(spec.log_options)
        out["logging"] = logging
    if spec.health is not None:
        if spec.health.disabled:
            out["healthcheck"] = {"disable": True}
        else:
            check: dict[str, object] = {"test": list(spec.health.test)}
            for key, ns in (
                ("interval", spec.health.interval_ns),
                ("timeout", spec.health.timeout_ns),
                ("start_period", spec.health.start_period_ns),
            ):
                if ns:
                    check[key] = _seconds(ns)
            if spec.health.retries:
                check["retries"] = spec.health.retries
            out["healthcheck"] = check
    if spec.labels:
        out["labels"] = dict(spec.labels)
    if spec.extra_hosts:
        out["extra_hosts"] = list(spec.extra_hosts)
    return out


def compose_text(spec: RunSpec) -> str:
    """The Compose file fragment with this spec as its one service."""
    return compose_service(compose_settings(spec), spec.name) + "\n"
