"""The reference DataFlow's ``dataflow.utils.storage``: :class:`~dataflow.compat.storage.FileStorage`."""

from dataflow.compat.storage import FileStorage

__all__ = ["FileStorage"]
