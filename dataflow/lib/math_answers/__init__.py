"""Final answers of math problems: extraction, canonical form, equivalence, majority vote (no LLM).

Modules: ``extract`` (the final answer of a solution text), ``numeric`` (surface cleaning, exact
numbers), ``parse`` (sets, tuples, intervals, answer lists), ``normalize`` (canonical form),
``symbolic`` (sympy under a time limit), ``equivalence`` (the comparison rules, majority vote).
"""

from dataflow.lib.math_answers.equivalence import answers_equivalent, majority_vote
from dataflow.lib.math_answers.extract import extract_final_answer
from dataflow.lib.math_answers.normalize import normalize_answer

__all__ = ["answers_equivalent", "extract_final_answer", "majority_vote", "normalize_answer"]
