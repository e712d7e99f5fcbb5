"""A passage corpus with its BM25 index as a pipeline resource (kind ``"retriever"``), from a config dict::

    {"corpus": "passages.jsonl", "id_key": "id", "text_key": "contents"}
    {"corpus": "passages.parquet", "id_key": "pid", "text_key": "text", "title_key": "title",
     "index_dir": "indexes/wiki"}

``corpus`` is a JSONL, JSON, CSV or Parquet file of passages: ``text_key`` holds the text (``contents``
by default, the reference's field), ``id_key`` a unique id (``id``; when the file has no such column,
the row number), ``title_key`` an optional title put before the text (``"Title"\\ntext``, as the
reference writes passages). The index is built when first used in a process; with ``index_dir`` it is
saved there and loaded on later runs while the corpus file is unchanged (size and modification time are
part of the key). A pipeline that leaves ``index_dir`` unset saves it with its cache
(``<cache_dir>/resources/retriever``). In a spec::

    resources:
      retriever: {corpus: passages.jsonl}

Operators that retrieve name the kind (``resources = ("retriever",)``) and get the :class:`Retriever`
from ``ctx.resource("retriever")``, or carry their own in their ``retriever`` param.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dataflow.lib.retrieval.index import BM25Index, Hit

_KEYS = ("corpus", "id_key", "text_key", "title_key", "index_dir")


class Retriever:
    """A corpus and its BM25 index: :meth:`search` for passages, :meth:`passage` for one by id."""

    def __init__(self, index: BM25Index, source: str = "") -> None:
        self.index, self.source = index, source
        self._by_id = {pid: i for i, pid in enumerate(index.ids)}
        self._fingerprint: str | None = None

    @property
    def ids(self) -> list[str]:
        return self.index.ids

    def __len__(self) -> int:
        return len(self.index)

    def passage(self, passage_id: str) -> str | None:
        """The text of passage ``passage_id``, or None when the corpus has none by that id."""
        i = self._by_id.get(str(passage_id))
        return None if i is None else self.index.texts[i]

    def search(self, queries: Sequence[str], k: int = 10, *, exclude: Sequence[Sequence[str]] | None = None
               ) -> list[list[Hit]]:
        """The top ``k`` passages per query, best first (see :meth:`BM25Index.search`)."""
        return self.index.search(queries, k, exclude=exclude)

    def fingerprint(self) -> str:
        """A digest of the passages (ids and texts) and the BM25 settings: what a step's cache key needs
        of a retriever an operator carries itself (a configured one is keyed by its config instead)."""
        if self._fingerprint is None:
            digest = hashlib.sha256(json.dumps([self.index.k1, self.index.b]).encode())
            for pid, text in zip(self.index.ids, self.index.texts):
                digest.update(json.dumps([pid, text]).encode())
            self._fingerprint = "retriever:" + digest.hexdigest()[:16]
        return self._fingerprint

    def close(self) -> None:
        """Nothing to release (the index lives in memory)."""


def _settings(config: dict[str, Any] | None) -> dict[str, Any]:
    config = dict(config or {})
    unknown = sorted(set(config) - set(_KEYS))
    if unknown:
        raise ValueError(f"unknown retriever setting(s) {', '.join(unknown)}; known: {', '.join(_KEYS)}")
    if not config.get("corpus"):
        raise ValueError("retriever needs corpus: a JSONL, JSON, CSV or Parquet file of passages")
    return {"id_key": "id", "text_key": "contents", "title_key": None, "index_dir": None, **config}


def read_corpus(path: str | Path, id_key: str = "id", text_key: str = "contents", title_key: str | None = None
                ) -> tuple[list[str], list[str]]:
    """(ids, texts) of a passage file; raises ``ValueError`` naming the file and what is wrong."""
    import pandas as pd

    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".jsonl", ".ndjson"):
            frame = pd.read_json(path, lines=True, dtype=False)
        elif suffix == ".json":
            frame = pd.read_json(path, dtype=False)
        elif suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        elif suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            raise ValueError(f"{path}: unknown passage file type {suffix or '(none)'}; use .jsonl, .json, .csv or .parquet")
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read the corpus: {exc}") from None
    if text_key not in frame.columns:
        raise ValueError(f"{path}: no column {text_key!r} (columns: {', '.join(map(str, frame.columns))})")
    ids = [str(v) for v in frame[id_key]] if id_key in frame.columns else [str(i) for i in range(len(frame))]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: passage ids in {id_key!r} are not unique")
    texts = ["" if v is None or v != v else str(v) for v in frame[text_key]]
    if title_key and title_key in frame.columns:
        texts = [f"{t}\n{x}" if t else x for t, x in zip(frame[title_key].fillna("").astype(str), texts)]
    return ids, texts


def create_retriever(config: dict[str, Any] | None = None) -> Retriever:
    """A :class:`Retriever` from a config dict (see the module docstring)."""
    s = _settings(config)
    key = retriever_fingerprint(config)
    saved = Path(s["index_dir"]) / key if s["index_dir"] else None
    if saved is not None and (saved / "passages.json").is_file():
        return Retriever(BM25Index.load(saved), str(s["corpus"]))
    ids, texts = read_corpus(s["corpus"], s["id_key"], s["text_key"], s["title_key"])
    index = BM25Index(ids, texts)
    if saved is not None:
        index.save(saved)
    return Retriever(index, str(s["corpus"]))


def retriever_fingerprint(config: dict[str, Any] | None = None) -> str:
    """The corpus file (path, size, modification time) and how it is read decide what is retrieved."""
    s = _settings(config)
    path = Path(s["corpus"])
    stat = path.stat() if path.exists() else None
    text = json.dumps({"corpus": str(path.resolve()), "size": stat.st_size if stat else None,
                       "mtime": stat.st_mtime_ns if stat else None,
                       **{k: s[k] for k in ("id_key", "text_key", "title_key")}}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def check_retriever_config(config: dict[str, Any] | None = None) -> str | None:
    """A problem with the config, for ``compile()``; None when it is fine."""
    try:
        s = _settings(config)
    except ValueError as exc:
        return str(exc)
    if not Path(s["corpus"]).is_file():
        return f"retriever corpus not found: {s['corpus']}"
    return None
