"""The reference DataFlow's ``dataflow.prompts.general_text`` (see :mod:`dataflow.compat.prompts`)."""

from dataflow.compat.prompts import GENERAL_TEXT

globals().update(GENERAL_TEXT)
__all__ = sorted(GENERAL_TEXT)
