"""Exceptions raised by DataFlow. Each names where the problem is, so a user can fix it without a debugger."""

from __future__ import annotations

from dataclasses import dataclass


class DataflowError(Exception):
    """Base class of every error DataFlow raises on purpose."""


class ParamsError(DataflowError, ValueError):
    """An operator was given constructor arguments that do not match its parameter schema."""


class BindingError(DataflowError, TypeError):
    """An operator's ``run()`` was given a column binding it does not declare."""


@dataclass
class Problem:
    """One finding of ``Pipeline.compile()``; ``step`` is 1-based, ``None`` for pipeline-wide problems."""

    message: str
    step: int | None = None
    op: str | None = None
    level: str = "error"  # or "warning"

    def __str__(self) -> str:
        where = f"step {self.step} ({self.op}): " if self.step is not None else ""
        return f"{self.level}: {where}{self.message}"


class CompileError(DataflowError):
    """``compile()`` found errors; nothing was run. ``problems`` lists all of them, not only the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        errors = [p for p in problems if p.level == "error"]
        super().__init__("\n".join(str(p) for p in errors))


class BadInputError(DataflowError):
    """A record of the input cannot be used: malformed, missing a column, or of the wrong type."""

    def __init__(self, path: str, row: int, message: str, *, column: str | None = None, unit: str = "line"):
        self.path, self.row, self.column, self.reason, self.unit = path, row, column, message, unit
        col = f", column '{column}'" if column else ""
        super().__init__(f"{path}: {unit} {row}{col}: {message}")

    def __reduce__(self):  # raised in a worker (ingest of a part), re-raised in the driver
        return (_bad_input, (self.path, self.row, self.reason, self.column, self.unit))


def _bad_input(path: str, row: int, message: str, column: str | None, unit: str) -> BadInputError:
    return BadInputError(path, row, message, column=column, unit=unit)


class StepError(DataflowError):
    """An operator failed on a whole chunk: a bug or a misconfiguration rather than a bad row."""
