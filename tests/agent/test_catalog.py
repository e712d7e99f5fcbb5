import pytest

from dataflow.agent.catalog import Catalog, CatalogEntry, split_name, stem, stem_text

pytest.importorskip("bm25s")


def entry(name, summary, inputs=None, params=None, kind="filter", domain="general_text", resources=()):
    run_args = {k: {"role": "input", "default": v, "dtype": "str", "nullable": v is None, "description": ""}
                for k, v in (inputs or {"input_key": "text"}).items()}
    run_args["output_key"] = {"role": "output", "default": "score", "dtype": "number", "nullable": False,
                              "description": ""}
    return CatalogEntry(name, domain, kind, summary, summary, {"type": "object", "properties": params or {}},
                        run_args, list(resources), [])


CATALOG = Catalog([
    entry("WordNumberFilter", "Keep texts with min_words to max_words words.",
          params={"min_words": {"type": "integer", "default": 20}, "max_words": {"type": "integer", "default": 9}}),
    entry("AnswerLengthFilter", "Keep answers with at most max_words words.", inputs={"input_key": "answer"}),
    entry("MinHashDeduplicateFilter", "Drop near-duplicate texts (MinHash + LSH).", kind="dedup"),
    entry("SQLExecutionFilter", "Keep SQL queries that execute.", inputs={"input_sql_key": "sql"}, domain="text2sql"),
    entry("QuestionScorer", "Rates questions with an LLM.", inputs={"input_key": "question", "input_context": None},
          resources=("llm",), kind="evaluate"),
])


def test_stemming_folds_inflections_and_names_split():
    assert {stem(w) for w in ("duplicates", "duplicate", "duplicated")} == {"duplicat"}
    assert stem("filtering") == stem("filters") == "filter"
    assert split_name("MinHashDeduplicateFilter") == "Min Hash Deduplicate Filter"
    assert stem_text("SQLExecutionFilter") == "sql execution filter"


def test_shortlist_ranks_by_request():
    names = [e.name for e in CATALOG.shortlist("remove near-duplicates", n=2)]
    assert names[0] == "MinHashDeduplicateFilter"
    assert [e.name for e in CATALOG.shortlist("only queries that execute", n=1)] == ["SQLExecutionFilter"]
    assert CATALOG.shortlist("zebra xylophone", n=3) == []  # nothing matches: nothing is invented


def test_operators_whose_inputs_exist_are_boosted():
    # Two operators alike but for the column they read: the one whose column exists ranks first.
    twins = Catalog([entry("TextLengthFilter", "Keep rows of few tokens."),
                     entry("AnswerLengthFilter", "Keep rows of few tokens.", inputs={"input_key": "answer"})])
    request = "keep rows of few tokens"
    assert [e.name for e in twins.shortlist(request, columns=["answer"], n=1)] == ["AnswerLengthFilter"]
    assert [e.name for e in twins.shortlist(request, columns=["text"], n=1)] == ["TextLengthFilter"]


def test_operators_whose_name_the_request_says_are_boosted():
    assert [e.name for e in CATALOG.shortlist("keep texts with few words", n=2)][0] == "WordNumberFilter"


def test_render_is_compact_and_names_bindings_and_params():
    text = CATALOG["WordNumberFilter"].render()
    assert text.splitlines() == [
        "WordNumberFilter [filter, general_text]: Keep texts with min_words to max_words words.",
        "  run: input_key=text (input), output_key=score (output)",
        "  params: min_words: integer = 20, max_words: integer = 9"]
    scorer = CATALOG["QuestionScorer"].render()
    assert "[evaluate, general_text, uses llm]" in scorer and "input_context=null (optional input)" in scorer
    assert list(CATALOG["QuestionScorer"].required_inputs) == ["input_key"]


def test_the_registry_catalogue_finds_the_obvious_operators():
    catalog = Catalog.from_registry()
    assert len(catalog) >= 100 and "WordNumberFilter" in catalog.entries
    names = [e.name for e in catalog.shortlist(
        "keep English documents of at least 50 words and remove near-duplicates", ["text"], n=12)]
    assert {"WordNumberFilter", "LanguageFilter", "MinHashDeduplicateFilter"} <= set(names)
    names = [e.name for e in catalog.shortlist("remove secrets such as API keys from code", ["code"], n=5)]
    assert "CodeSecretFilter" in names or "CodeSecretRedactor" in names
