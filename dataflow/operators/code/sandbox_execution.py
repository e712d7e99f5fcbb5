"""Code run against its tests in the sandbox: an evaluator that records the outcome, a filter that keeps passes.

Both read a row's code (``input_key``), its tests (``input_test_key``) and optionally setup code run between
the two (``input_setup_key``), and run every row of a chunk at once in the pipeline's sandbox (resource
kind ``"sandbox"``; ``sandbox:`` in a spec sets its limits and workers), in parallel on all its workers.
"""

from __future__ import annotations

import ast
import dataclasses
import warnings
from typing import Any

import numpy as np
import pandas as pd

from dataflow.core.operator import Evaluator, Filter, InputColumn, Operator, OutputColumn, Reject
from dataflow.core.registry import register_operator

_REASON_CHARS = 200


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def as_tests(value: Any) -> list[str] | str | None:
    """A row's tests as the sandbox takes them, or None when there are none.

    A list (MBPP's ``test_list``; an array when read back from Parquet) is run statement by statement.
    A text whose top-level statements are all ``assert`` is split into them, so the log names the first
    failing one; any other text (a ``check`` function and its call, say) runs as one block."""
    if isinstance(value, (list, tuple, np.ndarray)):
        tests = [t for t in (_text(v) for v in value) if t.strip()]
        return tests or None
    text = _text(value)
    if not text.strip():
        return None
    try:
        with warnings.catch_warnings():  # invalid escapes in test strings are the tests' business
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(text)
    except SyntaxError:
        return text  # the sandbox reports the syntax error
    if tree.body and all(isinstance(node, ast.Assert) for node in tree.body):
        return [ast.get_source_segment(text, node) for node in tree.body]
    return text


class SandboxTestRunner(Operator):
    """Shared by the evaluator and the filter: bindings, params and one sandbox run per chunk."""

    resources = ("sandbox",)
    input_key = InputColumn("code", "str", nullable=True, description="the code under test")
    input_test_key = InputColumn("test", "any", nullable=True,
                                 description="assert lines (a list, or text) or a test block run after the code")
    input_setup_key = InputColumn(None, "str", nullable=True, description="run between the code and the tests")
    output_status_key = OutputColumn("sandbox_status", "str", description="pass/fail/timeout/error/memory")
    output_log_key = OutputColumn("sandbox_log", "str", description="the first failure, or empty")

    def __init__(self, timeout: float = 10.0, memory_mb: int = 512, sandbox: Any = None) -> None:
        super().__init__()
        if timeout <= 0 or memory_mb <= 0:
            raise ValueError("timeout and memory_mb must be positive")
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.sandbox = sandbox

    def run_tests(self, batch: pd.DataFrame, ctx: Any) -> dict[str, list[Any]]:
        """{"output_status_key": statuses, "output_log_key": logs}; a Reject in both for a row without
        code or without tests (nothing to judge: the row goes to the rejects with that reason)."""
        from dataflow.sandbox import Job

        cols = ctx.cols
        setups = batch[cols.input_setup_key].tolist() if cols.get("input_setup_key") else [""] * len(batch)
        jobs: list[Job | Reject] = []
        for code, tests, setup in zip(batch[cols.input_key].tolist(), batch[cols.input_test_key].tolist(), setups):
            code, tests = _text(code), as_tests(tests)
            if not code.strip():
                jobs.append(Reject("no code"))
            elif tests is None:
                jobs.append(Reject("no tests"))
            else:
                jobs.append(Job(code, tests, setup=_text(setup)))
        todo = [job for job in jobs if not isinstance(job, Reject)]
        if todo:  # no sandbox is started for a chunk with nothing to run
            sandbox = ctx.resource("sandbox")
            limits = dataclasses.replace(sandbox.limits, timeout=self.timeout, memory_mb=self.memory_mb)
            done = iter(sandbox.run_many([dataclasses.replace(job, limits=limits) for job in todo]))
            jobs = [job if isinstance(job, Reject) else next(done) for job in jobs]
        return {"output_status_key": [j if isinstance(j, Reject) else j.status for j in jobs],
                "output_log_key": [j if isinstance(j, Reject) else j.log for j in jobs]}


@register_operator
class CodeSandboxSampleEvaluator(SandboxTestRunner, Evaluator):
    """Runs each row's code and then its tests in the sandbox and records how it went; drops nothing.

    ``output_status_key``: ``pass`` (every test passed), ``fail`` (an assertion failed), ``error`` (an
    exception, a syntax error, an exit before the tests ended), ``timeout`` (wall-clock or CPU limit) or
    ``memory``. ``output_log_key``: the first failing test with what its left side evaluated to, or the
    exception with its traceback, or why the process was killed; empty on a pass.

    Tests (``input_test_key``): a list of statements (MBPP's ``test_list``) run one by one; a text of
    ``assert`` lines, split into them; any other text (HumanEval's ``check`` plus ``check(fn)``) runs as
    one block. ``input_setup_key`` (optional) runs between the code and the tests, in the same namespace
    (MBPP's ``test_setup_code``). Each row runs in a fresh process with ``timeout`` seconds (wall clock
    and CPU) and ``memory_mb`` of address space, no network, an empty environment and a throwaway
    directory (see ``dataflow.sandbox``); the rows of a chunk run in parallel on the sandbox's workers.
    A row without code or without tests goes to the rejects (``no code`` / ``no tests``): there is
    nothing to judge, and a status would pass it off as a result.
    """

    def evaluate(self, batch: pd.DataFrame, ctx: Any) -> dict[str, Any]:
        outcome = self.run_tests(batch, ctx)
        return {ctx.cols[name]: values for name, values in outcome.items() if ctx.cols.get(name)}


@register_operator
class CodeTestPassFilter(SandboxTestRunner, Filter):
    """Keeps the rows whose code passes its tests, running them in the sandbox itself.

    Same bindings, params and execution as :class:`CodeSandboxSampleEvaluator` (one step instead of two;
    it does not read a status an earlier step wrote, since code or tests may have changed since). The
    status and log are written on every row, kept or dropped. A dropped row's reason is
    ``tests <status>: <first line of the log>``, e.g. ``tests fail: test 2 failed: assert f(3) == 7``.
    Rows without code or without tests go to the rejects (``no code`` / ``no tests``).
    """

    def score(self, batch: pd.DataFrame, ctx: Any) -> dict[str, list[Any]]:
        return self.run_tests(batch, ctx)

    def keep(self, batch: pd.DataFrame, scores: dict[str, list[Any]], ctx: Any) -> Any:
        statuses, logs = scores["output_status_key"], scores["output_log_key"]
        mask = np.array([status == "pass" for status in statuses], dtype=bool)
        reasons = [f"tests {status}: {(log.strip().splitlines() or [''])[0][:_REASON_CHARS]}"
                   for status, log in zip(statuses, logs)]
        return mask, reasons
