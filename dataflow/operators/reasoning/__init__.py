"""reasoning operators."""

from dataflow.operators._reference_names import operators_by_name

__getattr__ = operators_by_name(__name__)
