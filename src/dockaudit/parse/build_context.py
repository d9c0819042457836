"""The build context as a Dockerfile's COPY and ADD bring it in: the files copied, and reading one of them (a
start script, a dependency file) without leaving the context.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from dockaudit.parse.shell_text import BIN_DIRS

_SCRIPT_CAP = 256 * 1024


def read_context_file(context_dir: Path | None, source: str) -> str | None:
    """A text file of the build context (None outside it, too large, unreadable or not a file)."""
    if context_dir is None or "$" in source or source.startswith(("http://", "https://")):
        return None
    root = context_dir.resolve()
    try:
        path = (root / source.lstrip("/")).resolve()
        path.relative_to(root)
    except (OSError, ValueError):
        return None
    try:
        if not path.is_file() or path.stat().st_size > _SCRIPT_CAP:
            return None
        return path.read_bytes().decode("utf-8", "replace")
    except OSError:
        return None


class CopyInstruction(NamedTuple):
    """A COPY or ADD: its sources, resolved destination, the stage it copies from (None: the context), its line."""

    sources: tuple[str, ...]
    dest: str
    from_stage: str | None
    line: int


def script_source(
    program: str, copies: Sequence[CopyInstruction], context_dir: Path | None, workdir: str
) -> tuple[str, str] | None:
    """(context path, shown name) of the file the build copies to where `program` runs from."""
    wanted = program if program.startswith("/") else None
    if program.startswith("./") or ("/" in program and not program.startswith("/")):
        wanted = posixpath.normpath(posixpath.join(workdir, program))
    for copy in reversed(copies):
        if copy.from_stage is not None:
            continue
        for src in copy.sources:
            base = posixpath.basename(src.rstrip("/"))
            # A known directory counts as one without its trailing slash (`COPY x.sh /usr/local/bin`).
            into_dir = copy.dest.endswith("/") or len(copy.sources) > 1 or copy.dest.rstrip("/") in (*BIN_DIRS, "")
            # `COPY . .` under `WORKDIR /app` lands in `/app/.`: the directory itself.
            dest = posixpath.normpath(copy.dest)
            target = posixpath.join(dest, base) if into_dir else dest
            candidates = [(src, target)]
            if any(c in base for c in "*?["):
                # `COPY start* /`: a wildcard copies each file it matches into the destination directory.
                inner = posixpath.basename(wanted or program)
                if not fnmatch.fnmatchcase(inner, base):
                    continue
                candidates = [(posixpath.join(posixpath.dirname(src), inner), posixpath.join(dest, inner))]
            # A directory copied whole: the script is inside it.
            elif context_dir is not None and (context_dir / src).is_dir():
                inner = posixpath.basename(program)
                candidates = [(posixpath.join(src, inner), posixpath.join(dest, inner))]
                # Or deeper: `ADD docker/ /` brings docker/usr/local/bin/entrypoint.sh to /usr/local/bin/.
                # Only when the file is there: a later whole-directory copy must not hide an earlier COPY of it.
                under = dest.rstrip("/") + "/"
                if wanted is not None and wanted.startswith(under):
                    deep = posixpath.normpath(posixpath.join(src, wanted[len(under) :]))
                    if (context_dir / deep).is_file():
                        candidates.append((deep, wanted))
            for source, path in candidates:
                hit = (
                    path == wanted
                    if wanted
                    else (posixpath.basename(path) == program and posixpath.dirname(path) in BIN_DIRS)
                )
                if hit:
                    return source, posixpath.basename(source)
    return None


def copied_file(
    program: str, copies: Sequence[CopyInstruction], context_dir: Path | None, workdir: str
) -> tuple[str, str, str] | None:
    """(context path, shown name, text) of the build-context file the build copies to where `program` runs from (see
    `script_source`), when the context has it."""
    source = script_source(program, copies, context_dir, workdir)
    text = read_context_file(context_dir, source[0]) if source is not None else None
    return (*source, text) if source is not None and text is not None else None


def context_copies(instructions: Sequence[tuple[str, tuple[str, ...], tuple[str, ...]]]) -> list[CopyInstruction]:
    """The COPY/ADD of the build context in a stage's instructions, given as (cmd, flags, value), with destinations
    resolved against WORKDIR."""
    workdir = "/"
    found: list[CopyInstruction] = []
    for cmd, flags, value in instructions:
        if cmd == "WORKDIR" and value:
            workdir = posixpath.join(workdir, value[0])
        elif cmd in ("COPY", "ADD") and len(value) >= 2 and not any(f.startswith("--from=") for f in flags):
            dest = value[-1]
            if not dest.startswith("/"):
                dest = posixpath.join(workdir, dest) + ("/" if dest.endswith("/") else "")
            found.append(CopyInstruction(tuple(value[:-1]), dest, None, 0))
    return found


def trace_to_context(copy: CopyInstruction, builder: Sequence[CopyInstruction]) -> CopyInstruction | None:
    """A `COPY --from=stage /path ...` as the context copy it comes from, when that stage copied /path from the
    context (`WORKDIR /src` + `COPY . .`, then `COPY --from=builder /src/script/entrypoint.sh /bin/`)."""
    if len(copy.sources) != 1 or "$" in copy.sources[0] or "*" in copy.sources[0]:
        return None
    wanted = posixpath.normpath(copy.sources[0])
    for earlier in reversed(builder):
        dest = posixpath.normpath(earlier.dest)
        for src in earlier.sources:
            if "$" in src or "*" in src:
                continue
            if src in (".", "./") or src.endswith("/"):
                # A directory copied whole: the file is inside it.
                if wanted == dest or wanted.startswith(dest.rstrip("/") + "/"):
                    inner = posixpath.relpath(wanted, dest)
                    return CopyInstruction(
                        (posixpath.normpath(posixpath.join(src, inner)),), copy.dest, None, copy.line
                    )
            else:
                target = posixpath.join(dest, posixpath.basename(src)) if earlier.dest.endswith("/") else dest
                if posixpath.normpath(target) == wanted:
                    return CopyInstruction((src,), copy.dest, None, copy.line)
    return None
