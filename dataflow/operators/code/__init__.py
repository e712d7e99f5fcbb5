"""Code operators: heuristics, LLM synthesis and scoring, sandboxed test execution."""

from dataflow.operators._reference_names import operators_by_name

__getattr__ = operators_by_name(__name__)
