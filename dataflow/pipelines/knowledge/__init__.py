"""Ready-made knowledge-extraction pipelines (documents to QA pairs for SFT)."""
