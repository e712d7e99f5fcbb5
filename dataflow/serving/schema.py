"""JSON-schema helpers for structured output: normalising the schema argument, pulling a JSON
value out of model text, validating it, and wording the repair request sent back to the model."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def normalize_schema(schema: Any) -> dict | None:
    """Accept a JSON-schema dict, a pydantic model class (or instance), or ``None``."""
    if schema is None:
        return None
    if isinstance(schema, dict):
        return schema
    to_schema = getattr(schema, "model_json_schema", None)
    if callable(to_schema):
        return to_schema()
    raise TypeError(f"json_schema must be a dict or a pydantic model class, not {type(schema).__name__}")


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Any:
    import jsonschema

    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def extract_json(text: str) -> Any:
    """Parse the JSON value in ``text``: the whole text, a fenced block, or, in text that does not itself
    start as JSON (prose around it), the first balanced object/array in it. Raises ``ValueError`` when
    there is none."""
    stripped = text.strip()
    fenced = _FENCE.match(stripped)
    if fenced:
        stripped = fenced.group(1)
    try:
        # strict=False: a raw tab or newline inside a string (a model copying text from its input;
        # llama.cpp's JSON grammar allows them) is kept, not a reason to reject the whole answer.
        return json.loads(stripped, strict=False)
    except json.JSONDecodeError as first_error:
        if stripped[:1] in ("{", "["):
            # The answer is this value, broken (cut off, say): an object nested in it is not the answer,
            # and validating one would report a misleading schema error.
            raise ValueError(f"not valid JSON ({first_error.msg} at char {first_error.pos})") from None
        decoder = json.JSONDecoder(strict=False)
        for start, char in enumerate(stripped):
            if char in "{[":
                try:
                    value, _ = decoder.raw_decode(stripped, start)
                    return value
                except json.JSONDecodeError:
                    continue
        raise ValueError(f"not valid JSON ({first_error.msg} at char {first_error.pos})") from None


def check_json_output(text: str, schema: dict) -> tuple[Any, str | None]:
    """Return ``(value, None)`` when ``text`` holds JSON valid under ``schema``,
    else ``(None, reason)``."""
    try:
        value = extract_json(text)
    except ValueError as exc:
        return None, str(exc)
    validator = _validator(json.dumps(schema, sort_keys=True))
    error = next(iter(sorted(validator.iter_errors(value), key=lambda e: list(e.path))), None)
    if error is None:
        return value, None
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return None, f"schema violation at {where}: {error.message}"


def repair_message(problem: str, schema: dict) -> str:
    return (
        f"Your previous reply was rejected: {problem}.\n"
        f"Reply again with only one JSON value that satisfies this JSON schema, and nothing else:\n"
        f"{json.dumps(schema)}"
    )
