"""LLM synthesis of code SFT data: instructions from code, code from instructions, new instructions from
seeds, and raw requests rewritten into clear instructions."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

import pandas as pd

from dataflow.core.llm_operator import LLMGenerator, text_of
from dataflow.core.operator import InputColumn, OutputColumn, Reject
from dataflow.core.registry import register_operator
from dataflow.operators.code.llm_shared import NO_CODE, blank_rejects, clean_instruction, extract_code

# Generated instructions shorter than this are not tasks ("Sort a list." is 12).
MIN_INSTRUCTION_CHARS = 20
# Tokens one generated instruction may take: a paragraph of about 80 words, with JSON quoting.
TOKENS_PER_INSTRUCTION = 160
# Where a code answer's block ends: the stop sequence of the code generator.
CLOSING_FENCE = "\n```\n"


class _CodeGenerator(LLMGenerator):
    """One answer per row from the ``input_key`` column; rows where it is blank are rejected (``empty
    <blank_what>``) without a call. The template also receives ``language``."""

    provided_variables = frozenset({"language"})
    blank_what: ClassVar[str] = "input"
    language: str

    def prompt_values(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        return {"language": self.language}

    def prompts(self, batch: pd.DataFrame, ctx: Any) -> list[Any]:
        return blank_rejects(super().prompts(batch, ctx), batch[ctx.cols.input_key].tolist(), self.blank_what)


class _InstructionAnswer:
    """The answer is an instruction in free text: label and quotes removed; an empty one is rejected."""

    def parse(self, answer: Any) -> Any:
        instruction = clean_instruction(answer.text)
        return {"output_key": instruction} if instruction else Reject("empty instruction in the answer")


@register_operator
class CodeCodeToInstructionGenerator(_InstructionAnswer, _CodeGenerator):
    """Writes, for each piece of code, the instruction a user could have given to get it (the first
    step of self-instruct style code synthesis: seed code -> instruction -> new code).

    The prompt (``code/code_to_instruction``, receiving ``code`` and ``language``) asks for one short
    paragraph that names every function or class the code defines with its exact parameters, so tests
    written for the seed code still apply to code written from the instruction. The answer is free
    text: a leading label (``Instruction:``) and quotes around it are removed. Rows with blank code are
    rejected without a call (``empty code``); an empty answer is rejected with the reason.
    """

    blank_what = "code"
    prompt_inputs = {"code": "input_key"}
    input_key = InputColumn("code", "str", description="the seed code")
    output_key = OutputColumn("instruction", "str")

    def __init__(self, language: str = "Python", prompt_template: str = "code/code_to_instruction",
                 system_prompt: str | None = None, temperature: float = 0.0, max_tokens: int = 256,
                 seed: int | None = None, llm_serving: Any = None) -> None:
        super().__init__(prompt_template, system_prompt, temperature, max_tokens, seed, llm_serving)
        self.language = language


@register_operator
class CodeInstructionToCodeGenerator(_CodeGenerator):
    """Writes code for each instruction with the LLM and keeps only the code of the answer.

    The prompt (``code/instruction_to_code``, receiving ``instruction`` and ``language``) asks for the
    complete solution in one fenced block, with the names and parameters the instruction gives and no
    example usage or tests. The code is read by
    :func:`~dataflow.operators.code.llm_shared.extract_code`: the first fenced Python block, else the
    answer itself when it is Python (prose around it cut); an answer with no code is rejected (``no code
    in the answer``), as are rows with a blank instruction, without a call (``empty instruction``).
    Generation stops at the first closing fence (a line of three backquotes), so the tokens a model spends
    explaining its code afterwards are not generated. Python only: the extraction and the sandbox
    downstream read Python.
    """

    blank_what = "instruction"
    prompt_inputs = {"instruction": "input_key"}
    input_key = InputColumn("instruction", "str")
    output_key = OutputColumn("code", "str")

    def __init__(self, language: str = "Python", prompt_template: str = "code/instruction_to_code",
                 system_prompt: str | None = None, temperature: float = 0.0, max_tokens: int = 768,
                 seed: int | None = None, llm_serving: Any = None) -> None:
        super().__init__(prompt_template, system_prompt, temperature, max_tokens, seed, llm_serving)
        self.language = language
        # The opening fence is followed by the language tag; a bare fence on its own line closes the block.
        self.sampling = self.sampling.model_copy(update={"stop": (CLOSING_FENCE,)})

    def parse(self, answer: Any) -> Any:
        code = extract_code(answer.text)
        return {"output_key": code} if code is not None else Reject(NO_CODE)


@register_operator
class CodeEnhancementInstructionGenerator(_InstructionAnswer, _CodeGenerator):
    """Rewrites a raw programming request (a chat question, a terse task, a request in another
    language) into one clear, self-contained instruction to write a function.

    The prompt (``code/instruction_enhance``) receives ``instruction`` (the ``input_key`` column),
    ``context`` and ``language``: the instruction starts "Write a <language> function", names the
    function and its parameters, keeps every fact, constraint and example of the request and drops chat
    and answer-format demands. ``input_context_key`` (optional) is material that comes with the request,
    such as its original answer or its tests (a list is joined one item a line): with MBPP's
    ``test_list`` there, the instruction names the function exactly as the tests call it. The answer is
    free text, cleaned as in :class:`CodeCodeToInstructionGenerator`; rows with a blank request are
    rejected without a call (``empty request``).
    """

    blank_what = "request"
    prompt_inputs = {"instruction": "input_key"}
    provided_variables = frozenset({"language", "context"})
    input_key = InputColumn("input", "str", description="the raw request")
    input_context_key = InputColumn(None, "any", nullable=True,
                                    description="optional material: the original answer, tests (str or list)")
    output_key = OutputColumn("instruction", "str")

    def __init__(self, language: str = "Python", prompt_template: str = "code/instruction_enhance",
                 system_prompt: str | None = None, temperature: float = 0.0, max_tokens: int = 384,
                 seed: int | None = None, llm_serving: Any = None) -> None:
        super().__init__(prompt_template, system_prompt, temperature, max_tokens, seed, llm_serving)
        self.language = language

    def prompt_values(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        column = ctx.cols.get("input_context_key")
        context = [_joined(v) for v in batch[column].tolist()] if column else [""] * len(batch)
        return {"language": self.language, "context": context}


@register_operator
class CodeInstructionGenerator(LLMGenerator):
    """Writes ``num_instructions`` new coding instructions per seed row, each a new row (self-instruct
    style expansion of an instruction set).

    A seed (the ``input_key`` column) is an example instruction, a list of them (few-shot: the model
    sees them all), or, with ``seed_type="topic"``, a topic. The prompt (``code/instruction_generate``,
    receiving ``examples`` (the seed as a list), ``seed_type``, ``num_instructions`` and ``language``)
    asks for self-contained tasks of the examples' difficulty, each naming one function and its
    parameters, without solutions. The answer is constrained to ``{"instructions": [...]}`` with exactly
    ``num_instructions`` items; ``max_tokens`` defaults to a budget that fits them. New rows copy the
    seed row's columns and get ``output_key``; their ids are ``<seed id>.<k>``. Instructions shorter
    than 20 characters, repeated, or repeating a seed example (ignoring case, spacing and punctuation)
    are discarded; a seed left with none is dropped (``no new instruction``), blank seeds and failed
    calls are rejected with the reason. Sampled at ``temperature`` 0.7 with ``seed`` for variety.
    """

    new_rows = True
    no_output_reason = "no new instruction"
    provided_variables = frozenset({"examples", "seed_type", "num_instructions", "language"})
    input_key = InputColumn("seed", "any", description="an example instruction, a list of them, or a topic")
    output_key = OutputColumn("instruction", "str")

    def __init__(self, num_instructions: int = 1, seed_type: Literal["example", "topic"] = "example",
                 language: str = "Python", prompt_template: str = "code/instruction_generate",
                 system_prompt: str | None = None, temperature: float = 0.7, max_tokens: int | None = None,
                 seed: int | None = 0, llm_serving: Any = None) -> None:
        if not 1 <= num_instructions <= 20:
            raise ValueError("num_instructions must be between 1 and 20")
        budget = max_tokens or num_instructions * TOKENS_PER_INSTRUCTION + 32
        super().__init__(prompt_template, system_prompt, temperature, budget, seed, llm_serving)
        self.num_instructions, self.seed_type, self.language = num_instructions, seed_type, language

    def schema(self) -> dict[str, Any]:
        n = self.num_instructions
        return {"type": "object",
                "properties": {"instructions": {"type": "array", "minItems": n, "maxItems": n,
                                                "items": {"type": "string"}}},
                "required": ["instructions"], "additionalProperties": False}

    def seeds(self, batch: pd.DataFrame, ctx: Any) -> list[list[str]]:
        """Each row's seed as a list of non-blank texts."""
        return [[t for t in _texts(v) if t.strip()] for v in batch[ctx.cols.input_key].tolist()]

    def prompt_values(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        return {"examples": self.seeds(batch, ctx), "seed_type": self.seed_type,
                "num_instructions": self.num_instructions, "language": self.language}

    def prompts(self, batch: pd.DataFrame, ctx: Any) -> list[Any]:
        return blank_rejects(super().prompts(batch, ctx), batch[ctx.cols.input_key].tolist(), "seed")

    def parse(self, answer: Any) -> list[str]:
        return [clean_instruction(t) for t in answer.parsed["instructions"] if isinstance(t, str)]

    def generate(self, batch: pd.DataFrame, ctx: Any) -> Any:
        answers = self.ask(batch, ctx)
        rows = [a if isinstance(a, Reject) or a is None else _new_rows(a, seeds)
                for a, seeds in zip(answers, self.seeds(batch, ctx))]
        return self.answer_rows(rows, ctx.cols)


def _texts(value: Any) -> list[str]:
    """A cell as a list of texts: a list (or array) item by item, anything else as one text."""
    if hasattr(value, "tolist") and not isinstance(value, str):
        value = value.tolist()
    return [text_of(v) for v in value] if isinstance(value, (list, tuple)) else [text_of(value)]


def _joined(value: Any) -> str:
    return "\n".join(t.strip() for t in _texts(value) if t.strip())


def _key(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def _new_rows(candidates: list[str], seeds: list[str]) -> list[dict[str, str]]:
    """The new instructions worth a row: long enough, and repeating neither each other nor a seed."""
    seen = {_key(s) for s in seeds}
    rows = []
    for text in candidates:
        key = _key(text)
        if len(text) >= MIN_INSTRUCTION_CHARS and key not in seen:
            seen.add(key)
            rows.append({"output_key": text})
    return rows
