"""Knowledge extraction operators: documents to Markdown, chunks, clean text and QA pairs."""
