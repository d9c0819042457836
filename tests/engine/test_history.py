"""History steps: layer alignment, build-arg parsing and redaction, base/user origin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dockaudit.parse.history import (
    RawStep,
    align,
    base_from_api_tags,
    build_history,
    steps_from_api,
    steps_from_config,
)
from tests.fixtures import planted

LEGACY = [
    {"created_by": "/bin/sh -c #(nop) ADD file:abc in / ", "created": "2025-01-01T00:00:00Z"},
    {"created_by": '/bin/sh -c #(nop)  CMD ["bash"]', "empty_layer": True, "created": "2025-01-01T00:00:01Z"},
    {"created_by": "/bin/sh -c #(nop)  ARG NPM_TOKEN", "empty_layer": True},
    {"created_by": f"|1 NPM_TOKEN={planted.NPM_TOKEN} /bin/sh -c npm ci"},
    {"created_by": "/bin/sh -c #(nop) COPY dir:def in /app "},
    {"created_by": '/bin/sh -c #(nop)  CMD ["node","app.js"]', "empty_layer": True},
]


def test_config_history_aligns_layers_with_non_empty_steps() -> None:
    entries = build_history(steps_from_config(LEGACY), 3)
    assert [e.layer_index for e in entries] == [0, None, None, 1, 2, None]
    assert [e.empty_layer for e in entries] == [False, True, True, False, False, True]
    assert entries[0].created == datetime(2025, 1, 1, tzinfo=UTC)


def test_build_args_are_parsed_and_redacted() -> None:
    entries = build_history(steps_from_config(LEGACY), 3)
    run = entries[3]
    assert [(a.name, a.secret is not None) for a in run.build_args] == [("NPM_TOKEN", True)]
    assert planted.NPM_TOKEN not in run.created_by
    assert planted.NPM_TOKEN not in run.build_args[0].value
    assert run.created_by.endswith("/bin/sh -c npm ci")


def test_credentials_in_commands_are_redacted_and_recorded() -> None:
    steps = [RawStep(f"/bin/sh -c export AWS_ACCESS_KEY_ID={planted.AWS_ACCESS_KEY_ID} && deploy", empty_layer=False)]
    (entry,) = build_history(steps, 1)
    assert planted.AWS_ACCESS_KEY_ID not in entry.created_by
    assert entry.secrets and entry.secrets[0].kind == "aws-access-key-id"


def test_legacy_boundary_is_the_last_base_cmd_followed_by_user_layers() -> None:
    entries = build_history(steps_from_config(LEGACY), 3)
    assert [e.from_base for e in entries] == [True, True, False, False, False, False]


def test_no_boundary_means_origin_unknown() -> None:
    steps = steps_from_config([{"created_by": "/bin/sh -c #(nop) ADD file:abc in / "}])
    assert build_history(steps, 1)[0].from_base is None


def test_known_base_length_overrides_the_heuristic() -> None:
    entries = build_history(steps_from_config(LEGACY), 3, base_steps=4)
    assert [e.from_base for e in entries] == [True, True, True, True, False, False]


def test_buildkit_boundary_is_the_time_gap_before_the_users_steps() -> None:
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    t1 = t0 + timedelta(days=30)
    bk = "buildkit.dockerfile.v0"
    steps = [
        RawStep("/bin/sh -c #(nop) ADD file:abc in / ", created=t0, empty_layer=False),
        RawStep('/bin/sh -c #(nop)  CMD ["bash"]', created=t0, empty_layer=True),
        RawStep("WORKDIR /app", comment=bk, created=t1, empty_layer=False),
        RawStep("COPY . /app # buildkit", comment=bk, created=t1 + timedelta(seconds=5), empty_layer=False),
        RawStep('CMD ["app"]', comment=bk, created=t1 + timedelta(seconds=5), empty_layer=True),
    ]
    assert [e.from_base for e in build_history(steps, 3)] == [True, True, False, False, False]
    # A BuildKit-built base: same comment, but made a month earlier.
    based = [dataclass_copy(s, comment=bk) for s in steps[:2]] + steps[2:]
    assert [e.from_base for e in build_history(based, 3)] == [True, True, False, False, False]


def dataclass_copy(step: RawStep, **changes: object) -> RawStep:
    import dataclasses

    return dataclasses.replace(step, **changes)  # type: ignore[arg-type]


API_HISTORY = [  # newest first, as GET /images/{name}/history returns it
    {
        "Id": "sha256:top",
        "Created": 1700000300,
        "CreatedBy": '/bin/sh -c #(nop)  CMD ["app"]',
        "Tags": ["me/app:1"],
        "Size": 0,
        "Comment": "",
    },
    {
        "Id": "<missing>",
        "Created": 1700000200,
        "CreatedBy": "/bin/sh -c rm -rf /tmp/x",
        "Tags": None,
        "Size": 0,
        "Comment": "",
    },
    {
        "Id": "<missing>",
        "Created": 1700000100,
        "CreatedBy": "/bin/sh -c #(nop) WORKDIR /app",
        "Tags": None,
        "Size": 0,
        "Comment": "",
    },
    {
        "Id": "sha256:base",
        "Created": 1700000000,
        "CreatedBy": '/bin/sh -c #(nop)  CMD ["sh"]',
        "Tags": ["base:1"],
        "Size": 0,
        "Comment": "",
    },
    {
        "Id": "<missing>",
        "Created": 1700000000,
        "CreatedBy": "/bin/sh -c #(nop) ADD file:abc in / ",
        "Tags": None,
        "Size": 1000,
        "Comment": "",
    },
]


def test_api_history_is_reversed_and_aligned_by_guessing_empty_steps() -> None:
    steps = steps_from_api(API_HISTORY)
    assert steps[0].created_by.endswith("ADD file:abc in / ")
    # Two layers: the ADD and the zero-byte RUN (a layer of whiteouts); WORKDIR made none.
    assert align(steps, 2) == [0, None, None, 1, None]
    entries = build_history(steps, 2)
    assert [e.empty_layer for e in entries] == [False, True, True, False, True]


def test_unalignable_history_leaves_layer_indexes_unknown() -> None:
    steps = steps_from_api(API_HISTORY)
    assert align(steps, 7) is None
    assert all(e.layer_index is None for e in build_history(steps, 7))


def test_nearest_tagged_ancestor_is_the_local_base() -> None:
    steps = steps_from_api(API_HISTORY)
    assert base_from_api_tags(steps) == ("base:1", 2)
    assert base_from_api_tags(steps[:1]) is None
