"""The report as one self-contained HTML file: inline CSS and SVG, no script, no external resource."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from dataflow.report import svg
from dataflow.report.data import ReportData, clip, split_words

SECTIONS = (("funnel", "Rows per step"), ("drops", "Why rows were dropped"), ("scores", "Score distributions"),
            ("refiners", "What the refiners changed"), ("dedup", "Duplicate clusters"),
            ("llm", "LLM requests, tokens, latency and cost"), ("dropped", "Dropped rows (examples)"),
            ("rejects", "Rejected rows"))

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
header{background:#1d2430;color:#fff;padding:16px 28px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#c5ccd6}nav{padding:8px 28px;background:#fff;border-bottom:1px solid #dde1e6}
nav a{margin-right:14px;color:#2a5db0;text-decoration:none}main{padding:8px 28px 40px;max-width:1100px}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:12px 18px;margin:16px 0}
h2{font-size:17px;margin:4px 0 10px}h3{font-size:14px;margin:14px 0 6px}
table{border-collapse:collapse;font-size:13px}td,th{border-bottom:1px solid #eceff2;padding:4px 10px;
text-align:right;vertical-align:top}td.l,th.l{text-align:left}.muted{color:#6b7480}
.text{white-space:pre-wrap;font-family:ui-monospace,Menlo,monospace;font-size:12px;text-align:left;max-width:760px}
del{background:#ffe3e3;text-decoration:line-through}ins{background:#d3f9d8;text-decoration:none}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}.kv td{text-align:left}
"""


def render(data: ReportData) -> str:
    s = data.summary
    t = s.get("totals", {})
    name = (s.get("config") or {}).get("name") or s.get("cache_dir", "run")
    body = [
        f"<header><h1>DataFlow report: {escape(str(name))}</h1>"
        f"<p>{t.get('rows_in', 0):,} rows in → {t.get('rows_out', 0):,} out · {t.get('dropped', 0):,} dropped · "
        f"{t.get('rejected', 0):,} rejected · {t.get('seconds', 0):.1f} s · started {escape(str(s.get('started', '')))}"
        f"</p></header>",
        "<nav>" + "".join(f'<a href="#{sid}">{escape(title)}</a>' for sid, title in SECTIONS) + "</nav><main>",
    ]
    renderers = {"funnel": _funnel, "drops": _drops, "scores": _scores, "refiners": _refiners, "dedup": _dedup,
                 "llm": _llm, "dropped": _dropped, "rejects": _rejects}
    for sid, title in SECTIONS:
        body.append(f'<section id="{sid}"><h2>{escape(title)}</h2>{renderers[sid](data)}</section>')
    body.append(_run_facts(data) + "</main>")
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>DataFlow report: {escape(str(name))}</title><style>{CSS}</style></head><body>"
            + "".join(body) + "</body></html>\n")


def _label(step: dict[str, Any]) -> str:
    return f"{step['index']}. {step['op']}"


def _funnel(data: ReportData) -> str:
    if not data.steps:
        return '<p class="muted">no steps</p>'
    t = data.summary.get("totals", {})
    items = [("input", float(t.get("rows_in", 0)))] + [(_label(s), float(s["rows_out"])) for s in data.steps]
    rows = "".join(
        f'<tr><td class="l">{escape(_label(s))}</td><td class="l">{escape(s.get("kind", ""))}</td>'
        f"<td>{s['rows_in']:,}</td><td>{s['rows_out']:,}</td><td>{sum(s['dropped'].values()):,}</td>"
        f"<td>{s.get('rejected', 0):,}</td><td>{s['seconds']:.2f}</td><td>{s.get('cached_chunks', 0)}</td></tr>"
        for s in data.steps)
    return (svg.bars(items, title="rows after each step")
            + '<table><tr><th class="l">step</th><th class="l">kind</th><th>rows in</th><th>rows out</th>'
              "<th>dropped</th><th>rejected</th><th>seconds</th><th>cached chunks</th></tr>" + rows + "</table>")


def _drops(data: ReportData) -> str:
    out = []
    for s in data.steps:
        reasons = sorted(s.get("dropped", {}).items(), key=lambda kv: -kv[1])
        if reasons:
            out.append(f"<h3>{escape(_label(s))}</h3>" + svg.bars([(r, float(n)) for r, n in reasons[:12]],
                                                                  color=svg.LINE, title=f"drop reasons of step {s['index']}"))
            if len(reasons) > 12:
                out.append(f'<p class="muted">and {len(reasons) - 12} more reasons</p>')
    return "".join(out) or '<p class="muted">no step dropped a row</p>'


