"""The Secrets section of the catalog: names, allowlist, credential formats, redaction."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockaudit.command_secrets import parse_build_args, redact_command, redact_history_line
from dockaudit.secrets import (
    classify_file,
    classify_pair,
    find_credentials,
    is_allowlisted,
    name_words,
    redact,
    redact_pair,
    redact_text,
    secret_name_word,
)
from tests.rules.planted_formats import FORMATS


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("AWS_SECRET_ACCESS_KEY", ["aws", "secret", "access", "key"]),
        ("githubToken", ["github", "token"]),
        ("APIKey", ["api", "key"]),
        ("db.password-file", ["db", "password", "file"]),
    ],
)
def test_names_split_on_separators_and_camel_case(name: str, words: list[str]) -> None:
    assert name_words(name) == words


@pytest.mark.parametrize(
    ("name", "word"),
    [
        ("DB_PASSWORD", "password"),
        ("mysqlPasswd", "passwd"),
        ("DB_PWD", "pwd"),
        ("RABBITMQ_DEFAULT_PASS", "pass"),
        ("smtpPass", "pass"),
        ("APP_SECRET", "secret"),
        ("githubToken", "token"),
        ("APIKEY", "apikey"),
        ("STRIPE_API_KEY", "api key"),
        ("AWS_ACCESS_KEY_ID", "access key"),
        ("SSH_PRIVATE_KEY", "private key"),
        ("GOOGLE_CREDENTIALS", "credentials"),
        ("BASIC_AUTH", "auth"),
    ],
)
def test_secret_like_names(name: str, word: str) -> None:
    assert secret_name_word(name) == word


@pytest.mark.parametrize(
    "name",
    ["PWD", "AUTHOR", "OAUTHLIB_VERSION_X", "PATH", "KEYBOARD", "PUBLIC_KEY", "HOME", "PASS_HOST_HEADER", "BYPASS"],
)
def test_names_that_are_not_secret_like(name: str) -> None:
    assert secret_name_word(name) is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GPG_KEY", "A035C8C19219BA821ECEA86B64E628F8D684696D"),
        ("NODE_GPG_KEY", "4ED778F539E3634C779C87C6D7062848A1AB005C"),
        ("TOKEN_URL", "https://auth.example.com/token"),
        ("OAUTH_TOKEN_URL", "https://auth.example.com/token"),
        ("PASSWORD_FILE", "/run/secrets/db_password"),
        ("POSTGRES_PASSWORD_FILE", "/run/secrets/pg"),
        ("SECRET_KEY_PATH", "./keys/secret.key"),
        ("PYTHON_SECRET_VERSION", "3.12.1"),
    ],
)
def test_allowlisted_names_are_not_secrets(name: str, value: str) -> None:
    assert is_allowlisted(name, value)
    assert classify_pair(name, value) is None
    assert redact_pair(name, value) == (value, None)


def test_file_suffix_with_a_literal_value_is_still_a_secret() -> None:
    assert classify_pair("PASSWORD_FILE", "hunter2hunter2") is not None


def test_user_allowlist_exempts_names_by_glob() -> None:
    assert classify_pair("MY_TOKEN", "abcdefgh12345678", allow=["my_*"]) is None
    assert classify_pair("MY_TOKEN", "abcdefgh12345678") is not None


def test_references_and_empty_values_are_not_secrets() -> None:
    assert classify_pair("DB_PASSWORD", "${DB_PASSWORD}") is None
    assert classify_pair("DB_PASSWORD", "$DB_PASSWORD") is None
    assert classify_pair("DB_PASSWORD", "") is None


def test_database_url_counts_only_with_a_password() -> None:
    assert classify_pair("DATABASE_URL", "postgres://app@db:5432/app") is None
    assert classify_pair("DATABASE_URL", "postgres://app:s3cretpw@db:5432/app") is not None
    assert classify_pair("PG_DSN", "host=db user=app dbname=app") is None
    match = classify_pair("PG_DSN", "host=db user=app password=s3cretpw")
    assert match is not None and match.kind == "dsn-password"


def test_aws_secret_key_needs_an_aws_or_secret_name() -> None:
    forty = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    assert classify_pair("AWS_SECRET_ACCESS_KEY", forty) is not None
    assert classify_pair("AWS_KEY", forty) is not None
    # A 40-character hex fingerprint beside an unrelated name is not a credential.
    assert classify_pair("BUILD_FINGERPRINT", "A035C8C19219BA821ECEA86B64E628F8D684696D") is None
    assert find_credentials(f"fingerprint {forty}") == []
    assert find_credentials(f"AKIAIOSFODNN7EXAMPLE {forty}")[1][2].kind == "aws-secret-access-key"


@pytest.mark.parametrize(("kind", "value"), FORMATS, ids=[k for k, _ in FORMATS])
def test_every_credential_format_is_detected_and_redacted(kind: str, value: str) -> None:
    text = f"prefix {value} suffix"
    redacted, found = redact_text(text)
    assert [m.kind for m in found] == [kind]
    assert value not in redacted
    assert redacted.startswith("prefix ") and redacted.endswith(" suffix")


def test_redaction_keeps_four_characters_and_the_length() -> None:
    assert redact("AKIAIOSFODNN7EXAMPLE") == "AKIA…(redacted, 20 chars)"
    assert redact("short") == "…(redacted, 5 chars)"
    assert redact("1234567") == "…(redacted, 7 chars)"
    assert redact("12345678") == "1234…(redacted, 8 chars)"


def test_build_args_are_parsed_and_redacted() -> None:
    line = "|2 NPM_TOKEN=npm_abcdefghijklmnopqrstuvwxyz0123456789 VERSION=1.2 /bin/sh -c npm ci"
    assert parse_build_args(line) == [("NPM_TOKEN", "npm_abcdefghijklmnopqrstuvwxyz0123456789"), ("VERSION", "1.2")]
    result = redact_history_line(line)
    assert result.text == "|2 NPM_TOKEN=npm_…(redacted, 40 chars) VERSION=1.2 /bin/sh -c npm ci"
    assert [a.secret is not None for a in result.build_args] == [True, False]


@pytest.mark.parametrize(
    ("command", "secret"),
    [
        ("curl -u admin:s3cretpassword https://example.com", "s3cretpassword"),
        ("curl --user admin:s3cretpassword https://example.com", "s3cretpassword"),
        ("docker login --password s3cretpassword registry", "s3cretpassword"),
        ("docker login --password=s3cretpassword registry", "s3cretpassword"),
        ("mysql -uroot -ps3cretpassword -e 'select 1'", "s3cretpassword"),
        ('curl -H "Authorization: Bearer abcdef0123456789" https://api', "abcdef0123456789"),
        ('curl -H "Authorization: Basic YWRtaW46czNjcmV0" https://api', "YWRtaW46czNjcmV0"),
        ('echo "//registry.npmjs.org/:_authToken=abcd1234efgh5678" > ~/.npmrc', "abcd1234efgh5678"),
        ('printf "[pypi]\\npassword = s3cretpassword\\n" > ~/.pypirc', "s3cretpassword"),
        ('echo "machine github.com login bob password s3cretpassword" > ~/.netrc', "s3cretpassword"),
        ("DB_PASSWORD=s3cretpassword ./migrate", "s3cretpassword"),
        ("git clone https://bob:s3cretpassword@github.com/org/repo.git", "s3cretpassword"),
    ],
)
def test_credentials_in_commands_are_redacted(command: str, secret: str) -> None:
    result = redact_history_line(f"/bin/sh -c {command}")
    assert secret not in result.text
    assert result.found
    assert "(redacted," in result.text


@pytest.mark.parametrize(
    "command",
    [
        "mkdir -p /app && cp -pr a b",
        "docker login --password-stdin registry",
        "NPM_TOKEN=$(cat /run/secrets/npm) npm ci",
        'echo "password: $PASSWORD" > /tmp/x',
        "useradd -u 1000:1000 app",
        "./configure --enable-auth=yes",
        "echo GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D",
    ],
)
def test_commands_without_literal_credentials_are_left_alone(command: str) -> None:
    result = redact_history_line(command)
    assert result.text == command
    assert result.found == ()


def test_secret_env_in_a_history_line_is_redacted() -> None:
    line = "/bin/sh -c #(nop)  ENV APP_ENV=production DB_PASSWORD=hunter2-very-secret"
    assert redact_command(line) == "/bin/sh -c #(nop)  ENV APP_ENV=production DB_PASSWORD=hunt…(redacted, 19 chars)"


@pytest.mark.parametrize(
    ("path", "content", "kind"),
    [
        ("/app/key.pem", b"-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n", "private-key"),
        ("/root/.ssh/id_ed25519", b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n", "openssh-private-key"),
        ("/root/.aws/credentials", b"[default]\naws_secret_access_key = abc\n", "aws-credentials"),
        ("/root/.docker/config.json", b'{"auths": {"r": {"auth": "YWRtaW46cGFzcw=="}}}', "docker-config"),
        ("/root/.git-credentials", b"https://bob:tok3n@github.com\n", "git-credentials"),
        ("/root/.netrc", b"machine h login bob password s3cret\n", "netrc"),
        ("/root/.npmrc", b"//registry.npmjs.org/:_authToken=abcdef\n", "npmrc"),
        ("/root/.pypirc", b"[pypi]\nusername = __token__\npassword = pypi-abc\n", "pypirc"),
        ("/app/.env", b"APP_ENV=prod\nDB_PASSWORD=hunter2\n", "dotenv"),
    ],
)
def test_credential_files_are_classified(path: str, content: bytes, kind: str) -> None:
    match = classify_file(path, content)
    assert match is not None and match.kind == kind


@pytest.mark.parametrize(
    ("path", "content"),
    [
        ("/root/.docker/config.json", b'{"auths": {"r": {}}, "credsStore": "desktop"}'),
        ("/root/.npmrc", b"registry=https://registry.npmjs.org/\n_authToken=${NPM_TOKEN}\n"),
        ("/app/.env", b"APP_ENV=prod\nDB_PASSWORD_FILE=/run/secrets/db\n"),
        ("/etc/ssl/certs/ca.pem", b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
    ],
)
def test_harmless_files_are_not_credentials(path: str, content: bytes) -> None:
    assert classify_file(path, content) is None


def test_redacting_twice_changes_nothing() -> None:
    line = "|1 NPM_TOKEN=npm_DockAuditFake0123456789abcdefghijKLM /bin/sh -c echo DB_PASSWORD=hunter2hunter2 && ls"
    once = redact_history_line(line)
    twice = redact_history_line(once.text)
    assert twice.text == once.text
    assert twice.build_args[0].value == "npm_…(redacted, 40 chars)"
    assert redact_pair("X", "AKIA…(redacted, 20 chars)")[0] == "AKIA…(redacted, 20 chars)"


@given(
    index=st.integers(min_value=0, max_value=len(FORMATS) - 1),
    before=st.text(alphabet=" \t\n=:'\"/,;(", max_size=5),
    after=st.text(alphabet=" \t\n:'\"/,;)", max_size=5),
    words=st.lists(st.sampled_from(["RUN", "echo", "export", "x", "&&", "|"]), max_size=4),
)
def test_a_credential_never_survives_redaction_whatever_surrounds_it(
    index: int, before: str, after: str, words: list[str]
) -> None:
    value = FORMATS[index][1]
    text = " ".join([*words, before]) + value + after
    redacted, found = redact_text(text)
    assert found
    assert value not in redacted
    assert value not in redact_command(text)
    assert redact_command(redact_command(text)) == redact_command(text)
