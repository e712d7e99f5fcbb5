"""The reference DataFlow's (``open-dataflow``) param and binding names, accepted by our operators of the
same name: one table, applied by the operator base (:func:`dataflow.core.operator.add_name_aliases`).

Each entry maps a name only the reference has to ours (a rename), to a function turning its value into
our params, or (bindings) to None: accepted, with nothing to bind (a column we do not write). A value we
cannot honour is refused with the reason (:func:`only`); :func:`unused` marks params with no effect here
(cache folders, devices, a few tuning knobs), listed in ``docs/migration.md``. Our names stay the
documented ones; ``tests/operators/test_reference_names.py`` reads the reference's signatures from its
wheel and checks that every operator sharing a name accepts them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from dataflow.core.errors import ParamsError

Params = Callable[[Any], dict[str, Any]]


def only(expected: Any, why: str) -> Params:
    """A reference param we accept at its reference value only (``why``: what we do instead)."""
    def check(value: Any) -> dict[str, Any]:
        if value != expected:
            raise ParamsError(f"only {expected!r} is supported here: {why}")
        return {}
    return check


def unused(value: Any) -> dict[str, Any]:
    """A reference param with no effect on the result here (a cache folder, a device, a log option)."""
    return {}


def _minhash_shingles(use_n_gram: Any) -> dict[str, Any]:
    # The reference shingles characters: n-grams of ``ngram`` characters, or single characters.
    return {} if use_n_gram else {"ngram": 1}


def _tokenizer_dir(value: Any) -> dict[str, Any]:
    """A Qwen2.5 name shares the embedded model's vocabulary; a local folder gives its tokenizer.json."""
    if isinstance(value, str) and value.lower().startswith("qwen/qwen2.5"):
        return {}
    path = Path(str(value)).expanduser() / "tokenizer.json"
    if path.is_file():
        return {"tokenizer": str(path)}
    raise ParamsError(f"tokenizer_dir {value!r}: give a Qwen2.5 model name (offline: the embedded "
                      "model's vocabulary) or a local folder holding tokenizer.json")


def _prompt_template(value: Any) -> dict[str, Any]:
    """None: our default template; a name or file: as is; a reference prompt class from
    ``dataflow.prompts`` (:mod:`dataflow.compat.prompts`): the template of ours doing that job."""
    if value is None:
        return {}
    if isinstance(value, (str, Path)):
        return {"prompt_template": str(value)}
    ours = getattr(value, "template_name", None)
    if ours is None:
        raise ParamsError(f"{type(value).__name__} is a reference prompt object with no counterpart here: "
                          "give a template name or a .jinja file (docs/migration.md)")
    return {"prompt_template": ours}


_DB = {"database_manager": only(None, "give db_root (SQLite folder) or db_url instead")}
_TOKENIZER = {"use_tokenizer": only(False, "words are split by our tokenizer-free word rule")}
_DEDUP_BINDINGS = {"input_keys": None}  # reference: several columns joined; ours: input_key

