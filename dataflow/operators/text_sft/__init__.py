"""The reference DataFlow's ``dataflow.operators.text_sft`` import path: every operator by its name."""

from dataflow.operators._reference_names import operators_by_name

__getattr__ = operators_by_name(__name__)
