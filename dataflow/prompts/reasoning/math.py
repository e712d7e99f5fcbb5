"""The reference DataFlow's ``dataflow.prompts.reasoning.math`` (see :mod:`dataflow.compat.prompts`)."""

from dataflow.compat.prompts import REASONING

globals().update(REASONING["Math"])
__all__ = sorted(REASONING["Math"])
