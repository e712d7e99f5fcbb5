"""The run summary as a table for people (``run.json`` holds the same for programs)."""

from __future__ import annotations

from typing import Any


def format_summary(summary: dict[str, Any]) -> str:
    steps = summary.get("steps", [])
    has_llm = any(s.get("llm_requests") or s.get("llm_cache_hits") for s in steps)
    header = ["#", "operator", "rows in", "rows out", "dropped", "rejected", "seconds"]
    if has_llm:
        header += ["llm calls", "cache hits", "tokens in", "tokens out"]
    rows = []
    for s in steps:
        row = [str(s["index"]), s["op"], f"{s['rows_in']:,}", f"{s['rows_out']:,}",
               f"{sum(s['dropped'].values()):,}", f"{s.get('rejected', 0):,}", f"{s['seconds']:.2f}"]
        if has_llm:
            row += [f"{s['llm_requests']:,}", f"{s['llm_cache_hits']:,}", f"{s['tokens_in']:,}",
                    f"{s['tokens_out']:,}"]
        rows.append(row)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 1 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    out = [line(header), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    t = summary.get("totals", {})
    cached = sum(s.get("cached_chunks", 0) for s in steps)
    if cached:
        total = summary.get("chunks", 0) * len(steps)
        out.append(f"({cached:,} of {total:,} step-chunks came from the step cache: their time and LLM calls "
                   "are not counted again)")
    out.append("")
    out.append(f"rows: {t.get('rows_in', 0):,} in -> {t.get('rows_out', 0):,} out "
               f"({t.get('dropped', 0):,} dropped, {t.get('rejected', 0):,} rejected)  "
               f"wall time: {t.get('seconds', 0):.2f} s")
    if has_llm:
        out.append(f"llm: {t.get('llm_requests', 0):,} calls, {t.get('llm_cache_hits', 0):,} cache hits, "
                   f"{t.get('tokens_in', 0):,} tokens in, {t.get('tokens_out', 0):,} tokens out"
                   + (f", cost {t['cost']:.4f}" if "cost" in t else ""))
    reasons = [(s["index"], s["op"], r, n) for s in steps for r, n in s["dropped"].items()]
    if reasons:
        out.append("")
        out.append("why rows were dropped:")
        for index, op, reason, n in sorted(reasons, key=lambda x: -x[3])[:12]:
            out.append(f"  {n:>8,}  step {index} {op}: {reason}")
    if summary.get("output"):
        out.append("")
        out.append(f"output:  {summary['output']}")
    out.append(f"summary: {summary.get('cache_dir')}/run.json")
    if t.get("rejected"):
        out.append(f"rejects: {summary.get('rejects')}")
    return "\n".join(out)