REFERENCE_NAMES: dict[str, dict[str, dict[str, Any]]] = {
    # ------------------------------------------------------------------ general text
    "AlphaWordsFilter": {"params": _TOKENIZER},
    "BlocklistFilter": {"params": _TOKENIZER},
    "CapitalWordsFilter": {"params": _TOKENIZER},
    "StopWordFilter": {"params": {**_TOKENIZER, "threshold": only(None, "ours counts the Gopher stop words: "
                                                                     "give min_stopwords")}},
    "MinHashDeduplicateFilter": {"params": {"use_n_gram": _minhash_shingles}, "bindings": _DEDUP_BINDINGS},
    "NgramHashDeduplicateFilter": {
        "params": {"n_gram": unused, "hash_func": only("md5", "n-grams are compared by a 64-bit hash"),
                   "diff_size": unused},
        "bindings": _DEDUP_BINDINGS},
    "SimHashDeduplicateFilter": {"params": {"fingerprint_size": "bits", "bound": unused},
                                 "bindings": _DEDUP_BINDINGS},
    "SemDeduplicateFilter": {"params": {"model_name": unused, "model_cache_dir": unused, "device": unused},
                             "bindings": _DEDUP_BINDINGS},
    "LanguageFilter": {"params": {"model_cache_dir": unused}},
    "HtmlEntityRefiner": {"params": {"html_entities": unused}},
    "PIIAnonymizeRefiner": {"params": {"lang": only("en", "the detectors are English rules"),
                                       "device": unused, "model_cache_dir": unused, "model_name": unused}},
    # ------------------------------------------------------------------ SFT (text_sft)
    "AlpagasusFilter": {"params": {"dimension": only("quality", "the prompt rates overall quality")}},
    "CondorGenerator": {"params": {"num_samples": unused,  # ours: num_pairs per topic row
                                   "use_task_diversity": unused},
                        "bindings": {"output_output_key": "output_key", "output_difficulty_key": None}},
    "CondorRefiner": {"bindings": {"input_output_key": "input_key"}},
    # ------------------------------------------------------------------ core text
    "EmbeddingGenerator": {"params": {"embedding_serving": "embedder"}},
    "FormatStrPromptedGenerator": {"params": {"prompt_template": "template"}},
    "PromptedGenerator": {"params": {"user_prompt": only("", "give the instruction as prompt_template")}},
    "Text2QAGenerator": {"bindings": {"input_question_num": None, "output_prompt_key": None}},
    "Text2MultiHopQAGenerator": {"params": {"lang": only("en", "the prompt is English")},
                                 "bindings": {"output_key": None, "output_meta_key": None}},
    # ------------------------------------------------------------------ knowledge cleaning
    "KBCChunkGenerator": {"params": {"split_method": only("token", "chunks are cut by tokens"),
                                     "min_tokens_per_chunk": unused, "tokenizer_name": unused}},
    "KBCTextCleaner": {"params": {"lang": only("en", "the prompt is English")}},
    "QAExtractor": {"params": {"output_json_file": only(None, "the pipeline's output holds the rows"),
                               "input_instruction": "instruction"},
                    "bindings": {"input_qa_key": None, "output_question_key": "output_input_key",
                                 "output_answer_key": "output_output_key"}},
    # ------------------------------------------------------------------ reasoning
    "ReasoningAnswerGroundTruthFilter": {
        "params": {"compare_method": only("math_verify", "answers are compared by math equivalence")},
        "bindings": {"input_test_answer_key": "input_key", "input_gt_answer_key": "input_gold_key"}},
    "ReasoningAnswerNgramFilter": {"params": {"ngrams": "repetition_ngram"},
                                   "bindings": {"input_question_key": "input_key"}},
    "ReasoningAnswerTokenLengthFilter": {"params": {"tokenizer_dir": _tokenizer_dir}},
    "ReasoningPseudoAnswerGenerator": {
        "params": {"max_times": "n_samples"},
        "bindings": {"output_key_answer": None, "output_key_answer_value": "output_key",
                     "output_key_solutions": "output_solution_key",
                     "output_key_correct_solution_example": None}},
    "ReasoningQuestionFusionGenerator": {"params": {"num_prompts": only(1, "one fused question per pair")},
                                         "bindings": {"input_problem_1": "input_key", "input_problem_2": None}},
    "ReasoningQuestionGenerator": {"bindings": {"output_synth_or_input_flag": "output_source_key"}},
    # ------------------------------------------------------------------ code
    "CodeAutoGeneratedFilter": {"params": {"is_generated_func": only(None, "give markers instead")}},
    "CodeInstructionGenerator": {"params": {"num_few_shot": unused, "num_generate": "num_instructions"}},
    "CodeQualityScoreFilter": {"bindings": {"output_key": None}},  # the reference's 0/1 label
    "CodeSandboxSampleEvaluator": {"params": {"language": only("python", "the sandbox runs Python"),
                                              "timeout_length": "timeout",
                                              "use_process_isolation": only(True, "always isolated")}},
    # ------------------------------------------------------------------ agentic RAG
    "AgenticRAGAtomicTaskGenerator": {
        "params": {"data_num": unused, "max_per_task": "num_q", "max_question": unused},
        "bindings": {"output_llm_answer_key": None, "output_golden_doc_answer_key": None}},
    "AgenticRAGDepthQAGenerator": {"params": {"n_rounds": unused},  # one round a step: chain steps
                                   "bindings": {"output_key": "output_question_key"}},
    "AgenticRAGWidthQAGenerator": {"bindings": {"input_identifier_key": "input_id_key"}},
    # ------------------------------------------------------------------ text-to-SQL
    "SQLComponentClassifier": {"params": {"difficulty_thresholds": unused, "difficulty_labels": unused}},
    "SQLExecutabilityFilter": {"params": _DB},
    "SQLExecutionFilter": {"params": _DB},
    "SQLExecutionClassifier": {"params": {**_DB, "difficulty_thresholds": unused, "difficulty_labels": unused},
                               "bindings": {"output_difficulty_key": "output_key"}},
    "SQLGenerator": {"params": {**_DB, "generate_num": "num_sql"},
                     "bindings": {"output_db_id_key": None, "output_sql_complexity_key": "output_complexity_key"}},
    "SQLVariationGenerator": {"params": _DB, "bindings": {"output_sql_variation_type_key": "output_variation_key"}},
    "Text2SQLCoTGenerator": {"params": {**_DB, "sampling_num": "num_candidates"},
                             "bindings": {"input_question_key": None, "input_evidence_key": None}},
    "Text2SQLCoTVotingGenerator": {"params": _DB, "bindings": {"input_cot_responses_key": "input_cot_key"}},
    "Text2SQLCorrespondenceFilter": {"params": _DB},
    "Text2SQLPromptGenerator": {"params": _DB},
    "Text2SQLQuestionGenerator": {"params": {**_DB, "embedding_serving": "embedder",
                                             "question_candidates_num": "num_candidates"}},
}


