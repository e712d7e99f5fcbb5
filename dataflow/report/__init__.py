"""Run reports: one self-contained HTML file per run (``report.html`` beside ``run.json``).

Sections: rows per step (a funnel), drop reasons per step, the distribution of every numeric column a
step wrote (threshold marked, kept side shaded), before/after examples of every refiner, duplicate
clusters (kept vs removed), LLM requests, tokens, latency and cost per step, dropped and rejected rows.
Charts are inline SVG written here; the file holds no script and loads nothing, so it opens offline.

    from dataflow.report import write_report
    write_report(".dataflow/demo")            # -> .dataflow/demo/report.html
"""

from __future__ import annotations

from pathlib import Path

from dataflow.report.data import ReportData, RunReader, collect

__all__ = ["ReportData", "RunReader", "collect", "render_report", "write_report"]


def render_report(cache_dir: str | Path, **limits: int) -> str:
    """The report of the run in ``cache_dir`` as HTML text (``limits``: see :func:`collect`)."""
    from dataflow.report.html import render

    return render(collect(cache_dir, **limits))


def write_report(cache_dir: str | Path, output: str | Path | None = None, **limits: int) -> Path:
    """Write the report (default: ``<cache_dir>/report.html``, atomically) and return its path."""
    from dataflow.core.cache import atomic_write_bytes

    path = Path(output) if output else Path(cache_dir) / "report.html"
    atomic_write_bytes(path, render_report(cache_dir, **limits).encode("utf-8"))
    return path
