"""A dry run: compile a spec and run it on a sample of the user's rows, under a wall-clock limit.

:func:`dry_run` writes the first ``rows`` readable records of the input to a temporary JSONL file,
points the spec's input, output and cache there, compiles it and runs it with the serial executor,
and returns a :class:`DryRun`: the compile problems, per step the rows in and out, what it dropped and
rejected with the most frequent reasons, which output columns are present and non-empty, and a
verdict: ``ok``, or ``problems`` as short texts for a repair prompt.

The time limit never leaves the caller waiting:

* without a serving instance (no LLM step, or a serving config), the run happens in a forked child
  process that is killed when it overruns;
* with ``sandboxed=True`` (a spec with an operator the model wrote, see :mod:`dataflow.agent.synthesis`),
  the run happens in :mod:`dataflow.sandbox` (a separate process with time and memory limits, no
  network, no filesystem outside a throwaway directory): the package's source, the sample and the
  spec's operator files are copied into the job's directory, since the sandbox cannot read the
  repository. No model is reachable there, so such a spec must have no LLM step;
* with a serving instance (the model already loaded in this process, which a fork must not share:
  llama.cpp's OpenMP threads do not survive a fork), the run happens in a thread of this process; the
  serving is wrapped so that every request after the deadline fails at once ("dry run time limit"), so
  the run winds down, and the caller stops waiting at the deadline plus :data:`GRACE_S` regardless.

A problem is reported when: the spec does not compile; the run fails or overruns; no row comes out;
a step drops more than ``max_drop_share`` of its rows or rejects more than ``max_reject_share``; an
expected output column is missing or empty in every row.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

GRACE_S = 5.0
TOP_REASONS = 3


@dataclass
class StepFinding:
    index: int
    op: str
    rows_in: int
    rows_out: int
    dropped: int
    rejected: int
    drop_reasons: list[tuple[str, int]] = field(default_factory=list)
    reject_reasons: list[tuple[str, int]] = field(default_factory=list)

    def to_text(self) -> str:
        text = f"step {self.index} {self.op}: {self.rows_in} in, {self.rows_out} out"
        if self.dropped:
            text += f"; dropped {self.dropped} (" + "; ".join(f"{r} x{n}" for r, n in self.drop_reasons) + ")"
        if self.rejected:
            text += f"; rejected {self.rejected} (" + "; ".join(f"{r} x{n}" for r, n in self.reject_reasons) + ")"
        return text


@dataclass
class DryRun:
    ok: bool
    problems: list[str]
    compile_problems: list[str] = field(default_factory=list)
    steps: list[StepFinding] = field(default_factory=list)
    rows_in: int = 0
    rows_out: int = 0
    output_columns: dict[str, int] = field(default_factory=dict)  # column -> rows where it is non-empty
    output_sample: list[dict[str, Any]] = field(default_factory=list)
    # column -> output rows whose value differs from the sample's (when no row was dropped: rows align)
    changed: dict[str, int] = field(default_factory=dict)
    timed_out: bool = False
    seconds: float = 0.0

    def to_text(self) -> str:
        lines = [f"dry run on {self.rows_in} sample rows: {self.rows_out} out"
                 + (" (timed out)" if self.timed_out else "")]
        lines += [s.to_text() for s in self.steps]
        if self.output_columns:
            lines.append("output columns (non-empty rows): "
                         + ", ".join(f"{c} {n}" for c, n in self.output_columns.items()))
        lines.append("verdict: ok" if self.ok else "problems:\n" + "\n".join(f"- {p}" for p in self.problems))
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def dry_run(spec: dict[str, Any], input: str | os.PathLike, *, rows: int = 50, time_limit_s: float = 120.0,
            serving: Any = None, expect_columns: tuple[str, ...] | list[str] = (), max_drop_share: float = 0.95,
            max_reject_share: float = 0.2, workdir: str | os.PathLike | None = None, sandboxed: bool = False,
            files: dict[str, str] | None = None) -> DryRun:
    """Compile ``spec`` (a spec dict; its input/output are replaced) and run it on the first ``rows`` rows of
    ``input`` within ``time_limit_s`` seconds (see the module docstring). With ``sandboxed``, ``files``
    ({relative path: text}) are written beside the spec in the sandbox (its operator files)."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="dataflow-dry-run-", dir=workdir) as tmp:
        sample = Path(tmp) / "sample.jsonl"
        n_sample = _write_sample(Path(input), sample, rows)
        run_spec = {**spec, "input": str(sample), "output": str(Path(tmp) / "out.jsonl"),
                    "cache_dir": str(Path(tmp) / "cache")}
        run_spec.pop("workers", None)
        if sandboxed:
            outcome = _in_sandbox(spec, sample.read_text(encoding="utf-8"), files or {}, time_limit_s)
        elif serving is None or isinstance(serving, dict):
            outcome = _in_child(run_spec, serving, time_limit_s)
        else:
            outcome = _in_thread(run_spec, serving, time_limit_s)
        report = _judge(outcome, n_sample, list(expect_columns), max_drop_share, max_reject_share)
        output = outcome.get("output") or []
        if output and len(output) == n_sample:
            before = [json.loads(line) for line in sample.read_text(encoding="utf-8").splitlines()]
            report.changed = {c: sum(b.get(c) != a.get(c) for b, a in zip(before, output)) for c in before[0]}
    report.seconds = round(time.monotonic() - started, 3)
    return report


