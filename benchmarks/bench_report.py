"""Benchmark: the run report (``report.html``) of the 20,000-document pre-training run.

    .venv/bin/python benchmarks/bench_report.py [--corpus /tmp/pt20k.jsonl] [--repeat 3]

Runs :class:`PretrainFilterPipeline` once on the shared corpus (built by ``../shared/bench/make_pt_corpus.py``
when missing) with a fresh cache: the engine writes ``report.html`` beside ``run.json`` at the end of
the run. Then the report is generated again ``--repeat`` times from that cache, the same work the run
did, and the script prints the file's size, its generation time (best and median), its share of the
run's wall time, and what it shows (sections, score histograms, refiner and dedup examples).
Target: a report that costs a small fraction of the run (< 5%) and stays well under 1 MB.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

from _corpus import ensure_corpus  # benchmarks/ is the script's folder, first on sys.path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="/tmp/pt20k.jsonl")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from dataflow.pipelines.general_text.pretrain_filter import PretrainFilterPipeline
    from dataflow.report import collect, write_report

    corpus = ensure_corpus(args.corpus)
    work = Path(tempfile.mkdtemp(prefix="bench_report_"))
    pipe = PretrainFilterPipeline(corpus, work / "out.jsonl", input_key="raw_content", cache_dir=work / "cache")
    t0 = time.perf_counter()
    summary = pipe.run(fresh=True, progress=False)
    run_wall = time.perf_counter() - t0
    cache = Path(summary["cache_dir"])
    auto = cache / "report.html"
    assert auto.exists(), "the run did not write report.html"

    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        path = write_report(cache, work / "again.html")
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    data = collect(cache)
    collect_s = time.perf_counter() - t0
    html = path.read_text(encoding="utf-8")
    sections = re.findall(r'<section id="(\w+)">', html)
    kb = path.stat().st_size / 1024
    best, median = min(times), statistics.median(times)
    rows = [
        ("corpus", f"{corpus} ({corpus.stat().st_size / 1e6:.0f} MB, {summary['totals']['rows_in']:,} docs)"),
        ("steps x chunks", f"{len(summary['steps'])} x {summary['chunks']}"),
        ("run wall time, report included (s)", f"{run_wall:.1f}"),
        ("report.html size (KB)", f"{kb:,.0f}   (written by the run: {auto.stat().st_size / 1024:,.0f})"),
        ("report generation (s)", f"best {best:.2f}, median {median:.2f} of {args.repeat}   "
                                  f"(reading the cache: {collect_s:.2f})"),
        ("share of the run's wall time", f"{100 * median / run_wall:.1f}%"),
        ("sections", ", ".join(sections)),
        ("score histograms", str(len(data.scores))),
        ("refiner examples", ", ".join(f"step {i}: {len(v)}" for i, v in data.refiner_samples.items())),
        ("dedup clusters shown", ", ".join(f"step {i}: {len(v)}" for i, v in data.dedup_clusters.items())),
        ("network references", "none" if not re.search(r"(src|href)\s*=\s*\"(?!#)", html) else "FOUND"),
    ]
    width = max(len(k) for k, _ in rows)
    print()
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    print(f"\nreport: {auto}")
    print(f"targets: share < 5% -> {'ok' if median / run_wall < 0.05 else 'MISSED'}; "
          f"size < 1 MB -> {'ok' if kb < 1024 else 'MISSED'}")


if __name__ == "__main__":
    main()
