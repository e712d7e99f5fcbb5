"""The ``dataflow`` command line: init, run, compile, ops list|show, agent, inspect, report, ui."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

EXIT_COMPILE = 2
EXIT_BAD_INPUT = 3
EXIT_FAILED = 1


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
                        format="%(levelname)s: %(message)s")
    if not hasattr(args, "func"):
        parser.print_help()
        return 0
    try:
        return args.func(args) or 0
    except BrokenPipeError:  # `dataflow ops list | head`: the reader left, which is fine
        sys.stderr.close()
        return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dataflow", description="Operators and pipelines for LLM data.")
    p.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = p.add_subparsers(title="commands")

    init = sub.add_parser("init", help="create a starter project with an example pipeline")
    init.add_argument("directory", nargs="?", default=".")
    init.set_defaults(func=cmd_init)

    run = sub.add_parser("run", help="run a pipeline spec (YAML or JSON)")
    run.add_argument("spec")
    run.add_argument("--resume", action="store_true", help="continue a stopped run from its step cache")
    run.add_argument("--fresh", action="store_true", help="discard the step cache first")
    run.add_argument("--on-bad-input", choices=["error", "skip"], help="override the spec's on_bad_input")
    run.add_argument("--input", help="override the spec's input")
    run.add_argument("--output", help="override the spec's output")
    run.add_argument("--cache-dir", help="override the spec's cache_dir")
    run.add_argument("--chunk-size", type=int, help="override the spec's chunk_size")
    run.add_argument("--workers", type=int, help="worker processes (default: one per core)")
    run.add_argument("--executor", choices=["local", "spawn", "serial", "ray"],
                     help="how chunks are spread over workers: forked processes (local), fresh interpreters "
                          "(spawn), none (serial) or a Ray cluster (ray; pip install 'dataflow[ray]')")
    run.add_argument("--address", help="with --executor ray: the cluster to join (host:port, or auto); "
                                       "default: a Ray instance on this machine")
    run.add_argument("--no-progress", action="store_true", help="hide progress bars")
    run.add_argument("--json", action="store_true", help="print run.json instead of the table")
    run.set_defaults(func=cmd_run)

    comp = sub.add_parser("compile", help="check a spec without running it (exit 2 on errors)")
    comp.add_argument("spec")
    comp.set_defaults(func=cmd_compile)

    ops = sub.add_parser("ops", help="list or show operators")
    ops_sub = ops.add_subparsers(title="ops commands")
    ls = ops_sub.add_parser("list", help="list operators")
    ls.add_argument("--json", action="store_true", help="machine-readable metadata of every operator")
    ls.add_argument("--domain", help="only this domain")
    ls.add_argument("--kind", help="only this kind")
    ls.set_defaults(func=cmd_ops_list)
    show = ops_sub.add_parser("show", help="show one operator")
    show.add_argument("name")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_ops_show)
    ops.set_defaults(func=lambda a: ops.print_help())

    agent = sub.add_parser("agent", help="build a pipeline from a request in plain language (dataflow.agent)")
    agent.add_argument("request", help='what to do, e.g. "keep English texts of at least 50 words"')
    agent.add_argument("--input", help="the data (JSONL, JSON, CSV or Parquet); with --spec, default: its input")
    agent.add_argument("--spec", help="refine this existing spec as the request says (default output: over it)")
    agent.add_argument("--spec-out", help="where to write the spec (default: <input>.pipeline.yaml)")
    agent.add_argument("--rows", type=int, default=50, help="sample rows for the dry run (default 50)")
    agent.add_argument("--max-rounds", type=int, default=3, help="plan + repair rounds (default 3)")
    agent.add_argument("--no-new-ops", action="store_true",
                       help="do not let the agent write new operators (only registered ones)")
    agent.set_defaults(func=cmd_agent)

    insp = sub.add_parser("inspect", help="look into a run: why rows were dropped or rejected")
    insp.add_argument("target", help="a cache directory or a spec file")
    insp.add_argument("--row", help="trace one row by its id (input line/row number)")
    insp.add_argument("--dropped", action="store_true", help="list dropped rows with their reasons")
    insp.add_argument("--rejects", action="store_true", help="list rejected rows with their reasons")
    insp.add_argument("--step", type=int, help="only this step")
    insp.add_argument("--limit", type=int, default=20)
    insp.set_defaults(func=cmd_inspect)

    rep = sub.add_parser("report", help="write a run's report: one self-contained HTML file (charts, examples)")
    rep.add_argument("target", help="a cache directory or a spec file")
    rep.add_argument("-o", "--output", help="where to write it (default: report.html in the cache directory)")
    rep.set_defaults(func=cmd_report)

    ui = sub.add_parser("ui", help="a local web app: operators, pipeline builder, runs, reports, row lookup")
    ui.add_argument("--port", type=int, default=8765)
    ui.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (default 127.0.0.1; any other address requires a token)")
    ui.add_argument("--token", help="access token (default: a random one when --host is not 127.0.0.1)")
    ui.add_argument("--root", default=".", help="the project directory: files are read and written only below it")
    ui.set_defaults(func=cmd_ui)
    return p


# ---------------------------------------------------------------------------- run / compile
def _cache_dir(target: Path) -> Path:
    """A cache directory given as itself or through the spec that runs there."""
    if target.is_file():
        pipe = _load(argparse.Namespace(spec=str(target)))
        return Path(pipe.cache_dir) if pipe.cache_dir else pipe.default_cache_dir()
    return target


def _load(args: argparse.Namespace):
    from dataflow.core.pipeline import Pipeline

    pipe = Pipeline.from_spec(args.spec)
    for attr, name in (("on_bad_input", "on_bad_input"), ("input", "input"), ("output", "output"),
                       ("cache_dir", "cache_dir"), ("chunk_size", "chunk_size"), ("workers", "workers"),
                       ("executor", "executor")):
        value = getattr(args, name, None)
        if value is not None:
            local_path = attr in ("input", "output", "cache_dir") and "://" not in str(value)
            setattr(pipe, attr, Path(value) if local_path else value)
    if getattr(args, "address", None):
        pipe.executor_options = {**pipe.executor_options, "address": args.address}
    return pipe


def cmd_run(args: argparse.Namespace) -> int:
    from dataflow.core.errors import BadInputError, CompileError, DataflowError
    from dataflow.core.summary import format_summary

    try:
        pipe = _load(args)
        summary = pipe.run(resume=args.resume, fresh=args.fresh, progress=False if args.no_progress else None)
    except CompileError as exc:
        print(f"dataflow: {args.spec}: the pipeline does not compile:\n{exc}", file=sys.stderr)
        return EXIT_COMPILE
    except BadInputError as exc:
        print(f"dataflow: bad input: {exc}\n(use --on-bad-input skip to set such rows aside in the "
              "rejects file and go on)", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (DataflowError, FileNotFoundError, ImportError) as exc:  # ImportError: e.g. --executor ray without ray
        print(f"dataflow: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    return 0


def cmd_compile(args: argparse.Namespace) -> int:
    from dataflow.core.errors import CompileError

    try:
        pipe = _load(args)
        plan = pipe.compile()
    except CompileError as exc:
        print(f"dataflow: {args.spec}: the pipeline does not compile:\n{exc}", file=sys.stderr)
        return EXIT_COMPILE
    print(f"ok: {len(plan.steps)} steps in {len(plan.segments)} segment(s); input columns read: "
          f"{', '.join(plan.required) or 'none'}")
    for seg in plan.segments:
        for s in seg.steps:
            kind = "barrier" if s.is_barrier else s.op.kind
            print(f"  {s.index:>2}. {s.op.describe()}  [{kind}]  {dict(s.bindings)}")
    return 0


# ---------------------------------------------------------------------------- ops
def cmd_ops_list(args: argparse.Namespace) -> int:
    from dataflow.core.registry import OPERATORS, operator_metadata

    metas = [operator_metadata(cls) for cls in OPERATORS.all().values()]
    if args.domain:
        metas = [m for m in metas if m["domain"] == args.domain]
    if args.kind:
        metas = [m for m in metas if m["kind"] == args.kind]
    if args.json:
        print(json.dumps(metas, indent=2))
        return 0
    width = max((len(m["name"]) for m in metas), default=10)
    for m in metas:
        llm = " [llm]" if m["needs_llm"] else ""
        print(f"{m['name']:<{width}}  {m['domain']:<14} {m['kind']:<9} {m['summary'][:80]}{llm}")
    print(f"\n{len(metas)} operators", file=sys.stderr)
    for module, err in OPERATORS.load_errors.items():
        print(f"warning: could not load {module}: {err}", file=sys.stderr)
    return 0


def cmd_ops_show(args: argparse.Namespace) -> int:
    from dataflow.core.registry import OPERATORS

    try:
        meta = OPERATORS.metadata(args.name)
    except KeyError as exc:
        print(f"dataflow: {exc.args[0]}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(meta, indent=2))
        return 0
    print(f"{meta['name']}  ({meta['domain']}, {meta['kind']}{', needs an LLM' if meta['needs_llm'] else ''})")
    print()
    print(meta["description"])
    print("\nparams:")
    props = meta["params"].get("properties", {})
    required = set(meta["params"].get("required", []))
    for name, prop in props.items():
        typ = prop.get("type") or " | ".join(a.get("type", "?") for a in prop.get("anyOf", [])) or "any"
        default = "required" if name in required else f"default {json.dumps(prop.get('default'))}"
        print(f"  {name}: {typ} ({default})")
    if not props:
        print("  (none)")
    print("\nrun bindings:")
    for name, b in meta["run_args"].items():
        print(f"  {name} = {b['default']!r}  ({b['role']}, {b['dtype']}) {b['description']}")
    if meta["requires"]:
        print("\nrequires:")
        for r in meta["requires"]:
            print(f"  {r['import']} (pip install {r['pip']}){'' if r['installed'] else '  NOT INSTALLED'}")
    return 0


# ---------------------------------------------------------------------------- agent
def cmd_agent(args: argparse.Namespace) -> int:
    from dataflow.agent.planner import build_pipeline, refine_pipeline

    for name in ("input", "spec"):
        value = getattr(args, name)
        if value is not None and not Path(value).exists():
            print(f"dataflow: {name} not found: {value}", file=sys.stderr)
            return EXIT_FAILED
    settings = {"spec_out": args.spec_out, "rows": args.rows, "max_rounds": args.max_rounds,
                "allow_new": not args.no_new_ops}
    if args.spec:
        result = refine_pipeline(args.spec, args.request, args.input, **settings)
    elif args.input:
        result = build_pipeline(args.request, args.input, **settings)
    else:
        print("dataflow agent: give --input DATA (or --spec SPEC to refine one)", file=sys.stderr)
        return EXIT_FAILED
    if not result.ok:
        print(f"dataflow agent: {result.message}\n(session record: {result.session_path})", file=sys.stderr)
        return EXIT_FAILED
    print(f"{result.message}\n{result.report}\n(session record: {result.session_path})")
    return 0


# ---------------------------------------------------------------------------- inspect
def cmd_inspect(args: argparse.Namespace) -> int:
    from dataflow.core.run_inspector import RunInspector

    cache_dir = _cache_dir(Path(args.target))
    try:
        insp = RunInspector(cache_dir)
    except FileNotFoundError as exc:
        print(f"dataflow: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.row:
        print(insp.explain_row(args.row))
    elif args.dropped:
        for rec in insp.dropped(step=args.step, limit=args.limit):
            print(json.dumps(rec, ensure_ascii=False, default=str))
    elif args.rejects:
        for rec in insp.rejects(step=args.step, limit=args.limit):
            print(json.dumps(rec, ensure_ascii=False, default=str))
    else:
        print(insp.overview())
    return 0


# ---------------------------------------------------------------------------- report / ui
def cmd_report(args: argparse.Namespace) -> int:
    import time

    from dataflow.report import write_report

    t0 = time.perf_counter()
    try:
        path = write_report(_cache_dir(Path(args.target)), args.output)
    except FileNotFoundError as exc:
        print(f"dataflow: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"wrote {path} ({path.stat().st_size / 1024:,.0f} KB in {time.perf_counter() - t0:.2f} s)")
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    from dataflow.ui.server import serve

    return serve(root=Path(args.root), host=args.host, port=args.port, token=args.token)


# ---------------------------------------------------------------------------- init
def cmd_init(args: argparse.Namespace) -> int:
    from dataflow.cli.starter import write_starter

    created = write_starter(Path(args.directory))
    for path in created:
        print(f"created {path}")
    print(f"\nnext: cd {args.directory} && dataflow run pipeline.yaml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
