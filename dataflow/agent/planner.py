"""The agent's loop: a plain-language request and the user's data in, a spec proven on a sample out.

:func:`build_pipeline` runs, recording every step in the session log (:mod:`dataflow.agent.session`):

1. profile the input (:func:`~dataflow.agent.profile.profile_data`);
2. plan with small questions (:mod:`dataflow.agent.decide`): the request's actions and their effect; per
   action an operator chosen among those retrieved for it (:class:`~dataflow.agent.catalog.Catalog`), or
   none, then its params and bindings; every answer decoded under a JSON Schema built from the registry;
3. for an action no operator does, the model writes one (:mod:`dataflow.agent.synthesis`: static check,
   tests in the sandbox) and the step refers to the file;
4. dry-run the spec on ``rows`` sample rows (:func:`~dataflow.agent.dry_run.dry_run`): a finding sends
   the actions it concerns back, to be filled again with the finding in view, then chosen again without
   the operator that failed; at most ``max_rounds`` rounds;
5. write the YAML spec (``spec_out``) and return an :class:`AgentResult` with a short report of what each
   step does and what it did to the sample, or, when no round succeeded, a message saying why.

:func:`refine_pipeline` edits an existing spec from a request: the model sees the current steps and
answers the whole new spec under one schema (:func:`~dataflow.agent.spec_schema.build_spec_schema`),
then the same dry run and repair.

The model is any serving (``generate(requests) -> results``); without one, the default serving (the
embedded model) is built.
"""

from __future__ import annotations

import json
import os
import re
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
                   time_limit_s: float = 120.0, max_tokens: int = 1024, allow_new: bool = True,
                   sandbox: Any = None) -> AgentResult:
    """Plan, dry-run and repair a pipeline for ``request`` on ``input`` (see the module docstring)."""
    input = Path(input).resolve()
    spec_path = Path(spec_out) if spec_out is not None else input.with_name(f"{input.stem}.pipeline.yaml")
    return _session(request, input, spec_path, None, serving=serving, rows=rows, max_rounds=max_rounds,
                    shortlist_size=shortlist_size, time_limit_s=time_limit_s, max_tokens=max_tokens,
                    allow_new=allow_new, sandbox=sandbox)


def refine_pipeline(spec: str | os.PathLike, request: str, input: str | os.PathLike | None = None, *,
                    serving: Any = None, rows: int = 50, max_rounds: int = 3,
                    spec_out: str | os.PathLike | None = None, shortlist_size: int = 12,
                    time_limit_s: float = 120.0, max_tokens: int = 1024, allow_new: bool = True,
                    sandbox: Any = None) -> AgentResult:
    """Edit the existing spec ``spec`` as ``request`` says ("stricter on length", "drop the LLM step",
    "also remove near-duplicates"), under the same schema, then the same dry run and repair loop.

    The model sees the current steps and is told to keep them unless the request changes them; the
    schema offers the shortlist for the request plus every operator the spec already uses (a step whose
    operator is not in the catalogue, such as a synthesized one, can be kept as it is). ``input``
    defaults to the spec's input; the new spec goes to ``spec_out`` (default: over ``spec``). The session
    record is ``<spec_out stem>.refine<N>.agent.jsonl`` (N = 1, 2, ...), so earlier records are kept."""
    import yaml

    spec_file = Path(spec).resolve()
    current = yaml.safe_load(spec_file.read_text(encoding="utf-8"))
    if not isinstance(current, dict) or not isinstance(current.get("steps"), list):
        return AgentResult(False, f"{spec_file} is not a pipeline spec (no steps)")
    if input is None:
        if not current.get("input"):
            return AgentResult(False, f"{spec_file} names no input: pass one")
        input = spec_file.parent / Path(current["input"]).expanduser()
    spec_path = Path(spec_out) if spec_out is not None else spec_file
    return _session(request, Path(input).resolve(), spec_path, current, serving=serving, rows=rows,
                    max_rounds=max_rounds, shortlist_size=shortlist_size, time_limit_s=time_limit_s,
                    max_tokens=max_tokens, allow_new=allow_new, sandbox=sandbox, source=spec_file)


