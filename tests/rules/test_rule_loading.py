"""A run imports only the rule modules of the scopes it judges, and those register every rule of the scopes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dockaudit.rules import RULE_MODULES, SCOPE_MODULES
from dockaudit.rules.registry import Scope

SELECTION = """
import json, sys
from dockaudit.rules import load_all, load_for
from dockaudit.rules.registry import Scope, rules_for
scope = Scope(sys.argv[1])
load_all() if sys.argv[2] == "all" else load_for([scope])
print(json.dumps([[r.id, r.check.__module__, r.check.__qualname__] for r in rules_for([scope])]))
"""


def selected(scope: Scope, how: str) -> list[list[str]]:
    """The rules `rules_for` picks for `scope` in a fresh process, after `load_for` or `load_all`."""
    proc = subprocess.run(
        [sys.executable, "-c", SELECTION, scope.value, how], capture_output=True, text=True, check=True, timeout=60
    )
    result: list[list[str]] = json.loads(proc.stdout)
    return result


@pytest.mark.parametrize("scope", list(Scope), ids=lambda s: s.value)
def test_loading_a_scopes_modules_selects_the_same_rules_as_loading_all(scope: Scope) -> None:
    partial = selected(scope, "scope")
    assert partial, f"no rule judges {scope.value}"
    assert partial == selected(scope, "all")


def test_every_scope_and_every_rule_module_is_mapped() -> None:
    assert set(SCOPE_MODULES) == {s.value for s in Scope}
    assert {m for modules in SCOPE_MODULES.values() for m in modules} == set(RULE_MODULES)


def test_an_image_and_container_scan_leaves_the_compose_and_dockerfile_rules_unloaded() -> None:
    code = (
        "import sys\n"
        "from dockaudit.rules import load_for\n"
        "load_for(['image', 'history', 'filesystem', 'container'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('dockaudit.rules.')))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    loaded = proc.stdout
    assert "dockaudit.rules.image'" in loaded
    for name in ("compose", "compose_container", "dockerfile", "dockerfile_context", "host"):
        assert f"dockaudit.rules.{name}'" not in loaded
