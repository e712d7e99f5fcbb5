import jsonschema
import pytest

from dataflow.agent.catalog import Catalog, CatalogEntry
from dataflow.agent.spec_schema import build_spec_schema, schema_to_grammar, simple_param_schema


def entry(name, params, required=(), run_args=None):
    run_args = run_args or {
        "input_key": {"role": "input", "default": "text", "dtype": "str", "nullable": False},
        "output_key": {"role": "output", "default": "n_words", "dtype": "int", "nullable": False},
    }
    return CatalogEntry(name, "general_text", "filter", name, name,
                        {"type": "object", "properties": params, "required": list(required)}, run_args, [], [])


COUNT = entry("WordCount", {
    "min_words": {"type": "integer", "default": 20},
    "mode": {"enum": ["word", "char"], "type": "string", "default": "word"},
    "languages": {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}], "default": None},
    "weights": {"anyOf": [{"type": "object", "additionalProperties": {"type": "number"}}, {"type": "null"}]},
})
REFINE = entry("Strip", {}, run_args={
    "input_key": {"role": "input", "default": "text", "dtype": "str", "nullable": True},
    "input_context_key": {"role": "input", "default": None, "dtype": "str", "nullable": True},
    "output_key": {"role": "output", "default": None, "dtype": "str", "nullable": False},
})
EXTRACT = entry("Extract", {"fields": {"type": "object", "additionalProperties": True}}, required=["fields"])


def test_simple_param_schemas_are_bounded_and_complex_ones_dropped():
    assert simple_param_schema({"type": "string", "default": "x"}) == {"type": "string", "maxLength": 200}
    assert simple_param_schema({"anyOf": [{"type": "integer"}, {"type": "null"}]}) == {
        "anyOf": [{"type": "integer"}, {"type": "null"}]}
    assert simple_param_schema({"type": "array", "items": {"type": "string"}})["maxItems"] == 16
    assert simple_param_schema({"type": "object", "additionalProperties": {"type": "string"}}) is None
    assert simple_param_schema({"anyOf": [{"type": "object"}, {"type": "array", "items": {"type": "string"}},
                                          {"type": "null"}]}) is None


def test_schema_validates_good_specs_and_rejects_bad_ones():
    built = build_spec_schema([COUNT, REFINE, EXTRACT], ["text", "id"], max_steps=3)
    assert built.ops == ["WordCount", "Strip"]
    assert built.excluded == {"Extract": "required param(s) fields cannot be expressed"}
    assert built.dropped["WordCount"] == {"weights": "not a simple type"}
    assert any("weights not offered" in n for n in built.notes())
    assert built.columns == ["text", "id", "n_words"]  # the data's columns, then what steps write
    good = {"steps": [
        {"op": "Strip", "params": {}, "run": {"input_key": "text", "output_key": None}},
        {"op": "WordCount", "params": {"min_words": 50, "mode": "char", "languages": ["en"]},
         "run": {"input_key": "text", "output_key": "words"}},
    ]}
    jsonschema.validate(good, built.schema)
    bad = [
        {"steps": []},
        {"steps": [good["steps"][0]] * 4},  # more than max_steps
        {"steps": [{"op": "Extract", "params": {"fields": {}}, "run": {}}]},  # not offered
        {"steps": [{"op": "WordCount", "params": {}, "run": {"input_key": "body"}}]},  # unknown column
        {"steps": [{"op": "WordCount", "params": {}, "run": {}}]},  # the required input is not given
        {"steps": [{"op": "WordCount", "params": {"min_words": "many"}, "run": {"input_key": "text"}}]},
        {"steps": [{"op": "WordCount", "params": {"weights": {}}, "run": {"input_key": "text"}}]},
        {"steps": [{"op": "WordCount", "params": {}, "run": {"input_key": "text", "output_key": "a b"}}]},
        {"steps": [{"op": "WordCount", "params": {}, "run": {"input_key": "text"}, "extra": 1}]},
    ]
    for spec in bad:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(spec, built.schema)


def test_nothing_plannable_is_an_error():
    with pytest.raises(ValueError, match="no operator can be planned.*Extract"):
        build_spec_schema([EXTRACT], ["text"])


def test_schema_of_a_registry_shortlist_converts_to_a_llama_grammar():
    pytest.importorskip("llama_cpp")
    pytest.importorskip("bm25s")
    catalog = Catalog.from_registry()
    shortlist = catalog.shortlist("keep English documents of at least 50 words and remove near-duplicates",
                                  ["text"], n=12)
    built = build_spec_schema(shortlist, ["text", "url"])
    grammar = schema_to_grammar(built.schema)
    assert "root ::=" in grammar and '\\"WordNumberFilter\\"' in grammar
    example = {"steps": [
        {"op": "LanguageFilter", "params": {"allowed_languages": ["en"]}, "run": {"input_key": "text"}},
        {"op": "WordNumberFilter", "params": {"min_words": 50}, "run": {"input_key": "text"}},
        {"op": "MinHashDeduplicateFilter", "params": {"threshold": 0.8}, "run": {"input_key": "text"}},
    ]}
    jsonschema.validate(example, built.schema)
    # Every operator of the registry: the whole catalogue converts too (only unplannable ones left out).
    everything = build_spec_schema(catalog.entries.values(), ["text"])
    assert len(everything.ops) >= len(catalog) - 3
    assert schema_to_grammar(everything.schema)
