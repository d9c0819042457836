"""Run dockaudit on a pseudo-terminal, to see exactly the bytes a user's terminal would receive."""

from __future__ import annotations

import os
import pty
import select
import subprocess
from pathlib import Path


def env(home: Path) -> dict[str, str]:
    """Colours allowed, a wide terminal, and the result cache under `home`."""
    inherited = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    return {**inherited, "TERM": "xterm-256color", "COLUMNS": "120", "XDG_CACHE_HOME": str(home / "xdg-cache")}


def pty_run(argv: list[str], cwd: Path, timeout: float = 300) -> tuple[int, str]:
    """Run with stdout and stderr on a pseudo-terminal; returns the exit code and everything it drew."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, cwd=cwd, env=env(cwd), stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([master], [], [], timeout)
        if not ready:
            proc.kill()
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    code = proc.wait(timeout=60)
    return code, b"".join(chunks).decode("utf-8", "replace")
