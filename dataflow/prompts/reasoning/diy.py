"""The reference DataFlow's ``dataflow.prompts.reasoning.diy`` (see :mod:`dataflow.compat.prompts`)."""

from dataflow.compat.prompts import REASONING

globals().update(REASONING["Diy"])
__all__ = sorted(REASONING["Diy"])
