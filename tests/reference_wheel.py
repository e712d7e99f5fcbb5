"""The reference DataFlow (``open-dataflow``) wheel, fetched at test time and unpacked, never installed.

``reference_root()`` downloads it once with ``pip download --no-deps`` into a cache folder
(``$DATAFLOW_REFERENCE_CACHE``, else ``~/.cache/dataflow-tests``) and returns the unpacked ``dataflow/``
folder; a test calling it is skipped, with the reason, when the registry cannot be reached. The
reference's code is only read (``ast``) or its own pipeline scripts run against our package: nothing
of it is copied into the repository.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REFERENCE = "open-dataflow==1.0.13"


def _cache() -> Path:
    base = os.environ.get("DATAFLOW_REFERENCE_CACHE") or Path.home() / ".cache" / "dataflow-tests"
    return Path(base) / REFERENCE.replace("==", "-")


def reference_root() -> Path:
    cache = _cache()
    unpacked = cache / "unpacked"
    if not (unpacked / "dataflow").is_dir():
        cache.mkdir(parents=True, exist_ok=True)
        wheels = list(cache.glob("*.whl"))
        if not wheels:
            done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                                   "--disable-pip-version-check", REFERENCE, "-d", str(cache)],
                                  capture_output=True, text=True, timeout=300)
            wheels = list(cache.glob("*.whl"))
            if done.returncode != 0 or not wheels:
                pytest.skip(f"cannot download {REFERENCE} (registry unreachable?): "
                            f"{(done.stderr or done.stdout).strip().splitlines()[-1:]}")
        tmp = cache / "unpacking"
        with zipfile.ZipFile(wheels[0]) as wheel:
            wheel.extractall(tmp)
        tmp.rename(unpacked)
    return unpacked / "dataflow"