def _session(request: str, input: Path, spec_path: Path, current: dict[str, Any] | None, *, serving: Any,
             rows: int, max_rounds: int, shortlist_size: int, time_limit_s: float, max_tokens: int,
             allow_new: bool, sandbox: Any, source: Path | None = None) -> AgentResult:
    """The loop of :func:`build_pipeline` (``current`` None) and :func:`refine_pipeline` (the spec to edit)."""
    from dataflow.agent.catalog import Catalog
    from dataflow.agent.profile import profile_data
    from dataflow.agent.spec_schema import build_spec_schema

    log_path = session_path(spec_path)
    if source is not None:  # a refinement keeps the records of the sessions before it
        log_path = next(p for n in range(1, 10_000) if not (p := log_path.with_name(
            f"{spec_path.stem}.refine{n}.agent.jsonl")).exists())
    log = SessionLog(log_path)
    log.record("start", request=request, input=str(input), rows=rows, max_rounds=max_rounds,
               spec_out=str(spec_path), refine=str(source) if source else None)
    if not input.exists():
        return _fail(log, f"input not found: {input}", 0, [])
    profile = profile_data(input)
    log.decision("profile", profile=profile.as_dict())
    catalog = Catalog.from_registry()
    if serving is None:
        from dataflow.serving import create_serving

        serving = create_serving(None)
    if current is None:
        return _build_stepwise(request, input, spec_path, profile, catalog, log, serving=serving, rows=rows,
                               max_rounds=max_rounds, time_limit_s=time_limit_s, allow_new=allow_new,
                               sandbox=sandbox)
    # A refinement: the whole spec under one schema, since the model edits steps it can see.
    shortlist = catalog.shortlist(request, profile.column_names, n=shortlist_size)
    if source is not None and source.parent != spec_path.resolve().parent:
        current = {**current, "steps": [_absolute_op(s, source.parent) for s in current["steps"]]}
    in_use = [s.get("op") for s in current["steps"] if isinstance(s, dict)]
    shortlist += [catalog[n] for n in dict.fromkeys(in_use) if n in catalog.entries
                  and all(e.name != n for e in shortlist)]
    fixed = [s for s in current["steps"] if isinstance(s, dict) and s.get("op") not in catalog.entries]
    log.decision("shortlist", ops=[e.name for e in shortlist])
    if not shortlist and not fixed and not allow_new:
        return _fail(log, "no operator in the catalogue matches the request; say it with other words", 0, [])
    try:
        built = build_spec_schema(shortlist, profile.column_names, allow_new=allow_new, fixed_steps=fixed)
    except ValueError as exc:
        return _fail(log, str(exc), 0, [])
    log.decision("schema", ops=built.ops, notes=built.notes())
    from dataflow.core.llm_types import LLMRequest

    catalogue = Catalog.render(catalog[name] for name in built.ops)
    base = [{"role": "user", "content": _refine_prompt(request, profile.to_text(), catalogue, current["steps"],
                                                        allow_new)}]
    messages = list(base)
    findings: list[str] = []
    for round_no in range(1, max_rounds + 1):
        call = LLMRequest(messages=messages, system=SYSTEM_PROMPT, json_schema=built.schema, max_tokens=max_tokens)
        number = log.prompt(call.chat_messages(), built.schema, round=round_no)
        result = serving.generate([call])[0]
        log.answer(number, result.text, result.error)
        steps, findings = _read_answer(result, built.schema)
        written: list[str] = []
        if steps is not None:
            steps, written, findings = _synthesize(steps, input, spec_path.parent, rows, serving, log, sandbox)
        if steps is not None:
            spec = {**current, **_spec_head(spec_path, input), "steps": steps}
            report, _ = _prove(spec, input, spec_path, catalog, log, round_no, max_rounds, rows=rows,
                               serving=serving, time_limit_s=time_limit_s)
            if report.ok:
                return _succeed(log, spec, spec_path, round_no, _report(spec, report, catalog, written))
            findings = report.problems
        log.decision("repair", round=round_no, findings=findings)
        messages = [*base, {"role": "assistant", "content": result.text or ""},
                    {"role": "user", "content": _repair_prompt(findings)}]
    return _fail(log, f"no working pipeline after {max_rounds} round(s); the last attempt's problems:\n"
                      + "\n".join(f"- {f}" for f in findings), max_rounds, findings)


