"""Bytes to text: UTF-8 (with or without a BOM), UTF-16 with a BOM, a charset an HTML page declares, else
what charset-normalizer (MIT, pure Python with optional speedups) detects."""

from __future__ import annotations

import codecs
import re

from dataflow.lib.documents import DocumentError

_DECLARED = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_\-:.]+)""", re.I)


def decode_text(data: bytes) -> str:
    """Decode ``data`` to text; raise :class:`DocumentError` when no encoding fits."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = _DECLARED.search(data[:4096])
    if declared:
        try:
            return data.decode(declared.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            pass  # a wrong or unknown declaration: detect instead
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise DocumentError("cannot detect the text encoding (binary file?)")
    return str(best)
