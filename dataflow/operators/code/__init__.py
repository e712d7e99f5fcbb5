"""Code operators: heuristics, LLM synthesis and scoring, sandboxed test execution."""
