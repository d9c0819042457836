"""Collect the facts of an engine's host: the engine's info, version and disk usage, its daemon.json and dockerd
command line when the engine is local, and the client's config.json (never its secrets).
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker

from dockaudit.engine import api
from dockaudit.errors import EngineError
from dockaudit.facts.host import HostFacts, RegistryAuth

DAEMON_JSON = Path("/etc/docker/daemon.json")


def _client_config(config_dir: Path | None) -> tuple[str | None, tuple[RegistryAuth, ...], str | None]:
    """Path, auth entries (never their secrets) and credsStore of the client's config.json."""
    base = config_dir or Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker")
    path = base / "config.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return (str(path) if path.exists() else None), (), None
    if not isinstance(data, dict):
        return str(path), (), None
    store = data.get("credsStore") or None
    helpers = data.get("credHelpers") or {}
    auths: list[RegistryAuth] = []
    for registry, entry in sorted((data.get("auths") or {}).items()):
        entry = entry if isinstance(entry, dict) else {}
        helper = helpers.get(registry) or store
        auths.append(
            RegistryAuth(
                registry=str(registry),
                has_auth=bool(entry.get("auth")) or bool(entry.get("password")),
                has_identity_token=bool(entry.get("identitytoken")),
                helper=str(helper) if helper else None,
            )
        )
    for registry, helper in sorted(helpers.items()):
        if registry not in (data.get("auths") or {}):
            auths.append(RegistryAuth(str(registry), False, False, str(helper)))
    return str(path), tuple(auths), (str(store) if store else None)


def _daemon_json(path: Path) -> dict[str, object] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _dockerd_hosts() -> tuple[str, ...]:
    """`-H`/`--host` values of a local dockerd's command line, when /proc shows it."""
    hosts: list[str] = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if (proc / "comm").read_text().strip() != "dockerd":
                continue
            args = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        for i, arg in enumerate(args):
            if arg in ("-H", "--host") and i + 1 < len(args):
                hosts.append(args[i + 1])
            elif arg.startswith(("-H=", "--host=")):
                hosts.append(arg.split("=", 1)[1])
            elif arg.startswith("-H") and len(arg) > 2 and not arg.startswith("-H="):
                hosts.append(arg[2:])
    return tuple(dict.fromkeys(hosts))


def _insecure_registries(info: api.Json) -> tuple[str, ...]:
    reg = info.get("RegistryConfig") or {}
    out = list(reg.get("InsecureRegistryCIDRs") or ())
    for name, index in sorted((reg.get("IndexConfigs") or {}).items()):
        if isinstance(index, dict) and index.get("Secure") is False:
            out.append(str(name))
    return tuple(dict.fromkeys(str(x) for x in out))


def _reclaimable(df: api.Json) -> int:
    """Bytes `docker system prune` frees: unused dangling images, stopped containers, unused build cache."""
    total = 0
    for image in df.get("Images") or ():
        tags = [t for t in image.get("RepoTags") or () if t != "<none>:<none>"]
        if not tags and int(image.get("Containers") or 0) <= 0:
            shared = int(image.get("SharedSize") or 0)
            total += max(0, int(image.get("Size") or 0) - max(shared, 0))
    for container in df.get("Containers") or ():
        if container.get("State") != "running":
            total += int(container.get("SizeRw") or 0)
    for cache in df.get("BuildCache") or ():
        if not cache.get("InUse") and not cache.get("Shared"):
            total += int(cache.get("Size") or 0)
    return total


def _is_local(endpoint: str) -> bool:
    return endpoint.startswith(("unix://", "npipe://")) or endpoint.startswith("/")


def collect_host(
    client: docker.DockerClient,
    *,
    engine_id: str,
    endpoint: str,
    tls: bool,
    docker_config_dir: Path | None = None,
    daemon_json_path: Path = DAEMON_JSON,
    with_disk_usage: bool = True,
) -> HostFacts:
    """Facts of the engine (info, version, disk usage), its daemon.json when local and the client's config."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        info_f = pool.submit(api.info, client)
        version_f = pool.submit(api.version, client)
        df_f = pool.submit(api.system_df, client) if with_disk_usage else None
        info, version = info_f.result(), version_f.result()
        try:
            df = df_f.result() if df_f is not None else {}
        except EngineError:
            df = {}
    security = tuple(str(s) for s in info.get("SecurityOptions") or ())
    components = " ".join(str(c.get("Name", "")) for c in version.get("Components") or ())
    local = _is_local(endpoint)
    daemon = _daemon_json(daemon_json_path) if local else None
    listed = (daemon or {}).get("hosts")
    hosts = [str(h) for h in listed] if isinstance(listed, list) else []
    if local:
        hosts.extend(_dockerd_hosts())
    config_path, auths, store = _client_config(docker_config_dir)
    return HostFacts(
        engine=engine_id,
        endpoint=endpoint,
        server_version=str(version.get("Version") or ""),
        api_version=str(version.get("ApiVersion") or ""),
        os=str(info.get("OperatingSystem") or ""),
        kernel=str(info.get("KernelVersion") or ""),
        rootless=any("rootless" in s for s in security) or bool(info.get("Rootless")),
        podman="podman" in components.lower(),
        security_options=security,
        insecure_registries=_insecure_registries(info),
        live_restore=bool(info.get("LiveRestoreEnabled")),
        logging_driver=str(info.get("LoggingDriver") or ""),
        daemon_json=daemon,
        daemon_hosts=tuple(dict.fromkeys(hosts)),
        tls=tls,
        client_config_path=config_path,
        registry_auths=auths,
        creds_store=store,
        content_trust=os.environ.get("DOCKER_CONTENT_TRUST") == "1",
        reclaimable_bytes=_reclaimable(df),
        images_count=int(info.get("Images") or 0),
        containers_count=int(info.get("Containers") or 0),
    )
