"""The agent's loop: a plain-language request and the user's data in, a spec proven on a sample out.

:func:`build_pipeline` runs, recording every step in the session log (:mod:`dataflow.agent.session`):

1. profile the input (:func:`~dataflow.agent.profile.profile_data`);
2. shortlist operators for the request and the data's columns (:class:`~dataflow.agent.catalog.Catalog`);
3. build the spec schema over the shortlist (:func:`~dataflow.agent.spec_schema.build_spec_schema`) and
   ask the model for ``{"steps": [...]}`` under it (constrained decoding where the backend has it; the
   answer is validated against the schema either way);
4. dry-run the spec on ``rows`` sample rows (:func:`~dataflow.agent.dry_run.dry_run`): compile problems
   and findings go back to the model in the next round, at most ``max_rounds`` rounds;
5. write the YAML spec (``spec_out``) and return an :class:`AgentResult` with a short report of what each
   step does and what it did to the sample, or, when no round succeeded, a message saying why.

The model is any serving (``generate(requests) -> results``); without one, the default serving (the
embedded model) is built.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dataflow.agent.session import SessionLog, session_path

SYSTEM_PROMPT = (
    "You design data-processing pipelines for the DataFlow framework. A pipeline is a list of steps; each "
    "step runs one operator from the catalogue, with params (leave out a param to keep its default) and "
    "run bindings that name the columns it reads and writes. Use only operators from the catalogue and "
    "only columns that exist in the data or that an earlier step writes. Prefer few steps. Answer with "
    "JSON only."
)


@dataclass
class AgentResult:
    ok: bool
    message: str
    spec: dict[str, Any] | None = None
    spec_path: str | None = None
    session_path: str | None = None
    rounds: int = 0
    report: str = ""
    findings: list[str] = field(default_factory=list)


def build_pipeline(request: str, input: str | os.PathLike, *, serving: Any = None, rows: int = 50,
                   max_rounds: int = 3, spec_out: str | os.PathLike | None = None, shortlist_size: int = 12,
                   time_limit_s: float = 120.0, max_tokens: int = 1024) -> AgentResult:
    """Plan, dry-run and repair a pipeline for ``request`` on ``input`` (see the module docstring)."""
    from dataflow.agent.catalog import Catalog
    from dataflow.agent.dry_run import dry_run
    from dataflow.agent.profile import profile_data
    from dataflow.agent.spec_schema import build_spec_schema

    input = Path(input).resolve()
    spec_path = Path(spec_out) if spec_out is not None else input.with_name(f"{input.stem}.pipeline.yaml")
    log = SessionLog(session_path(spec_path))
    log.record("start", request=request, input=str(input), rows=rows, max_rounds=max_rounds,
               spec_out=str(spec_path))
    profile = profile_data(input)
    log.decision("profile", profile=profile.as_dict())
    catalog = Catalog.from_registry()
    shortlist = catalog.shortlist(request, profile.column_names, n=shortlist_size)
    log.decision("shortlist", ops=[e.name for e in shortlist])
    if not shortlist:
        return _fail(log, "no operator in the catalogue matches the request; say it with other words", 0, [])
    try:
        built = build_spec_schema(shortlist, profile.column_names)
    except ValueError as exc:
        return _fail(log, str(exc), 0, [])
    log.decision("schema", ops=built.ops, notes=built.notes())
    if serving is None:
        from dataflow.serving import create_serving

        serving = create_serving(None)
    from dataflow.core.llm_types import LLMRequest

    base = [{"role": "user", "content": _plan_prompt(request, profile.to_text(), Catalog.render(
        catalog[name] for name in built.ops))}]
    messages = list(base)
    findings: list[str] = []
    for round_no in range(1, max_rounds + 1):
        call = LLMRequest(messages=messages, system=SYSTEM_PROMPT, json_schema=built.schema, max_tokens=max_tokens)
        number = log.prompt(call.chat_messages(), built.schema, round=round_no)
        result = serving.generate([call])[0]
        log.answer(number, result.text, result.error)
        steps, findings = _read_answer(result, built.schema)
        if steps is not None:
            spec = {"name": spec_path.stem, "input": str(input),
                    "output": str(spec_path.with_name(f"{spec_path.stem}.output.jsonl")), "steps": steps}
            report = dry_run(spec, input, rows=rows, serving=serving, time_limit_s=time_limit_s)
            log.decision("dry_run", round=round_no, spec=spec, ok=report.ok, findings=report.as_dict())
            if report.ok:
                return _succeed(log, spec, spec_path, round_no, _report(spec, report, catalog))
            findings = report.problems
        log.decision("repair", round=round_no, findings=findings)
        messages = [*base, {"role": "assistant", "content": result.text or ""},
                    {"role": "user", "content": _repair_prompt(findings)}]
    return _fail(log, f"no working pipeline after {max_rounds} round(s); the last attempt's problems:\n"
                      + "\n".join(f"- {f}" for f in findings), max_rounds, findings)


def _plan_prompt(request: str, profile: str, catalogue: str) -> str:
    return (f"Request: {request}\n\n{profile}\n\nOperator catalogue (name [kind, domain]: what it does; run "
            f"bindings with their defaults; params with their defaults):\n{catalogue}\n\n"
            'Write the pipeline as {"steps": [{"op": ..., "params": {...}, "run": {...}}, ...]}.')


def _repair_prompt(findings: list[str]) -> str:
    return ("That pipeline does not work yet. What compiling it and running it on a sample of the data "
            "showed:\n" + "\n".join(f"- {f}" for f in findings) + "\nWrite a corrected pipeline.")


def _read_answer(result: Any, schema: dict[str, Any]) -> tuple[list[dict[str, Any]] | None, list[str]]:
    import jsonschema

    if result.error:
        return None, [f"the answer was not usable: {result.error}"]
    try:
        answer = result.parsed if result.parsed is not None else json.loads(result.text or "")
    except ValueError as exc:
        return None, [f"the answer is not JSON ({exc})"]
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(answer), key=lambda e: list(e.path))
    if errors:
        return None, [f"the answer breaks the schema at {'/'.join(map(str, e.path)) or 'top'}: {e.message[:200]}"
                      for e in errors[:3]]
    return answer["steps"], []


def _report(spec: dict[str, Any], report: Any, catalog: Any) -> str:
    lines = [f"pipeline of {len(spec['steps'])} step(s), dry run on {report.rows_in} sample rows -> "
             f"{report.rows_out} rows:"]
    for step, finding in zip(spec["steps"], report.steps):
        entry = catalog.entries.get(step["op"])
        lines.append(f"{finding.index}. {step['op']}: {entry.summary if entry else ''}")
        lines.append(f"   on the sample: {finding.to_text().split(': ', 1)[1]}")
    return "\n".join(lines)


def _succeed(log: SessionLog, spec: dict[str, Any], spec_path: Path, rounds: int, report: str) -> AgentResult:
    import yaml

    spec_path.parent.mkdir(parents=True, exist_ok=True)
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), encoding="utf-8")
    log.record("end", ok=True, rounds=rounds, spec_path=str(spec_path), report=report)
    return AgentResult(True, f"wrote {spec_path} after {rounds} round(s)", spec, str(spec_path),
                       str(log.path), rounds, report)


def _fail(log: SessionLog, message: str, rounds: int, findings: list[str]) -> AgentResult:
    log.record("end", ok=False, rounds=rounds, message=message)
    return AgentResult(False, message, session_path=str(log.path), rounds=rounds, findings=findings)
