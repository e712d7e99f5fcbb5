"""The reference DataFlow's ``dataflow.prompts.reasoning.general`` (see :mod:`dataflow.compat.prompts`)."""

from dataflow.compat.prompts import REASONING

globals().update(REASONING["General"])
__all__ = sorted(REASONING["General"])