# ------------------------------------------------------------------------------------------- running
def _write_sample(source: Path, target: Path, rows: int) -> int:
    from dataflow.core.fileio import iter_records

    count = 0
    with open(target, "w", encoding="utf-8") as out:
        for raw in iter_records(source):
            if count >= rows:
                break
            if raw.record is not None:
                out.write(json.dumps(raw.record, ensure_ascii=False, default=str) + "\n")
                count += 1
    return count


def _execute(spec: dict[str, Any], serving: Any) -> dict[str, Any]:
    """Compile and run; a JSON-able outcome: compile problems, or the summary, rejects and output rows."""
    from dataflow.core.errors import CompileError
    from dataflow.core.pipeline import Pipeline

    try:
        pipe = Pipeline.from_spec(spec)
        if serving is not None:
            pipe.serving = serving
        pipe.executor, pipe.workers = "serial", 1
        pipe.compile()
    except CompileError as exc:
        return {"compile_problems": [str(p) for p in exc.problems if p.level == "error"]}
    except Exception as exc:  # a spec the front-end cannot even load
        return {"compile_problems": [f"{type(exc).__name__}: {exc}"]}
    try:
        summary = pipe.run(progress=False)
    except Exception as exc:
        return {"error": f"the run failed: {type(exc).__name__}: {exc}"[:2000]}
    rejects = []
    rejects_path = Path(summary.get("rejects", ""))
    if rejects_path.is_file():
        for line in rejects_path.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            rejects.append({"step": rec.get("step"), "reason": str(rec.get("reason"))})
    output = []
    if pipe.output is not None and Path(pipe.output).is_file():
        output = [json.loads(line) for line in Path(pipe.output).read_text(encoding="utf-8").splitlines() if line]
    steps = [{k: s[k] for k in ("index", "op", "rows_in", "rows_out", "dropped", "rejected")} for s in summary["steps"]]
    return {"steps": steps, "rejects": rejects, "output": output}


def _child_main(spec: dict[str, Any], serving: Any, conn: Any) -> None:
    try:
        outcome = _execute(spec, serving)
    except BaseException as exc:
        outcome = {"error": f"the run failed: {type(exc).__name__}: {exc}"}
    conn.send(json.dumps(outcome, default=str))
    conn.close()


def _in_child(spec: dict[str, Any], serving: Any, time_limit_s: float) -> dict[str, Any]:
    import multiprocessing

    try:
        ctx = multiprocessing.get_context("fork")
    except ValueError:  # no fork on this platform: the thread path (its own deadline, no kill)
        return _in_thread(spec, serving, time_limit_s)
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child_main, args=(spec, serving, send), daemon=True)
    proc.start()
    send.close()
    try:
        if receive.poll(time_limit_s):
            return json.loads(receive.recv())
        return {"timed_out": True}
    except EOFError:
        return {"error": f"the run's process died (exit code {proc.exitcode})"}
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        receive.close()


_SANDBOX_JOB = """
import json, os, sys
for rel, text in json.loads(FILES).items():
    path = os.path.join(os.getcwd(), rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
sys.path.insert(0, os.getcwd())
from dataflow.agent.dry_run import _execute
spec = {**json.loads(SPEC), "input": "sample.jsonl", "output": "out.jsonl", "cache_dir": "cache"}
print("DRY-RUN-OUTCOME " + json.dumps(_execute(spec, None), default=str))
"""
#: Top folders of the package a sandboxed dry run does not need (examples, the agent's own model code).
_NOT_COPIED = ("pipelines", "__pycache__")


def package_files() -> dict[str, str]:
    """The package's source and data files as {``dataflow/...``: text}, for a job that must import it."""
    root = Path(__file__).resolve().parents[1]
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not any(part in _NOT_COPIED for part in rel.parts) and path.suffix != ".pyc":
            try:
                out[f"dataflow/{rel.as_posix()}"] = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
    return out


