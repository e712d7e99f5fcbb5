"""The shared pre-training benchmark corpus: built once by ``../shared/bench/make_pt_corpus.py``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MAKE_CORPUS = REPO / ".." / "shared" / "bench" / "make_pt_corpus.py"


def ensure_corpus(path: str | Path) -> Path:
    """``path``, built first when missing (62 MB of Wikipedia paragraphs, field ``raw_content``)."""
    corpus = Path(path)
    if not corpus.exists():
        if not MAKE_CORPUS.exists():
            sys.exit(f"corpus {corpus} is missing and {MAKE_CORPUS} is absent (shared fixtures not mounted)")
        subprocess.run([sys.executable, str(MAKE_CORPUS), str(corpus)], check=True)
    return corpus
