"""Agentic RAG operators: retrieval, atomic / deeper / wider questions that need their documents, verification and answer scores."""

from dataflow.operators._reference_names import operators_by_name

__getattr__ = operators_by_name(__name__)
