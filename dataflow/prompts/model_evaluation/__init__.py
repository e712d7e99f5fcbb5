"""The reference DataFlow's ``dataflow.prompts.model_evaluation`` import path."""
