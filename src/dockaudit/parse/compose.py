"""Read a Compose project the way Compose does: its own `config` output, mapped back to the files' lines.

Nothing is interpolated or merged here by hand: Docker Compose v2 resolves `${VAR:-default}`, `.env`,
`env_file`, `extends`, `include`, profiles and merge keys. A second `config --no-interpolate` run tells a
value written in the files from one that came from the shell. Secret values are redacted here. Compose itself is
found and run by `compose_binary`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from dockaudit.command_secrets import redact_command
from dockaudit.errors import UsageError
from dockaudit.facts.compose import (
    ComposeBuild,
    ComposeDependency,
    ComposeEnvVar,
    ComposeMount,
    ComposePort,
    ComposeProject,
    ComposeService,
    EnvOrigin,
)
from dockaudit.facts.image import Healthcheck
from dockaudit.model import Location
from dockaudit.parse.compose_binary import DEFAULT_TIMEOUT, ComposeBinary, find_compose, run_config
from dockaudit.parse.compose_names import COMPOSE_FILE_NAMES, OVERRIDE_FILE_NAMES
from dockaudit.parse.compose_source import (
    SourceIndex,
    build_index,
    display_path,
    port_matches,
    read_env_file,
    volume_matches,
)
from dockaudit.secrets import classify_pair, redact_pair

_REFERENCE = re.compile(
    r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>(?:[^{}]|\{[^{}]*\})*))?\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_DURATION_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}


def find_compose_files(path: Path) -> tuple[Path, ...]:
    """The Compose files a path names: the file itself, or a directory's compose file and its override."""
    if path.is_file():
        return (path,)
    if not path.is_dir():
        raise UsageError(f"{path}: no such Compose file or directory")
    main = next((path / n for n in COMPOSE_FILE_NAMES if (path / n).is_file()), None)
    if main is None:
        raise UsageError(f"{path}: no Compose file in this directory (looked for {', '.join(COMPOSE_FILE_NAMES)})")
    override = next((path / n for n in OVERRIDE_FILE_NAMES if (path / n).is_file()), None)
    return (main,) if override is None else (main, override)


