"""History written by buildah (`podman build`) reads like the legacy builder's and BuildKit's."""

from __future__ import annotations

from dockaudit.parse.history import build_history, steps_from_config
from tests.fixtures import planted

BUILDAH = [
    {"created_by": "/bin/sh -c #(nop) COPY file:01b0553b128d in /bin/busybox ", "created": "2026-12-06T03:13:28Z"},
    {"created_by": '/bin/sh -c ["/bin/busybox", "--install", "-s", "/bin"]', "comment": "FROM ecdc98948e01"},
    {"created_by": '/bin/sh -c #(nop) CMD ["sh"]', "comment": "FROM 75db97f0efd7", "empty_layer": True},
    {"created_by": "/bin/sh -c #(nop) ARG NPM_TOKEN", "comment": "FROM localhost/base:1", "empty_layer": True},
    {"created_by": f'|1 NPM_TOKEN={planted.NPM_TOKEN} /bin/sh -c ["/bin/sh", "-c", "npm ci"]', "comment": "FROM 3985a"},
    {"created_by": "/bin/sh -c npm run build", "comment": "FROM 8525ad5deb57"},
]
"""A `podman build` history (buildah 1.28): `#(nop)` metadata steps, exec-form RUNs kept as JSON, FROM comments."""


def test_buildah_history_reads_like_the_legacy_builders() -> None:
    entries = build_history(steps_from_config(BUILDAH), 4)
    assert [e.layer_index for e in entries] == [0, 1, None, None, 2, 3]
    assert [e.instruction for e in entries] == ["COPY", "RUN", "CMD", "ARG", "RUN", "RUN"]
    # Exec-form RUNs read as the legacy builder and BuildKit record them: the words joined by spaces.
    assert entries[1].body == "/bin/busybox --install -s /bin"
    assert entries[4].body == "/bin/sh -c npm ci" and planted.NPM_TOKEN not in entries[4].created_by
    assert entries[4].build_args[0].secret is not None
    assert [e.from_base for e in entries] == [True, True, True, False, False, False]
    assert entries[3].comment == "FROM localhost/base:1"


def test_a_shell_command_that_starts_with_a_bracket_is_not_exec_form() -> None:
    (entry,) = build_history(steps_from_config([{"created_by": "/bin/sh -c [ -f /x ] && echo ok"}]), 1)
    assert entry.body == "[ -f /x ] && echo ok"


def test_an_exec_form_array_that_is_not_all_words_stays_as_written() -> None:
    (entry,) = build_history(steps_from_config([{"created_by": '/bin/sh -c ["a", 1]'}]), 1)
    assert entry.body == '["a", 1]'