@dataclass
class _Slot:
    """One action of the request and what the plan holds for it (see :mod:`dataflow.agent.decide`)."""

    action: str
    effect: str  # a key of decide.EFFECTS
    op: str | None = None  # the catalogue operator, decide.NONE for a new one, None: to be searched for
    step: dict[str, Any] | None = None  # the filled step, None: to be (re)made
    excluded: set[str] = field(default_factory=set)  # operators that failed for this action
    findings: list[str] = field(default_factory=list)  # what went wrong last time, for the next question
    refilled: bool = False
    written: str | None = None  # the file operator made for it


def _build_stepwise(request: str, input: Path, spec_path: Path, profile: Any, catalog: Any, log: SessionLog, *,
                    serving: Any, rows: int, max_rounds: int, time_limit_s: float, allow_new: bool,
                    sandbox: Any) -> AgentResult:
    """:func:`build_pipeline`'s loop: actions, then per action an operator chosen and filled (or written),
    then the dry run; a round's findings send the actions they concern back to be filled again, then to
    be chosen again without the operator that failed."""
    from dataflow.agent.decide import Unusable, split_request

    slots: list[_Slot] | None = None
    findings: list[str] = []
    for round_no in range(1, max_rounds + 1):
        try:
            if slots is None:
                slots = [_Slot(a, e) for a, e in split_request(request, serving, log, system=SYSTEM_PROMPT)]
            steps = _make_steps(slots, request, input, spec_path, profile, catalog, log, serving=serving,
                                rows=rows, allow_new=allow_new, sandbox=sandbox, time_limit_s=time_limit_s)
        except Unusable as exc:
            findings = [str(exc)]
            log.decision("repair", round=round_no, findings=findings)
            continue
        written = [s.written for s in slots if s.written]
        spec = {**_spec_head(spec_path, input), "steps": steps}
        expect = [c for step in steps if _kind(step, catalog) in ("generate", "evaluate")
                  for c in _written(step, catalog)]
        report, idle = _prove(spec, input, spec_path, catalog, log, round_no, max_rounds, rows=rows,
                              serving=serving, time_limit_s=time_limit_s, expect_columns=expect)
        if report.ok:
            return _succeed(log, spec, spec_path, round_no, _report(spec, report, catalog, written))
        findings = report.problems
        _send_back(slots, findings, rechoose=bool(idle))
        log.decision("repair", round=round_no, findings=findings)
    return _fail(log, f"no working pipeline after {max_rounds} round(s); the last attempt's problems:\n"
                      + "\n".join(f"- {f}" for f in findings), max_rounds, findings)


def _make_steps(slots: list[_Slot], request: str, input: Path, spec_path: Path, profile: Any, catalog: Any,
                log: SessionLog, *, serving: Any, rows: int, allow_new: bool, sandbox: Any,
                time_limit_s: float) -> list[dict[str, Any]]:
    """The steps for ``slots``, deciding what is not decided yet: an action without an operator gets the
    first candidate whose dry run shows the action's effect (:func:`_search`), or else a new operator; an
    action whose new operator is refused raises :class:`~dataflow.agent.decide.Unusable` (and is sent
    back to be made again)."""
    from dataflow.agent.decide import NONE, Unusable, describe_new_operator, fill_step
    from dataflow.agent.synthesis import synthesize_operator

    columns = list(profile.column_names)
    text = profile.to_text()
    steps: list[dict[str, Any]] = []
    for slot in slots:
        if slot.step is None and slot.op not in (None, NONE):  # sent back: filled again with the findings
            slot.step = fill_step(catalog[slot.op], slot.action, request, columns, text, serving, log,
                                  system=SYSTEM_PROMPT, findings=slot.findings, in_place=slot.effect == "rewrite text")
        if slot.step is None and slot.op is None:
            trial = {"head": _spec_head(spec_path, input), "before": steps, "data": profile.column_names,
                     "spec_dir": spec_path.parent, "rows": rows, "time_limit_s": time_limit_s}
            tried = _search(slot, request, columns, text, catalog, log, serving, trial)
            if slot.step is None:
                slot.findings = [*slot.findings, *(f"{t} (tried for it)" for t in tried)]
                if not allow_new:
                    raise Unusable(f"no operator in the catalogue does '{slot.action}'"
                                   + (f" (tried: {'; '.join(tried)})" if tried else ""))
                slot.op = NONE
        if slot.step is None:  # NONE: the model writes the operator
            new = describe_new_operator(slot.action, slot.effect, request, columns, text, serving, log,
                                        system=SYSTEM_PROMPT)
            made = synthesize_operator(new["describe"], new["kind"], new["run"], _sample_rows(input, min(rows, 20)),
                                       serving=serving, spec_dir=spec_path.parent, class_name=new["name"], log=log,
                                       sandbox=sandbox, findings=slot.findings)
            if not made.ok:
                slot.findings = [f"the new operator for it was refused: {r}" for r in made.reasons]
                raise Unusable(f"the new operator for '{slot.action}' was refused: " + "; ".join(made.reasons))
            slot.step, slot.written = {"op": made.op, "params": {}, "run": new["run"]}, made.op
        if slot.step not in steps:  # two actions answered by the same step (e.g. "collapse spaces and strip")
            steps.append(slot.step)
        columns += [c for c in _written(slot.step, catalog) if c not in columns]
    return steps


