from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def dataflow_cli(*args: str, cwd: Path | None = None, env: dict | None = None, **kw):
    """Run the real CLI in a subprocess (the sample operators import from the repo root)."""
    import subprocess

    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run([sys.executable, "-m", "dataflow.cli.main", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, **kw)


@pytest.fixture
def texts_file(tmp_path: Path) -> Path:
    rows = [{"id": i, "text": " ".join(f"w{j}" for j in range(i % 7)) or "", "meta": {"k": i}} for i in range(1, 60)]
    return write_jsonl(tmp_path / "texts.jsonl", rows)
