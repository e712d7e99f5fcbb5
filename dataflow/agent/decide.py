"""The agent's plan, one small decision at a time: the model answers only what a 1.5B model answers well,
each answer decoded under a JSON Schema built from the registry; retrieval and the dry run do the rest.

A 1.5B model asked for a whole spec over a dozen operators at once picks badly (measured on the task
suite: it answered "remove exact duplicate texts" with a new operator while ExactDeduplicateFilter was
in view, and "remove HTML tags" likewise). Short questions with few options it answers well, so a plan
is made of these decisions:

1. :func:`split_request`: the request's actions, in order, each with its effect on the data: drop rows,
   rewrite text or add a column (:data:`EFFECTS`, from the action's verbs, :func:`effect_of`; the model
   is asked only when they are silent). A request of one clause (no "and", "then", "also", comma or
   semicolon) is one action in its own words, without a call.
2. :func:`candidates_for`: the operators retrieved for an action's words whose kind has its effect and
   that say most of its telling words (:func:`coverage`), best first; the planner fills each in turn
   and keeps the first whose dry run on the sample shows the effect (:func:`evidence`: a filter drops
   some rows, a rewrite changes some values, a new column has values). When none does, a new operator
   is written. The small model does not choose: measured on the task suite, the 1.5B model picked among
   four operators worse than retrieval's order (SQLTemplateDeduplicateFilter for "keep the rows whose
   SQL query parses", SQLParseFilter first in view), said "yes" to nearly any operator asked about
   alone, and almost never said that none fits.
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

from dataflow.agent.catalog import Catalog, CatalogEntry, stem_text

#: Operators tried per action, best first (each costs a fill and a dry run on the sample).
CANDIDATES = 3
#: The least share of an action's telling words an operator must say to be tried (:func:`coverage`).
MIN_COVERAGE = 0.5
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
_ADDS = re.compile(r"\b(?:add|adds|adding)\b.*\bcolumns?\b|\b(?:into|in|as) (?:a|an|its own|a new|new) (?:\w+ )?column"
                   r"|^(?:score|scores|rate|mark|label|tag|count|compute|measure|classify|annotate|extract|detect)\b"
                   r"|\b(?:score|rate|mark|label|tag|count|compute|measure|classify|annotate) (?:each|every|the|whether)")
_FROM = re.compile(r"\b(?:remove|strip|delete|drop|erase|cut)\b.*\bfrom (?:the|each|every|all|its|their)\b")
_DROPS = re.compile(r"\b(?:keep|keeps|drop|drops|filter|filters|discard|exclude|deduplicate|dedupe|select|only)\b")
_LENGTH = re.compile(r"\s(?:of|with|having|that have|which have)?\s*(?:at least|at most|more than|fewer than|less than|"
                     r"under|over|between|up to|no more than|no fewer than)\s+\d[\d,]*(?:\s+and\s+\d[\d,]*)?\s+"
                     r"(?:words?|characters?|chars?|sentences?|lines?|tokens?)\b", re.I)
_REMOVES = re.compile(r"\b(?:remove|removes|delete|deletes)\b")
_ROWS = re.compile(r"\b(?:rows?|duplicates?|duplicated|documents?|texts?|entries|entry|records?|files?|samples?"
                   r"|passages?|examples?|items?|lines?|pages?|answers?|questions?|solutions?|queries|query)\b")
_REWRITES = re.compile(r"\b(?:strip|replace|mask|redact|anonymi[sz]e|normali[sz]e|lowercase|uppercase|convert|"
                       r"collapse|fix|clean|rewrite|translate|trim|unescape|decode|capitali[sz]e|format|change)\b")
# Words that say what to do with rows or where, not what: they do not tell operators apart.
_PLAIN = frozenset(stem_text(
    "a an the of in on to for with and or from into each every all any only whose which that is are be its it "
    "their this these those them keep drop remove delete filter discard exclude row text column field value data "
    "contain entries entry record one per than at least most more less like passage document sample item whether "
    "has have").split())
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
    best); the model splits the others."""
    actions = [request.strip()]
    if _CLAUSES.search(request):
        schema = {"type": "object", "properties": {"actions": {
            "type": "array", "items": {"type": "string", "minLength": 3, "maxLength": 160}, "minItems": 1,
            "maxItems": 6}}, "required": ["actions"], "additionalProperties": False}
        prompt = (f"Request: {request}\n\nList the separate actions this data-processing request asks for, in order, "
                  "each in the request's own words: one condition that rows must meet (each condition on its own: "
                  "language, length, content and duplicates are separate actions), or one change to make. For "
                  'example "keep French texts of at most 100 words and lowercase them" has three: "keep French '
                  'texts", "keep texts of at most 100 words", "lowercase the texts". Answer {"actions": [...]}.')
        answer = ask(serving, log, prompt, schema, "actions", system=system, max_tokens=200)
        actions = [a.strip() for a in answer["actions"] if a.strip()] or actions
    actions = [part for a in actions for part in split_conditions(a)]
    out = [(a, effect_of(a) or ask_effect(a, serving, log, system=system)) for a in actions]
    log.decision("actions", actions=out)
    return out


def split_conditions(action: str) -> list[str]:
    """A length condition inside a row condition, taken out as its own action: "keep English documents of
    at least 50 words" -> "keep English documents", "keep documents of at least 50 words" (one operator
    checks the language, another the length; the model leaves such pairs joined)."""
    found = _LENGTH.search(action)
    verb = _DROPS.search(action)
    if not found or not verb or effect_of(action) != "drop rows":
        return [action]
    rest = " ".join((action[:found.start()] + action[found.end():]).split())
    noun = _ROWS.search(action[verb.end():found.start()])
    length = f"{verb.group(0)} {noun.group(0) if noun else 'rows'} {found.group(0).strip()}"
    return [rest, length] if len(rest.split()) > 2 else [action]


