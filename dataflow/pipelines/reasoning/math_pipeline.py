"""Math reasoning data with verified answers: seed questions in, SFT rows with checked final answers out.

Steps (the YAML twin is ``math_pipeline.yaml`` next to this file; both run through the same engine)::

     1 ReasoningAnswerExtractionGenerator     gold answer from the seed's reference solution (#### N)
     2 ReasoningQuestionFilter                seeds must be well formed and solvable (LLM, JSON verdict)
     3 ReasoningQuestionGenerator             + num_new_questions new questions per seed (gold cleared)
     4 ReasoningQuestionFilter                the same check, on the generated questions only
     5 ReasoningQuestionDifficultySampleEvaluator   difficulty 1-10 + reason (LLM, schema)
     6 ReasoningQuestionCategorySampleEvaluator     category from a fixed list (LLM, schema enum)
     7 ReasoningAnswerGenerator               chain of thought ending in \\boxed{...} (LLM)
     8 ReasoningAnswerExtractionGenerator     final_answer from the \\boxed{}
     9 ReasoningAnswerFormatterFilter         drop solutions without a well-formed \\boxed{}
    10 ReasoningAnswerTokenLengthFilter       drop solutions too long in Qwen tokens
    11 ReasoningAnswerGroundTruthFilter       rows with gold: final answer must equal it
    12 ReasoningPseudoAnswerGenerator         rows without gold: majority vote of sampled solutions
    13 ReasoningAnswerNgramFilter             decontamination against benchmark questions

Output rows (SFT form): ``instruction`` (the question), ``output`` (the worked solution),
``final_answer``, plus the scores ``question_difficulty``, ``question_difficulty_reason``,
``question_category``, ``answer_token_count``, ``gold_answer`` / ``gold_match`` (seeds),
``pseudo_answer`` / ``pseudo_answer_agreement`` (generated questions), ``benchmark_ngram_overlap`` and
``question_source`` (``seed`` or ``generated``). The seed's own ``question`` and ``answer`` fields stay
on seed rows as provenance and are null on generated rows. Every dropped row keeps its reason in the
run's cache (``dataflow inspect <cache_dir> --dropped``) and ``run.json`` has per-step counts.

Input: JSONL with ``question`` and, optionally, a reference solution ``answer`` whose final answer is
readable (``#### 72`` as in GSM8K, ``\\boxed{72}``, or "The answer is 72"). Without a reference
(``gold_solution_key=None``), every row is verified by vote.

Run it::

    from dataflow.pipelines.reasoning.math_pipeline import MathReasoningPipeline
    MathReasoningPipeline("seeds.jsonl", "math_sft.jsonl", benchmark_path="bench.jsonl").run()

or ``dataflow run dataflow/pipelines/reasoning/math_pipeline.yaml --input seeds.jsonl --output out.jsonl``.

Against an OpenAI-compatible server instead of the embedded model
-----------------------------------------------------------------
Nothing in the steps changes; only the ``serving`` block of the YAML (or the ``serving`` argument)::

    serving:
      backend: openai
      base_url: http://localhost:8000/v1      # vLLM / SGLang / llama-server / a hosted API
      model: Qwen/Qwen2.5-7B-Instruct
      api_key_env: OPENAI_API_KEY             # name of the env var holding the key; omit for local servers
      max_concurrency: 16

In Python: ``MathReasoningPipeline(..., serving={"backend": "openai", "base_url": "...", "model": "...",
"api_key_env": "OPENAI_API_KEY"})``. JSON-schema answers (question check, difficulty, category,
generated questions) are sent as the server's structured-output request and validated (with repair
rounds) on our side either way. A stronger model can take larger budgets: raise ``answer_max_tokens``
and ``n_vote_samples``. The token-length filter still counts Qwen2.5 tokens (its ``tokenizer`` param
takes another ``.gguf`` or a ``tokenizer.json``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dataflow.core.pipeline import Pipeline
from dataflow.operators.reasoning.answer_extraction import ReasoningAnswerExtractionGenerator
from dataflow.operators.reasoning.answer_format_filter import ReasoningAnswerFormatterFilter
from dataflow.operators.reasoning.answer_generator import ReasoningAnswerGenerator
from dataflow.operators.reasoning.answer_ground_truth_filter import ReasoningAnswerGroundTruthFilter
from dataflow.operators.reasoning.answer_ngram_filter import ReasoningAnswerNgramFilter
from dataflow.operators.reasoning.answer_token_length_filter import ReasoningAnswerTokenLengthFilter
from dataflow.operators.reasoning.pseudo_answer_generator import ReasoningPseudoAnswerGenerator
from dataflow.operators.reasoning.question_classification import (
    ReasoningQuestionCategorySampleEvaluator,
    ReasoningQuestionDifficultySampleEvaluator,
)
from dataflow.operators.reasoning.question_filter import ReasoningQuestionFilter
from dataflow.operators.reasoning.question_synthesis import ReasoningQuestionGenerator

SPEC_PATH = Path(__file__).with_name("math_pipeline.yaml")


class MathReasoningPipeline(Pipeline):
    """Seeds -> checked questions (+ generated ones) -> labelled, solved, verified, decontaminated SFT rows.

    Budgets default to what a 1.5B model on a laptop CPU finishes in minutes for tens of seeds: one new
    question per seed, solutions of at most ``answer_max_tokens`` tokens, and ``n_vote_samples``
    extra samples per generated question (with the row's own answer, 3 votes; 2 must agree).
    ``benchmark_path`` (JSONL, field ``benchmark_field``) and/or ``benchmark_questions`` feed the
    decontamination step; with neither, that step is left out.
    """

    def __init__(self, input: str | Path, output: str | Path | None = None, *,
                 question_key: str = "question", gold_solution_key: str | None = "answer",
                 num_new_questions: int = 1, answer_max_tokens: int = 320, n_vote_samples: int = 2,
                 min_agreement: float = 0.6, max_answer_tokens: int = 320,
                 benchmark_path: str | Path | None = None, benchmark_field: str = "question",
                 benchmark_questions: list[str] | None = None, ngram: int = 8, max_ngram_overlap: float = 0.2,
                 serving: Any = None, **pipeline_kw: Any) -> None:
        super().__init__(input, output, serving=serving, **pipeline_kw)
        self.question_key = question_key
        self.gold_solution_key = gold_solution_key
        self.gold = ReasoningAnswerExtractionGenerator()
        self.check_seeds = ReasoningQuestionFilter()
        self.new_questions = ReasoningQuestionGenerator(
            num_prompts=num_new_questions,
            clear_columns=[question_key, *([gold_solution_key, "gold_answer"] if gold_solution_key else [])])
        self.check_new = ReasoningQuestionFilter(check_sources=["generated"])
        self.difficulty = ReasoningQuestionDifficultySampleEvaluator()
        self.category = ReasoningQuestionCategorySampleEvaluator()
        self.solve = ReasoningAnswerGenerator(max_tokens=answer_max_tokens)
        self.extract = ReasoningAnswerExtractionGenerator()
        self.format = ReasoningAnswerFormatterFilter()
        self.length = ReasoningAnswerTokenLengthFilter(max_answer_token_length=max_answer_tokens,
                                                       min_answer_token_length=8)
        self.ground_truth = ReasoningAnswerGroundTruthFilter(keep_without_gold=True)
        self.vote = ReasoningPseudoAnswerGenerator(n_samples=n_vote_samples, min_agreement=min_agreement,
                                                   max_tokens=answer_max_tokens)
        self.decontaminate = None
        if benchmark_path is not None or benchmark_questions:
            self.decontaminate = ReasoningAnswerNgramFilter(
                benchmark_path=str(benchmark_path) if benchmark_path is not None else None,
                benchmark_field=benchmark_field, benchmark_questions=benchmark_questions, n=ngram,
                max_overlap=max_ngram_overlap)

    def forward(self) -> None:
        s = self.storage
        if self.gold_solution_key:
            self.gold.run(s, input_key=self.gold_solution_key, output_key="gold_answer")
        self.check_seeds.run(s, input_key=self.question_key)
        self.new_questions.run(s, input_key=self.question_key, output_key="instruction",
                               output_source_key="question_source")
        self.check_new.run(s, input_key="instruction", input_source_key="question_source")
        self.difficulty.run(s, input_key="instruction")
        self.category.run(s, input_key="instruction")
        self.solve.run(s, input_key="instruction", output_key="output")
        self.extract.run(s, input_key="output", output_key="final_answer")
        self.format.run(s, input_key="output")
        self.length.run(s, input_key="output")
        if self.gold_solution_key:
            self.ground_truth.run(s, input_key="final_answer", input_gold_key="gold_answer",
                                  output_key="gold_match")
        self.vote.run(s, input_key="instruction", input_answer_key="final_answer",
                      **({"input_gold_key": "gold_answer"} if self.gold_solution_key else {}))
        if self.decontaminate is not None:
            self.decontaminate.run(s, input_key="instruction", input_answer_key="output")
