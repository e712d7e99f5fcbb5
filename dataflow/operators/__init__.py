"""The built-in operators. They also accept the reference DataFlow's param and binding names
(:mod:`dataflow.operators._reference_names`), registered here before any operator module is imported."""

from dataflow.core.operator import add_name_aliases
from dataflow.operators._reference_names import REFERENCE_NAMES

add_name_aliases(__name__, REFERENCE_NAMES)
