"""The agent's plan, one small decision at a time, each a constrained-decoding call under a JSON Schema
built from the registry.

A 1.5B model asked for a whole spec over a dozen operators at once picks badly (measured on the task
suite: it answered "remove exact duplicate texts" with a new operator while ExactDeduplicateFilter was
in view, and "remove HTML tags" likewise). Short questions with few options it answers well, so a plan
is made of these decisions:

1. :func:`split_request`: the request's actions, in order, each with its effect on the data: drop rows,
   rewrite text or add a column (:data:`EFFECTS`). A request of one clause (no "and", "then", "also",
   comma or semicolon) is one action in its own words; the call then only asks for its effect.
2. :func:`choose_operator`: for one action, which of the operators retrieved for its words whose kind
   has its effect (:func:`candidates_for`, :data:`CANDIDATES` of them, best first) does it: an enum of
   their names, or :data:`NONE` when none does (then a new operator is written). The effect is the
   filter that matters most: asked to judge one operator, a 1.5B model says "yes" to nearly anything
   (measured), but it tells "drop rows" from "rewrite text" reliably, which rules out most wrong options.
3. :func:`fill_step`: the chosen operator's params (a short list of changes from the defaults) and run
   bindings, under that operator's own schema (:func:`~dataflow.agent.spec_schema.step_body_schema`;
   input bindings are an enum of the columns known at that step: the data's and those earlier steps write). When the operator offers no params and every
   required input's default column exists, the step is filled with the defaults, without a call.
4. :func:`describe_new_operator`: for :data:`NONE`, the new operator's class name and bindings (its kind
   follows from the effect, :data:`NEW_KIND`); :mod:`dataflow.agent.synthesis` then writes it.

Every call, answer and decision goes to the session log. A decision's answer that is unusable (an error,
or JSON that breaks the schema) raises :class:`Unusable` with the reason, which the planner reports.
"""

from __future__ import annotations

import json
import re
from typing import Any

from dataflow.agent.catalog import Catalog, CatalogEntry

#: Operators retrieved per action for the model to choose from (few: a small model picks worse from more).
CANDIDATES = 4
#: The choice meaning "no operator in the list does this action".
NONE = "NONE"
#: What an action does to the data -> (the operator kinds that do it, how the model is told).
EFFECTS = {
    "drop rows": (("filter", "dedup"), 'keeps or drops whole rows (e.g. "keep texts of 20+ words", "remove '
                  'duplicates", "drop empty rows")'),
    "rewrite text": (("refine",), 'changes the text of a column, every row kept (e.g. "remove URLs from the text", '
                     '"lowercase the text", "anonymize emails")'),
    "add a column": (("generate", "evaluate"), 'adds a column, every row kept (e.g. "extract the answer into a '
                     'column", "score ...", "mark whether ...")'),
}
#: The kind of operator written for an action no catalogue operator does, by its effect.
NEW_KIND = {"drop rows": "filter", "rewrite text": "refine", "add a column": "generate"}
#: What each operator kind does to the data, in the words a request uses.
KIND_EFFECT = {
    "filter": "keeps or drops rows",
    "dedup": "drops duplicate rows",
    "refine": "rewrites a column's text in place",
    "generate": "adds a column",
    "evaluate": "adds a score column",
}
_CLAUSES = re.compile(r"\b(?:and|then|also|plus)\b|[,;]", re.I)
_CLASS_NAME = {"type": "string", "pattern": "^[A-Z][A-Za-z0-9]{2,39}$"}


class Unusable(Exception):
    """A model answer the plan cannot use (the message says why)."""


def ask(serving: Any, log: Any, prompt: str, schema: dict[str, Any], purpose: str, *, system: str,
        max_tokens: int = 256) -> dict[str, Any]:
    """One constrained call: the answer as a dict valid under ``schema``, or :class:`Unusable`."""
    import jsonschema

    from dataflow.core.llm_types import LLMRequest

    call = LLMRequest(messages=[{"role": "user", "content": prompt}], system=system, json_schema=schema,
                      max_tokens=max_tokens)
    number = log.prompt(call.chat_messages(), schema, purpose=purpose)
    result = serving.generate([call])[0]
    log.answer(number, result.text, result.error)
    if result.error:
        raise Unusable(f"the answer was not usable: {result.error}")
    try:
        answer = result.parsed if result.parsed is not None else json.loads(result.text or "")
    except ValueError as exc:
        raise Unusable(f"the answer is not JSON ({exc})") from None
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(answer), key=lambda e: list(e.path))
    if errors:
        raise Unusable("the answer breaks the schema: " + "; ".join(
            f"at {'/'.join(map(str, e.path)) or 'top'}: {e.message[:160]}" for e in errors[:3]))
    return answer


