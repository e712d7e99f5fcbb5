"""The ``storage`` a pipeline's ``forward()`` sees: each ``op.run(self.storage, ...)`` records a step."""

from __future__ import annotations

from typing import Any

from dataflow.core.errors import BindingError, Problem
from dataflow.core.operator import Operator
from dataflow.core.plan import Step


class StepTracer:
    """The ``storage`` a pipeline's ``forward()`` sees: it records each operator call as a step."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.problems: list[Problem] = []
        self._next = 1

    def step(self) -> StepTracer:
        """Compatibility with the reference DataFlow's ``storage.step()`` idiom."""
        return self

    def apply(self, op: Operator, bindings: dict[str, Any]) -> StepTracer:
        index = self._next
        self._next += 1
        try:
            resolved = op.resolve_bindings(bindings)
        except BindingError as exc:
            self.problems.append(Problem(str(exc), step=index, op=op.op_name()))
            return self
        self.steps.append(Step(index, op, resolved, getattr(resolved, "explicit", frozenset())))
        return self

    def skip(self, problem: Problem) -> None:
        """A step that could not even be built (spec front-end): keep the numbering, record why."""
        problem.step = self._next
        self._next += 1
        self.problems.append(problem)
