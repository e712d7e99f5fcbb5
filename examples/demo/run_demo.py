"""`make demo`: run the demo pipeline on the embedded model and show what happened.

The first run assembles the packaged model (about 1.1 GB) into the user cache directory and then answers
about 25 LLM calls on the CPU (a minute or two on 2 cores); later runs are served from the step and
response caches in seconds.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    from dataflow.core.errors import DataflowError
    from dataflow.core.pipeline import Pipeline
    from dataflow.core.summary import format_summary

    spec = HERE / "pipeline.yaml"
    print(f"DataFlow demo: {spec.relative_to(Path.cwd()) if spec.is_relative_to(Path.cwd()) else spec}")
    print("  25 web documents -> 3 refiners -> 5 rule filters -> MinHash dedup -> LLM quality filter -> "
          "LLM summary\n  (LLM: the embedded offline Qwen2.5-Coder-1.5B through llama.cpp, no network)\n")
    t0 = time.time()
    try:
        summary = Pipeline.from_spec(spec).run(print_summary=False)
    except DataflowError as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    print(format_summary(summary))
    out = Path(summary["output"])
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    print(f"\nfirst rows of {out} ({len(rows)} rows):")
    for row in rows[:3]:
        print(f"  [{row['id']}] quality {row.get('quality')}: {row.get('summary')}")
    cache = summary["cache_dir"]
    print(f"\nwhy was a row dropped?   .venv/bin/dataflow inspect {cache} --row 4")
    print(f"all dropped rows:        .venv/bin/dataflow inspect {cache} --dropped")
    print(f"the report (charts):     {cache}/report.html   (or browse it all: .venv/bin/dataflow ui)")
    print(f"done in {time.time() - t0:.1f} s (run it again: everything comes from the cache)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
