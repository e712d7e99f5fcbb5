"""Where the shared, externally written fixtures are: ``<repo>/../shared/fixtures`` (tests skip without it)."""

from pathlib import Path

FIXTURES = (Path(__file__).resolve().parents[1] / ".." / "shared" / "fixtures").resolve()
