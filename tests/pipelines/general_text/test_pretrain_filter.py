"""The pre-training filter pipeline (Python and YAML) on real web text from Dolma and Data-Juicer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dataflow.lib.dedup.shingles import normalize_for_hash
from dataflow.pipelines.general_text.pretrain_filter import PRETRAIN_STEPS, PretrainFilterPipeline

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / ".." / "shared" / "fixtures" / "web"
SPEC = REPO / "dataflow" / "pipelines" / "general_text" / "pretrain_filter.yaml"
RULE_FILTERS = {
    "WordNumberFilter", "ColonEndFilter", "SentenceNumberFilter", "LineEndWithEllipsisFilter",
    "ContentNullFilter", "MeanWordLengthFilter", "SymbolWordRatioFilter", "HtmlEntityFilter", "NoPuncFilter",
    "SpecialCharacterFilter", "WatermarkFilter", "CurlyBracketFilter", "CapitalWordsFilter",
    "LoremIpsumFilter", "UniqueWordsFilter", "CharNumberFilter", "LineStartWithBulletpointFilter",
    "LineWithJavascriptFilter", "BlocklistFilter",
}


def test_yaml_spec_matches_python_pipeline():
    spec = yaml.safe_load(SPEC.read_text())
    assert [(s["op"], s.get("params", {})) for s in spec["steps"]] == PRETRAIN_STEPS
    assert all(s["run"] == {"input_key": "raw_content"} for s in spec["steps"])
    names = [name for name, _ in PRETRAIN_STEPS]
    assert RULE_FILTERS <= set(names) and len(names) == 19 + 3 + 1
    assert names[-1] == "MinHashDeduplicateFilter"  # after every filter: it sees the fewest rows
    plan = PretrainFilterPipeline("x.jsonl", input_key="body").trace()
    assert [s.name for s in plan.steps] == names
    assert {s.bindings["input_key"] for s in plan.steps} == {"body"}


# The reference's cpu_pipelines/text_pt_filter.py, its forward() in order (open-dataflow 1.0.13).
REFERENCE_ORDER = [
    "RemoveEmojiRefiner", "HtmlUrlRemoverRefiner", "RemoveExtraSpacesRefiner", "MinHashDeduplicateFilter",
    "BlocklistFilter", "WordNumberFilter", "ColonEndFilter", "SentenceNumberFilter", "LineEndWithEllipsisFilter",
    "ContentNullFilter", "MeanWordLengthFilter", "SymbolWordRatioFilter", "HtmlEntityFilter", "NoPuncFilter",
    "SpecialCharacterFilter", "WatermarkFilter", "CurlyBracketFilter", "CapitalWordsFilter", "LoremIpsumFilter",
    "UniqueWordsFilter", "CharNumberFilter", "LineStartWithBulletpointFilter", "LineWithJavascriptFilter",
]


def test_reference_order_spec_is_the_reference_script_and_runs(tmp_path):
    from dataflow.core.pipeline import Pipeline

    path = SPEC.with_name("pretrain_filter_reference_order.yaml")
    spec = yaml.safe_load(path.read_text())
    assert [s["op"] for s in spec["steps"]] == REFERENCE_ORDER
    dedup = spec["steps"][3]["params"]
    assert (dedup["threshold"], dedup["ngram"], dedup["tokenize"]) == (0.9, 5, "char")  # use_n_gram=True
    text = "A first sentence here. A second one follows it. And a third closes the paragraph now.\n" * 3
    rows = [{"raw_content": text}, {"raw_content": text.upper().lower()}, {"raw_content": "short"}]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    pipe = Pipeline.from_spec(path)
    pipe.input, pipe.output, pipe.cache_dir = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "cache"
    pipe.run(progress=False)
    kept = [json.loads(line)["raw_content"] for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert kept == [" ".join(text.split())]  # the copy went to dedup, "short" to the word count


def _web_records() -> list[dict]:
    files = sorted((FIXTURES / "dolma").glob("*.jsonl")) + sorted((FIXTURES / "data_juicer").glob("*.jsonl"))
    if not files:
        pytest.skip(f"web fixtures absent under {FIXTURES} (shared fixtures not mounted)")
    records = []
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            records.append({"raw_content": json.loads(line)["text"], "source": path.name})
    return records


@pytest.mark.slow
def test_pretrain_pipeline_on_web_fixtures(tmp_path: Path):
    """Through the CLI with the YAML spec (field raw_content), then the Python pipeline: same output."""
    records = _web_records()
    src = tmp_path / "web.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    out = tmp_path / "clean.jsonl"
    cli = Path(sys.executable).with_name("dataflow")
    subprocess.run([str(cli), "run", str(SPEC), "--input", str(src), "--output", str(out),
                    "--cache-dir", str(tmp_path / "cache"), "--chunk-size", "40"], check=True, cwd=tmp_path,
                   capture_output=True)
    kept = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    summary = json.loads((tmp_path / "cache" / "run.json").read_text())
    assert summary["chunks"] >= 4  # the dedup compares documents across chunks
    assert 0 < len(kept) < len(records)
    texts = [r["raw_content"] for r in kept]

    # Data-Juicer's dedup demo has four "Smithfield employs 3,700 people" documents: a long article and
    # a near copy of it (one word changed; Jaccard ~0.97), and a shorter version with its own near copy.
    # Each pair collapses to its first member; the long and short versions (Jaccard ~0.5) both stay.
    first = next(i for i, r in enumerate(records, 1) if r["source"] == "demo-dataset-deduplication.jsonl")
    smithfield = [r for r in kept if r["raw_content"].startswith("Smithfield employs 3,700 people")]
    lines = [first + k for k in (7, 9)]  # 0-based positions 7..10 of that file
    assert [int(r["minhash_cluster"]) for r in smithfield] == lines
    steps = {s["op"]: s for s in summary["steps"]}
    assert sum(steps["MinHashDeduplicateFilter"]["dropped"].values()) >= 2
    # No two kept documents are equal after normalisation.
    normalised = normalize_for_hash(texts)
    assert len(set(normalised)) == len(normalised)
    # Junk is gone: boilerplate one-liners, short lines, and every kept text passes the length rules.
    assert not any("JavaScript must be enabled" in t for t in texts)
    assert not any(t.strip() == "Do you need a cup of coffee?" for t in texts)
    assert all(len(t.split()) >= 20 for t in texts)
    assert sum(sum(s["dropped"].values()) for name, s in steps.items() if name in RULE_FILTERS) >= 30
    # Refiners ran: no URLs or double spaces remain in the kept text.
    assert not any("http://" in t or "https://" in t for t in texts)
    assert not any("  " in t for t in texts)

    # The Python front-end, bound to the same column, produces the same rows.
    py_out = tmp_path / "clean_py.jsonl"
    PretrainFilterPipeline(src, py_out, input_key="raw_content", cache_dir=tmp_path / "cache_py",
                           chunk_size=40).run()
    assert py_out.read_text(encoding="utf-8") == out.read_text(encoding="utf-8")