def operators_by_name(module: str) -> Callable[[str], Any]:
    """A module ``__getattr__`` giving any registered operator by its name, so the reference's import
    paths (``from dataflow.operators.general_text import WordNumberFilter``) work on our layout; the
    operator modules are imported on the first such lookup, not by ``import dataflow.operators``."""
    def __getattr__(name: str) -> Any:  # noqa: N807
        if not name[:1].isupper():
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        from dataflow.core.registry import OPERATORS

        try:
            return OPERATORS.get(name)
        except KeyError as exc:
            raise AttributeError(f"module {module!r} has no attribute {name!r} ({exc.args[0]})") from None
    return __getattr__


# LLM operators whose prompt_template may be given as the reference's prompt object.
_PROMPTED = ("AlpagasusFilter", "CodeCodeToInstructionGenerator", "CodeEnhancementInstructionGenerator",
             "CodeInstructionGenerator", "CodeInstructionToCodeGenerator", "CodeQualitySampleEvaluator",
             "CodeQualityScoreFilter", "CondorGenerator", "CondorRefiner", "KBCTextCleaner",
             "PromptedEvaluator", "PromptedFilter", "PromptedGenerator", "PromptedRefiner",
             "ReasoningAnswerGenerator", "ReasoningAnswerModelJudgeFilter", "ReasoningPseudoAnswerGenerator",
             "ReasoningQuestionCategorySampleEvaluator", "ReasoningQuestionDifficultySampleEvaluator",
             "ReasoningQuestionFilter", "ReasoningQuestionFusionGenerator", "ReasoningQuestionGenerator",
             "SQLGenerator", "SQLVariationGenerator", "Text2MultiHopQAGenerator", "Text2QAGenerator",
             "Text2SQLCoTGenerator", "Text2SQLCorrespondenceFilter", "Text2SQLPromptGenerator",
             "Text2SQLQuestionGenerator", "SQLExecutionClassifier", "AgenticRAGAtomicTaskGenerator",
             "AgenticRAGDepthQAGenerator", "AgenticRAGWidthQAGenerator")
for _name in _PROMPTED:
    _entry = REFERENCE_NAMES.setdefault(_name, {})
    _entry["params"] = {"prompt_template": _prompt_template, **_entry.get("params", {})}
