"""Benchmark: the agent on the task suite (``benchmarks/agent_tasks``): plan, then ``dataflow run``, then check.

    python benchmarks/bench_agent.py [--tasks a,b] [--serving-url URL --model NAME] [--max-rounds 3]
                                     [--rows 30] [--out DIR] [--bad-server]

Per task: :func:`dataflow.agent.planner.build_pipeline` writes a spec for the request on the task's input
(with the embedded model by default, or an OpenAI-compatible endpoint with ``--serving-url``); then
``dataflow run SPEC --input IN --output OUT`` runs it on the full input in a separate process (with a
time limit); then the task's checker judges the output rows. A task succeeds when all three do. The
table says, per task, the stage it reached, the agent's rounds, the seconds and, for a failure, why;
the last line is the success rate (also over the tasks that need a new operator).

``--bad-server`` answers every model call from the local fake OpenAI-compatible server with text that
is not a plan: every task must then fail at the agent stage with a clear message within the round
limit (the check that a bad model never hangs the agent). ``--json`` writes the outcomes as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks" / "agent_tasks"))

from tasks import TASKS, Task  # noqa: E402


@dataclass
class Outcome:
    task: str
    domain: str
    new_op: bool
    ok: bool
    stage: str  # "agent", "run", "check" (where it failed) or "done"
    rounds: int
    seconds: float
    message: str


def run_task(task: Task, serving: Any, workdir: Path, *, max_rounds: int = 3, rows: int = 30,
             run_timeout: float = 600.0, serving_config: dict[str, Any] | None = None,
             time_limit_s: float = 120.0) -> Outcome:
    """Agent, then ``dataflow run``, then the checker, for one task (see the module docstring)."""
    from dataflow.agent.planner import build_pipeline

    started = time.monotonic()
    folder = workdir / task.name
    folder.mkdir(parents=True, exist_ok=True)
    spec_path = folder / "spec.yaml"

    def outcome(ok: bool, stage: str, rounds: int, message: str) -> Outcome:
        return Outcome(task.name, task.domain, task.new_op, ok, stage, rounds, round(time.monotonic() - started, 1),
                       message)

    try:
        result = build_pipeline(task.request, task.input, serving=serving, spec_out=spec_path, rows=rows,
                                max_rounds=max_rounds, time_limit_s=time_limit_s)
    except Exception as exc:  # a crash is a result too: say so and go on
        return outcome(False, "agent", 0, f"the agent crashed: {type(exc).__name__}: {exc}")
    if not result.ok:
        return outcome(False, "agent", result.rounds, result.message)
    if serving_config is not None:  # LLM steps of the spec use the same endpoint as the agent
        import yaml

        spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
        spec.setdefault("serving", serving_config)
        spec_path.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), encoding="utf-8")
    out = folder / "output.jsonl"
    command = [sys.executable, "-m", "dataflow.cli.main", "run", str(spec_path), "--input", str(task.input),
               "--output", str(out), "--no-progress", "--fresh"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=run_timeout, env=env, cwd=folder)
    except subprocess.TimeoutExpired:
        return outcome(False, "run", result.rounds, f"dataflow run did not finish within {run_timeout:g} s")
    if done.returncode != 0:
        return outcome(False, "run", result.rounds, f"dataflow run exited {done.returncode}: "
                       + (done.stderr.strip().splitlines() or ["(no message)"])[-1][:300])
    rows_out = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]
    why = task.check(rows_out, task.rows())
    if why:
        return outcome(False, "check", result.rounds, f"the checker refused the output: {why}")
    return outcome(True, "done", result.rounds, f"{len(rows_out)} rows out")


def table(outcomes: list[Outcome]) -> str:
    lines = [f"{'task':22} {'domain':13} {'new op':6} {'result':7} {'stage':6} {'rounds':6} {'s':>6}  message",
             "-" * 110]
    for o in outcomes:
        lines.append(f"{o.task:22} {o.domain:13} {'yes' if o.new_op else '':6} {'ok' if o.ok else 'FAIL':7} "
                     f"{o.stage:6} {o.rounds:6} {o.seconds:6.1f}  {' '.join(o.message.split())[:120]}")
    return "\n".join(lines)


def summary(outcomes: list[Outcome]) -> str:
    def rate(group: list[Outcome]) -> str:
        done = sum(o.ok for o in group)
        return f"{done}/{len(group)} ({100 * done / len(group):.0f}%)" if group else "n/a"

    return (f"success rate: {rate(outcomes)}; tasks needing a new operator: "
            f"{rate([o for o in outcomes if o.new_op])}")


def bad_server_script(body: dict) -> Any:
    """The fake server's answer to every call: prose, not a plan."""
    from dataflow.serving.fake_server import Reply

    return Reply(content="I think you should probably filter the data somehow.")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", help="comma-separated task names (default: all)")
    p.add_argument("--serving-url", help="an OpenAI-compatible endpoint (default: the embedded model)")
    p.add_argument("--model", default="default", help="the model name to ask the endpoint for")
    p.add_argument("--max-rounds", type=int, default=3)
    p.add_argument("--rows", type=int, default=30, help="sample rows for the agent's dry run")
    p.add_argument("--run-timeout", type=float, default=600.0, help="seconds for each dataflow run")
    p.add_argument("--out", help="where the specs and outputs go (default: a temporary folder)")
    p.add_argument("--bad-server", action="store_true", help="a scripted fake server that answers badly")
    p.add_argument("--json", help="write the outcomes to this JSON file")
    args = p.parse_args(argv)

    tasks = TASKS
    if args.tasks:
        wanted = args.tasks.split(",")
        unknown = sorted(set(wanted) - {t.name for t in TASKS})
        if unknown:
            p.error(f"unknown task(s): {', '.join(unknown)}")
        tasks = [t for t in TASKS if t.name in wanted]
    import tempfile

    from dataflow.serving import create_serving

    server = None
    url = args.serving_url
    if args.bad_server:
        from dataflow.serving.fake_server import FakeOpenAIServer

        server = FakeOpenAIServer(script=bad_server_script).start()
        url = server.base_url
    config = {"backend": "openai", "model": args.model, "base_url": url} if url else None
    serving = create_serving(config)
    workdir = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="bench-agent-"))
    print(f"{len(tasks)} task(s), model: {url or 'embedded'}, max rounds {args.max_rounds}, work in {workdir}")
    outcomes = []
    try:
        for task in tasks:
            outcomes.append(run_task(task, serving, workdir, max_rounds=args.max_rounds, rows=args.rows,
                                     run_timeout=args.run_timeout, serving_config=config))
            o = outcomes[-1]
            print(f"  {o.task}: {'ok' if o.ok else 'FAIL at ' + o.stage} ({o.seconds:.1f} s)", flush=True)
    finally:
        if server is not None:
            server.stop()
    print(table(outcomes))
    print(summary(outcomes))
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(o) for o in outcomes], indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