def _scores(data: ReportData) -> str:
    out = ['<p class="legend"><span style="background:#3b7dd8"></span>kept<span style="background:#c9ccd1">'
           '</span>dropped<span style="background:#e3f0ff;border:1px solid #9bbcf0"></span>kept side'
           '<span style="background:#d9480f"></span>threshold</p>']
    for sc in data.scores:
        how = {"params": "threshold from the step's params", "drop reasons": "threshold named by the drop reasons",
               "kept values": "kept side: the range of kept values"}.get(sc.bounds_from, "no threshold (a score only)")
        values = [v for v in (sc.kept, sc.dropped) if len(v)]
        n = sum(len(v) for v in values)
        chunks = data.summary.get("chunks", 0)
        sampled = f" (a sample: {sc.chunks_read} of {chunks} chunks)" if sc.chunks_read < chunks else ""
        out.append(f"<h3>{escape(f'{sc.step}. {sc.op}')}: <code>{escape(sc.column)}</code></h3>"
                   f'<p class="muted">{n:,} values{sampled} · {len(sc.kept):,} kept · {len(sc.dropped):,} dropped · {how}'
                   + (f" · kept when ≥ {sc.low:g}" if sc.low is not None else "")
                   + (f" · kept when ≤ {sc.high:g}" if sc.high is not None else "") + "</p>"
                   + svg.histogram(sc.kept, sc.dropped, low=sc.low, high=sc.high,
                                   title=f"distribution of {sc.column}"))
    return "".join(out) if data.scores else '<p class="muted">no step wrote a numeric score column</p>'


def _diff(changes: list[tuple[str, str, str]], context: int = 24) -> tuple[str, str]:
    """Before and after with removed text struck and added text marked (whitespace drawn in them);
    unchanged runs longer than twice ``context`` tokens are cut to their ends, so a long
    document shows where it changed."""
    before, after = [], []
    last = len(changes) - 1
    for i, (tag, old, new) in enumerate(changes):
        if tag == "equal":
            tokens = split_words(old)
            if len(tokens) > 2 * context:
                head = "".join(tokens[:context]) if i > 0 else ""
                tail = "".join(tokens[-context:]) if i < last else ""
                old = f"{head} … {tail}"
            before.append(escape(old))
            after.append(escape(old))
            continue
        if old:
            before.append(f"<del>{_visible(old)}</del>")
        if new:
            after.append(f"<ins>{_visible(new)}</ins>")
    return clip_html("".join(before)), clip_html("".join(after))


def _visible(piece: str) -> str:
    """A changed piece with its whitespace drawn (``·`` a space, ``→`` a tab, ``↵`` a line break)."""
    return escape(piece).replace(" ", "·").replace("\t", "→").replace("\n", "↵\n")


def clip_html(text: str, limit: int = 4000) -> str:
    return text if len(text) <= limit else text[:limit].rsplit("<", 1)[0] + " …"


def _refiners(data: ReportData) -> str:
    out = []
    for s in data.steps:
        if s.get("kind") != "refine":
            continue
        samples = data.refiner_samples.get(s["index"], [])
        out.append(f"<h3>{escape(_label(s))}</h3>")
        if not samples:
            out.append('<p class="muted">no change in the sampled rows</p>')
            continue
        rows = []
        for ex in samples:
            before, after = _diff(ex["changes"])
            rows.append(f'<tr><td class="l">{escape(ex["row_id"])}</td><td class="l">{escape(ex["column"])}</td>'
                        f'<td class="text">{before}</td><td class="text">{after}</td></tr>')
        out.append('<table><tr><th class="l">row</th><th class="l">column</th><th class="l">before</th>'
                   '<th class="l">after</th></tr>' + "".join(rows) + "</table>")
    return "".join(out) or '<p class="muted">no refiner in this pipeline</p>'