def _search(slot: _Slot, request: str, columns: list[str], profile_text: str, catalog: Any, log: SessionLog,
            serving: Any, trial: dict[str, Any]) -> list[str]:
    """Fill the candidates for ``slot``'s action in turn and keep (in ``slot``) the first whose dry run on the
    sample shows the action's effect (:func:`~dataflow.agent.decide.evidence`); a candidate that does not
    compile is filled once more with the reason (the fill was wrong, not the operator), then tried with
    its default params. Returns what was wrong with each candidate passed over."""
    from dataflow.agent.decide import candidates_for, evidence, fill_step

    def why_not(entry: Any, step: dict[str, Any]) -> str | None:
        # Alone on the sample, unless it reads what earlier steps write: its values then line up with the
        # sample's row by row, so what it changed can be counted.
        reads = set(step["run"].values()) - set(trial["data"])
        spec = {**trial["head"], "steps": [*trial["before"], step] if reads else [step]}
        few = 3 if "llm" in entry.resources else trial["rows"]  # a model's answers are slow: a taste suffices
        report = _dry_run(spec, Path(spec["input"]), trial["spec_dir"], catalog, rows=few, serving=serving,
                          time_limit_s=trial["time_limit_s"])
        why = evidence(report, step, slot.effect, _written(step, catalog))
        log.decision("evidence", action=slot.action, op=entry.name, ok=why is None, why=why)
        return why

    tried = []
    for entry in candidates_for(catalog, slot.action, columns, slot.effect, slot.excluded):
        in_place = slot.effect == "rewrite text"
        step = fill_step(entry, slot.action, request, columns, profile_text, serving, log, system=SYSTEM_PROMPT,
                         in_place=in_place)
        why = why_not(entry, step)
        if why and why.startswith("does not compile"):
            step = fill_step(entry, slot.action, request, columns, profile_text, serving, log, system=SYSTEM_PROMPT,
                             findings=[why], in_place=in_place)
            why = why_not(entry, step)
        if why and why.startswith("does not compile") and step["params"]:  # wrong twice: its defaults, then
            step = {**step, "params": {}}
            why = why_not(entry, step)
        if why is None:
            slot.op, slot.step = entry.name, step
            return tried
        slot.excluded.add(entry.name)
        tried.append(f"{entry.name}: {why}")
    return tried


def _send_back(slots: list[_Slot], findings: list[str], *, rechoose: bool = False) -> None:
    """Mark the actions ``findings`` concern (those naming their step or operator; all when none is named)
    to be made again: refilled the first time, then searched again without the operator; a written
    operator, or ``rechoose``, is made again at once."""
    from dataflow.agent.decide import NONE

    def concerns(index: int, slot: _Slot) -> bool:
        return any(re.search(rf"\bstep {index}\b", f) or (slot.step and str(slot.step["op"]) in f) for f in findings)

    hit = [s for i, s in enumerate(slots, 1) if concerns(i, s)] or slots
    for slot in hit:
        slot.findings = list(findings)
        if slot.written or slot.op == NONE:
            slot.op, slot.step, slot.written = NONE, None, None
        elif rechoose or slot.refilled:
            slot.excluded.add(slot.op)
            slot.op, slot.step, slot.refilled = None, None, False
        else:
            slot.step, slot.refilled = None, True


