"""Ready-made agentic RAG pipelines (passages to verified questions that need their documents)."""
