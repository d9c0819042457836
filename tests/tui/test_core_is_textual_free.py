"""Only `dockaudit.tui` may import Textual: the core, the CLI and the reports must start without it."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import dockaudit


def non_ui_modules() -> list[str]:
    """Every module of the package outside `dockaudit.tui`."""
    names = ["dockaudit"]
    for info in pkgutil.walk_packages(dockaudit.__path__, prefix="dockaudit."):
        # `__main__` runs the CLI on import; cli.py (which it calls) is covered.
        if info.name == "dockaudit.tui" or info.name.startswith("dockaudit.tui.") or info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return sorted(names)


def test_every_non_ui_module_imports_without_textual() -> None:
    modules = non_ui_modules()
    assert "dockaudit.cli" in modules and "dockaudit.audit" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "    if 'textual' in sys.modules:\n"
        "        print(name); sys.exit(1)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{proc.stdout.strip()} pulled in textual\n{proc.stderr}"


def test_cli_parser_does_not_import_textual() -> None:
    code = (
        "import sys\n"
        "from dockaudit.cli import build_parser\n"
        "build_parser().parse_args(['tui', '--help']) if False else build_parser()\n"
        "sys.exit(1 if 'textual' in sys.modules else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