def _kind(step: dict[str, Any], catalog: Any) -> str | None:
    entry = catalog.entries.get(step["op"])
    return entry.kind if entry else ("generate" if step.get("run", {}).get("output_key") else None)


def _written(step: dict[str, Any], catalog: Any) -> list[str]:
    from dataflow.agent.decide import written_columns

    return written_columns(step, catalog.entries.get(step["op"]))


def _spec_head(spec_path: Path, input: Path) -> dict[str, Any]:
    return {"name": spec_path.stem, "input": str(input),
            "output": str(spec_path.with_name(f"{spec_path.stem}.output.jsonl"))}


def _prove(spec: dict[str, Any], input: Path, spec_path: Path, catalog: Any, log: SessionLog, round_no: int,
           max_rounds: int, **dry: Any) -> tuple[Any, str | None]:
    """The dry run of ``spec`` (recorded) and, in the first of several rounds, the finding that its filters
    dropped nothing, which then counts as a problem."""
    report = _dry_run(spec, input, spec_path.parent, catalog, **dry)
    idle = _filters_that_did_nothing(report, catalog) if round_no == 1 < max_rounds else None
    if report.ok and idle:
        report.ok, report.problems = False, [idle]
    log.decision("dry_run", round=round_no, spec=spec, ok=report.ok, findings=report.as_dict())
    return report, idle


def _filters_that_did_nothing(report: Any, catalog: Any) -> str | None:
    """A finding when every step filters (or deduplicates) and none dropped a sample row: a request to
    remove rows was then most likely answered with the wrong operators. Raised in the first round only:
    the sample may truly have nothing to remove, and the same answer is accepted the next time."""
    kinds = [getattr(catalog.entries.get(s.op), "kind", None) for s in report.steps]
    if not report.steps or any(k not in ("filter", "dedup") for k in kinds) or any(s.dropped for s in report.steps):
        return None
    return (f"no step dropped any of the {report.rows_in} sample rows, so the pipeline changed nothing: check that "
            "its operators do what the request asks (if none does, say so); if they do and the sample has nothing "
            "to remove, give the same answer again")


def _synthesize(steps: list[dict[str, Any]], input: Path, spec_dir: Path, rows: int, serving: Any,
                log: SessionLog, sandbox: Any) -> tuple[list[dict[str, Any]] | None, list[str], list[str]]:
    """Replace each ``NEW`` step by an operator the model writes (checked and sandbox-tested) or fail
    with the reasons: (steps, files written, findings)."""
    from dataflow.agent.spec_schema import NEW_OP
    from dataflow.agent.synthesis import synthesize_operator

    if not any(s["op"] == NEW_OP for s in steps):
        return steps, [], []
    sample = _sample_rows(input, min(rows, 20))
    out, written = [], []
    for step in steps:
        if step["op"] != NEW_OP:
            out.append(step)
            continue
        run = {k: v for k, v in step["run"].items() if v is not None}
        made = synthesize_operator(step["describe"], step["kind"], run, sample, serving=serving, spec_dir=spec_dir,
                                   class_name=step["name"], log=log, sandbox=sandbox)
        if not made.ok:
            return None, written, [f"the new operator for '{step['describe'][:80]}' was refused: {r}"
                                   for r in made.reasons]
        written.append(made.op)
        out.append({"op": made.op, "params": {}, "run": run})
    return out, written, []


def _sample_rows(input: Path, n: int) -> list[dict[str, Any]]:
    from dataflow.core.fileio import iter_records

    rows = []
    for raw in iter_records(input):
        if len(rows) >= n:
            break
        if raw.record is not None:
            rows.append(raw.record)
    return rows


