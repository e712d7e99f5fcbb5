"""DataFlow: operators and pipelines for preparing LLM data, with models in the loop.

The top-level names are loaded lazily so that ``import dataflow`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "Operator": "dataflow.core.operator",
    "Generator": "dataflow.core.operator",
    "Refiner": "dataflow.core.operator",
    "Filter": "dataflow.core.operator",
    "Evaluator": "dataflow.core.operator",
    "DatasetOperator": "dataflow.core.operator",
    "Reject": "dataflow.core.operator",
    "LLMOperator": "dataflow.core.llm_operator",
    "LLMGenerator": "dataflow.core.llm_operator",
    "LLMEvaluator": "dataflow.core.llm_operator",
    "LLMRefiner": "dataflow.core.llm_operator",
    "LLMFilter": "dataflow.core.llm_operator",
    "Sampling": "dataflow.core.llm_operator",
    "register_operator": "dataflow.core.registry",
    "OPERATORS": "dataflow.core.registry",
    "Pipeline": "dataflow.core.pipeline",
    "create_serving": "dataflow.serving",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dataflow' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
