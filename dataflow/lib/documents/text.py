"""Bytes to text: UTF-8 (with or without a BOM), UTF-16 with a BOM, a charset an HTML page declares, else
what charset-normalizer (MIT, pure Python with optional speedups) detects, windows-1252 first among
near-equal guesses."""

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

    matches = list(from_bytes(data))
    if not matches:
        raise DocumentError("cannot detect the text encoding (binary file?)")
    # On short texts several single-byte codecs look alike (a German-French page scores best as Baltic
    # cp1257). Undeclared legacy text is mostly windows-1252 (the WHATWG default): prefer it when it is
    # about as clean as the best guess.
    least_chaos = min(match.chaos for match in matches)
    for match in matches:
        if match.chaos <= least_chaos + 0.05 and "cp1252" in match.could_be_from_charset:
            return data.decode("cp1252", errors="replace")
    return str(matches[0])
