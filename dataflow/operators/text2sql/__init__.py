"""Text-to-SQL operators: execution-verified SQL, questions and reasoning over real databases."""