def _absolute_op(step: dict[str, Any], spec_dir: Path) -> dict[str, Any]:
    """A step whose operator is a file relative to the spec (``ops/x.py:Class``), made absolute."""
    op = step.get("op")
    if isinstance(op, str) and ":" in op and op.rpartition(":")[0].endswith(".py"):
        path, _, cls = op.rpartition(":")
        if not Path(path).is_absolute():
            return {**step, "op": f"{(spec_dir / path).resolve()}:{cls}"}
    return step


def _dry_run(spec: dict[str, Any], input: Path, spec_dir: Path, catalog: Any, **kwargs: Any) -> Any:
    """The dry run of ``spec``. A spec whose operators include files (written by the model) runs in the
    sandbox, those files copied there, so that code never runs in this process; it must then have no
    LLM step (no model is reachable in the sandbox), which the model is told."""
    from dataflow.agent.dry_run import DryRun, dry_run

    files = {}
    for step in spec["steps"]:
        path = _op_file(step)
        if path is not None:
            source = path if path.is_absolute() else spec_dir / path
            if not source.is_file():
                return DryRun(False, [f"does not compile: step {step['op']}: the file {source} does not exist"])
            files[f"ops/{source.name}"] = source.read_text(encoding="utf-8")
    if not files:
        return dry_run(spec, input, **kwargs)
    llm = [s["op"] for s in spec["steps"] if "llm" in getattr(catalog.entries.get(s["op"]), "resources", ())]
    if llm:
        return DryRun(False, [f"a pipeline with a new operator cannot also have LLM steps ({', '.join(llm)}): "
                              "the new operator's dry run runs in the sandbox, where no model is reachable"])
    steps = [{**s, "op": f"ops/{_op_file(s).name}:{s['op'].rpartition(':')[2]}"} if _op_file(s) else s
             for s in spec["steps"]]
    kwargs.pop("serving", None)
    return dry_run({**spec, "steps": steps}, input, sandboxed=True, files=files, **kwargs)


def _op_file(step: dict[str, Any]) -> Path | None:
    op = step.get("op")
    if isinstance(op, str) and ":" in op and op.rpartition(":")[0].endswith(".py"):
        return Path(op.rpartition(":")[0])
    return None


NEW_HINT = ('\nOnly for a part of the request that none of the operators above can do, a step '
            '{"op": "NEW", "name": <ClassName>, "kind": "filter" | "generate" | "refine", "describe": "<what it must do>", '
            '"run": {"input_key": <column>, "output_key": <new column or null>}} asks for a new operator to be '
            'written (slow; a pipeline with a NEW step cannot also have LLM steps). Never use NEW for what an '
            'operator above does.')


def _refine_prompt(request: str, profile: str, catalogue: str, steps: list[Any], allow_new: bool) -> str:
    current = "\n".join(json.dumps(s, ensure_ascii=False) for s in steps)
    return (f"The current pipeline's steps:\n{current}\n\nChange it as this request says: {request}\n"
            "Keep every existing step unchanged (same op, params and run) unless the request asks to change "
            "or remove it.\n\n"
            f"{profile}\n\nOperator catalogue (name [kind, domain]: what it does; run bindings with their "
            f"defaults; params with their defaults):\n{catalogue}\n\n"
            'Write the whole new pipeline as {"steps": [{"op": ..., "params": {...}, "run": {...}}, ...]}.'
            + (NEW_HINT if allow_new else ""))


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


def _report(spec: dict[str, Any], report: Any, catalog: Any, written: list[str] = ()) -> str:
    lines = [f"pipeline of {len(spec['steps'])} step(s), dry run on {report.rows_in} sample rows -> "
             f"{report.rows_out} rows:"]
    for step, finding in zip(spec["steps"], report.steps):
        entry = catalog.entries.get(step["op"])
        lines.append(f"{finding.index}. {step['op']}: {entry.summary if entry else '(a file operator)'}")
        lines.append(f"   on the sample: {finding.to_text().split(': ', 1)[1]}")
    for op in written:
        lines.append(f"note: {op.rpartition(':')[0]} was written by the agent; it passed the static check and its "
                     "tests in the sandbox on sample rows. `dataflow run` executes it in the pipeline's workers like "
                     "any user operator (the agent only ran it in the sandbox): running the spec accepts it, so read it first.")
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
