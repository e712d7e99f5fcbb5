"""Credentials in source code: find them, or replace them with a placeholder.

Two kinds of evidence, tuned for few false positives on ordinary code:

1. **Token formats** that are secrets whatever they are assigned to: PEM private key blocks (header,
   base64 body and footer; a header alone is not a key), AWS access key ids (``AKIA``/``ASIA`` + 16),
   GitHub tokens (``ghp_``/``gho_``/``ghu_``/``ghs_``/``ghr_`` + 36,
   ``github_pat_`` + 82), Slack tokens (``xoxb-``, ``xoxp-``, ...) and incoming-webhook URLs, OpenAI and
   Anthropic style keys (``sk-`` / ``sk-proj-`` / ``sk-ant-`` + 32 or more, with a digit), Google API keys
   (``AIza`` + 35), Stripe live keys (``sk_live_`` / ``rk_live_``) and JSON Web Tokens (three base64url
   parts, the first two starting ``eyJ``).
2. **Assignments** of a string literal to a secret-like name (``password``, ``passwd``, ``pwd``,
   ``secret``, ``token``, ``api_key``, ``access_key``, ``private_key``, ``client_secret``, ``auth_key``,
   ``credentials``; in any case, as a variable, attribute, keyword argument, dict/JSON/YAML key):
   ``password = "..."``, ``"api_key": "..."``, ``token: '...'``, ``connect(password="...")``. Names that
   describe rather than hold a secret (``password_field``, ``token_type``, ``secret_name``, ``*_path``,
   ``*_url``, ...) are skipped, and so are placeholders (empty, ``"changeme"``, ``"<password>"``,
   ``"${DB_PASSWORD}"``, ``"xxxx"``, ``"your-api-key-here"``, ...). For password names any other value of
   at least 4 characters counts (``password``); for the other names the value must look random
   (``high_entropy_secret``): at least 16 characters, no whitespace, letters and digits, and a Shannon
   entropy of at least ``min_entropy`` bits per character (hex digests ~3.7, base64 keys ~4.5+, English
   words and identifiers usually below 3.5). Values read from the environment or a call are not literals
   and are never flagged.

Annotated assignments (``password: str = "..."``) count like plain ones. Unquoted values count only
under rule 1, or when random-looking (``high_entropy_secret``) and the whole line is ``NAME=value`` with an
UPPER_CASE name (``.env`` files) or ``name: value`` (YAML); an unquoted password (``DB_PASSWORD=hunter2``)
is not told apart from a reference to a variable and is not flagged. Each finding spans the secret value only, so redaction keeps
the code around it intact.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

# (kind, pattern); the value is group "value" when the pattern has one, else the whole match.
# Each pattern that scans a run of key characters starts only where such a run starts (a lookbehind),
# so a long run is scanned once rather than from each of its positions (quadratic on crafted input).
_KEY_START = r"(?<![A-Za-z0-9_-])"
TOKEN_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    # A whole PEM block with a base64 body (up to 16 KB); a bare header, as in code that parses PEM
    # files, is not a key.
    ("private_key", re.compile(r"-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----"
                               r"(?:[A-Za-z0-9+/=\s:,.\\]|-(?!----BEGIN ))"  # the body ends at the next header
                               r"{64,16384}?-----END \1-----")),
    ("aws_access_key_id", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b")),
    ("github_token", re.compile(_KEY_START + r"(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{82})\b")),
    ("slack_token", re.compile(r"\bxox[abeoprs]-(?:[0-9A-Za-z]+-){1,4}[0-9A-Za-z]{8,}\b")),
    ("slack_webhook", re.compile(r"https://hooks\.slack\.com/services/T[0-9A-Z]+/B[0-9A-Z]+/[0-9A-Za-z]{16,}")),
    ("openai_key", re.compile(_KEY_START + r"sk-(?:proj-|svcacct-|admin-|ant-(?:api|admin)\d\d-)?"
                              r"(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{32,}")),
    ("google_api_key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])")),
    ("stripe_key", re.compile(_KEY_START + r"[rs]k_live_[0-9A-Za-z]{24,}\b")),
    ("jwt", re.compile(_KEY_START + r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")),
]

_SECRET_NAME = re.compile(
    r"pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key"
    r"|auth[_-]?key|credentials?", re.IGNORECASE)
_PASSWORD_NAME = re.compile(r"pass(?:word|wd|phrase)?|pwd", re.IGNORECASE)
# A name ending like this describes a secret (where it lives, what it is called), it does not hold one.
_DESCRIPTIVE_NAME = re.compile(
    r"(?:_|-|\b)(?:field|type|name|path|file|dir|url|uri|endpoint|env|var|key_?name|length|len|min|max"
    r"|prompt|label|hint|hash|regex|pattern|policy|header|param|count|id|expires?|expiry|ttl|format"
    r"|mode|kind|class|template|placeholder|example)s?$", re.IGNORECASE)
_PLACEHOLDER = re.compile(
    r"^(?:|[-x*.#_?]+|<[^>]*>|\{[^}]*\}|\$\{?[^}]*\}?|%[(\w]*\)?s?|\*+|null|none|nil|undefined|true|false"
    r"|password|passwd|secret|changeme|change_?me|test|example|dummy|placeholder|redacted|todo|fixme"
    r"|hidden|empty|default)$"
    r"|your[-_ ]|[-_ ]here$|^(?:my|some|fake|dummy|example|test|sample)[-_]|\.\.\.|\{\{|\}\}|xxxx|\*\*\*",
    re.IGNORECASE)
# A name starts where no name character precedes it: each run of them is tried once, not at every
# position (quadratic on a long minified line).
_NAME = r"(?<![\w$.-])(?P<name>[A-Za-z_$][\w$.-]*)"
_QUOTED_ASSIGNMENT = re.compile(
    _NAME + r"""["']?(?:[ \t]*:[ \t]*[A-Za-z_][\w\[\], .|]*?)?\s*(?::=|=>|==|[:=])\s*[rbuRBU]?(?P<q>["'`])(?P<value>(?:\\.|(?!(?P=q))[^\\\n])*)(?P=q)""")
_ENV_ASSIGNMENT = re.compile(r"^[ \t]*(?:export[ \t]+)?(?P<name>[A-Z][A-Z0-9_]*)[ \t]*=[ \t]*"
                             r"(?P<value>[^\s\"'#;(\[]+)[ \t]*$", re.MULTILINE)
_YAML_ASSIGNMENT = re.compile(r"^[ \t]*(?P<name>[A-Za-z_][\w.-]*)[ \t]*:[ \t]+(?P<value>[^\s\"'#{\[&*|>]+)[ \t]*$",
                              re.MULTILINE)


@dataclass(frozen=True)
class Secret:
    """One credential found: its kind, the span of its value in the text, and its line (1-based)."""

    kind: str
    start: int
    end: int
    line: int


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value``'s character distribution (0 for the empty string)."""
    if not value:
        return 0.0
    total = len(value)
    return -sum(c / total * math.log2(c / total) for c in Counter(value).values())


def looks_random(value: str, min_entropy: float = 3.5) -> bool:
    """At least 16 characters, no whitespace, letters and digits, entropy >= ``min_entropy``."""
    return (len(value) >= 16 and not any(c.isspace() for c in value)
            and any(c.isdigit() for c in value) and any(c.isalpha() for c in value)
            and shannon_entropy(value) >= min_entropy)


def _assignment_kind(name: str, value: str, min_entropy: float) -> str | None:
    last = re.split(r"[.$]", name)[-1]  # self.db_password -> db_password
    if not _SECRET_NAME.search(last) or _DESCRIPTIVE_NAME.search(last):
        return None
    # Leading or trailing blanks: the text between two string literals ("Password: " + x + "!").
    if value != value.strip() or _PLACEHOLDER.search(value) or value.lower() == last.lower():
        return None
    if _PASSWORD_NAME.search(last) and len(value) >= 4:
        return "password"
    return "high_entropy_secret" if looks_random(value, min_entropy) else None


def find_secrets(text: str, min_entropy: float = 3.5) -> list[Secret]:
    """Every credential in ``text`` (see the module doc), in order of position, without overlaps."""
    spans: list[tuple[int, int, str]] = []
    for kind, pattern in TOKEN_PATTERNS:
        spans.extend((m.start(), m.end(), kind) for m in pattern.finditer(text))
    for pattern in (_QUOTED_ASSIGNMENT, _ENV_ASSIGNMENT, _YAML_ASSIGNMENT):
        for m in pattern.finditer(text):
            value = m.group("value")
            kind = _assignment_kind(m.group("name"), value, min_entropy)
            if kind == "password" and pattern is not _QUOTED_ASSIGNMENT:
                kind = "high_entropy_secret" if looks_random(value, min_entropy) else None
            if kind:
                spans.append((m.start("value"), m.end("value"), kind))
    found: list[Secret] = []
    end = -1
    for start, stop, kind in sorted(spans, key=lambda s: (s[0], -s[1])):
        if start >= end:  # a token inside an assignment's value is reported once, by its format
            found.append(Secret(kind, start, stop, text.count("\n", 0, start) + 1))
            end = stop
        elif found and found[-1].kind in ("password", "high_entropy_secret") and stop <= end:
            found[-1] = Secret(kind, found[-1].start, found[-1].end, found[-1].line)
    return found


def redact_secrets(text: str, replacement: str = "<REDACTED:{kind}>", min_entropy: float = 3.5
                   ) -> tuple[str, list[Secret]]:
    """``text`` with every secret value replaced by ``replacement`` (``{kind}`` is filled in), and the
    secrets found."""
    secrets = find_secrets(text, min_entropy)
    parts, pos = [], 0
    for s in secrets:
        parts += [text[pos:s.start], replacement.replace("{kind}", s.kind)]
        pos = s.end
    parts.append(text[pos:])
    return "".join(parts), secrets
