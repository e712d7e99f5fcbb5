"""The run summary: ``run.json`` for programs (:func:`build_summary`), a table for people
(:func:`format_summary`).

Time and LLM calls are counted for the chunks this run computed; chunks served from the step cache are
reported apart (``cached_chunks``), so a re-run served from the cache shows zero backend calls.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from dataflow.core.cache import CacheLayout, read_json


def build_summary(layout: CacheLayout, steps: Sequence[Any], *, run_id: str, n_chunks: int, started: float,
                  rows_out: int, n_rejects: int, decisions: dict[int, Any], meta: dict[str, Any]
                  ) -> dict[str, Any]:
    """Gather the markers of every step and chunk into the run summary. ``steps`` have ``index``,
    ``name``, ``fingerprint`` and ``is_barrier``; ``decisions`` holds barrier decisions by step index."""
    ingest = [read_json(layout.ingest_marker(k)) or {} for k in range(n_chunks)]
    ingest_rows = sum(m.get("rows", 0) for m in ingest)
    input_rejects = sum(m.get("rejected", 0) for m in ingest)
    entries = [_step_entry(layout, step, run_id, n_chunks, decisions.get(step.index)) for step in steps]
    totals = {
        "rows_in": ingest_rows + input_rejects, "rows_out": rows_out, "input_rejected": input_rejects,
        "dropped": sum(sum(s["dropped"].values()) for s in entries),
        "rejected": n_rejects, "seconds": round(time.time() - started, 3),
        "step_seconds": round(sum(s["seconds"] for s in entries), 3),
        **{k: sum(s[k] for s in entries) for k in ("llm_requests", "llm_cache_hits", "tokens_in", "tokens_out")},
    }
    costs = [s["cost"] for s in entries if "cost" in s]
    if costs:
        totals["cost"] = round(sum(costs), 6)
    return {
        "status": "completed", **meta, "cache_dir": str(layout.root), "rejects": str(layout.rejects),
        "chunks": n_chunks, "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started)),
        "steps": entries, "totals": totals, "versions": package_versions(),
    }


def _step_entry(layout: CacheLayout, step: Any, run_id: str, n_chunks: int, decision: Any) -> dict[str, Any]:
    step_dir = layout.step_dir(step.index, step.name, step.fingerprint)
    rows_in = rows_out = rejected = cached = 0
    seconds = 0.0
    dropped: Counter = Counter()
    llm: Counter = Counter()
    metrics = None
    for k in range(n_chunks):
        m = layout.read_step_marker(step_dir, k) or {}
        rows_in += m.get("rows_in", 0)
        rows_out += m.get("rows_out", 0)
        dropped.update(m.get("dropped", {}))
        rejected += m.get("rejected", 0)
        if m.get("run_id") == run_id:
            seconds += m.get("seconds", 0.0)
            llm.update(m.get("llm", {}))
        else:
            cached += 1
        if m.get("metrics"):
            metrics = m["metrics"]
    entry = {
        "index": step.index, "op": step.name, "rows_in": rows_in, "rows_out": rows_out,
        "dropped": dict(dropped), "rejected": rejected, "seconds": round(seconds, 4), "cached_chunks": cached,
        "llm_requests": int(llm.get("requests", 0)), "llm_cache_hits": int(llm.get("cache_hits", 0)),
        "tokens_in": int(llm.get("tokens_in", 0)), "tokens_out": int(llm.get("tokens_out", 0)),
        "fingerprint": step.fingerprint,
    }
    if llm.get("seconds"):
        entry["llm_seconds"] = round(llm["seconds"], 4)
    # What the step was (for reports): its class, params and bindings, when the caller knows them.
    for key in ("op_class", "params", "bindings"):
        value = getattr(step, key, None)
        if value:
            entry[key] = value
    if llm.get("cost"):
        entry["cost"] = round(llm["cost"], 6)
    if step.is_barrier:
        # The whole-dataset passes count towards the step: scanning every chunk, then deciding.
        timing = read_json(layout.barrier_timing(step_dir))
        if timing is not None and timing.pop("run_id", None) == run_id:
            entry["seconds"] = round(seconds + timing["scan_seconds"] + timing["decide_seconds"], 4)
            entry.update(timing)
        if isinstance(decision, dict) and "metrics" in decision:
            metrics = decision["metrics"]
    if metrics:
        entry["metrics"] = metrics
    return entry


def package_versions() -> dict[str, str]:
    import platform
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("dataflow", "pandas", "pyarrow", "numpy", "pydantic", "llama-cpp-python"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


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