# ------------------------------------------------------------------------------------------- 1. split
def split_request(request: str, serving: Any, log: Any, *, system: str) -> list[tuple[str, str]]:
    """The actions ``request`` asks for, in order, each in the request's own words, with its effect (a key
    of :data:`EFFECTS`). A request of one clause is one action in its own words (retrieval reads those
    best); only its effect is asked for."""
    effects = "\n".join(f"- {name}: {what}" for name, (_, what) in EFFECTS.items())
    if not _CLAUSES.search(request):
        schema = {"type": "object", "properties": {"effect": {"enum": list(EFFECTS)}}, "required": ["effect"],
                  "additionalProperties": False}
        prompt = (f"Request: {request}\n\nWhat does this request do to the data?\n{effects}\n"
                  'Answer {"effect": ...}.')
        actions = [(request.strip(), ask(serving, log, prompt, schema, "effect", system=system, max_tokens=24)["effect"])]
    else:
        schema = {"type": "object", "properties": {"actions": {
            "type": "array", "items": {"type": "object", "properties": {
                "action": {"type": "string", "minLength": 3, "maxLength": 160}, "effect": {"enum": list(EFFECTS)}},
                "required": ["action", "effect"], "additionalProperties": False}, "minItems": 1, "maxItems": 6}},
            "required": ["actions"], "additionalProperties": False}
        prompt = (f"Request: {request}\n\nList the separate actions this data-processing request asks for, in order, "
                  "each in the request's own words: one condition that rows must meet (each condition on its own: "
                  "language, length, content and duplicates are separate actions), or one change to make. For "
                  'example "keep French texts of at most 100 words and lowercase them" has three: "keep French '
                  'texts", "keep texts of at most 100 words", "lowercase the texts". Give each action its effect on '
                  f'the data:\n{effects}\nAnswer {{"actions": [{{"action": ..., "effect": ...}}, ...]}}.')
        answer = ask(serving, log, prompt, schema, "actions", system=system, max_tokens=200)
        actions = [(a["action"].strip(), a["effect"]) for a in answer["actions"] if a["action"].strip()]
    log.decision("actions", actions=actions)
    return actions


# ------------------------------------------------------------------------------------------ 2. choose
def choose_operator(action: str, request: str, candidates: list[CatalogEntry], columns: list[str], serving: Any,
                    log: Any, *, system: str, findings: list[str] = (), allow_none: bool = True) -> str:
    """The name of the candidate that does ``action``, or :data:`NONE` (when ``allow_none``)."""
    names = [e.name for e in candidates]
    schema = {"type": "object", "properties": {"op": {"enum": [*names, *([NONE] if allow_none else [])]}},
              "required": ["op"], "additionalProperties": False}
    options = "\n".join(f"- {e.name} ({KIND_EFFECT.get(e.kind, e.kind)}): {_short(e.summary)}" for e in candidates)
    context = f' (part of the request "{request}")' if action != request else ""
    earlier = "".join(f"\nAn earlier choice failed: {f}" for f in findings)
    prompt = (f"Action: {action}{context}\nData columns: {', '.join(columns)}\n\nOperators:\n{options}\n{earlier}\n"
              "Which operator does exactly this action?"
              + (f" If none of them does it, answer {NONE} (a new operator is then written for it)." if allow_none
                 else "") + ' Answer {"op": ...}.')
    op = ask(serving, log, prompt, schema, "choose", system=system, max_tokens=48)["op"]
    log.decision("choice", action=action, candidates=names, op=op)
    return op


