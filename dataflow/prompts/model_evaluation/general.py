"""The reference DataFlow's ``dataflow.prompts.model_evaluation.general`` (see :mod:`dataflow.compat.prompts`)."""

from dataflow.compat.prompts import MODEL_EVALUATION

globals().update(MODEL_EVALUATION)
__all__ = sorted(MODEL_EVALUATION)
