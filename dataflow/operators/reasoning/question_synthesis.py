"""New math questions from seed questions: variations of one seed, or fusions of two."""

from __future__ import annotations

import random
import re
from typing import Any

import numpy as np
import pandas as pd

from dataflow.core.operator import (
    REJECT_REASON,
    ROW_ID,
    BatchResult,
    Bindings,
    Generator,
    InputColumn,
    OutputColumn,
    expand_rows,
)
from dataflow.core.registry import register_operator
from dataflow.operators.reasoning._llm_steps import TemplatedLLM, is_blank

MIN_QUESTION_CHARS = 15
MAX_QUESTION_CHARS = 1200


def _question_key(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


class _QuestionSynthesis(TemplatedLLM, Generator):
    """Rows out = (the seed rows, when ``keep_seed``) + the new questions, each tagged with its source."""

    resources = ("llm",)
    input_key = InputColumn("question")
    output_key = OutputColumn(None, "str", description="where questions go; defaults to input_key")
    output_source_key = OutputColumn("question_source", "str",
                                     description="'seed' for kept input rows, else how the row was made")
    new_source: str = "generated"

    prompt_template: str
    keep_seed: bool
    clear_columns: list[str]

    def _configure(self, keep_seed: bool, clear_columns: list[str] | None, prompt_template: str,
                   system_prompt: str | None, temperature: float, max_tokens: int, seed: int) -> None:
        """The settings both synthesis operators share (their constructors add their own)."""
        self.keep_seed = keep_seed
        self.clear_columns = list(clear_columns or [])
        self.prompt_template = prompt_template
        self.system_prompt = system_prompt
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.seed = seed
        self._setup_template()

    def output_columns(self, bindings: Bindings) -> list[str]:
        cols = super().output_columns(bindings)
        cols.append(bindings.get("output_key") or bindings["input_key"])
        # Columns in clear_columns are emptied on new rows on purpose (the param says so), so they are
        # not listed as written: compile() would warn about overwriting them.
        return [*dict.fromkeys(c for c in cols if c not in self.clear_columns or c == bindings.get("output_key"))]

    def _expand(self, batch: pd.DataFrame, ctx: Any, children: dict[int, list[str]],
                failures: dict[int, str], new_row_values: dict[str, dict[int, Any]] | None = None
                ) -> BatchResult:
        """Build the output rows: per input row, its seed copy (if kept) and then its new questions.

        ``new_row_values`` = {column: {parent position: value}} for extra columns set on new rows only.
        """
        out_col = ctx.cols.get("output_key") or ctx.cols.input_key
        source_col = ctx.cols.get("output_source_key")
        questions = batch[ctx.cols.input_key].tolist()
        parents: list[int] = []
        texts: list[Any] = []
        sources: list[str] = []
        for i in range(len(batch)):
            if self.keep_seed:
                parents.append(i)
                texts.append(questions[i])
                sources.append("seed")
            for question in children.get(i, []):
                parents.append(i)
                texts.append(question)
                sources.append(self.new_source)
        produced = pd.DataFrame({"_parent": np.asarray(parents, dtype=np.int64)})
        produced[out_col] = pd.Series(texts, dtype=object)
        is_new = np.array([s != "seed" for s in sources], dtype=bool)
        for col in self.clear_columns:
            if col in batch.columns:
                values = batch[col].to_numpy(dtype=object)[produced["_parent"].to_numpy()] if parents else []
                produced[col] = pd.Series([None if new else v for v, new in zip(values, is_new)], dtype=object)
        if source_col:
            produced[source_col] = pd.Series(sources, dtype=object)
        for col, by_parent in (new_row_values or {}).items():
            produced[col] = pd.Series([by_parent.get(p) if new else None for p, new in zip(parents, is_new)],
                                      dtype=object)
        result = expand_rows(batch, produced, self.no_output_reason)
        if failures and self.keep_seed:
            ctx.log.warning("%s: %d call(s) failed; those seeds got no new question (first: %s)",
                            self.op_name(), len(failures), next(iter(failures.values())))
        elif failures:
            # A failed call with no seed copy kept: a reject (with the error), not an ordinary drop.
            failed = sorted(failures)
            result.rejected = batch.iloc[failed].assign(**{REJECT_REASON: [failures[i] for i in failed]})
            if result.dropped is not None:
                failed_ids = set(batch.iloc[failed][ROW_ID].tolist())
                still = ~result.dropped[ROW_ID].isin(failed_ids)
                result.dropped = result.dropped[still] if still.any() else None
        result.metrics = {"new_questions": int(is_new.sum()), "failed_calls": len(failures)}
        return result

    @staticmethod
    def _clean_new(candidates: list[Any], seen: set[str]) -> list[str]:
        """Drop blank, too short or long, and repeated questions (also repeats of the seeds)."""
        kept = []
        for text in candidates:
            if is_blank(text):
                continue
            text = text.strip()
            key = _question_key(text)
            if len(text) < MIN_QUESTION_CHARS or len(text) > MAX_QUESTION_CHARS or key in seen:
                continue
            seen.add(key)
            kept.append(text)
        return kept


@register_operator
class ReasoningQuestionGenerator(_QuestionSynthesis):
    """Writes ``num_prompts`` new math questions per seed question with the LLM, as new rows.

    One schema-constrained call per seed (``{"questions": [...]}`` with exactly ``num_prompts``
    items, sampled at ``temperature`` with a per-row seed) keeps prompt reading to once per seed.
    New rows copy the seed row's other columns, except ``clear_columns`` (e.g. the seed's gold answer
    and solution, which do not apply to a new question), which are set to null. Their ids are
    ``<seed id>.<k>``; ``output_source_key`` says ``seed`` or ``generated``. With ``keep_seed`` the seed
    row stays in the output (first among its children). Blank, near-empty and duplicate questions
    (repeats of the seed included) are discarded; a seed whose call fails keeps only itself (or goes
    to the rejects when ``keep_seed`` is false).
    """

    no_output_reason = "no new question generated"
    provided_variables = frozenset({"question", "num_questions"})

    def __init__(self, num_prompts: int = 1, keep_seed: bool = True, clear_columns: list[str] | None = None,
                 prompt_template: str = "reasoning/question_generate", system_prompt: str | None = None,
                 temperature: float = 0.8, max_tokens: int = 256, seed: int = 0, llm_serving: Any = None
                 ) -> None:
        super().__init__(llm_serving)
        if num_prompts < 1:
            raise ValueError("num_prompts must be >= 1")
        self.num_prompts = num_prompts
        self._configure(keep_seed, clear_columns, prompt_template, system_prompt, temperature, max_tokens, seed)

    def schema(self) -> dict[str, Any]:
        item = {"type": "string"}  # lengths are checked after parsing: bounded strings make slow grammars
        return {
            "type": "object",
            "properties": {"questions": {"type": "array", "items": item, "minItems": self.num_prompts,
                                         "maxItems": self.num_prompts}},
            "required": ["questions"],
            "additionalProperties": False,
        }

    def process(self, batch: pd.DataFrame, ctx: Any) -> BatchResult:
        questions = batch[ctx.cols.input_key].tolist()
        todo = [i for i, q in enumerate(questions) if not is_blank(q)]
        prompts = self.render_prompts(batch.iloc[todo], question=[questions[i] for i in todo],
                                      num_questions=[self.num_prompts] * len(todo))
        # One request per row, each with its own sampling seed derived from the row id (stable on re-runs).
        from dataflow.serving.base import LLMRequest

        row_ids = batch[ROW_ID].tolist()
        requests = [LLMRequest(prompt=p, system=self.system_prompt, json_schema=self.schema(),
                               temperature=self.temperature, max_tokens=self.max_tokens,
                               seed=_row_seed(self.seed, row_ids[i]))
                    for i, p in zip(todo, prompts)]
        results = ctx.serving.generate(requests) if requests else []
        children: dict[int, list[str]] = {}
        failures: dict[int, str] = {}
        for i, result in zip(todo, results):
            if result.error is not None:
                failures[i] = f"llm: {result.error}"
                continue
            seen = {_question_key(questions[i])}
            children[i] = self._clean_new(list(result.parsed.get("questions", [])), seen)
        return self._expand(batch, ctx, children, failures)


@register_operator
class ReasoningQuestionFusionGenerator(_QuestionSynthesis):
    """Fuses pairs of questions into one new, harder question with the LLM, as new rows.

    Within each batch the rows are paired at random (``seed``), or in order when ``shuffle`` is false;
    each pair gives one fused question, attached to the first question of the pair (id
    ``<first id>.<k>``, source ``fused``). ``output_partner_key`` records the id of the second question.
    With ``keep_seed`` the input rows stay. ``clear_columns`` are set to null on fused rows. An odd row
    out is left unpaired.
    """

    new_source = "fused"
    no_output_reason = "no fused question generated"
    provided_variables = frozenset({"question_a", "question_b"})
    output_partner_key = OutputColumn("fusion_partner", "str", description="row id of the second question")

    def __init__(self, keep_seed: bool = True, shuffle: bool = True, clear_columns: list[str] | None = None,
                 prompt_template: str = "reasoning/question_fusion", system_prompt: str | None = None,
                 temperature: float = 0.7, max_tokens: int = 256, seed: int = 0, llm_serving: Any = None
                 ) -> None:
        super().__init__(llm_serving)
        self.shuffle = shuffle
        self._configure(keep_seed, clear_columns, prompt_template, system_prompt, temperature, max_tokens, seed)

    def pairs(self, batch: pd.DataFrame, ctx: Any) -> list[tuple[int, int]]:
        questions = batch[ctx.cols.input_key].tolist()
        usable = [i for i, q in enumerate(questions) if not is_blank(q)]
        if self.shuffle:
            rng = random.Random(f"{self.seed}:{batch['_row_id'].iloc[0] if len(batch) else ''}")
            rng.shuffle(usable)
        return [(usable[k], usable[k + 1]) for k in range(0, len(usable) - 1, 2)]

    def process(self, batch: pd.DataFrame, ctx: Any) -> BatchResult:
        from dataflow.serving.base import LLMRequest

        schema = {"type": "object",
                  "properties": {"question": {"type": "string"}},
                  "required": ["question"], "additionalProperties": False}
        questions = batch[ctx.cols.input_key].tolist()
        row_ids = batch[ROW_ID].tolist()
        pairs = self.pairs(batch, ctx)
        firsts = [a for a, _ in pairs]
        prompts = self.render_prompts(batch.iloc[firsts], question_a=[questions[a] for a, _ in pairs],
                                      question_b=[questions[b] for _, b in pairs])
        requests = [LLMRequest(prompt=p, system=self.system_prompt, json_schema=schema,
                               temperature=self.temperature, max_tokens=self.max_tokens,
                               seed=_row_seed(self.seed, row_ids[a])) for p, (a, _) in zip(prompts, pairs)]
        results = ctx.serving.generate(requests) if requests else []
        children: dict[int, list[str]] = {}
        partners: dict[int, str] = {}
        failures: dict[int, str] = {}
        for (a, b), result in zip(pairs, results):
            if result.error is not None:
                failures[a] = failures[b] = f"llm: {result.error}"
                continue
            seen = {_question_key(questions[a]), _question_key(questions[b])}
            children[a] = self._clean_new([result.parsed.get("question")], seen)
            partners[a] = str(row_ids[b])
        partner_col = ctx.cols.get("output_partner_key")
        extra = {partner_col: partners} if partner_col else None
        return self._expand(batch, ctx, children, failures, extra)

def _row_seed(base: int, row_id: Any) -> int:
    """A sampling seed per (operator seed, row id): distinct rows sample differently, re-runs repeat."""
    import zlib

    return (base * 1_000_003 + zlib.crc32(str(row_id).encode())) % (2**31 - 1)
