"""Dockerfiles rebuilt from image history, and hardening an image with or without its real Dockerfile."""

from __future__ import annotations

from dockaudit.facts.image import Healthcheck, HistoryEntry, ImageConfig, ImageFacts, NamedValue
from dockaudit.harden.diff import colour_diff, unified_diff
from dockaudit.harden.document import Document
from dockaudit.harden.image import harden_image
from dockaudit.harden.reconstruct import UNKNOWN_SOURCE, reconstruct_dockerfile

BUILDKIT = "buildkit.dockerfile.v0"


def facts(history: list[HistoryEntry], config: ImageConfig | None = None, base: str | None = None) -> ImageFacts:
    return ImageFacts(
        id="sha256:" + "ab" * 32,
        repo_tags=("shop/api:2.0",),
        repo_digests=(),
        size=1,
        created=None,
        architecture="amd64",
        os="linux",
        config=config or ImageConfig(),
        history=tuple(history),
        layers=(),
        base_image=base,
    )


LEGACY = [
    HistoryEntry(0, "/bin/sh -c #(nop) ADD file:0123456789abcdef0123 in / ", from_base=True),
    HistoryEntry(1, '/bin/sh -c #(nop)  CMD ["sh"]', empty_layer=True, from_base=True),
    HistoryEntry(
        2,
        "/bin/sh -c #(nop)  ENV APP_ENV=production DB_PASSWORD=hunt…(redacted, 34 chars)",
        empty_layer=True,
        from_base=False,
    ),
    HistoryEntry(3, "/bin/sh -c #(nop) COPY dir:fedcba9876543210fedc in /app ", from_base=False),
    HistoryEntry(
        4,
        "|1 NPM_TOKEN=npm_…(redacted, 40 chars) /bin/sh -c apt-get update && apt-get install -y curl",
        from_base=False,
    ),
    HistoryEntry(5, "/bin/sh -c #(nop)  EXPOSE 8080", empty_layer=True, from_base=False),
    HistoryEntry(6, '/bin/sh -c #(nop)  CMD ["/bin/sh" "-c" "node server.js"]', empty_layer=True, from_base=False),
]


def test_legacy_history_becomes_a_parsable_dockerfile_with_a_header() -> None:
    text = reconstruct_dockerfile(facts(LEGACY, base="node:20"))
    assert text.startswith("# Reconstructed by dockaudit from the history and config of shop/api:2.0 (ababababab")
    assert "# Assumed base: node:20" in text
    assert "FROM node:20\n" in text
    assert f"COPY {UNKNOWN_SOURCE} /app\n" in text
    assert "RUN apt-get update && apt-get install -y curl\n" in text
    assert 'CMD ["/bin/sh", "-c", "node server.js"]\n' in text
    assert 'DB_PASSWORD="hunt…(redacted, 34 chars)"' in text
    assert "ADD file:" not in text and 'CMD ["sh"]' not in text
    Document.parse(text)


def test_buildkit_history_keeps_sources_and_go_printed_lists() -> None:
    history = [
        HistoryEntry(0, "ADD alpine-minirootfs.tar.gz / # buildkit", comment=BUILDKIT, from_base=True),
        HistoryEntry(1, "WORKDIR /app", comment=BUILDKIT, empty_layer=True, from_base=False),
        HistoryEntry(2, "COPY package.json . # buildkit", comment=BUILDKIT, from_base=False),
        HistoryEntry(3, "RUN /bin/sh -c npm ci # buildkit", comment=BUILDKIT, from_base=False),
        HistoryEntry(4, "EXPOSE map[3000/tcp:{}]", comment=BUILDKIT, empty_layer=True, from_base=False),
        HistoryEntry(5, "VOLUME [/data]", comment=BUILDKIT, empty_layer=True, from_base=False),
        HistoryEntry(
            6,
            'HEALTHCHECK &{["CMD" "wget" "localhost"] "30s" "3s" "0s" \'\\x03\'}',
            comment=BUILDKIT,
            empty_layer=True,
            from_base=False,
        ),
    ]
    check = Healthcheck(("CMD", "wget", "-q", "localhost"), interval_ns=30_000_000_000, retries=3)
    text = reconstruct_dockerfile(facts(history, ImageConfig(healthcheck=check)))
    assert "# Assumed base: an unknown image made of the first 1 history steps" in text
    assert "COPY package.json .\n" in text and "RUN npm ci\n" in text
    assert "EXPOSE 3000/tcp\n" in text and 'VOLUME ["/data"]\n' in text
    assert 'HEALTHCHECK --interval=30s --retries=3 CMD ["wget", "-q", "localhost"]\n' in text
    Document.parse(text)


def test_history_without_a_base_boundary_starts_from_scratch() -> None:
    text = reconstruct_dockerfile(facts([HistoryEntry(0, "COPY app /app # buildkit", comment=BUILDKIT)]))
    assert "FROM scratch\n" in text
    assert "every history step is reproduced" in text


def test_commit_steps_are_marked_not_invented() -> None:
    text = reconstruct_dockerfile(facts([HistoryEntry(0, "", from_base=False)]))
    assert "made by `docker commit`" in text


def test_harden_image_reconstructs_when_no_dockerfile_is_given() -> None:
    config = ImageConfig(env=(NamedValue("APP_ENV", "production"),), exposed_ports=("8080/tcp",))
    result = harden_image(facts(LEGACY, config, base="node:20"))
    assert result.source == "reconstructed"
    assert result.original.startswith("# Reconstructed")
    assert "\nENV APP_ENV=production\n" in result.hardened
    # node images already have the unprivileged user node (1000): v2 reuses it instead of creating one.
    assert "USER 1000:1000" in result.hardened
    assert "useradd" not in result.hardened
    assert 'CMD ["node", "server.js"]' in result.hardened


def test_harden_image_uses_the_real_dockerfile_when_given() -> None:
    result = harden_image(facts(LEGACY), "FROM node:20\nCMD node server.js\n")
    assert result.source == "dockerfile"
    assert result.original == "FROM node:20\nCMD node server.js\n"


def test_diff_is_plain_for_files_and_coloured_for_terminals() -> None:
    diff = unified_diff("a\nb\n", "a\nc", "Dockerfile")
    assert diff.startswith("--- a/Dockerfile\n+++ b/Dockerfile\n@@")
    assert "+c\n\\ No newline at end of file\n" in diff
    assert "\x1b[" not in diff
    styled = colour_diff(diff)
    assert styled.plain == diff
    assert {str(span.style) for span in styled.spans} >= {"green", "red", "cyan"}
    assert unified_diff(None, "x\n", ".dockerignore").startswith("--- /dev/null\n+++ b/.dockerignore\n")


def test_diff_counts_lines_as_patch_tools_do_so_a_carriage_return_stays_inside_its_line() -> None:
    diff = unified_diff("RUN echo a\rb\nUSER 0\n", "RUN echo a\rb\nUSER 1000:1000\n", "Dockerfile")
    assert "No newline at end of file" not in diff
    assert " RUN echo a\rb\n-USER 0\n+USER 1000:1000\n" in diff


def test_multi_line_run_from_history_becomes_a_heredoc() -> None:
    entry = HistoryEntry(0, "RUN /bin/sh -c set -e\nif true; then echo ok; fi # buildkit", comment=BUILDKIT)
    text = reconstruct_dockerfile(facts([entry]))
    assert "RUN <<EOF\nset -e\nif true; then echo ok; fi\nEOF\n" in text
    assert Document.parse(text).instructions[-1].heredoc