def ask_effect(action: str, serving: Any, log: Any, *, system: str) -> str:
    """The model's reading of an action's effect, for actions whose verbs do not say it."""
    effects = "\n".join(f"- {name}: {what}" for name, (_, what) in EFFECTS.items())
    schema = {"type": "object", "properties": {"effect": {"enum": list(EFFECTS)}}, "required": ["effect"],
              "additionalProperties": False}
    prompt = f'Action: {action}\n\nWhat does this action do to the data?\n{effects}\nAnswer {{"effect": ...}}.'
    return ask(serving, log, prompt, schema, "effect", system=system, max_tokens=24)["effect"]


# ------------------------------------------------------------------------- 2. candidates and evidence
def effect_of(action: str) -> str | None:
    """The effect an action's words say (a key of :data:`EFFECTS`), or None when they do not settle it.

    Asked to classify, the 1.5B model answered "add a column" for "remove URLs from the text" right after
    writing that the request removes URLs from the text (measured); the verbs of a data request say it
    plainly, so they decide, and the model is asked only when they are silent."""
    text = action.lower()
    if _ADDS.search(text):
        return "add a column"
    if _FROM.search(text):  # "remove URLs from the text": the rows stay, their text changes
        return "rewrite text"
    if _DROPS.search(text) or (_REMOVES.search(text) and _ROWS.search(text)):
        return "drop rows"
    if _REWRITES.search(text) or _REMOVES.search(text):
        return "rewrite text"
    return None


def coverage(action: str, entry: CatalogEntry, catalog: Catalog) -> float:
    """How much of the action's telling words (stemmed; not verbs of filtering, not stop words, not
    numbers) the operator's name, summary, description or param names say, directly or through the
    catalogue's synonyms, each word weighted by its rarity in the catalogue (IDF): a rare word ("phone")
    tells more than a common one ("number"), and a word no operator says weighs most. A low share means
    retrieval found the operator on generic words only."""
    from dataflow.agent.catalog import SYNONYMS, _says

    def says(said: set[str], word: str) -> bool:
        return _says(said, word) or any(_says(said, s) for s in SYNONYMS.get(word, "").split())

    words = {w for w in stem_text(action).split() if w not in _PLAIN and not w.isdigit()}
    weighed = {w: catalog.word_weight(w) for w in words}
    total = sum(weighed.values())
    if not total:
        return 1.0
    said = catalog.said(entry.name)
    return sum(weight for w, weight in weighed.items() if says(said, w)) / total


def candidates_for(catalog: Catalog, action: str, columns: list[str], effect: str | None = None,
                   exclude: set[str] = frozenset()) -> list[CatalogEntry]:
    """The operators retrieved for ``action`` (the data's columns count too), best first, whose kind has
    ``effect`` and that say at least :data:`MIN_COVERAGE` of its telling words, minus ``exclude``."""
    kinds = EFFECTS[effect][0] if effect in EFFECTS else None
    ranked = catalog.shortlist(action, columns, n=CANDIDATES * 4 + len(exclude))
    return [e for e in ranked if e.name not in exclude and (kinds is None or e.kind in kinds)
            and coverage(action, e, catalog) >= MIN_COVERAGE][:CANDIDATES]


def evidence(report: Any, step: dict[str, Any], effect: str, written: list[str]) -> str | None:
    """Why the dry run of a pipeline ending in ``step`` shows it does not do what ``effect`` says (None: it
    does): a filter must drop some sample rows and keep some, a rewrite must change some values of the
    column it writes, a new column must be there and not empty."""
    if not report.ok:
        return "; ".join(report.problems)
    last = report.steps[-1] if report.steps else None
    if last is None:
        return "it did not run"
    if effect == "drop rows":
        return None if last.dropped else f"it dropped none of the {last.rows_in} sample rows"
    if effect == "rewrite text":
        if report.rows_out != report.rows_in:  # rows dropped before it: values do not line up to compare
            return None
        column = step["run"].get("output_key") or step["run"].get("input_key") or next(iter(step["run"].values()), "")
        return None if report.changed.get(column) else f"it changed no value of '{column}' in the sample"
    empty = [c for c in written if not report.output_columns.get(c)]
    return f"it wrote no value to {', '.join(empty) or 'a new column'}" if empty or not written else None


# -------------------------------------------------------------------------------------------- 3. fill
def fill_step(entry: CatalogEntry, action: str, request: str, columns: list[str], profile: str, serving: Any,
              log: Any, *, system: str, findings: list[str] = (), in_place: bool = False) -> dict[str, Any]:
    """The step ``{"op", "params", "run"}`` running ``entry`` for ``action``, with ``columns`` known;
    ``in_place`` (an action that rewrites text) drops a refiner's output binding, so it rewrites its input."""
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
    # A small model writes "null" for "no column" now and then: that is no binding.
    run = {k: v for k, v in answer["run"].items() if v is not None and v not in ("null", "None")
           and not (in_place and entry.kind == "refine" and k == "output_key")}
    step = {"op": entry.name, "params": params, "run": run}
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


def written_columns(step: dict[str, Any], entry: CatalogEntry | None) -> list[str]:
    """The columns a filled step writes (its bound outputs, or its outputs' defaults)."""
    if entry is None:
        return [v for k, v in step.get("run", {}).items() if k.startswith("output") and v]
    return [step["run"].get(k) or v.get("default") for k, v in entry.outputs.items()
            if step["run"].get(k) or isinstance(v.get("default"), str)]


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3].rstrip() + "..."
