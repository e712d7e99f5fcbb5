"""Reading the code LLM operators' answers: the code in an answer, an instruction without its wrapping.

:func:`extract_code` is the one place an answer becomes code (the code generator uses it, and so can any
operator that asks a model for code): the first fenced Python block, or the answer itself when it is
Python; ``None`` when the answer holds no code, which the operators turn into a reject.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from dataflow.core.operator import Reject

__all__ = ["NO_CODE", "blank_rejects", "clean_instruction", "extract_code", "is_python"]

#: The reject reason of an answer with no code in it.
NO_CODE = "no code in the answer"

# A fenced block: the opening fence and its info string (language tag first), then the body up to a
# closing fence on a line of its own; an answer cut by max_tokens has no closing fence, so the end of the
# text closes the block too.
_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)(?:^[ \t]*```[ \t]*$|\Z)", re.S | re.M)
_PYTHON_TAGS = frozenset({"", "python", "py", "python3", "py3"})
# Lines where code usually starts after a sentence of prose ("Here is the function:").
_CODE_START = re.compile(r"^(?:def |class |import |from \S+ import |@|async def )")
# Labels a model puts before the instruction it was asked for.
_LABEL = re.compile(r"^[\s*_#>]*(?:(?:generated|new|rewritten|normalized|enhanced)\s+)?(?:instruction|task|request)"
                    r"[\s*_]*[:：][\s*_]*", re.I)


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def is_python(text: str) -> bool:
    """Whether ``text`` parses as Python and does something: a statement other than bare names and
    literals (so a one-word answer or a quoted sentence is not code)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    return any(not (isinstance(node, ast.Expr) and isinstance(node.value, (ast.Constant, ast.Name)))
               for node in tree.body)


def extract_code(answer: str | None) -> str | None:
    """The Python code in an LLM answer, or ``None`` when it holds none.

    In order: the first non-empty fenced block tagged Python (``python``, ``py``, ``python3``) or
    untagged, blocks in other languages skipped, an unclosed fence running to the end; else the whole
    answer when it is Python (:func:`is_python`); else the answer from the first line that starts code
    (``def``, ``class``, ``import``, ``from``, a decorator) with trailing prose lines cut, when what is
    left is Python. Line ends become ``\\n``; the code is stripped of blank lines around it.
    """
    text = _normalise(answer or "").strip()
    if not text:
        return None
    fenced = False
    for match in _FENCE.finditer(text):
        fenced = True
        body = match.group(2).strip("\n")
        if match.group(1).lower() in _PYTHON_TAGS and body.strip():
            return body.rstrip()
    if fenced:  # fences, but none holding Python: the code is in another language or missing
        return None
    if is_python(text):
        return text
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if _CODE_START.match(line)), None)
    if start is None:
        return None
    for end in range(len(lines), start, -1):
        candidate = "\n".join(lines[start:end]).strip()
        if is_python(candidate):
            return candidate
    return None


def clean_instruction(answer: str | None) -> str:
    """An instruction as the model wrote it, without a leading label (``Instruction:``) or quotes around
    the whole of it; empty when nothing is left."""
    text = _normalise(answer or "").strip()
    text = _LABEL.sub("", text, count=1).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'`":
        text = text[1:-1].strip()
    return text


def blank_rejects(prompts: list[Any], values: list[Any], what: str) -> list[Any]:
    """``prompts`` with each row whose value is blank (missing, or only whitespace) replaced by
    ``Reject("empty <what>")``, so it is rejected without a call."""
    return [Reject(f"empty {what}") if not _has_text(v) else p for p, v in zip(prompts, values)]


def _has_text(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, (list, tuple)):
        return any(_has_text(v) for v in value)
    return hasattr(value, "tolist") and _has_text(value.tolist())
