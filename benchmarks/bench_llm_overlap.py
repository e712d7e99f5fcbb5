"""Benchmark: rule filters and an LLM step in one segment keep the cores busy while requests are in flight.

    .venv/bin/python benchmarks/bench_llm_overlap.py [--corpus /tmp/pt20k.jsonl] [--docs 500]
        [--latency 0.5] [--chunk-size 25] [--workers 2]

The pipeline: 20 rule filters, then one LLM step (``FormatStrPromptedGenerator`` against the local
OpenAI-compatible test server, which answers every request after a fixed latency) on the rows they keep,
all in one segment. It prints, measured in one run:

* the 20 filters alone: wall time and their CPU time (the steps' own seconds in run.json) / cores;
* the LLM step alone, on the rows that reach it;
* the whole pipeline now (the filters' chunks run on the worker pool while the driver waits on the LLM);
* the whole pipeline as the engine ran it before this change (a segment with an LLM step ran entirely
  in one process), reproduced with the serial executor;

and the ratio wall / max(filters' CPU / cores, LLM alone); the goal is <= 1.2.

The input groups the 20k-paragraph pre-training corpus (``../shared/bench/make_pt_corpus.py``) into
``--docs`` long documents, so that the filters' CPU time and the LLM's wait are of the same order with
a request rate a Python test server can serve without eating the cores it is measured on.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _corpus import ensure_corpus  # benchmarks/ is the script's folder, first on sys.path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

FILTERS = [
    ("ContentNullFilter", {}), ("CharNumberFilter", {"threshold": 100}),
    ("WordNumberFilter", {"min_words": 20, "max_words": 1_000_000}),
    ("SentenceNumberFilter", {"min_sentences": 3, "max_sentences": 100_000}),
    ("MeanWordLengthFilter", {"min_length": 3, "max_length": 10}), ("ColonEndFilter", {}),
    ("LineEndWithEllipsisFilter", {"threshold": 0.3}), ("LineStartWithBulletpointFilter", {"threshold": 0.9}),
    ("LineWithJavascriptFilter", {"threshold": 3}), ("SymbolWordRatioFilter", {"threshold": 0.4}),
    ("CurlyBracketFilter", {"threshold": 0.025}), ("CapitalWordsFilter", {"threshold": 0.2}),
    ("UniqueWordsFilter", {"threshold": 0.05}), ("NoPuncFilter", {"threshold": 112}), ("HtmlEntityFilter", {}),
    ("SpecialCharacterFilter", {}), ("WatermarkFilter", {}), ("LoremIpsumFilter", {}),
    ("BlocklistFilter", {"language": "en", "threshold": 1000}), ("AlphaWordsFilter", {"threshold": 0.5}),
]
LLM = ("FormatStrPromptedGenerator", {"template": "One line title for: {title}", "max_tokens": 16})


def build_docs(corpus: Path, n_docs: int, out: Path) -> int:
    paragraphs = [json.loads(line)["raw_content"] for line in corpus.open(encoding="utf-8")]
    per = max(1, len(paragraphs) // n_docs)
    with out.open("w", encoding="utf-8") as fh:
        for i in range(0, per * n_docs, per):
            text = "\n\n".join(paragraphs[i:i + per])
            fh.write(json.dumps({"text": text, "title": text[:80]}) + "\n")
    return n_docs


def spec(name: str, steps: list, input_path: Path, work: Path, args, base_url: str | None) -> dict:
    out = {"name": name, "input": str(input_path), "output": str(work / f"{name}.jsonl"),
           "cache_dir": str(work / name), "chunk_size": args.chunk_size, "workers": args.workers,
           "steps": [{"op": op, "params": params, "run": {"input_key": "text"} if op != LLM[0] else
                      {"output_key": "llm_title"}} for op, params in steps]}
    if base_url:
        out["serving"] = {"backend": "openai", "model": "bench", "base_url": base_url, "cache": False,
                          "max_concurrency": args.chunk_size}
    return out


def run(spec_dict: dict, executor: str | None = None) -> dict:
    from dataflow.core.pipeline import Pipeline

    pipe = Pipeline.from_spec(spec_dict)
    if executor:
        pipe.executor = executor
    t0 = time.perf_counter()
    summary = pipe.run(fresh=True, progress=False)
    summary["wall"] = time.perf_counter() - t0
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="/tmp/pt20k.jsonl")
    parser.add_argument("--docs", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds the test server takes per answer")
    parser.add_argument("--chunk-size", type=int, default=25)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    corpus = ensure_corpus(args.corpus)

    work = Path(tempfile.mkdtemp(prefix="bench_overlap_"))
    docs = work / "docs.jsonl"
    build_docs(corpus, args.docs, docs)
    cores = args.workers
    # The server runs in its own process, as a real one would: its threads must not share the driver's GIL.
    server = subprocess.Popen([sys.executable, "-m", "dataflow.serving.fake_server", "--latency", str(args.latency)],
                              stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        base_url = server.stdout.readline().strip()
        filters = run(spec("filters", FILTERS, docs, work, args, None))
        cpu = sum(s["seconds"] for s in filters["steps"])
        llm = run(spec("llm", [LLM], Path(filters["output"]), work, args, base_url))
        mixed_steps = FILTERS + [LLM]
        now = run(spec("mixed", mixed_steps, docs, work, args, base_url))
        before = run(spec("before", mixed_steps, docs, work, args, base_url), executor="serial")
    finally:
        server.terminate()
        server.wait()
    bound = max(cpu / cores, llm["wall"])
    rows = [
        ("documents in / reaching the LLM / out", f"{filters['totals']['rows_in']} / "
         f"{filters['totals']['rows_out']} / {now['totals']['rows_out']}"),
        ("20 filters alone: wall (s)", f"{filters['wall']:.2f}"),
        (f"20 filters alone: CPU (s) / {cores} cores", f"{cpu:.2f} / {cores} = {cpu / cores:.2f}"),
        (f"LLM step alone (s), latency {args.latency} s, {llm['totals']['llm_requests']} requests",
         f"{llm['wall']:.2f}"),
        ("max(filters CPU / cores, LLM alone) (s)", f"{bound:.2f}"),
        ("whole pipeline, before: LLM segment in one process (s)", f"{before['wall']:.2f}"),
        ("whole pipeline, now (s)", f"{now['wall']:.2f}"),
        ("before / max(...)", f"{before['wall'] / bound:.2f}"),
        ("now / max(...)   (goal <= 1.2)", f"{now['wall'] / bound:.2f}"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    with open(now["output"], encoding="utf-8") as a, open(before["output"], encoding="utf-8") as b:
        same = a.read() == b.read()
    print(f"{'same output before and now':<{width}}  {same}")


if __name__ == "__main__":
    main()
