"""PII anonymisation with a pluggable registry of detectors."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from dataflow.core.operator import Refiner
from dataflow.core.registry import register_operator


@dataclass(frozen=True)
class PIIDetector:
    """A named PII pattern: ``pattern`` finds candidates, ``validate`` (optional) confirms each match."""

    name: str
    pattern: re.Pattern
    token: str
    validate: Callable[[str], bool] | None = None


def luhn_valid(number: str) -> bool:
    """True if the digits of ``number`` pass the Luhn checksum (card numbers)."""
    digits = [int(c) for c in number if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _ipv4_valid(text: str) -> bool:
    return all(0 <= int(part) <= 255 and (part == "0" or not part.startswith("0")) for part in text.split("."))


def _ssn_valid(text: str) -> bool:
    area, group, serial = re.split(r"[- ]", text)
    return area not in ("000", "666") and not area.startswith("9") and group != "00" and serial != "0000"


PII_DETECTORS: dict[str, PIIDetector] = {}


def register_pii_detector(detector: PIIDetector) -> PIIDetector:
    """Add a detector usable by name in ``PIIAnonymizeRefiner(detectors=[...])``."""
    PII_DETECTORS[detector.name] = detector
    return detector


for _detector in (
    PIIDetector("email", re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"), "[EMAIL]"),
    PIIDetector("credit_card", re.compile(r"\b(?:\d[ -]?){12,18}\d\b"), "[CREDIT_CARD]", luhn_valid),
    PIIDetector("us_ssn", re.compile(r"\b\d{3}[- ]\d{2}[- ]\d{4}\b"), "[ID_NUMBER]", _ssn_valid),
    # Chinese resident ID: 6-digit region, birth date YYYYMMDD, 3 digits, check digit or X.
    PIIDetector("cn_id", re.compile(r"\b\d{6}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]\b"),
                "[ID_NUMBER]"),
    PIIDetector("ipv4", re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"), "[IP]", _ipv4_valid),
    PIIDetector("ipv6", re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}(?![\w:])"), "[IP]"),
    # Phone numbers: optional +country code, optional (area), groups of digits separated by space, dot or
    # dash; at least 7 digits in all.
    PIIDetector("phone", re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,4}"
                                    r"(?![\w])"), "[PHONE]", lambda s: sum(c.isdigit() for c in s) >= 7),
):
    register_pii_detector(_detector)

DEFAULT_DETECTORS = ["email", "credit_card", "us_ssn", "cn_id", "ipv4", "ipv6", "phone"]


@register_operator
class PIIAnonymizeRefiner(Refiner):
    """Replace personal data with placeholder tokens: ``[EMAIL]``, ``[PHONE]``, ``[IP]``, ``[CREDIT_CARD]``
    (Luhn-checked), ``[ID_NUMBER]`` (US SSN, Chinese resident ID).

    ``detectors`` picks registered detectors by name, applied in order (the default order runs the most
    specific first, so a card number is not taken for a phone number). ``custom_patterns`` adds your own:
    {token: regex}, e.g. ``{"[EMPLOYEE_ID]": "EMP-\\\\d{6}"}``. ``tokens`` overrides replacement tokens by
    detector name. Register new detectors in code with ``register_pii_detector``.
    """

    def __init__(self, detectors: list[str] | None = None, custom_patterns: dict[str, str] | None = None,
                 tokens: dict[str, str] | None = None):
        super().__init__()
        names = list(DEFAULT_DETECTORS if detectors is None else detectors)
        unknown = [n for n in names if n not in PII_DETECTORS]
        if unknown:
            raise ValueError(f"PIIAnonymizeRefiner: unknown detectors {unknown}; known: {sorted(PII_DETECTORS)}")
        tokens = tokens or {}
        self._detectors = [PIIDetector(d.name, d.pattern, tokens.get(d.name, d.token), d.validate)
                           for d in (PII_DETECTORS[n] for n in names)]
        for token, pattern in (custom_patterns or {}).items():
            self._detectors.insert(0, PIIDetector(f"custom:{token}", re.compile(pattern), token))

    def refine_text(self, text: str) -> str:
        for det in self._detectors:
            if det.validate is None:
                text = det.pattern.sub(det.token, text)
            else:
                text = det.pattern.sub(lambda m, d=det: d.token if d.validate(m.group(0)) else m.group(0), text)
        return text
