"""Column bindings: how an operator declares the columns it reads and writes, and the internal columns.

An operator declares class attributes named ``input_*`` / ``output_*``::

    input_key = InputColumn("text", "str", nullable=True)
    output_key = OutputColumn("word_count", "int")

and the step binds them to real column names at ``run()`` time (the defaults apply when not given).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DTYPES = ("any", "str", "number", "int", "bool", "list", "dict")

# Internal column carrying each row's stable identity (its line/row number in the input, "7.2" for the
# third row generated from row 7). It travels through every step and is dropped from the output.
ROW_ID = "_row_id"
DROP_REASON = "_drop_reason"
REJECT_REASON = "_reject_reason"


@dataclass(frozen=True)
class Column:
    """Declaration of one column binding. Use :func:`InputColumn` / :func:`OutputColumn`."""

    default: str | None
    role: str  # "input" | "output"
    dtype: str = "any"
    nullable: bool = False
    description: str = ""

    def describe(self) -> dict[str, Any]:
        return {"role": self.role, "default": self.default, "dtype": self.dtype,
                "nullable": self.nullable, "description": self.description}


def InputColumn(default: str | None, dtype: str = "str", *, nullable: bool = False,  # noqa: N802
                description: str = "") -> Any:
    """A column the operator reads. ``default=None`` makes the binding optional."""
    assert dtype in DTYPES, dtype
    return Column(default, "input", dtype, nullable, description)


def OutputColumn(default: str | None, dtype: str = "any", *, description: str = "") -> Any:  # noqa: N802
    """A column the operator writes. ``default=None`` means "not written unless bound"."""
    return Column(default, "output", dtype, False, description)


class Bindings(dict):
    """Resolved column bindings of one step; attribute access reads like the operator's declaration."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None
