"""New math questions from seed questions: variations of one seed, or fusions of two."""

from __future__ import annotations

import random
import re
from typing import Any

import numpy as np
import pandas as pd

from dataflow.core.llm_operator import LLMGenerator
from dataflow.core.operator import ROW_ID, Bindings, InputColumn, OutputColumn, Reject
from dataflow.core.registry import register_operator
from dataflow.operators.reasoning._llm_steps import is_blank

MIN_QUESTION_CHARS = 15
MAX_QUESTION_CHARS = 1200


def _question_key(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


class _QuestionSynthesis(LLMGenerator):
    """Rows out = (the seed rows, when ``keep_seed``) + the new questions, each tagged with its source."""

    input_key = InputColumn("question")
    output_key = OutputColumn(None, "str", description="where questions go; defaults to input_key")
    output_source_key = OutputColumn("question_source", "str",
                                     description="'seed' for kept input rows, else how the row was made")
    new_source: str = "generated"

    keep_seed: bool
    clear_columns: list[str]

    def row_request(self, prompt: str, row_id: Any) -> Any:
        """A request sampled with a seed of its own, derived from the row id (stable on re-runs)."""
        return self.sampling.request(prompt, self.schema(), seed=_row_seed(self.sampling.seed or 0, row_id))

    def output_columns(self, bindings: Bindings) -> list[str]:
        cols = super().output_columns(bindings)
        cols.append(bindings.get("output_key") or bindings["input_key"])
        # Columns in clear_columns are emptied on new rows on purpose (the param says so), so they are
        # not listed as written: compile() would warn about overwriting them.
        return [*dict.fromkeys(c for c in cols if c not in self.clear_columns or c == bindings.get("output_key"))]

    def _expand(self, batch: pd.DataFrame, ctx: Any, children: dict[int, list[str]],
                failures: dict[int, Reject], new_row_values: dict[str, dict[int, Any]] | None = None
                ) -> pd.DataFrame:
        """The output rows: per input row, its seed copy (if kept) and then its new questions.

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
        if failures and self.keep_seed:
            ctx.log.warning("%s: %d call(s) failed; those seeds got no new question (first: %s)",
                            self.op_name(), len(failures), next(iter(failures.values())))
        elif failures:
            # A failed call with no seed copy kept: a reject (with the error), not an ordinary drop.
            failed = sorted(failures)
            produced = pd.concat([produced, pd.DataFrame({"_parent": np.asarray(failed, dtype=np.int64),
                                                          out_col: [failures[i] for i in failed]})])
        return produced

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
    prompt_inputs = {"question": "input_key"}
    provided_variables = frozenset({"num_questions"})

    def __init__(self, num_prompts: int = 1, keep_seed: bool = True, clear_columns: list[str] | None = None,
                 prompt_template: str = "reasoning/question_generate", system_prompt: str | None = None,
                 temperature: float = 0.8, max_tokens: int = 256, seed: int = 0, llm_serving: Any = None
                 ) -> None:
        super().__init__(prompt_template, system_prompt, temperature, max_tokens, seed, llm_serving)
        if num_prompts < 1:
            raise ValueError("num_prompts must be >= 1")
        self.num_prompts, self.keep_seed, self.clear_columns = num_prompts, keep_seed, list(clear_columns or [])

    def schema(self) -> dict[str, Any]:
        item = {"type": "string"}  # lengths are checked after parsing: bounded strings make slow grammars
        return {
            "type": "object",
            "properties": {"questions": {"type": "array", "items": item, "minItems": self.num_prompts,
                                         "maxItems": self.num_prompts}},
            "required": ["questions"],
            "additionalProperties": False,
        }

    def prompt_values(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        return {"num_questions": self.num_prompts}

    def prompts(self, batch: pd.DataFrame, ctx: Any) -> list[Any]:
        questions = batch[ctx.cols.input_key].tolist()
        return [None if is_blank(q) else self.row_request(p, row_id)
                for q, p, row_id in zip(questions, super().prompts(batch, ctx), batch[ROW_ID].tolist())]

    def parse(self, answer: Any) -> list[Any]:
        return list(answer.parsed.get("questions", []))

    def generate(self, batch: pd.DataFrame, ctx: Any) -> pd.DataFrame:
        questions = batch[ctx.cols.input_key].tolist()
        answers = self.ask(batch, ctx)
        failures = {i: a for i, a in enumerate(answers) if isinstance(a, Reject)}
        children = {i: self._clean_new(a, {_question_key(questions[i])}) for i, a in enumerate(answers)
                    if isinstance(a, list)}
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
        super().__init__(prompt_template, system_prompt, temperature, max_tokens, seed, llm_serving)
        self.shuffle, self.keep_seed, self.clear_columns = shuffle, keep_seed, list(clear_columns or [])

    def pairs(self, batch: pd.DataFrame, ctx: Any) -> list[tuple[int, int]]:
        questions = batch[ctx.cols.input_key].tolist()
        usable = [i for i, q in enumerate(questions) if not is_blank(q)]
        if self.shuffle:
            rng = random.Random(f"{self.sampling.seed}:{batch['_row_id'].iloc[0] if len(batch) else ''}")
            rng.shuffle(usable)
        return [(usable[k], usable[k + 1]) for k in range(0, len(usable) - 1, 2)]

    def schema(self) -> dict[str, Any]:
        return {"type": "object", "properties": {"question": {"type": "string"}},
                "required": ["question"], "additionalProperties": False}

    def parse(self, answer: Any) -> list[Any]:
        return [answer.parsed.get("question")]

    def generate(self, batch: pd.DataFrame, ctx: Any) -> pd.DataFrame:
        questions = batch[ctx.cols.input_key].tolist()
        row_ids = batch[ROW_ID].tolist()
        pairs = self.pairs(batch, ctx)
        firsts = [a for a, _ in pairs]
        rendered = self.render_prompts(batch.iloc[firsts], question_a=[questions[a] for a, _ in pairs],
                                       question_b=[questions[b] for _, b in pairs])
        # One call per pair, asked on the row of its first question.
        prompts: list[Any] = [None] * len(batch)
        for p, a in zip(rendered, firsts):
            prompts[a] = self.row_request(p, row_ids[a])
        answers = self.ask(batch, ctx, prompts)
        children: dict[int, list[str]] = {}
        partners: dict[int, str] = {}
        failures: dict[int, Reject] = {}
        for a, b in pairs:
            if isinstance(answers[a], Reject):
                failures[a] = failures[b] = answers[a]
                continue
            children[a] = self._clean_new(answers[a], {_question_key(questions[a]), _question_key(questions[b])})
            partners[a] = str(row_ids[b])
        partner_col = ctx.cols.get("output_partner_key")
        extra = {partner_col: partners} if partner_col else None
        return self._expand(batch, ctx, children, failures, extra)


def _row_seed(base: int, row_id: Any) -> int:
    """A sampling seed per (operator seed, row id): distinct rows sample differently, re-runs repeat."""
    import zlib

    return (base * 1_000_003 + zlib.crc32(str(row_id).encode())) % (2**31 - 1)
