"""Inputs and outputs on any filesystem pyarrow reaches (``s3://``, ``gs://``, ``hdfs://``; with fsspec
installed, any fsspec protocol too): ``input: s3://bucket/corpus.jsonl``, ``output: gs://bucket/out.parquet``.

A URL input is copied once into the run's cache (``<cache_dir>/remote/``, named by the URL, refreshed
when the remote size or modification time changes, and given the remote modification time so its
fingerprint follows the remote file) and read from there; a URL output is written there, then copied to
its place. Credentials and endpoints come from the filesystem's usual settings (``AWS_*`` variables,
``AWS_ENDPOINT_URL`` for an S3-compatible server, or query parameters pyarrow knows such as
``?endpoint_override=host:port&scheme=http``). The cache itself is a local path: on a cluster, a
filesystem every node mounts under the same path.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def is_url(path: Any) -> bool:
    """Whether ``path`` names a remote location (``scheme://...``; ``file://`` counts as local)."""
    text = str(path) if path is not None else ""
    return "://" in text and not text.startswith("file://")


def path_part(path: str | Path) -> str:
    """The path of a URL without its query string (what names the file's format), or ``path`` itself."""
    text = str(path)
    return urlsplit(text).path if is_url(text) else text


def filesystem(url: str) -> tuple[Any, str]:
    """(a ``pyarrow.fs.FileSystem``, the path in it) for ``url``."""
    import pyarrow.fs as pafs

    try:
        return pafs.FileSystem.from_uri(url)
    except (ValueError, OSError) as exc:  # a scheme pyarrow does not know: try fsspec
        try:
            import fsspec
        except ImportError:
            raise ValueError(f"cannot open {url}: {exc} (pip install fsspec and its filesystem for "
                             f"{urlsplit(url).scheme}://)") from None
        fs, _, paths = fsspec.get_fs_token_paths(url)
        return pafs.PyFileSystem(pafs.FSSpecHandler(fs)), paths[0]


def remote_stat(url: str) -> list[tuple[str, int, int]] | None:
    """(name, size, mtime ns) of the file or of every file under the directory at ``url``; None when
    nothing is there."""
    import pyarrow.fs as pafs

    fs, path = filesystem(url)
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        return None
    if info.type == pafs.FileType.File:
        return [(Path(path).name, info.size, info.mtime_ns or 0)]
    files = fs.get_file_info(pafs.FileSelector(path, recursive=True))
    return sorted((f.path[len(path):].lstrip("/"), f.size, f.mtime_ns or 0)
                  for f in files if f.type == pafs.FileType.File)


def _name(url: str) -> str:
    parts = urlsplit(url)
    base = Path(parts.path).name or "data"
    return f"{hashlib.sha1(url.encode()).hexdigest()[:12]}-{base}"


def stage_input(url: str, cache_dir: Path) -> Path:
    """A local copy of the input at ``url`` under ``cache_dir/remote/input`` (copied when missing or
    when the remote changed)."""
    import pyarrow.fs as pafs

    stat = remote_stat(url)
    if stat is None:
        raise FileNotFoundError(f"input not found: {url}")
    local = Path(cache_dir) / "remote" / "input" / _name(url)
    marker = local.with_name(local.name + ".stat.json")
    if local.exists() and marker.exists() and json.loads(marker.read_text()) == [list(s) for s in stat]:
        return local
    local.parent.mkdir(parents=True, exist_ok=True)
    tmp = local.with_name(f".{local.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    fs, path = filesystem(url)
    pafs.copy_files(path, str(tmp.resolve()), source_filesystem=fs, destination_filesystem=pafs.LocalFileSystem())
    mtime = max(s[2] for s in stat) if stat else 0
    if tmp.is_file() and mtime:
        os.utime(tmp, ns=(mtime, mtime))
    if local.is_dir():
        shutil.rmtree(local)
    os.replace(tmp, local)
    marker.write_text(json.dumps(stat))
    return local


def staged_output(url: str, cache_dir: Path) -> Path:
    """Where a run writes the output bound for ``url`` before :func:`upload_output` copies it."""
    path = Path(cache_dir) / "remote" / "output" / _name(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def upload_output(local: Path, url: str) -> None:
    import pyarrow.fs as pafs

    fs, path = filesystem(url)
    parent = path.rsplit("/", 1)[0]
    if parent and parent != path:
        try:
            fs.create_dir(parent, recursive=True)
        except OSError:  # an object store's bucket: it exists or the copy says why not
            pass
    pafs.copy_files(str(Path(local).resolve()), path, source_filesystem=pafs.LocalFileSystem(),
                    destination_filesystem=fs)
