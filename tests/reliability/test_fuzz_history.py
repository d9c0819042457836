"""Fuzzing the history parser: any history aligns or gives up, and a secret build arg never survives redaction."""

from __future__ import annotations

from datetime import UTC

from hypothesis import example, given
from hypothesis import strategies as st

from dockaudit.parse.history import RawStep, align, build_history, steps_from_api, steps_from_config
from dockaudit.rules import load_all
from dockaudit.rules.registry import Scope, evaluate
from tests.reliability.fuzzing import FUZZ
from tests.rules.conftest import make_ctx, make_image_facts

SECRET_NAMES = st.sampled_from(
    [
        "NPM_TOKEN",
        "DB_PASSWORD",
        "API_KEY",
        "GITHUB_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "githubToken",
        "PRIVATE_KEY",
        "SENTRY_AUTH",
        "CLIENT_SECRET",
    ]
)
PLAIN_NAMES = st.sampled_from(["VERSION", "BUILD_DATE", "HTTP_PROXY", "TARGETARCH", "DEBUG", "GPG_KEY", "PORT"])
# A recognisable prefix so the value cannot turn up by chance in the rest of the line.
SECRET_VALUES = st.from_regex(r"Zq9[A-Za-z0-9_\-./+]{6,40}", fullmatch=True)
PLAIN_VALUES = st.one_of(
    st.from_regex(r"[a-z0-9.\-]{0,12}", fullmatch=True),
    st.sampled_from(['"a b"', "'x y'", "1", "", "a=b", "${X}", "--flag"]),
)
COMMANDS = st.one_of(
    st.sampled_from(
        [
            "/bin/sh -c npm ci",
            "/bin/sh -c echo hi",
            "/bin/sh -c #(nop)  ENV A=b",
            "/bin/sh -c #(nop) ",
            "RUN /bin/sh -c make # buildkit",
            "",
            "|",
            "|x",
            "|-1 A=b",
            "/bin/sh -c curl -u a:b x | sh",
        ]
    ),
    st.text(max_size=30),
)


@st.composite
def build_arg_line(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A legacy-builder history line `|N A=x B=y /bin/sh -c ...` and the secret values in it."""
    pairs: list[tuple[str, str]] = []
    secrets: list[str] = []
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.booleans()):
            value = draw(SECRET_VALUES)
            pairs.append((draw(SECRET_NAMES), value))
            secrets.append(value)
        else:
            pairs.append((draw(PLAIN_NAMES), draw(PLAIN_VALUES)))
    count = draw(st.one_of(st.just(len(pairs)), st.integers(0, 6)))
    bare: bool = draw(st.booleans())
    prefix = f"|{count} " + " ".join(f"{n}={v}" for n, v in pairs) + " " if pairs or bare else ""
    return prefix + draw(COMMANDS), secrets


@st.composite
def steps(draw: st.DrawFn) -> list[RawStep]:
    out = []
    for _ in range(draw(st.integers(0, 8))):
        line = draw(st.one_of(build_arg_line().map(lambda p: p[0]), COMMANDS))
        out.append(
            RawStep(
                created_by=line,
                comment=draw(st.sampled_from(["", "buildkit.dockerfile.v0", "imported", "\x1b[2J"])),
                created=draw(st.one_of(st.none(), st.datetimes(timezones=st.just(UTC)))),
                empty_layer=draw(st.one_of(st.none(), st.booleans())),
                size=draw(st.one_of(st.none(), st.integers(0, 2**40))),
                tags=tuple(draw(st.lists(st.sampled_from(["a:1", "<none>:<none>", ""]), max_size=2))),
            )
        )
    return out


@FUZZ
@given(steps(), st.integers(0, 10), st.one_of(st.none(), st.integers(-2, 10)))
def test_any_history_builds_entries_and_rules_run(history: list[RawStep], n_layers: int, base: int | None) -> None:
    entries = build_history(history, n_layers, base_steps=base)
    assert len(entries) == len(history)
    layer_of = align(history, n_layers)
    if layer_of is not None:
        assert sum(i is not None for i in layer_of) == n_layers
    load_all()
    evaluate((Scope.HISTORY, Scope.IMAGE), make_image_facts(history=entries), make_ctx())


@FUZZ
@given(build_arg_line())
@example(("|1 NPM_TOKEN=Zq9abcdefgh /bin/sh -c npm ci", ["Zq9abcdefgh"]))
@example(("|1 A=x NPM_TOKEN=Zq9abcdefgh /bin/sh -c npm ci", ["Zq9abcdefgh"]))
@example(("|3 DB_PASSWORD=Zq9abcdefgh /bin/sh -c x", ["Zq9abcdefgh"]))
def test_secret_build_args_never_survive_redaction(line_and_secrets: tuple[str, list[str]]) -> None:
    line, secrets = line_and_secrets
    (entry,) = build_history([RawStep(created_by=line)], 1)
    leaked = [s for s in secrets if s in entry.created_by or any(s in a.value for a in entry.build_args)]
    assert leaked == [], (line, entry.created_by)


TIMESTAMPS = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "2026-01-02T03:04:05Z",
            "2026-01-02T03:04:05.123456789+02:00",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:60Z",
            "2026-13-45T99:99:99Z",
            "2026-01-02T03:04:05.1234567890123Z",
            "2026-01-02",
            "T",
            "Z",
        ]
    ),
)


@FUZZ
@example([{"created": "9999-12-31T23:59:59-01:00"}], [{"Created": 253_402_300_800}])  # once crashed: past year 9999
@given(
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "created_by": st.text(max_size=30),
                "comment": st.text(max_size=10),
                "created": TIMESTAMPS,
                "empty_layer": st.booleans(),
            },
        ),
        max_size=5,
    ),
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "CreatedBy": st.text(max_size=30),
                "Comment": st.text(max_size=10),
                "Created": st.integers(-(2**63), 2**63 - 1),
                "Size": st.integers(-1, 2**62),
                "Tags": st.one_of(st.none(), st.lists(st.text(max_size=10), max_size=3)),
            },
        ),
        max_size=5,
    ),
)
def test_history_documents_with_engine_types_and_any_values_parse(
    config_docs: list[dict[str, object]], api_docs: list[dict[str, object]]
) -> None:
    # The engine (and configshape, for tarballs) guarantees the types; the values can be anything.
    assert len(steps_from_config(config_docs)) == len(config_docs)
    assert len(steps_from_api(api_docs)) == len(api_docs)