def _dedup(data: ReportData) -> str:
    out = []
    by_index = {s["index"]: s for s in data.steps}
    for index, clusters in data.dedup_clusters.items():
        step = by_index[index]
        metrics = step.get("metrics") or {}
        facts = ", ".join(f"{k}: {v}" for k, v in metrics.items() if isinstance(v, (int, float, str)))
        out.append(f"<h3>{escape(_label(step))}</h3><p class=\"muted\">{escape(facts)}</p>")
        if not clusters:
            out.append('<p class="muted">no duplicates found</p>')
            continue
        for i, c in enumerate(clusters, 1):
            rows = []
            if c["kept"]:
                rows.append(f'<tr><td class="l">kept</td><td class="l">{escape(c["kept"]["row_id"])}</td>'
                            f'<td class="text">{escape(clip(c["kept"]["text"]))}</td></tr>')
            rows += [f'<tr><td class="l">removed</td><td class="l">{escape(r["row_id"])}</td>'
                     f'<td class="text">{escape(clip(r["text"]))}</td></tr>' for r in c["removed"]]
            out.append(f"<p>cluster {i}: {c['size']} rows</p><table>" + "".join(rows) + "</table>")
    return "".join(out) or '<p class="muted">no dedup step in this pipeline</p>'


def _llm(data: ReportData) -> str:
    steps = [s for s in data.steps if s.get("llm_requests") or s.get("llm_cache_hits")]
    if not steps:
        return '<p class="muted">no step called an LLM in this run (chunks served from the step cache count none)</p>'
    rows = []
    for s in steps:
        req = s.get("llm_requests", 0)
        secs = s.get("llm_seconds")
        latency = f"{secs / req:.2f}" if secs and req else "–"
        cost = f"{s['cost']:.4f}" if "cost" in s else "–"
        rows.append(f'<tr><td class="l">{escape(_label(s))}</td><td>{req:,}</td><td>{s.get("llm_cache_hits", 0):,}</td>'
                    f'<td>{s.get("tokens_in", 0):,}</td><td>{s.get("tokens_out", 0):,}</td>'
                    f'<td>{secs if secs is not None else "–"}</td><td>{latency}</td><td>{cost}</td></tr>')
    chart = svg.bars([(_label(s), float(s.get("tokens_in", 0) + s.get("tokens_out", 0))) for s in steps],
                     title="tokens per step")
    return ('<table><tr><th class="l">step</th><th>requests</th><th>cache hits</th><th>tokens in</th>'
            "<th>tokens out</th><th>LLM seconds</th><th>s / request</th><th>cost</th></tr>" + "".join(rows)
            + "</table><h3>tokens (in + out) per step</h3>" + chart)


def _record_cell(record: Any) -> str:
    return f'<td class="text">{escape(clip(record))}</td>'


def _dropped(data: ReportData) -> str:
    out = []
    by_index = {s["index"]: s for s in data.steps}
    for index, samples in data.dropped_samples.items():
        out.append(f"<h3>{escape(_label(by_index[index]))}</h3><table>"
                   '<tr><th class="l">row</th><th class="l">reason</th><th class="l">record</th></tr>'
                   + "".join(f'<tr><td class="l">{escape(r["row_id"])}</td><td class="l">{escape(str(r["reason"]))}</td>'
                             + _record_cell(r["record"]) + "</tr>" for r in samples) + "</table>")
    return "".join(out) or '<p class="muted">no row was dropped</p>'


def _rejects(data: ReportData) -> str:
    if not data.reject_reasons:
        return '<p class="muted">no row was rejected</p>'
    out = [svg.bars([(r, float(n)) for r, n in list(data.reject_reasons.items())[:12]], color=svg.LINE,
                    title="reject reasons")]
    rows = []
    for rec in data.rejects:
        rid = rec.get("row_id") or rec.get("line") or rec.get("row")
        where = f"{rec.get('step')} {rec.get('op', '')}" if rec.get("step") is not None else "input"
        rows.append(f'<tr><td class="l">{escape(str(rid))}</td><td class="l">{escape(where)}</td>'
                    f'<td class="l">{escape(str(rec.get("reason")))}</td>'
                    + _record_cell(rec.get("record") or rec.get("raw")) + "</tr>")
    total = data.summary.get("totals", {}).get("rejected", len(data.rejects))
    out.append(f'<p class="muted">showing {len(data.rejects)} of {total:,}</p><table><tr><th class="l">row</th>'
               '<th class="l">step</th><th class="l">reason</th><th class="l">record</th></tr>' + "".join(rows) + "</table>")
    return "".join(out)


def _run_facts(data: ReportData) -> str:
    s = data.summary
    facts = {"cache": s.get("cache_dir"), "input": s.get("input"), "output": s.get("output"),
             "chunks": s.get("chunks"), "executor": s.get("executor"),
             "versions": json.dumps(s.get("versions", {}))}
    return ('<section id="run"><h2>Run</h2><table class="kv">'
            + "".join(f'<tr><th class="l">{escape(k)}</th><td>{escape(str(v))}</td></tr>' for k, v in facts.items())
            + "</table></section>")
