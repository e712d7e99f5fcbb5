"""Charts as inline SVG text: horizontal bars and score histograms. No library, no script, no network."""

from __future__ import annotations

from html import escape

import numpy as np

KEPT, DROPPED, BAND, LINE = "#3b7dd8", "#c9ccd1", "#e3f0ff", "#d9480f"


def _num(value: float) -> str:
    if value == int(value) and abs(value) < 1e12:
        return f"{int(value):,}"
    return f"{value:.3g}"


def bars(items: list[tuple[str, float]], *, width: int = 720, label_width: int = 300, color: str = KEPT,
         title: str = "") -> str:
    """One horizontal bar per (label, value), longest = full width; the value is written after the bar."""
    row = 22
    height = row * len(items) + 8
    top = max((v for _, v in items), default=0) or 1
    room = width - label_width - 90
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}">']
    for i, (label, value) in enumerate(items):
        y = 4 + i * row
        w = max(1.0, room * value / top) if value else 0
        short = label if len(label) <= 46 else label[:45] + "…"
        parts.append(f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end" font-size="12">'
                     f'<title>{escape(label)}</title>{escape(short)}</text>')
        parts.append(f'<rect x="{label_width}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" fill="{color}"/>')
        parts.append(f'<text x="{label_width + w + 6:.1f}" y="{y + 15}" font-size="12">{_num(value)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def histogram(kept: np.ndarray, dropped: np.ndarray, *, low: float | None, high: float | None,
              bins: int = 30, width: int = 720, height: int = 200, title: str = "") -> str:
    """Stacked histogram of kept (coloured) and dropped (grey) values; the kept interval shaded and its
    bounds drawn as lines."""
    values = np.concatenate([kept, dropped])
    values = values[np.isfinite(values)]
    if not len(values):
        return '<p class="muted">no finite values</p>'
    lo, hi = float(values.min()), float(values.max())
    span = (hi - lo) or 1.0
    for bound in (low, high):  # a bound far outside the data would squash it into one bar: left off the axis
        if bound is not None and np.isfinite(bound) and lo - span <= bound <= hi + span:
            lo, hi = min(lo, bound), max(hi, bound)
    if hi == lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    k_counts, _ = np.histogram(kept[np.isfinite(kept)], bins=edges)
    d_counts, _ = np.histogram(dropped[np.isfinite(dropped)], bins=edges)
    left, right, top, bottom = 50, 10, 10, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = int((k_counts + d_counts).max()) or 1

    def x(v: float) -> float:
        return left + plot_w * (v - lo) / (hi - lo)

    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}">']
    band_lo = min(max(x(low), left), left + plot_w) if low is not None and np.isfinite(low) else left
    band_hi = min(max(x(high), left), left + plot_w) if high is not None and np.isfinite(high) else left + plot_w
    if low is not None or high is not None:
        parts.append(f'<rect class="kept-band" x="{band_lo:.1f}" y="{top}" width="{max(band_hi - band_lo, 1):.1f}" '
                     f'height="{plot_h}" fill="{BAND}"><title>kept side</title></rect>')
    bw = plot_w / bins
    for i in range(bins):
        kh = plot_h * k_counts[i] / peak
        dh = plot_h * d_counts[i] / peak
        xi = left + i * bw
        tip = f"{_num(edges[i])} – {_num(edges[i + 1])}: {k_counts[i]:,} kept, {d_counts[i]:,} dropped"
        if kh:
            parts.append(f'<rect x="{xi + 0.5:.1f}" y="{top + plot_h - kh:.1f}" width="{bw - 1:.1f}" '
                         f'height="{kh:.1f}" fill="{KEPT}"><title>{tip}</title></rect>')
        if dh:
            parts.append(f'<rect x="{xi + 0.5:.1f}" y="{top + plot_h - kh - dh:.1f}" width="{bw - 1:.1f}" '
                         f'height="{dh:.1f}" fill="{DROPPED}"><title>{tip}</title></rect>')
    for bound in (low, high):
        if bound is not None and np.isfinite(bound) and lo <= bound <= hi:
            parts.append(f'<line class="threshold" x1="{x(bound):.1f}" x2="{x(bound):.1f}" y1="{top}" '
                         f'y2="{top + plot_h}" stroke="{LINE}" stroke-width="2" stroke-dasharray="4 3">'
                         f'<title>threshold {_num(bound)}</title></line>')
    axis_y = top + plot_h
    parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{axis_y}" y2="{axis_y}" stroke="#888"/>')
    for v in np.linspace(lo, hi, 5):
        parts.append(f'<text x="{x(v):.1f}" y="{axis_y + 16}" text-anchor="middle" font-size="11">{_num(v)}</text>')
    parts.append(f'<text x="{left - 6}" y="{top + 10}" text-anchor="end" font-size="11">{peak:,}</text>')
    parts.append(f'<text x="{left - 6}" y="{axis_y}" text-anchor="end" font-size="11">0</text>')
    parts.append("</svg>")
    return "".join(parts)
