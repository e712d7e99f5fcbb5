"""Running scripts written for the reference DataFlow (``open-dataflow``) on this package.

The reference's import paths are thin modules over this package: ``dataflow.utils.storage``
(:class:`~dataflow.compat.storage.FileStorage`), ``dataflow.pipeline``
(:class:`~dataflow.compat.pipeline.PipelineABC`), the serving classes in ``dataflow.serving``
(:mod:`dataflow.compat.serving`), the prompt classes in ``dataflow.prompts`` (:mod:`dataflow.compat.prompts`)
and ``dataflow.operators.<domain>`` (every operator by name). Operators take the reference's param and
binding names (:mod:`dataflow.operators._reference_names`). Everything runs on our engine: each step of
a script is a cached, resumable pipeline run; a compiled ``PipelineABC`` is one streamed run.
See ``docs/migration.md``.
"""
