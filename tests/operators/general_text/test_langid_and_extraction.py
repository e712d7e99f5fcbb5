import json
import re
from pathlib import Path

import pytest

from dataflow.operators.general_text.langid import LanguageFilter, LanguageIdentifier
from dataflow.operators.general_text.refiners.extraction import FixUnicodeRefiner, HtmlToTextRefiner

from .helpers import refine, run_op

FIXTURES = Path(__file__).resolve().parents[3] / ".." / "shared" / "fixtures"

SENTENCES = {
    "en": "The weather is lovely today and we are going for a long walk in the park.",
    "de": "Das Wetter ist heute schön und wir gehen im Park lange spazieren.",
    "fr": "Il fait beau aujourd'hui et nous allons faire une longue promenade dans le parc.",
    "es": "Hoy hace buen tiempo y vamos a dar un largo paseo por el parque.",
    "zh": "今天天气很好，我们要去公园散步很长时间。",
}


def test_language_identifier_on_handwritten_sentences():
    frame, _ = run_op(LanguageIdentifier(), list(SENTENCES.values()) + ["12345 !!!", None])
    assert frame["language"].tolist() == list(SENTENCES) + ["und", "und"]
    assert (frame["language_confidence"].iloc[:5] > 0.5).all()


def test_language_filter():
    frame, dropped = run_op(LanguageFilter(allowed_languages=["en", "de"]), list(SENTENCES.values()))
    assert frame["language"].tolist() == ["en", "de"]
    assert dropped[SENTENCES["fr"]] == "language=fr not in ['de', 'en']"
    strict = LanguageFilter(allowed_languages=["en"], min_confidence=1.01)
    assert run_op(strict, [SENTENCES["en"]])[1][SENTENCES["en"]] == "language_confidence < 1.01"


def test_language_identifier_on_data_juicer_demo():
    path = FIXTURES / "web" / "data_juicer" / "demo-dataset.jsonl"
    if not path.exists():
        pytest.skip(f"fixture {path} absent")
    texts = [json.loads(line)["text"] for line in path.open()]
    langs = run_op(LanguageIdentifier(), texts)[0]["language"].tolist()
    for text, lang in zip(texts, langs):
        if re.search(r"[\u4e00-\u9fff]{4}", text):
            assert lang in ("zh", "wuu"), text  # short Chinese lines are sometimes labelled Wu
    assert langs.count("en") >= 3


def test_fix_unicode():
    assert refine(FixUnicodeRefiner(), ["cafÃ© â€œquotedâ€\x9d", "plain"]) == ['café "quoted"', "plain"]


def test_html_to_text_on_handwritten_page():
    page = ("<html><body><nav><a href='/'>Home</a> | <a href='/about'>About us</a></nav><article><h1>Title</h1>"
            + "<p>This is the first paragraph of the article, and it is long enough to be kept as text.</p>" * 3
            + "</article><footer>Copyright footer links</footer></body></html>")
    out = refine(HtmlToTextRefiner(), [page, ""])
    assert "first paragraph of the article" in out[0]
    assert "About us" not in out[0]
    assert out[1] == ""


@pytest.mark.slow
def test_html_to_text_on_trafilatura_eval_pages():
    root = FIXTURES / "web" / "trafilatura"
    if not (root / "evaldata.json").exists():
        pytest.skip(f"trafilatura eval fixture absent under {root}")
    evaldata = json.loads((root / "evaldata.json").read_text())
    entries = sorted(evaldata.values(), key=lambda e: e["file"])[:40]
    pages = [(root / "html" / e["file"]).read_text(encoding="utf-8", errors="replace") for e in entries]
    outputs = refine(HtmlToTextRefiner(), pages)
    tp = fn = fp = tn = 0
    for entry, out in zip(entries, outputs):
        text = " ".join(out.split())
        for seg in entry.get("with", []):
            found = " ".join(seg.split()) in text
            tp, fn = tp + found, fn + (not found)
        for seg in entry.get("without", []):
            found = " ".join(seg.split()) in text
            fp, tn = fp + found, tn + (not found)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert precision > 0.8 and recall > 0.7, (precision, recall)
