"""Who and what the image a Dockerfile builds runs as: its runtime stage, user, entrypoint, tools and HTTP port.

Pure: it reads the parsed instructions, the build context (to read an entrypoint script the file copies in) and,
when the caller has one, a locally present base image (`base_lookup`); else the shipped table of well-known
bases (`parse/data/known_images.toml`).
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from dockaudit.facts.dockerfile import DockerfileFacts, DockerfileInstruction, DockerfileStage, RuntimeFacts
from dockaudit.facts.image import ImageFacts
from dockaudit.parse.accounts import (
    CreatedUsers,
    apply_user_commands,
    dedupe_accounts,
    effective_user,
    group_ids,
    passwd_accounts,
)
from dockaudit.parse.base_images import (
    BaseLookup,
    HealthCommand,
    KnownBase,
    ResolvedBase,
    docker_socket_programs,
    health_commands,
    known_base,
    resolve_base,
)
from dockaudit.parse.build_context import (
    CopyInstruction,
    context_copies,
    copied_file,
    read_context_file,
    trace_to_context,
)
from dockaudit.parse.dockerfile_stages import StageView, select_runtime_stage, windows_reason
from dockaudit.parse.executables import base_tools, tools_in
from dockaudit.parse.http_serving import (
    health_path_from_command,
    http_from_command,
    installed_server,
    js_module_files,
    listen_moves,
    local_requires,
    node_entry_script,
    node_http_module,
    node_listener,
    procfile_runner,
    procfile_web_server,
    server_in_script,
    serves_http,
    started_programs,
    starts_jvm_server,
    starts_no_server,
)
from dockaudit.parse.privilege_drop import find_drop, start_script, start_script_text
from dockaudit.parse.shell_text import SHELLS, VARIABLE, expand, run_words, shell_words, strip_init, unquote


def _exec_words(ins: DockerfileInstruction, shell: tuple[str, ...] | None) -> tuple[str, ...]:
    if ins.json_form:
        return tuple(ins.value)
    return (*(shell or ("/bin/sh", "-c")), " ".join(ins.value))


def analyse_runtime(
    text: str,
    instructions: Sequence[DockerfileInstruction],
    stages: Sequence[DockerfileStage],
    *,
    context_dir: Path | None = None,
    target: str | None = None,
    base_lookup: BaseLookup | None = None,
    global_args: Mapping[str, str] | None = None,
) -> RuntimeFacts:
    """Analyse the runtime stage of a parsed Dockerfile; raises `UsageError` for an unknown `target`."""
    members: dict[int, list[DockerfileInstruction]] = {}
    for ins in instructions:
        if ins.cmd != "FROM":
            members.setdefault(ins.stage, []).append(ins)
    view = StageView(tuple(stages), {k: tuple(v) for k, v in members.items()})
    if not stages:
        return RuntimeFacts(stage=None, stage_reason="no FROM")
    windows = windows_reason(text, view, instructions)
    stage, reason = select_runtime_stage(view, target)
    if stage is None:
        return RuntimeFacts(stage=None, stage_reason=reason, windows=windows)
    chain = view.chain(stage)
    chain_ins = view.chain_instructions(stage)
    base = resolve_base(view.root(stage), base_lookup)
    known, image = base.known, base.image

    # Variables: the base's env, then ARG/ENV in build order.
    env: dict[str, str | None] = {}
    base_env = dict(image.env) if image is not None else dict(known.env) if known is not None else {}
    env.update(base_env)
    globals_ = dict(global_args or {})
    arg_lines: dict[str, str] = {
        name: f"{name}={value} set by the base image {base.ref}" for name, value in base_env.items()
    }
    base_groups = group_ids(image.group if image else None)
    users = CreatedUsers()
    tools = base_tools(base)
    copies: list[CopyInstruction] = []
    workdir = "/"
    user_ins: DockerfileInstruction | None = None
    user_value: str | None = None
    user_vars: list[str] = []
    shell: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    entrypoint_ins: DockerfileInstruction | None = None
    cmd: tuple[str, ...] | None = None
    cmd_ins: DockerfileInstruction | None = None
    onbuild: DockerfileInstruction | None = None
    exposed: list[int] = []
    for ins in chain_ins:
        if ins.cmd == "ARG":
            for item in ins.value:
                name, has_default, default = item.partition("=")
                if has_default:
                    env[name] = expand(unquote(default), env)
                    arg_lines[name] = f"ARG {name}={unquote(default)} (line {ins.start_line})"
                elif name in globals_:
                    env[name] = globals_[name]
                    arg_lines[name] = f"ARG {name}={globals_[name]} (global)"
                else:
                    env.setdefault(name, None)
                    arg_lines[name] = f"ARG {name} (line {ins.start_line}, no default)"
        elif ins.cmd == "ENV":
            values = list(ins.value)
            for i in range(0, len(values) - 1, 2):
                env[values[i]] = expand(unquote(values[i + 1]), env)
                arg_lines[values[i]] = f"ENV {values[i]}={unquote(values[i + 1])} (line {ins.start_line})"
        elif ins.cmd == "USER" and ins.value:
            user_ins = ins
            user_value = expand(ins.value[0], env)
            user_vars = [m.group(1) or m.group(4) for m in VARIABLE.finditer(ins.value[0])]
        elif ins.cmd == "RUN":
            body = " ".join(ins.value) if not ins.json_form else " ".join(shlex.quote(v) for v in ins.value)
            apply_user_commands(body, ins.start_line, env, users, base_groups)
            tools.run(body, env)
        elif ins.cmd in ("COPY", "ADD") and len(ins.value) >= 2 and not ins.heredoc:
            dest = expand(ins.value[-1], env) or ins.value[-1]
            if not dest.startswith("/"):
                dest = posixpath.join(workdir, dest) + ("/" if dest.endswith("/") else "")
            from_stage = next((f.split("=", 1)[1] for f in ins.flags if f.startswith("--from=")), None)
            copies.append(CopyInstruction(tuple(ins.value[:-1]), dest, from_stage, ins.start_line))
            tools.copy(ins.value[:-1], dest)
        elif ins.cmd == "WORKDIR" and ins.value:
            path = expand(ins.value[0], env) or ins.value[0]
            workdir = path if path.startswith("/") else posixpath.join(workdir, path)
        elif ins.cmd == "SHELL":
            shell = tuple(ins.value)
        elif ins.cmd == "ENTRYPOINT":
            entrypoint, entrypoint_ins = _exec_words(ins, shell), ins
            # BuildKit resets an inherited CMD when ENTRYPOINT is set, but keeps one set after it.
            cmd, cmd_ins = None, None
        elif ins.cmd == "CMD":
            cmd, cmd_ins = _exec_words(ins, shell), ins
        elif ins.cmd == "ONBUILD" and onbuild is None:
            onbuild = ins
        elif ins.cmd == "EXPOSE":
            for value in ins.value:
                port = (expand(value, env) or "").split("/", 1)[0]
                if port.isdecimal():
                    exposed.append(int(port))

    accounts = list(users.users.values())
    if image is not None and image.passwd:
        accounts += [a for a in passwd_accounts(image.passwd, f"the local base image {base.ref} (/etc/passwd)")]
    elif known is not None:
        accounts += list(known.accounts)
    accounts = dedupe_accounts(accounts)

    # The command the container starts with, and where it comes from.
    base_entrypoint = image.entrypoint if image is not None else None
    base_cmd = image.cmd if image is not None else None
    if entrypoint_ins is None and base_entrypoint:
        entrypoint = tuple(base_entrypoint)
    if cmd_ins is None and entrypoint_ins is None and base_cmd:
        cmd = tuple(base_cmd)
    command = (*(entrypoint or ()), *(cmd or ()))

    user = effective_user(user_ins, user_value, user_vars, arg_lines, base, accounts)
    command_at_run_time = None
    program = _program(command)
    serves = known is not None and known.service
    if (
        entrypoint_ins is None
        and cmd_ins is None
        and not serves
        and (not program or program in _REPLS or program in SHELLS)
    ):
        # Chatwoot's image: no CMD of its own, so `FROM ruby`'s irb; Compose gives each service its command.
        command_at_run_time = (
            f"the image has no command of its own (FROM {base.ref}: {program or 'the base default'}, a prompt, not "
            "a service): what it runs is given at run time (`docker run ... CMD`, Compose `command:`)"
        )
    needs_root: list[str] = []
    runs = [i for i in chain_ins if i.cmd == "RUN"]
    readable = copies + _traced_copies(view, copies)
    drop = find_drop(entrypoint_ins, entrypoint, cmd_ins, cmd, readable, context_dir, workdir, base, needs_root, runs)
    base_image_reason = _base_image(onbuild, chain_ins, base)
    health = _health_command(known, command, cmd or (), own=entrypoint_ins is not None or cmd_ins is not None)
    base_files = image.files if image is not None else None
    if health is not None and base_files is not None:
        in_base = tools_in(base_files)
        if health[2] in in_base and health[0].argv[0] not in in_base:
            # The server comes from a base whose own files lack its health command.
            health = None
    script = start_script_text((entrypoint, cmd), readable, context_dir, workdir, runs)
    script_server = server_in_script(*script) if script is not None else None
    installed = None
    if script is None or starts_no_server(script[0]):
        # Nothing readable names the server (no script, or one that hands over to an init such as s6): an app the
        # file installs is then the one it starts. A script that starts servers of its own is trusted alone.
        installed = script_server = installed_server(runs, copies, command)
    http = serves_http(
        base,
        command,
        cmd or (),
        entrypoint_ins,
        cmd_ins,
        exposed,
        readable,
        context_dir,
        script_server,
        _app_server(command, readable, context_dir, workdir, env),
        listen_moves(runs, copies),
    )
    roles = started_programs(script[0]) if script is not None else []
    http_unsure = None
    if len(roles) > 1:
        # A HEALTHCHECK is the image's, so every container of it runs the check, whichever role it plays.
        http = None
        http_unsure = (
            f"{script[1] if script else 'its start script'} starts {', '.join(roles[:-1])} or {roles[-1]} depending on "
            "its arguments: a check of one role's server would fail the containers that run the others; give each "
            "service its own (Compose `healthcheck:`)"
        )
    # What an installed server started by an init serves at `/` is the app's (a login, a 401): not a static site.
    fronts_app = http is not None and installed is not None and http[1].startswith(installed[1])
    if image is not None:
        exposed_all = exposed + [int(p.split("/")[0]) for p in image.exposed_ports if p.split("/")[0].isdecimal()]
    else:
        exposed_all = list(exposed)
    return RuntimeFacts(
        stage=stage.index,
        stage_reason=reason,
        chain=tuple(s.index for s in chain),
        base=base.ref,
        base_image=base_image_reason,
        windows=windows,
        user=user,
        accounts=tuple(accounts),
        drop=drop,
        # A server's own health command ships with it (the server's build installs it, distributions' server
        # packages depend on it), which the package tracking cannot see.
        tools=frozenset(tools.present) | frozenset(health[0].argv[:1] if health else ()),
        tools_complete=tools.complete,
        http_port=http[0] if http else None,
        http_reason=http[1] if http else "",
        http_fronts_app=fronts_app,
        http_unsure=http_unsure,
        health_path=_health_path(http, known, command, cmd or (), script_server),
        slow_start=http is not None
        and (
            "java" in tools.present
            or any(starts_jvm_server(argv) for argv in (command, cmd or (), script_server[0] if script_server else ()))
        ),
        health_command=health[0].command("sh" in tools.present) if health else (),
        health_command_reason=health[1] if health else "",
        exposed_ports=tuple(dict.fromkeys(exposed_all)),
        command=command,
        base_known=base.described,
        entrypoint_needs_root=needs_root[0] if needs_root and drop is None else None,
        docker_socket=_docker_socket(command, chain_ins),
        command_at_run_time=command_at_run_time,
    )


def _program(argv: Sequence[str]) -> str:
    """The program a command line runs: past an init (tini, dumb-init) and a `sh -c` wrapper."""
    words = run_words(argv)
    return posixpath.basename(words[0]) if words else ""


def _health_command(
    known: KnownBase | None, command: Sequence[str], cmd: Sequence[str], own: bool
) -> tuple[HealthCommand, str, str] | None:
    """(table entry, reason, server program) when the image runs a server that has a health command of its own
    (the table's `[[health_command]]`): named by its command line or its CMD after an entrypoint script, or,
    without a command of its own, the server of the well-known base it inherits."""
    programs = [_program(command), _program(cmd)]
    where = "its command"
    if not own and known is not None and known.service and known.drop is not None:
        programs += list(known.drop.when)
        where = f"the server of {known.name}"
    for entry in health_commands():
        found = next((p for p in programs if p in entry.programs), None)
        if found is not None:
            return entry, f"{found}, {where}", found
    return None


def _docker_socket(command: Sequence[str], chain: Sequence[DockerfileInstruction]) -> str | None:
    """Why the image's job needs the Docker engine's socket: its program is a known socket client (watchtower,
    traefik's Docker provider, portainer...), or the file points it at the socket."""
    program = _program(command)
    if program in docker_socket_programs():
        return f"{program} is run with the Docker engine's socket mounted (/var/run/docker.sock)"
    for ins in chain:
        if ins.cmd in ("ENV", "VOLUME", "CMD", "ENTRYPOINT") and any("docker.sock" in v for v in ins.value):
            return f"line {ins.start_line} points it at the Docker socket ({ins.cmd} ... docker.sock)"
    return None


_REPLS = frozenset({"node", "python", "python3", "irb", "jshell", "ghci", "iex", "erl", "php", "lua", "R"})
"""Interactive prompts that official language images leave as their CMD."""


def _base_image(
    onbuild: DockerfileInstruction | None, chain: Sequence[DockerfileInstruction], base: ResolvedBase
) -> str | None:
    if onbuild is not None:
        return f"ONBUILD (line {onbuild.start_line}) runs in the builds of images made FROM it"
    cmds = {i.cmd for i in chain}
    commands = [i for i in chain if i.cmd == "CMD"]
    entrypoints = [i for i in chain if i.cmd == "ENTRYPOINT"]
    only_init = not entrypoints or (entrypoints[-1].json_form and not strip_init(list(entrypoints[-1].value)))
    if commands and only_init and not ({"EXPOSE", "HEALTHCHECK", "ONBUILD"} & cmds):
        words = list(commands[-1].value) if commands[-1].json_form else shell_words(" ".join(commands[-1].value))
        if len(words) == 1 and posixpath.basename(words[0]) in SHELLS:
            return (
                f"its only command is a shell (CMD {words[0]}, line {commands[-1].start_line}): a base or toolbox "
                "image for others to build on"
            )
    script = bool(entrypoints and entrypoints[-1].value and start_script(entrypoints[-1].value[0]))
    if commands and (not entrypoints or only_init or script) and not ({"EXPOSE", "HEALTHCHECK", "ONBUILD"} & cmds):
        words = list(commands[-1].value) if commands[-1].json_form else shell_words(" ".join(commands[-1].value))
        if len(words) == 1 and posixpath.basename(words[0]) in _REPLS:
            # The official language images (node, python, ruby) end with their REPL: children add the app, and
            # they install packages as root first.
            return (
                f"its only command is the {words[0]} prompt (CMD, line {commands[-1].start_line}): a language "
                "runtime for others to build on"
            )
    if entrypoints and "CMD" not in cmds and not ({"EXPOSE", "HEALTHCHECK"} & cmds):
        last = entrypoints[-1]
        if last.json_form and not strip_init(list(last.value)):
            return (
                f"its only command is the init {last.value[0]} (line {last.start_line}) with nothing to run: "
                "images built from it add their own CMD"
            )
    if cmds & {"CMD", "ENTRYPOINT", "EXPOSE", "HEALTHCHECK"}:
        return None
    if base.known is not None and base.known.service:
        return None
    if base.image is not None:
        command = (*(base.image.entrypoint or ()), *(base.image.cmd or ()))
        if base.image.entrypoint or (
            command and command[0].rsplit("/", 1)[-1] not in (*SHELLS, "python", "python3", "node", "irb")
        ):
            return None
    return f"no CMD or ENTRYPOINT of its own, and FROM {base.ref} starts no service: it sets up a runtime for others"


# ------------------------------------------------------------------------------------------------ entry points


def runtime_of(facts: DockerfileFacts) -> RuntimeFacts:
    """The facts' runtime analysis, computed here when the facts were made without one."""
    if facts.runtime is not None:
        return facts.runtime
    return analyse_runtime("", facts.instructions, facts.stages)


def image_runtime(image: ImageFacts) -> RuntimeFacts:
    """What an already built image runs with: its tools (from its layers or the table) and HTTP port."""
    command = (*(image.config.entrypoint or ()), *(image.config.cmd or ()))
    exposed = [int(p.split("/")[0]) for p in image.config.exposed_ports if p.split("/")[0].isdecimal()]
    known = next((k for name in (image.reference, *image.repo_tags) if name and (k := known_base(name))), None)
    if image.filesystem is not None:
        tools, complete = tools_in(frozenset(f.path for f in image.filesystem.final_files())), True
    elif known is not None:
        tools, complete = known.tools, known.complete
    else:
        tools, complete = frozenset(), False
    port: int | None = None
    reason = ""
    if known is not None and known.http_port is not None and (not exposed or known.http_port in exposed):
        port, reason = known.http_port, f"{known.name} serves HTTP on {known.http_port} ({known.source})"
    elif (found := http_from_command(command)) is not None and found[0] in exposed:
        port, reason = found[0], f"{found[1]} serves HTTP on {found[0]}, which the image exposes"
    found_health = _health_command(known, command, image.config.cmd or (), own=True)
    health: tuple[str, ...] = ()
    health_reason = ""
    if found_health is not None and (image.filesystem is None or found_health[0].argv[0] in tools):
        # (Unless the image's own files say the server's health command is not there.)
        health, health_reason = found_health[0].command("sh" in tools), found_health[1]
    return RuntimeFacts(
        stage=0,
        stage_reason="a built image",
        health_command=health,
        health_command_reason=health_reason,
        base=image.name,
        tools=tools,
        tools_complete=complete,
        http_port=port,
        http_reason=reason,
        exposed_ports=tuple(exposed),
        command=command,
    )


def _health_path(
    http: tuple[int, str] | None,
    known: KnownBase | None,
    command: Sequence[str],
    cmd: Sequence[str],
    script_server: tuple[list[str], str] | None,
) -> str | None:
    """The health path of the server on the HTTP port: the base table's for its own server, else the documented
    one of the program the command (or its start script) starts (Prometheus, Grafana, Loki, Metabase)."""
    if http is None:
        return None
    if known is not None and http[0] == known.http_port:
        return known.health_path
    for argv in (command, cmd, script_server[0] if script_server else ()):
        found = http_from_command(argv)
        if found is not None:
            return health_path_from_command(argv) if found[0] == http[0] else None
    return None


def _traced_copies(view: StageView, copies: Sequence[CopyInstruction]) -> list[CopyInstruction]:
    """`COPY --from=stage` copies of files that stage took from the build context, as copies of those context files,
    so a start script built into a builder stage (syncthing's entrypoint) can be read."""
    traced: list[CopyInstruction] = []
    for copy in copies:
        source = view.by_name(copy.from_stage) if copy.from_stage is not None else None
        if source is None:
            continue
        builder = context_copies([(i.cmd, i.flags, tuple(i.value)) for i in view.chain_instructions(source)])
        found = trace_to_context(copy, builder)
        if found is not None:
            traced.append(found)
    return traced


def _app_server(
    command: Sequence[str],
    copies: Sequence[CopyInstruction],
    context_dir: Path | None,
    workdir: str,
    env: Mapping[str, str | None],
) -> tuple[int, str] | None:
    """(port, why) of the HTTP server the app's own files, copied in from the build context, say the command starts:
    a Node script that listens on a port it names (see `node_listener`), or the `web` process of the Procfile a
    runner such as foreman starts (see `procfile_web_server`)."""
    runner = procfile_runner(command)
    if runner is not None:
        procfile = copied_file("./Procfile", copies, context_dir, workdir)
        web = procfile_web_server(procfile[2], env) if procfile is not None else None
        if web is not None:
            port, program = web
            return port, f"{runner} starts the Procfile's web process, {program} on {port}"
        return None
    script = node_entry_script(command)
    if script is None:
        return None
    copied = copied_file(script if script.startswith(("/", "./")) else f"./{script}", copies, context_dir, workdir)
    if copied is None:
        return None
    source, shown, text = copied
    # One level of the app's own modules: `index.js` often listens on an app that `./app` builds with express.
    required = [
        module_text
        for module in local_requires(text)
        for candidate in js_module_files(posixpath.normpath(posixpath.join(posixpath.dirname(source), module)))
        if (module_text := read_context_file(context_dir, candidate)) is not None
    ]
    found = node_listener(text, env, required)
    if found is None:
        return None
    port, module = found
    return port, f"{shown} starts an HTTP server ({node_http_module(module)}) that listens on {port}"