def load_project(
    files: Sequence[str | Path],
    *,
    profiles: Sequence[str] = (),
    env_files: Sequence[str | Path] = (),
    project_dir: str | Path | None = None,
    project_name: str | None = None,
    environ: Mapping[str, str] | None = None,
    allow_secret_names: Iterable[str] = (),
    binary: ComposeBinary | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> ComposeProject:
    """Read a Compose project: files (or one project directory) merged in order, through Compose itself."""
    if not files and project_dir is None:
        raise UsageError("no Compose file given")
    given: list[str] = [str(f) for f in files]
    if not given or (len(given) == 1 and Path(given[0]).is_dir()):
        directory = Path(given[0]) if given else Path(str(project_dir))
        given = [str(p) for p in find_compose_files(directory)]
    paths = [Path(g) for g in given]
    for path in paths:
        if not path.is_file():
            raise UsageError(f"{path}: no such Compose file")
    working_dir = Path(project_dir).resolve() if project_dir is not None else paths[0].resolve().parent
    options: dict[str, Any] = {
        "profiles": tuple(profiles),
        "env_files": tuple(Path(e) for e in env_files),
        "project_dir": Path(project_dir) if project_dir is not None else None,
        "project_name": project_name,
        "environ": environ,
        "binary": binary,
        "timeout": timeout,
    }
    model, warnings = run_config(paths, interpolate=True, **options)
    raw, _ = run_config(paths, interpolate=False, **options)
    index = build_index([(str(p.absolute()), display_path(g)) for p, g in zip(paths, given, strict=True)])
    name = str(model.get("name", ""))
    reader = _ServiceReader(name, working_dir, index, tuple(allow_secret_names), display_path(given[0]))
    services = model.get("services") or {}
    raw_services = raw.get("services") or {}
    built = tuple(
        reader.service(str(svc_name), svc, raw_services.get(svc_name) or {}, services)
        for svc_name, svc in sorted(services.items())
        if isinstance(svc, dict)
    )
    return ComposeProject(
        name=name,
        working_dir=str(working_dir),
        files=tuple(display_path(g) for g in given),
        services=built,
        file_paths=tuple(str(p.absolute()) for p in paths),
        profiles=tuple(profiles),
        env_files=tuple(str(Path(e).absolute()) for e in env_files),
        warnings=warnings,
        compose_version=(binary or find_compose()).version,
    )


def unescape(value: str) -> str:
    """A value as the container gets it: Compose's canonical output keeps a literal `$` as `$$`."""
    return value.replace("$$", "$")


def written_text(raw: str) -> tuple[str, bool]:
    """The text of a raw value written in the file (defaults of references included), and whether it has any."""
    out: list[str] = []
    has_refs = False
    pos = 0
    while pos < len(raw):
        if raw.startswith("$$", pos):
            out.append("$")
            pos += 2
            continue
        match = _REFERENCE.match(raw, pos) if raw[pos] == "$" else None
        if match is None:
            out.append(raw[pos])
            pos += 1
            continue
        has_refs = True
        op = match.group("op") or ""
        if op.endswith(("-", "+")):
            # A default (`:-`) or alternative (`:+`) is text written in the file that the value may become.
            out.append(written_text(match.group("arg") or "")[0])
        pos = match.end()
    return "".join(out), has_refs


def _single_reference_with_default(raw: str) -> bool:
    match = _REFERENCE.fullmatch(raw.strip())
    return match is not None and (match.group("op") or "").endswith("-")


def duration_ns(text: object) -> int:
    """A Go duration (`1m30s`, `500ms`) in nanoseconds; 0 when it cannot be read."""
    if isinstance(text, int | float):
        return int(text)
    total = 0.0
    for number, unit in _DURATION.findall(str(text)):
        total += float(number) * _DURATION_NS[unit]
    return int(total)


def _int(value: object) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdecimal():
        return int(value.strip())
    return 0


def _float(value: object) -> float:
    try:
        return float(value) if isinstance(value, int | float | str) and not isinstance(value, bool) else 0.0
    except ValueError:
        return 0.0


def _strings(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence):
        return tuple(str(v) for v in value if v is not None)
    return ()


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _raw_environment(raw: object) -> dict[str, str | None]:
    """The `environment` of the un-interpolated model, which keeps the list form when the file used it."""
    if isinstance(raw, Mapping):
        return {str(k): (None if v is None else str(v)) for k, v in raw.items()}
    out: dict[str, str | None] = {}
    for entry in _strings(raw):
        name, sep, value = entry.partition("=")
        out[name] = value if sep else None
    return out


def _healthcheck(value: object) -> Healthcheck | None:
    if not isinstance(value, Mapping):
        return None
    if value.get("disable"):
        return Healthcheck(test=("NONE",))
    test = value.get("test")
    if test is None:
        # `disable: false` or timings only: the image's own test still applies.
        return None
    words = ("CMD-SHELL", test) if isinstance(test, str) else _strings(test)
    return Healthcheck(
        test=tuple(redact_command(w) for w in words),
        interval_ns=duration_ns(value.get("interval", 0)),
        timeout_ns=duration_ns(value.get("timeout", 0)),
        retries=_int(value.get("retries", 0)),
        start_period_ns=duration_ns(value.get("start_period", 0)),
    )


def _command(value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(redact_command(w) for w in _strings(value))


class _ServiceReader:
    """Turns one service of the canonical model into `ComposeService` facts."""

    def __init__(self, project: str, working_dir: Path, index: SourceIndex, allow: tuple[str, ...], main: str) -> None:
        self.project = project
        self.working_dir = working_dir
        self.index = index
        self.allow = allow
        self.main = main
        self._env_files: dict[str, dict[str, Any]] = {}

    def service(
        self, name: str, svc: Mapping[str, Any], raw: Mapping[str, Any], services: Mapping[str, Any]
    ) -> ComposeService:
        where = self.index.services.get(name, Location(path=self.main, instruction=f"services.{name}"))
        keys = dict(self.index.key_locations(name))

        def at(*candidates: str) -> Location:
            return next((keys[k] for k in candidates if k in keys), where)

        deploy_limits = _mapping(_mapping(_mapping(svc.get("deploy")).get("resources")).get("limits"))
        logging = _mapping(svc.get("logging"))
        build = svc.get("build")
        pids = svc.get("pids_limit", deploy_limits.get("pids"))
        return ComposeService(
            name=name,
            project=self.project,
            image=str(svc.get("image") or ""),
            build=self._build(build) if isinstance(build, Mapping) else None,
            user=None if svc.get("user") is None else str(svc.get("user")),
            privileged=bool(svc.get("privileged")),
            read_only=bool(svc.get("read_only")),
            init=bool(svc.get("init")),
            network_mode=str(svc.get("network_mode") or ""),
            pid=str(svc.get("pid") or ""),
            ipc=str(svc.get("ipc") or ""),
            uts=str(svc.get("uts") or ""),
            userns_mode=str(svc.get("userns_mode") or ""),
            cgroup=str(svc.get("cgroup") or ""),
            cgroup_parent=str(svc.get("cgroup_parent") or ""),
            cap_add=_strings(svc.get("cap_add")),
            cap_drop=_strings(svc.get("cap_drop")),
            security_opt=_strings(svc.get("security_opt")),
            memory_limit=max(_int(svc.get("mem_limit")), _int(deploy_limits.get("memory"))),
            cpus=max(_float(svc.get("cpus")), _float(deploy_limits.get("cpus"))),
            cpu_quota=_int(svc.get("cpu_quota")),
            cpu_shares=_int(svc.get("cpu_shares")),
            pids_limit=None if pids is None else _int(pids),
            oom_kill_disable=bool(svc.get("oom_kill_disable")),
            devices=tuple(self._device(d) for d in svc.get("devices") or ()),
            device_cgroup_rules=_strings(svc.get("device_cgroup_rules")),
            healthcheck=_healthcheck(svc.get("healthcheck")),
            logging_driver=str(logging.get("driver") or ""),
            logging_options=tuple(sorted((str(k), str(v)) for k, v in _mapping(logging.get("options")).items())),
            logging_set="logging" in svc,
            environment=self._environment(name, svc, raw, at),
            ports=self._ports(name, svc, at("ports")),
            volumes=self._volumes(name, svc, at("volumes")),
            tmpfs=_strings(svc.get("tmpfs")),
            depends_on=self._depends_on(svc, services, at),
            secrets=tuple(str(s.get("source")) if isinstance(s, Mapping) else str(s) for s in svc.get("secrets") or ()),
            expose=_strings(svc.get("expose")),
            profiles=_strings(svc.get("profiles")),
            restart=str(svc.get("restart") or ""),
            entrypoint=_command(svc.get("entrypoint")),
            command=_command(svc.get("command")),
            location=where,
            key_locations=tuple(sorted(keys.items())),
        )

    def _build(self, build: Mapping[str, Any]) -> ComposeBuild:
        return ComposeBuild(
            context=str(build.get("context") or ""),
            dockerfile=str(build.get("dockerfile") or "Dockerfile"),
            target=str(build.get("target") or ""),
        )

    @staticmethod
    def _device(device: object) -> str:
        if isinstance(device, Mapping):
            parts = [str(device.get("source", "")), str(device.get("target", "")), str(device.get("permissions", ""))]
            return ":".join(p for p in parts if p)
        return str(device)

    def _in_project(self, path: str) -> bool:
        try:
            Path(path).resolve().relative_to(self.working_dir)
        except (ValueError, OSError):
            return False
        return True

    def _ports(self, name: str, svc: Mapping[str, Any], fallback: Location) -> tuple[ComposePort, ...]:
        items = self.index.items.get(name, {}).get("ports", [])
        ports = []
        for port in svc.get("ports") or ():
            if not isinstance(port, Mapping):
                continue
            target = _int(port.get("target"))
            published = str(port.get("published") or "")
            loc = next((i.location for i in items if port_matches(i.value, target, published)), fallback)
            ports.append(
                ComposePort(
                    target=target,
                    published=published,
                    host_ip=str(port.get("host_ip") or ""),
                    protocol=str(port.get("protocol") or "tcp"),
                    location=loc,
                )
            )
        return tuple(ports)

    def _volumes(self, name: str, svc: Mapping[str, Any], fallback: Location) -> tuple[ComposeMount, ...]:
        items = self.index.items.get(name, {}).get("volumes", [])
        mounts = []
        for volume in svc.get("volumes") or ():
            if not isinstance(volume, Mapping):
                continue
            kind = str(volume.get("type") or "volume")
            source = str(volume.get("source") or "")
            target = str(volume.get("target") or "")
            mounts.append(
                ComposeMount(
                    type=kind,
                    source=source,
                    target=target,
                    read_only=bool(volume.get("read_only")),
                    propagation=str(_mapping(volume.get("bind")).get("propagation") or ""),
                    in_project=kind == "bind" and self._in_project(source),
                    location=next((i.location for i in items if volume_matches(i.value, target)), fallback),
                )
            )
        return tuple(mounts)

    def _depends_on(
        self, svc: Mapping[str, Any], services: Mapping[str, Any], at: Any
    ) -> tuple[ComposeDependency, ...]:
        deps = []
        for dep, spec in sorted(_mapping(svc.get("depends_on")).items()):
            spec = _mapping(spec)
            target = _mapping(services.get(dep))
            check = _healthcheck(target.get("healthcheck"))
            deps.append(
                ComposeDependency(
                    service=str(dep),
                    condition=str(spec.get("condition") or "service_started"),
                    required=bool(spec.get("required", True)),
                    service_healthcheck=check is not None and not check.disabled,
                    location=at(f"depends_on.{dep}", "depends_on"),
                )
            )
        return tuple(deps)

    def _env_file_lines(self, path: str) -> dict[str, Any]:
        if path not in self._env_files:
            self._env_files[path] = dict(read_env_file(Path(path)))
        return self._env_files[path]

    def _environment(
        self, name: str, svc: Mapping[str, Any], raw: Mapping[str, Any], at: Any
    ) -> tuple[ComposeEnvVar, ...]:
        raw_env = _raw_environment(raw.get("environment"))
        env_files = [
            str(e.get("path")) if isinstance(e, Mapping) else str(e) for e in raw.get("env_file") or () if e is not None
        ]
        out = []
        for var, value in sorted(_mapping(svc.get("environment")).items()):
            if value is None:
                # `- NAME` with NAME unset in the shell: Compose passes nothing.
                continue
            actual = unescape(str(value))
            safe, secret = redact_pair(var, actual, self.allow)
            written = None
            location = at(f"environment.{var}", "environment")
            if var in raw_env:
                raw_value = raw_env[var]
                if raw_value is None:
                    origin = EnvOrigin.SHELL
                else:
                    text, has_refs = written_text(raw_value)
                    if not has_refs:
                        origin = EnvOrigin.COMPOSE_FILE
                    elif _single_reference_with_default(raw_value) and text:
                        origin = EnvOrigin.DEFAULT
                    else:
                        origin = EnvOrigin.INTERPOLATED
                    written = classify_pair(var, text, self.allow) if text else None
            else:
                origin, written, location = self._from_env_file(var, actual, env_files, location)
            out.append(ComposeEnvVar(var, safe, secret, origin, written, location))
        return tuple(out)

    def _from_env_file(
        self, var: str, actual: str, env_files: Sequence[str], fallback: Location
    ) -> tuple[EnvOrigin, Any, Location]:
        """Which env_file set `var` (the last one that has it), with its line and what is written there."""
        for path in reversed(env_files):
            line = self._env_file_lines(path).get(var)
            if line is None:
                continue
            origin = EnvOrigin.ENV_FILE if self._in_project(path) else EnvOrigin.EXTERNAL_ENV_FILE
            shown = (
                display_path(os.path.relpath(path, self.working_dir), self.main)
                if origin is EnvOrigin.ENV_FILE
                else path
            )
            location = Location(path=shown, line=line.line, instruction=f"{var}=…")
            text = written_text(line.value)[0] if line.interpolates else line.value
            written = classify_pair(var, text, self.allow) if origin is EnvOrigin.ENV_FILE and text else None
            return origin, written, location
        if not env_files:
            return EnvOrigin.INTERPOLATED, None, fallback
        # Set by an env_file in a form this reader does not parse: still a value from a file of the project.
        return EnvOrigin.ENV_FILE, classify_pair(var, actual, self.allow), fallback
