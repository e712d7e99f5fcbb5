"""Text-to-SQL operators: execution-verified SQL, questions and reasoning over real databases."""

from dataflow.operators._reference_names import operators_by_name

__getattr__ = operators_by_name(__name__)
