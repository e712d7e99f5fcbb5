"""Operators for the Ray executor tests (workers import them as ``tests.executors.ray_ops``)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from dataflow.core.bindings import ROW_ID
from dataflow.core.operator import Evaluator, InputColumn, OutputColumn


class PauseOnce(Evaluator):
    """Writes each text's length; the first time it meets row ``row`` it writes its pid to ``flag`` and
    sleeps, so a test can kill the worker mid-task (a retry finds the flag and goes on)."""

    input_key = InputColumn("text")
    output_key = OutputColumn("chars", "int")

    def __init__(self, flag: str, row: str = "0", sleep_s: float = 60.0):
        super().__init__()
        self.flag, self.row, self.sleep_s = flag, row, sleep_s

    def evaluate(self, batch, ctx):
        flag = Path(self.flag)
        if self.row in set(batch[ROW_ID].astype(str)):
            with open(flag, "a") as fh:  # one line per attempt at this chunk
                fh.write(f"{os.getpid()}\n")
            if len(flag.read_text().split()) == 1:
                time.sleep(self.sleep_s)
        return {ctx.cols.output_key: batch[ctx.cols.input_key].str.len().to_numpy()}


class AlwaysFails(Evaluator):
    """Raises on every row: a broken operator, which must stop the run with its error."""

    input_key = InputColumn("text")
    output_key = OutputColumn("never", "int")

    def evaluate(self, batch, ctx):
        raise RuntimeError("this operator is broken")