def _in_sandbox(spec: dict[str, Any], sample: str, files: dict[str, str], time_limit_s: float,
                memory_mb: int = 2048) -> dict[str, Any]:
    from dataflow.sandbox import Limits, Sandbox

    job_files = {**package_files(), **files, "sample.jsonl": sample}
    code = f"FILES = {json.dumps(job_files)!r}\nSPEC = {json.dumps(spec, default=str)!r}\n" + _SANDBOX_JOB
    limits = Limits(timeout=time_limit_s, memory_mb=memory_mb, output_bytes=8 << 20)
    with Sandbox(limits, workers=1) as box:
        ex = box.run(code)
    if ex.status == "timeout":
        return {"timed_out": True}
    marker = next((line for line in ex.stdout.splitlines() if line.startswith("DRY-RUN-OUTCOME ")), None)
    if ex.status != "pass" or marker is None:
        return {"error": f"the run failed in the sandbox ({ex.status}): {ex.log.strip()[-1500:]}"}
    return json.loads(marker.split(" ", 1)[1])


class _DeadlineServing:
    """A serving that passes requests on until the deadline, then fails each at once."""

    def __init__(self, inner: Any, deadline: float) -> None:
        self._inner, self._deadline = inner, deadline

    def generate(self, requests: list[Any]) -> list[Any]:
        from dataflow.core.llm_types import LLMResult

        if time.monotonic() >= self._deadline:
            return [LLMResult(error="dry run time limit reached") for _ in requests]
        return self._inner.generate(requests)

    def __getattr__(self, name: str) -> Any:  # stats, fingerprint, ...: the inner serving's
        return getattr(self._inner, name)


def _in_thread(spec: dict[str, Any], serving: Any, time_limit_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + time_limit_s
    wrapped = _DeadlineServing(serving, deadline) if serving is not None else None
    box: list[dict[str, Any]] = []

    def target() -> None:
        try:
            box.append(_execute(spec, wrapped))
        except BaseException as exc:
            box.append({"error": f"the run failed: {type(exc).__name__}: {exc}"})

    thread = threading.Thread(target=target, name="dry-run", daemon=True)
    thread.start()
    thread.join(time_limit_s + GRACE_S)
    if thread.is_alive() or not box:
        return {"timed_out": True}
    outcome = box[0]
    if time.monotonic() > deadline:
        outcome["timed_out"] = True
    return outcome


# ------------------------------------------------------------------------------------------- verdict
def _judge(outcome: dict[str, Any], n_sample: int, expect: list[str], max_drop: float, max_reject: float
           ) -> DryRun:
    report = DryRun(ok=False, problems=[], rows_in=n_sample, timed_out=bool(outcome.get("timed_out")))
    if outcome.get("compile_problems"):
        report.compile_problems = outcome["compile_problems"]
        report.problems = [f"does not compile: {p}" for p in report.compile_problems]
        return report
    if "steps" not in outcome:
        report.problems = [outcome.get("error") or f"the dry run did not finish within the time limit "
                           f"on {n_sample} rows: make the pipeline cheaper (fewer LLM steps)"]
        return report
    reject_reasons: dict[int, Counter] = {}
    for rec in outcome["rejects"]:
        reject_reasons.setdefault(rec["step"], Counter())[_short(rec["reason"])] += 1
    problems = report.problems
    if report.timed_out:
        problems.append("the dry run hit its time limit: LLM calls after it failed")
    for s in outcome["steps"]:
        drops = Counter({_short(r): n for r, n in s["dropped"].items()})
        finding = StepFinding(s["index"], s["op"], s["rows_in"], s["rows_out"], sum(s["dropped"].values()),
                              s["rejected"], drops.most_common(TOP_REASONS),
                              reject_reasons.get(s["index"], Counter()).most_common(TOP_REASONS))
        report.steps.append(finding)
        if finding.rows_in and finding.dropped / finding.rows_in > max_drop:
            why = "; ".join(r for r, _ in finding.drop_reasons)
            problems.append(f"step {finding.index} {finding.op} dropped {finding.dropped} of {finding.rows_in} "
                            f"rows ({why}): loosen its params or check its input column")
        if finding.rows_in and finding.rejected / finding.rows_in > max_reject:
            why = "; ".join(r for r, _ in finding.reject_reasons)
            problems.append(f"step {finding.index} {finding.op} could not process {finding.rejected} of "
                            f"{finding.rows_in} rows ({why})")
    output = outcome["output"]
    report.rows_out = len(output)
    columns: dict[str, int] = {}
    for row in output:
        for name, value in row.items():
            columns[name] = columns.get(name, 0) + (value not in (None, "", [], {}))
    report.output_columns = columns
    report.output_sample = [{k: _short(v, 120) for k, v in row.items()} for row in output[:3]]
    if n_sample and not output:
        problems.append("no row came out of the pipeline")
    for name in expect:
        if name not in columns:
            problems.append(f"the expected output column '{name}' is missing")
        elif output and not columns[name]:
            problems.append(f"the expected output column '{name}' is empty in every row")
    report.ok = not problems
    return report


def _short(value: Any, limit: int = 160) -> Any:
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit] + "..."
    return value
