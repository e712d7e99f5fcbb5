"""The reference DataFlow's ``dataflow.operators.text_pt`` import path: every operator by its name, and
``MetaSampleEvaluator`` as our :class:`LLMQualityScorer` (an LLM rating each text on several
dimensions; the dimensions and score columns are ours)."""

from dataflow.operators._reference_names import operators_by_name

_by_name = operators_by_name(__name__)


def __getattr__(name: str):
    return _by_name("LLMQualityScorer" if name == "MetaSampleEvaluator" else name)
