"""The reference DataFlow's ``dataflow.utils`` import path (storage only)."""
