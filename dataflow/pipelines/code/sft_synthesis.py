"""Code SFT synthesis, verified by execution: seed code (or a raw request) -> instruction -> new code ->
LLM quality review -> tests -> sandbox -> only the pairs whose code passes its tests.

Steps (the YAML twin, ``sft_synthesis.yaml``, lists the default ones; a test keeps them in sync)::

    1 CodeCodeToInstructionGenerator    seed code -> instruction naming its functions    (seed="code")
      or CodeEnhancementInstructionGenerator  raw request (+ context) -> clear instruction  (seed="instruction")
    2 CodeInstructionToCodeGenerator    instruction -> generated_code (the fenced block of the answer)
    3 CodeQualityScoreFilter            review 1-10 with feedback; keep >= min_quality
    4 CodeUnitTestGenerator             assert lines for the generated code       (only without test_key)
    5 CodeTestPassFilter                run generated_code + tests in the sandbox; keep what passes

Output rows: the seed's columns plus ``instruction``, ``generated_code``, ``quality_score``,
``quality_feedback``, the tests (``test``, or the seed's own ``test_key`` column), ``sandbox_status``
(``pass`` on every kept row) and ``sandbox_log``. Every dropped row keeps its reason in the run's cache
(``dataflow inspect <cache_dir> --dropped``): ``quality_score < 7``, ``tests fail: test 2 failed: assert
...``, ``tests error: NameError: ...``; rows the LLM could not serve (an answer with no code, say) are in
``rejects.jsonl`` with theirs.

Tests come from the seed when it has them (``test_key``: MBPP's ``test_list``, a list of assert lines,
or a text of them; ``setup_key`` for MBPP's ``test_setup_code``), which checks the new code against the
seed's behaviour; otherwise the LLM writes them from the generated code and its instruction. The sandbox
step runs the tests itself and writes the status and log on every row, so no separate evaluator step
runs them twice. Run it::

    from dataflow.pipelines.code.sft_synthesis import CodeSFTSynthesisPipeline
    CodeSFTSynthesisPipeline("mbpp_train.jsonl", "code_sft.jsonl", test_key="test_list",
                             setup_key="test_setup_code").run()

or ``dataflow run dataflow/pipelines/code/sft_synthesis.yaml --input seeds.jsonl --output out.jsonl``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from dataflow.core.pipeline import Pipeline
from dataflow.core.registry import OPERATORS

SPEC_PATH = Path(__file__).with_name("sft_synthesis.yaml")
#: (operator name, params, run bindings) of one step.
Step = tuple[str, dict[str, Any], dict[str, Any]]


def sft_synthesis_steps(*, seed: Literal["code", "instruction"] = "code", code_key: str = "code",
                        instruction_key: str = "input", context_key: str | None = None,
                        test_key: str | None = None, setup_key: str | None = None, min_quality: int = 7,
                        num_tests: int = 5, code_max_tokens: int = 768, timeout: float = 10.0) -> list[Step]:
    """The steps of :class:`CodeSFTSynthesisPipeline` for these settings (see its docstring)."""
    if seed == "code":
        steps: list[Step] = [("CodeCodeToInstructionGenerator", {},
                              {"input_key": code_key, "output_key": "instruction"})]
    elif seed == "instruction":
        context = {"input_context_key": context_key} if context_key else {}
        steps = [("CodeEnhancementInstructionGenerator", {},
                  {"input_key": instruction_key, **context, "output_key": "instruction"})]
    else:
        raise ValueError(f"seed must be 'code' or 'instruction', not {seed!r}")
    steps += [
        ("CodeInstructionToCodeGenerator", {"max_tokens": code_max_tokens},
         {"input_key": "instruction", "output_key": "generated_code"}),
        ("CodeQualityScoreFilter", {"min_score": min_quality},
         {"input_instruction_key": "instruction", "input_code_key": "generated_code"}),
    ]
    if test_key is None:
        test_key = "test"
        steps.append(("CodeUnitTestGenerator", {"num_tests": num_tests},
                      {"input_key": "generated_code", "input_instruction_key": "instruction", "output_key": test_key}))
    setup = {"input_setup_key": setup_key} if setup_key else {}
    steps.append(("CodeTestPassFilter", {"timeout": timeout},
                  {"input_key": "generated_code", "input_test_key": test_key, **setup}))
    return steps


class CodeSFTSynthesisPipeline(Pipeline):
    """Seeds to instruction/code pairs whose code passed its tests in the sandbox (see the module docstring).

    ``seed="code"`` reads seed code from ``code_key``; ``seed="instruction"`` reads a raw request from
    ``instruction_key`` (with ``context_key``, e.g. its tests or original answer, shown to the rewrite).
    ``test_key`` names the seed's own tests (then no tests are generated), ``setup_key`` setup code run
    between the code and the tests. ``min_quality`` is the lowest review score kept (1-10),
    ``num_tests`` how many asserts to generate, ``code_max_tokens`` the code answer's budget, ``timeout``
    the sandbox's seconds per row. Other keyword arguments go to :class:`~dataflow.core.pipeline.Pipeline`
    (``serving``, ``sandbox``, ``cache_dir``, ``chunk_size``, ...).
    """

    def __init__(self, input: str | Path | None = None, output: str | Path | None = None, *,
                 seed: Literal["code", "instruction"] = "code", code_key: str = "code",
                 instruction_key: str = "input", context_key: str | None = None, test_key: str | None = None,
                 setup_key: str | None = None, min_quality: int = 7, num_tests: int = 5,
                 code_max_tokens: int = 768, timeout: float = 10.0, **kwargs: Any) -> None:
        super().__init__(input, output, **kwargs)
        self.steps = [(OPERATORS.get(name)(**params), bindings) for name, params, bindings in sft_synthesis_steps(
            seed=seed, code_key=code_key, instruction_key=instruction_key, context_key=context_key,
            test_key=test_key, setup_key=setup_key, min_quality=min_quality, num_tests=num_tests,
            code_max_tokens=code_max_tokens, timeout=timeout)]

    def forward(self) -> None:
        for op, bindings in self.steps:
            op.run(self.storage, **bindings)
