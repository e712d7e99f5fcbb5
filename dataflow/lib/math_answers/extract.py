"""Pulling the final answer out of a chain-of-thought text.

Priority, highest first: the last ``\\boxed{...}`` / ``\\fbox{...}``; the last GSM8K ``#### N`` line;
the last "answer phrase" ("The final answer is ...", "Final answer: ...", "answer: ...").
"""

from __future__ import annotations

import re

_BOX_COMMANDS = ("\\boxed", "\\fbox")

# "The (final) answer is", "Final answer:", "answer:" -- the last one in the text wins.
_ANSWER_PHRASE = re.compile(
    r"(?:the\s+(?:final\s+|correct\s+)?answer\s+is\s*:?|final\s+answer\s*(?:is)?\s*:|\banswer\s*:)",
    re.IGNORECASE,
)
_GSM8K_MARK = re.compile(r"####\s*([^\n]*)")
# A sentence ends at a period followed by whitespace (so "3.5" survives), or at a line end.
_SENTENCE_END = re.compile(r"\.(?:\s|$)|\n")


def balanced_group(text: str, open_at: int) -> tuple[str, int] | None:
    """Content of the ``{...}`` group whose ``{`` is at ``open_at``, and the index after its ``}``."""
    if open_at >= len(text) or text[open_at] != "{":
        return None
    depth = 0
    i = open_at
    while i < len(text):
        ch = text[i]
        if ch == "\\":  # an escaped brace (\{ or \}) does not count
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[open_at + 1 : i], i + 1
        i += 1
    return None


def last_boxed_content(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` or ``\\fbox{...}`` (nested braces allowed)."""
    best_at = -1
    for command in _BOX_COMMANDS:
        best_at = max(best_at, text.rfind(command))
    if best_at < 0:
        return None
    rest_at = best_at + len("\\boxed") if text.startswith("\\boxed", best_at) else best_at + len("\\fbox")
    while rest_at < len(text) and text[rest_at] == " ":
        rest_at += 1
    if rest_at < len(text) and text[rest_at] == "{":
        group = balanced_group(text, rest_at)
        if group is None:
            return None
        return group[0].strip()
    # "\boxed 5" form: the argument runs to the next whitespace or "$".
    match = re.match(r"[^\s$]+", text[rest_at:])
    return match.group(0) if match else None


def _tidy(answer: str) -> str | None:
    """Remove markdown, math delimiters and trailing punctuation around an extracted answer."""
    answer = answer.strip()
    answer = re.sub(r"^\*+|\*+$", "", answer).strip()  # **bold**
    answer = re.sub(r"^\\\[|\\\]$|^\\\(|\\\)$", "", answer).strip()
    if answer.startswith("$") and answer.endswith("$") and len(answer) > 1 and answer.count("$") == 2:
        answer = answer[1:-1].strip()
    boxed = last_boxed_content(answer)
    if boxed is not None:
        answer = boxed
    answer = answer.rstrip(" \t.;:!,*").strip()
    # "$12." loses the period; a lone "$" from "$\$" removal should not remain either.
    answer = answer.strip("$").strip() if answer.count("$") == 2 else answer
    return answer or None


def extract_final_answer(text: str) -> str | None:
    """Final answer in a chain of thought, or None when the text states none.

    Looks, in order, for the last ``\\boxed{}`` / ``\\fbox{}`` (balanced, nested braces), a GSM8K
    ``#### N`` line, and the last "The answer is ..." / "Final answer: ..." / "answer: ..." phrase (up
    to the end of its sentence). Markdown bold, ``$`` delimiters and trailing punctuation are removed.
    """
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        boxed = last_boxed_content(text)
        if boxed:
            return _tidy(boxed)
        marks = _GSM8K_MARK.findall(text)
        if marks and marks[-1].strip():
            return _tidy(marks[-1])
        phrases = list(_ANSWER_PHRASE.finditer(text))
        if phrases:
            tail = text[phrases[-1].end() :].lstrip(" \t*:")
            if tail.startswith("$"):
                # Keep a whole inline-math span, whose content may contain ". ".
                close = tail.find("$", 1)
                if close > 0:
                    return _tidy(tail[: close + 1])
            end = _SENTENCE_END.search(tail)
            return _tidy(tail[: end.start()] if end else tail)
    except Exception:  # never raise on odd model output
        return None
    return None
