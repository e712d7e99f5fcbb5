"""Ready-made pipelines for general text (pre-training filtering and the SFT pipelines)."""
