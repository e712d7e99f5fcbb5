"""LLM operators for general text and SFT data: quality scoring, Alpagasus filtering, Condor synthesis
and refinement, QA pairs from passages."""
