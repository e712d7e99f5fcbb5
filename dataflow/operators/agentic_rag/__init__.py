"""Agentic RAG operators: retrieval, atomic / deeper / wider questions that need their documents, verification and answer scores."""
