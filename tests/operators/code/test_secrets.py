"""Secret detection and redaction: real credential shapes are caught, ordinary code is left alone."""

from __future__ import annotations

import random
import string

import pytest

from dataflow.core.registry import OPERATORS
from dataflow.lib.code_secrets import find_secrets, redact_secrets, shannon_entropy
from dataflow.testing import run_operator

from .helpers import mbpp_rows

_RNG = random.Random(20240611)
ALNUM = string.ascii_letters + string.digits


def fake(n: int, alphabet: str = ALNUM) -> str:
    """A random string shaped like a real key (generated here: no real credential is in this file)."""
    return "".join(_RNG.choice(alphabet) for _ in range(n))


# (code, kind of the one secret in it, the secret value)
SECRETS = [
    (f'AWS_ACCESS_KEY_ID = "AKIA{(v := fake(16, string.ascii_uppercase + string.digits))}"',
     "aws_access_key_id", f"AKIA{v}"),
    (f'headers = {{"Authorization": "token ghp_{(v := fake(36))}"}}', "github_token", f"ghp_{v}"),
    (f'SLACK_BOT = "xoxb-{fake(11, string.digits)}-{fake(12, string.digits)}-{(v := fake(24))}"',
     "slack_token", None),
    (f'client = OpenAI(api_key="sk-proj-{(v := fake(48))}")', "openai_key", f"sk-proj-{v}"),
    (f'maps_url = "https://maps.googleapis.com/api/js?key=AIza{(v := fake(35))}"', "google_api_key",
     f"AIza{v}"),
    (f'stripe.api_key = "sk_live_{(v := fake(24))}"', "stripe_key", f"sk_live_{v}"),
    (f"KEY = '''-----BEGIN RSA PRIVATE KEY-----\n{(v := fake(64))}\n-----END RSA PRIVATE KEY-----'''",
     "private_key", f"-----BEGIN RSA PRIVATE KEY-----\n{v}\n-----END RSA PRIVATE KEY-----"),
    ('db_password = "hunter2!x"', "password", "hunter2!x"),
    ('conn = psycopg2.connect(host="db", user="app", password="Tr0ub4dor&3")', "password", "Tr0ub4dor&3"),
    ('{"user": "app", "password": "s3cr3t-P@ss"}', "password", "s3cr3t-P@ss"),
    ('password: str = "correct-horse-battery"', "password", "correct-horse-battery"),
    ('if password == "letmein99":', "password", "letmein99"),
    (f'SECRET_KEY = "{(v := fake(50))}"', "high_entropy_secret", v),
    (f"export DEPLOY_TOKEN={(v := fake(32))}", "high_entropy_secret", v),
    (f"  aws_secret_access_key: {(v := fake(40, ALNUM + '/+'))}", "high_entropy_secret", v),
]

# Ordinary code that mentions secrets without holding one.
NOT_SECRETS = [
    'password = os.environ["DB_PASSWORD"]',
    'password = getpass.getpass("Password: ")',
    'password = ""',
    'api_key = "your-api-key-here"',
    'password = "${DB_PASSWORD}"',
    'token = "<TOKEN>"',
    "password: changeme",
    "password = password",
    'password_field = "pwd"',
    'token_type = "bearer"',
    'api_key_header = "X-API-KEY"',
    'PASSWORD_MIN_LENGTH = "12"',
    'print("Enter password: " + name + "!")',
    'url = f"postgres://{user}:{password}@{host}/db"',
    'SECRET_KEY = "development"',
    'max_tokens = "2048"',
    'tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")',
    'digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"',
    'request_id = "3f2b8c1e-9a4d-4e57-b1c2-7d8e9f0a1b2c"',
    "def login(user: str, password: str = None) -> bool:",
    'help="The API token used to authenticate"',
    "import sklearn  # sk-learn works fine for this",
    'if line.startswith("-----BEGIN RSA PRIVATE KEY-----"):',  # code reading PEM files holds no key
    "DB_PASSWORD=hunter2",  # unquoted and short: could be a variable; not flagged (documented)
]


@pytest.mark.parametrize("code,kind,value", SECRETS, ids=[s[1] + str(i) for i, s in enumerate(SECRETS)])
def test_each_credential_shape_is_found(code, kind, value):
    found = find_secrets(code)
    assert [s.kind for s in found] == [kind]
    if value is not None:
        assert code[found[0].start:found[0].end] == value


def test_ordinary_code_is_not_flagged():
    assert {code: find_secrets(code) for code in NOT_SECRETS} == {code: [] for code in NOT_SECRETS}
    # Nor is any of MBPP's 474 solutions.
    assert [t["task_id"] for t in mbpp_rows() if find_secrets(t["code"])] == []


def test_entropy_separates_keys_from_words():
    assert shannon_entropy("") == 0 and shannon_entropy("aaaa") == 0
    assert shannon_entropy("abcd") == pytest.approx(2.0)
    assert shannon_entropy(fake(40)) > 4.5 > shannon_entropy("development_settings_module")


def test_secret_filter_drops_with_kinds_and_lines_never_values():
    rows = [{"code": "x = 1\n" + SECRETS[0][0] + "\n" + SECRETS[7][0]}, {"code": NOT_SECRETS[0]},
            {"code": None}]
    result = run_operator(OPERATORS.get("CodeSecretFilter")(), rows)
    assert result.kept == [{"code": NOT_SECRETS[0], "secrets": ""}, {"code": None, "secrets": ""}]
    assert result.drop_reasons == ["secrets: aws_access_key_id (line 2), password (line 3)"]
    assert SECRETS[0][2] not in result.dropped[0]["secrets"] + result.drop_reasons[0]


def test_redactor_replaces_only_the_values():
    code = "\n".join(s[0] for s in SECRETS) + "\n" + "\n".join(NOT_SECRETS)
    redacted, found = redact_secrets(code)
    assert len(found) == len(SECRETS)
    assert find_secrets(redacted) == []
    for _, kind, value in SECRETS:
        assert f"<REDACTED:{kind}>" in redacted
        if value is not None:
            assert value not in redacted
    assert 'client = OpenAI(api_key="<REDACTED:openai_key>")' in redacted
    assert 'db_password = "<REDACTED:password>"' in redacted
    assert "KEY = '''<REDACTED:private_key>'''" in redacted
    assert redacted.endswith("\n".join(NOT_SECRETS))  # untouched

    op = OPERATORS.get("CodeSecretRedactor")(replacement="***")
    result = run_operator(op, [{"code": SECRETS[7][0]}, {"code": "x = 1"}, {"code": None}],
                          output_count_key="n_secrets")
    assert result.kept == [{"code": 'db_password = "***"', "n_secrets": 1},
                           {"code": "x = 1", "n_secrets": 0}, {"code": None, "n_secrets": 0}]
    into = run_operator(OPERATORS.get("CodeSecretRedactor")(), [{"code": SECRETS[7][0]}], output_key="clean")
    assert into.kept[0]["code"] == SECRETS[7][0] and into.kept[0]["clean"] == 'db_password = "<REDACTED:password>"'


def test_crafted_input_is_scanned_in_linear_time():
    import time

    # Each of these took minutes with patterns that rescan a run from each of its positions.
    for text in ("sk-" * 60_000, "eyJ-" * 50_000, "-----BEGIN RSA PRIVATE KEY-----\n" * 6_000, "a.b" * 70_000,
                 "ghp_" * 50_000, "password: " * 20_000):
        start = time.perf_counter()
        assert find_secrets(text) == []
        assert time.perf_counter() - start < 3, text[:12]