# -------------------------------------------------------------------------------------------- 3. fill
def fill_step(entry: CatalogEntry, action: str, request: str, columns: list[str], profile: str, serving: Any,
              log: Any, *, system: str, findings: list[str] = ()) -> dict[str, Any]:
    """The step ``{"op", "params", "run"}`` running ``entry`` for ``action``, with ``columns`` known."""
    from dataflow.agent.spec_schema import step_body_schema

    body, dropped = step_body_schema(entry, columns)
    defaults = {k: v["default"] for k, v in entry.required_inputs.items()}
    if body["properties"]["params"].get("maxItems") == 0 and not findings and all(
            v in columns for v in defaults.values()):
        step = {"op": entry.name, "params": {}, "run": defaults}
        log.decision("fill", action=action, step=step, by="defaults")
        return step
    earlier = "".join(f"\nAn earlier attempt failed: {f}" for f in findings)
    prompt = (f"Action: {action}\nThe whole request: {request}\n\n{profile}\n\nOperator:\n{entry.render()}\n"
              f"{_short(entry.description, 700)}\n\nColumns available to this step: {', '.join(columns)}\n{earlier}\n"
              "Give the params this action needs changed from their defaults (often none; the others keep "
              "their defaults) and the run bindings: the columns the operator reads, and names for what it writes "
              '(keep the defaults unless they clash). Answer {"params": [{"name": ..., "value": ...}, ...], '
              '"run": {...}}.')
    answer = ask(serving, log, prompt, body, "fill", system=system)
    params = {change["name"]: change["value"] for change in answer["params"]}
    step = {"op": entry.name, "params": params, "run": {k: v for k, v in answer["run"].items() if v is not None}}
    log.decision("fill", action=action, step=step, by="model", dropped_params=dropped)
    return step


# ------------------------------------------------------------------------------------------ 4. new op
def describe_new_operator(action: str, effect: str, request: str, columns: list[str], profile: str, serving: Any,
                          log: Any, *, system: str) -> dict[str, Any]:
    """The ``NEW`` step for ``action``: ``{"op": "NEW", "name", "kind", "describe", "run"}`` (the kind from
    ``effect``, :data:`NEW_KIND`)."""
    from dataflow.agent.spec_schema import NEW_OP

    kind = NEW_KIND.get(effect, "filter")
    adds = kind == "generate"
    properties = {"name": _CLASS_NAME, "input_key": {"enum": list(columns)}}
    if adds:
        properties["output_key"] = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]{0,63}$"}
    schema = {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}
    prompt = (f"Action: {action}\nThe whole request: {request}\n\n{profile}\n\nNo existing operator does this action, "
              f"so a new one will be written ({KIND_EFFECT[kind]}). Give its class name (CamelCase, saying what it "
              "does) and the column it reads" + (", and the name of the column it adds (the request's name for "
              "it, if it gives one)" if adds else "") + ". Answer {"
              + ", ".join(f'"{k}": ...' for k in properties) + "}.")
    answer = ask(serving, log, prompt, schema, "new operator", system=system, max_tokens=96)
    run = {"input_key": answer["input_key"], **({"output_key": answer["output_key"]} if adds else {})}
    step = {"op": NEW_OP, "name": answer["name"], "kind": kind, "describe": action, "run": run}
    log.decision("new operator", action=action, step=step)
    return step


def candidates_for(catalog: Catalog, action: str, columns: list[str], effect: str | None = None,
                   exclude: set[str] = frozenset()) -> list[CatalogEntry]:
    """The operators retrieved for ``action`` (the data's columns count too) whose kind has ``effect``,
    minus ``exclude``."""
    kinds = EFFECTS[effect][0] if effect in EFFECTS else None
    ranked = catalog.shortlist(action, columns, n=len(catalog))
    return [e for e in ranked if e.name not in exclude and (kinds is None or e.kind in kinds)][:CANDIDATES]


def written_columns(step: dict[str, Any], entry: CatalogEntry | None) -> list[str]:
    """The columns a filled step writes (its bound outputs, or its outputs' defaults)."""
    if entry is None:
        return [v for k, v in step.get("run", {}).items() if k.startswith("output") and v]
    return [step["run"].get(k) or v.get("default") for k, v in entry.outputs.items()
            if step["run"].get(k) or isinstance(v.get("default"), str)]


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3].rstrip() + "..."
