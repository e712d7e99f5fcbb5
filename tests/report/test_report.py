"""The run report: every section, built from a real run's cache; one file that loads nothing."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from dataflow.core.operator import Generator, InputColumn, OutputColumn, Reject
from dataflow.core.pipeline import Pipeline
from dataflow.operators.core_text.prompted_generator import PromptedGenerator
from dataflow.operators.general_text.dedup.minhash import MinHashDeduplicateFilter
from dataflow.operators.general_text.filters.heuristics import WordNumberFilter
from dataflow.operators.general_text.refiners.pii import PIIAnonymizeRefiner
from dataflow.report import collect, render_report, write_report
from tests.operators.reasoning.scripted_serving import ScriptedServing

DEMO_DATA = Path(__file__).resolve().parents[2] / "examples" / "demo" / "data.jsonl"


class RejectsWebSources(Generator):
    """Test operator: rejects rows whose source is 'web' and 'forum', marks the others."""

    input_source = InputColumn("source", "str")
    output_key = OutputColumn("checked")

    def generate(self, batch, ctx):
        sources = batch[ctx.cols.input_source]
        return {ctx.cols.output_key: [Reject(f"source {s}") if s in ("web", "forum") else "ok" for s in sources]}


class ReportPipeline(Pipeline):
    def __init__(self, root: Path, serving) -> None:
        super().__init__(root / "data.jsonl", root / "out.jsonl", cache_dir=root / "cache", chunk_size=10,
                         serving=serving, executor="serial")
        self.pii = PIIAnonymizeRefiner()
        self.words = WordNumberFilter(min_words=20, max_words=2000)
        self.dedup = MinHashDeduplicateFilter(threshold=0.8)
        self.sources = RejectsWebSources()
        self.summary = PromptedGenerator(prompt_template="Summarize: {{ text }}", max_tokens=16)

    def forward(self):
        self.pii.run(self.storage, input_key="text")
        self.words.run(self.storage, input_key="text")
        self.dedup.run(self.storage, input_key="text")
        self.sources.run(self.storage, output_key="checked")
        self.summary.run(self.storage, output_key="summary")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("report")
    shutil.copy(DEMO_DATA, root / "data.jsonl")
    serving = ScriptedServing(lambda call: "a short summary")
    ReportPipeline(root, serving).run(progress=False)
    return root / "cache"


def test_a_run_writes_its_report_beside_run_json(run_dir):
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    for section in ("funnel", "drops", "scores", "refiners", "dedup", "llm", "dropped", "rejects"):
        assert f'<section id="{section}">' in html


def test_report_sections_hold_the_runs_facts(run_dir):
    html = render_report(run_dir)
    data = collect(run_dir)
    by_op = {s["op"]: s for s in data.steps}
    # funnel and drop reasons
    assert "WordNumberFilter" in html and "word_count &lt; 20" in html
    # the score histogram of the filter, its threshold drawn and the kept side shaded
    words = next(sc for sc in data.scores if sc.column == "word_count")
    assert words.bounds_known and words.low == 20 and words.high == 2000
    assert len(words.kept) + len(words.dropped) == by_op["WordNumberFilter"]["rows_in"]
    assert 'class="threshold"' in html and 'class="kept-band"' in html
    # the refiner's before/after: an e-mail address replaced, shown as removed and inserted text
    samples = data.refiner_samples[by_op["PIIAnonymizeRefiner"]["index"]]
    assert samples and all(s["before"] != s["after"] for s in samples)
    assert "<del>" in html and "<ins>" in html
    # dedup clusters: a kept row and the removed near-duplicates, with their texts
    clusters = data.dedup_clusters[by_op["MinHashDeduplicateFilter"]["index"]]
    removed = sum(len(c["removed"]) for c in clusters)
    assert removed == sum(by_op["MinHashDeduplicateFilter"]["dropped"].values()) > 0
    assert all(c["kept"]["text"] and all(r["text"] for r in c["removed"]) for c in clusters)
    # LLM requests, tokens and latency of the generator step
    llm = by_op["PromptedGenerator"]
    assert llm["llm_requests"] == llm["rows_in"] > 0 and llm["tokens_out"] > 0 and "llm_seconds" in llm
    assert "s / request" in html
    # rejects, with their reason
    assert data.reject_reasons and any("source web" in r for r in data.reject_reasons)
    assert "source web" in html


def test_report_loads_nothing_from_the_network(run_dir):
    """No reference to any resource: no script, stylesheet, image or frame, no URL in an attribute or in
    CSS. (Row texts may mention URLs: they are escaped text, never loaded.)"""
    html = render_report(run_dir)
    assert not re.search(r"<(script|link|iframe|img|object|embed|use)\b", html)
    links = re.findall(r"\b(?:src|href|action|xlink:href)\s*=\s*[\"']?([^\"'\s>]*)", html)
    assert links and all(link.startswith("#") for link in links)  # in-page anchors only
    assert "url(" not in html and "@import" not in html
    assert not re.search(r"=\s*[\"']?https?://", html)


def test_report_cli_writes_the_file(run_dir, tmp_path, capsys):
    from dataflow.cli.main import main

    out = tmp_path / "r.html"
    assert main(["report", str(run_dir), "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "wrote" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "nothing")]) == 1


def test_write_report_default_path(run_dir, tmp_path):
    copy = tmp_path / "cache"
    shutil.copytree(run_dir, copy)
    (copy / "report.html").unlink()
    assert write_report(copy) == copy / "report.html" and (copy / "report.html").exists()


def test_score_values_of_a_large_run_are_sampled_and_say_so(run_dir):
    full = collect(run_dir)
    sampled = collect(run_dir, score_chunks=1)
    words = next(sc for sc in sampled.scores if sc.column == "word_count")
    whole = next(sc for sc in full.scores if sc.column == "word_count")
    assert full.summary["chunks"] == 3 and whole.chunks_read == 3 and words.chunks_read == 1
    assert 0 < len(words.kept) + len(words.dropped) < len(whole.kept) + len(whole.dropped)
    assert "(a sample: 1 of 3 chunks)" in render_report(run_dir, score_chunks=1)


def test_thresholds_named_by_drop_reasons():
    from dataflow.report.data import _bounds_from_reasons

    assert _bounds_from_reasons({"quality < 3": 4}) == (3.0, None, True)
    assert _bounds_from_reasons({"ratio > 3e-08": 1, "ratio < 0.5": 2}) == (0.5, 3e-08, True)
    assert _bounds_from_reasons({"duplicate": 2, "llm: timeout": 1}) == (None, None, False)
