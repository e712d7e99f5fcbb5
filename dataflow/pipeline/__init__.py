"""The reference DataFlow's ``dataflow.pipeline``: :class:`~dataflow.compat.pipeline.PipelineABC`."""

from dataflow.compat.pipeline import PipelineABC

__all__ = ["PipelineABC"]
