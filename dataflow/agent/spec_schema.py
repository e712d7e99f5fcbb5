"""The JSON Schema a planned spec must follow, so constrained decoding cannot produce an invalid spec.

:func:`build_spec_schema` turns the shortlisted catalogue entries and the known column names into::

    {"steps": [ step, ... ]}          # 1 .. max_steps steps

where each step is one of (``anyOf``) the per-operator step schemas::

    {"op": <const name>, "params": {<that operator's simple params>}, "run": {<its bindings>}}

* ``params`` keeps only params whose schema is simple (string, integer, number, boolean, a string
  enum, a bounded list of those, or one of those or null): nested objects and open mappings are
  dropped, and so is any param llama.cpp's grammar converter rejects (checked when ``llama_cpp`` is
  installed). Dropped params keep their defaults; :attr:`SpecSchema.dropped` says which were dropped
  and why. An operator with a *required* param that had to be dropped cannot be planned at all and
  is left out of the schema (listed in :attr:`SpecSchema.excluded`). Strings are bounded
  (:data:`MAX_PARAM_CHARS`), since a grammar does not stop a model from writing forever.
* ``run`` has the operator's binding names as properties. An input binding's value is one of the
  known columns (an ``enum``: the data's columns plus the default output columns of the shortlisted
  operators, so a later step can read what an earlier one writes), or null when the binding is
  optional; required inputs must be given. An output binding's value is a free, bounded column name.
* with ``allow_new``, one more alternative: ``{"op": "NEW", "name": ..., "kind": ..., "describe": ..., "run":
  {"input_key": <known column>, "output_key": <column or null>}}``, a step for an operator the agent
  must write (:mod:`dataflow.agent.synthesis`) when none in the shortlist does the transformation.

:func:`schema_to_grammar` converts a schema with llama.cpp's converter (a check that it is usable).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dataflow.agent.catalog import CatalogEntry

MAX_STEPS = 8
#: The ``op`` of a planned step that no catalogue operator does: the agent writes one (synthesis).
NEW_OP = "NEW"
MAX_PARAM_CHARS = 200
MAX_PARAM_CHANGES = 3
MAX_LIST_ITEMS = 16
MAX_COLUMN_CHARS = 64
_SIMPLE = {"string", "integer", "number", "boolean"}
_COLUMN_NAME = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]{0,63}$"}


@dataclass
class SpecSchema:
    schema: dict[str, Any]
    ops: list[str]  # the operators a step may use
    columns: list[str]  # the column names input bindings may take
    dropped: dict[str, dict[str, str]] = field(default_factory=dict)  # op -> {param: why}
    excluded: dict[str, str] = field(default_factory=dict)  # op -> why it cannot be planned

    def notes(self) -> list[str]:
        """One line per dropped param and excluded operator, for the session record and the report."""
        lines = [f"{op}: param {name} not offered ({why}); its default applies"
                 for op, params in self.dropped.items() for name, why in params.items()]
        return lines + [f"{op}: left out ({why})" for op, why in self.excluded.items()]


def build_spec_schema(entries: Iterable[CatalogEntry], columns: Sequence[str], *,
                      max_steps: int = MAX_STEPS, allow_new: bool = False,
                      fixed_steps: Sequence[dict[str, Any]] = ()) -> SpecSchema:
    """The spec schema over ``entries`` with ``columns`` known in the data (see the module docstring);
    ``allow_new`` adds the :data:`NEW_OP` step (an operator to be written, see :mod:`dataflow.agent.synthesis`);
    each of ``fixed_steps`` (steps of a spec being refined whose operator is not in the catalogue, e.g. a
    synthesized one) may be kept exactly as it is."""
    entries = list(entries)
    known = list(dict.fromkeys([*columns, *(v["default"] for e in entries for v in e.outputs.values()
                                            if isinstance(v.get("default"), str))]))
    out = SpecSchema({}, [], known)
    steps = []
    for entry in entries:
        params, dropped = _params_schema(entry)
        if dropped:
            out.dropped[entry.name] = dropped
        lost = _lost_required(entry, dropped)
        if lost:
            out.excluded[entry.name] = lost
            continue
        if not known and entry.required_inputs:
            out.excluded[entry.name] = "no column is known for its inputs"
            continue
        steps.append({
            "type": "object",
            "properties": {"op": {"const": entry.name}, "params": params, "run": _run_schema(entry, known)},
            "required": ["op", "params", "run"],
            "additionalProperties": False,
        })
        out.ops.append(entry.name)
    if allow_new and known:
        steps.append(new_step_schema(known))
    steps += [{"const": step} for step in fixed_steps]
    if not steps:
        raise ValueError("no operator can be planned: " + "; ".join(out.notes() or ["the shortlist is empty"]))
    out.schema = {
        "type": "object",
        "properties": {"steps": {"type": "array", "items": {"anyOf": steps}, "minItems": 1,
                                 "maxItems": max_steps}},
        "required": ["steps"],
        "additionalProperties": False,
    }
    return out


def step_body_schema(entry: CatalogEntry, known: Sequence[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """``{"params": [{"name": ..., "value": ...}, ...], "run": {...}}`` of one step running ``entry`` with
    the columns ``known`` (the stepwise planner's fill question), and the params left out (name -> why).

    Params come as a short list of changes (at most :data:`MAX_PARAM_CHANGES`), not an object: asked for
    an object, a small model writes out every param with its default, which costs minutes on a CPU."""
    params, dropped = _params_schema(entry)
    lost = _lost_required(entry, dropped)
    if lost:
        raise ValueError(f"{entry.name}: {lost}")
    changes = [{"type": "object", "properties": {"name": {"const": name}, "value": prop}, "required": ["name", "value"],
                "additionalProperties": False} for name, prop in params["properties"].items()]
    required = params["required"]
    array: dict[str, Any] = {"type": "array", "items": {"anyOf": changes}, "minItems": min(len(required), 1),
                             "maxItems": max(MAX_PARAM_CHANGES, len(required))} if changes else {
        "type": "array", "maxItems": 0}
    return ({"type": "object", "properties": {"params": array, "run": _run_schema(entry, list(known))},
             "required": ["params", "run"], "additionalProperties": False}, dropped)


def new_step_schema(known: list[str]) -> dict[str, Any]:
    """A step asking for a new operator: its class name, kind, what it must do, the column it reads and the
    one it writes."""
    return {
        "type": "object",
        "properties": {
            "op": {"const": NEW_OP}, "name": {"type": "string", "pattern": "^[A-Z][A-Za-z0-9]{2,39}$"},
            "kind": {"enum": ["filter", "generate", "refine"]},
            "describe": {"type": "string", "maxLength": MAX_PARAM_CHARS},
            "run": {"type": "object", "properties": {"input_key": {"enum": list(known)},
                                                      "output_key": {"anyOf": [_COLUMN_NAME, {"type": "null"}]}},
                    "required": ["input_key"], "additionalProperties": False},
        },
        "required": ["op", "name", "kind", "describe", "run"],
        "additionalProperties": False,
    }


def _params_schema(entry: CatalogEntry) -> tuple[dict[str, Any], dict[str, str]]:
    props, dropped = {}, {}
    required = set(entry.params.get("required", []))
    for name, prop in entry.params.get("properties", {}).items():
        simple = simple_param_schema(prop)
        if simple is None:
            dropped[name] = "not a simple type"
        elif not _converts(simple):
            dropped[name] = "llama.cpp's grammar converter rejects it"
        else:
            props[name] = simple
    return ({"type": "object", "properties": props, "required": sorted(required & set(props)),
             "additionalProperties": False}, dropped)


def _lost_required(entry: CatalogEntry, dropped: dict[str, str]) -> str | None:
    """Why ``entry`` cannot be planned when a required param of it had to be left out of its schema."""
    lost = sorted(set(entry.params.get("required", [])) & set(dropped))
    return f"required param(s) {', '.join(lost)} cannot be expressed" if lost else None


def simple_param_schema(prop: dict[str, Any]) -> dict[str, Any] | None:
    """``prop`` reduced to what constrained decoding handles well (bounded), or None if it is not simple."""
    if "anyOf" in prop:
        options = [simple_param_schema(p) for p in prop["anyOf"] if p.get("type") != "null"]
        nullable = any(p.get("type") == "null" for p in prop["anyOf"])
        if len(options) != 1 or options[0] is None:
            return None
        return {"anyOf": [options[0], {"type": "null"}]} if nullable else options[0]
    typ = prop.get("type")
    if "enum" in prop:
        values = prop["enum"]
        return {"enum": list(values)} if all(isinstance(v, (str, int, float, bool)) for v in values) else None
    if typ == "array":
        items = simple_param_schema(prop.get("items", {}))
        if items is None or "anyOf" in items:
            return None
        return {"type": "array", "items": items, "maxItems": min(prop.get("maxItems", MAX_LIST_ITEMS),
                                                                  MAX_LIST_ITEMS)}
    if typ == "string":
        return {"type": "string", "maxLength": min(prop.get("maxLength", MAX_PARAM_CHARS), MAX_PARAM_CHARS)}
    if typ in _SIMPLE:
        return {"type": typ}
    return None


def _run_schema(entry: CatalogEntry, known: list[str]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    required = entry.required_inputs
    for name in entry.inputs:
        column = {"enum": list(known)}
        props[name] = column if name in required else {"anyOf": [column, {"type": "null"}]}
    for name, spec in entry.outputs.items():
        props[name] = _COLUMN_NAME if spec.get("default") is not None else {"anyOf": [_COLUMN_NAME, {"type": "null"}]}
    return {"type": "object", "properties": props, "required": list(required), "additionalProperties": False}


def _converts(schema: dict[str, Any]) -> bool:
    """Whether llama.cpp's converter takes ``schema`` (True when llama_cpp is not installed: the embedded
    backend is then not in use, and other backends validate the answer against the schema)."""
    try:
        from llama_cpp.llama_grammar import json_schema_to_gbnf
    except ImportError:
        return True
    try:
        json_schema_to_gbnf(json.dumps(schema))
        return True
    except Exception:
        return False


def schema_to_grammar(schema: dict[str, Any]) -> str:
    """The GBNF grammar llama.cpp's converter makes of ``schema`` (raises if it cannot)."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    return json_schema_to_gbnf(json.dumps(schema))
