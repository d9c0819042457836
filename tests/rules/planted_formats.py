"""Fake credentials, one per format the Secrets section names: planted in facts to prove nothing leaks."""

from __future__ import annotations

_JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiJkb2NrYXVkaXQtZmFrZSIsIm5hbWUiOiJGYWtlIn0"
    ".dockauditFakeSignature0123456789abcdefXYZ"
)

FORMATS: tuple[tuple[str, str], ...] = (
    ("aws-access-key-id", "AKIAZDOCKAUDITFAKE01"),
    ("aws-access-key-id", "ASIAZDOCKAUDITFAKE02"),
    ("github-token", "ghp_DockAuditFakeGithubToken0123456789ab"),
    ("github-token", "gho_DockAuditFakeGithubOauth0123456789ab"),
    ("github-token", "ghs_DockAuditFakeGithubServer012345678ab"),
    ("github-pat", "github_pat_11DOCKAUDIT0fake0PAT0value0123456789"),
    ("gitlab-token", "glpat-DockAuditFakeGitlab01234"),
    ("slack-token", "xoxb-0000000000-dockaudit-fake-slack-bot"),
    ("slack-token", "xoxp-1111111111-dockaudit-fake-slack-user"),
    ("stripe-key", "sk_live_DockAuditFakeStripe0123456789"),
    ("stripe-key", "rk_live_DockAuditFakeStripeRestricted01"),
    ("google-api-key", "AIzaDockAuditFakeGoogleKey0123456789abc"),
    ("npm-token", "npm_DockAuditFakeNpmToken0123456789abcde"),
    ("pypi-token", "pypi-AgEIcHlwaS5vcmcDockAuditFakePyPIToken"),
    ("jwt", _JWT),
    (
        "private-key",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEdockauditFAKEpemKEYmaterial0123456789\n-----END RSA PRIVATE KEY-----",
    ),
    (
        "openssh-private-key",
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1dockauditFAKEopensshKEY01\n-----END OPENSSH PRIVATE KEY-----",
    ),
    ("url-credentials", "https://deploy:DockAuditFakeUrlPassw0rd@git.example.com/repo.git"),
)
"""(format id, fake value)."""

AWS_SECRET = "dockauditFAKEawsSecretKey0123456789abcdEF"
"""A 40-character AWS secret access key, which counts only beside an AWS name or a key ID."""

NAMED = {
    "DB_PASSWORD": "dockaudit-fake-db-password",
    "API_KEY": "dockaudit-fake-api-key-value",
    "sessionSecret": "dockaudit-fake-session-secret",
}
"""Secrets recognised only by their name."""

RUN_ONLY = {
    "basic": "DockAuditFakeBasicPw1",
    "password-flag": "DockAuditFakePassFlag2",
    "header": "DockAuditFakeBearerToken3",
    "npmrc": "DockAuditFakeNpmrcToken4",
    "netrc": "DockAuditFakeNetrcPw5",
}
"""Secrets recognised only by where a RUN command puts them."""


def all_values() -> list[str]:
    """Every planted value, as substrings that must never appear in output (long enough to be unique)."""
    values = [v for _, v in FORMATS] + [AWS_SECRET, *NAMED.values(), *RUN_ONLY.values()]
    # For multi-line keys, the key material line is the part that must not leak.
    out: list[str] = []
    for value in values:
        if "PRIVATE KEY" in value:
            out.append(value.splitlines()[1])
        elif value.startswith("https://deploy:"):
            out.append("DockAuditFakeUrlPassw0rd")
        else:
            out.append(value)
    return out
