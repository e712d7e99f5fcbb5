"""The libraries stand apart: nothing in dataflow.lib imports the rest of dataflow."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

LIB = Path(__file__).resolve().parents[2] / "dataflow" / "lib"


def _dataflow_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(node.module)
    return [name for name in found if name == "dataflow" or name.startswith("dataflow.")]


def test_library_modules_import_only_dataflow_lib():
    files = sorted(LIB.rglob("*.py"))
    assert len(files) > 10
    outside = {str(f.relative_to(LIB)): [m for m in _dataflow_imports(f) if not m.startswith("dataflow.lib")]
               for f in files}
    assert {name: mods for name, mods in outside.items() if mods} == {}


def test_importing_the_libraries_loads_no_other_dataflow_package_and_no_sympy():
    code = (
        "import sys, dataflow.lib.text_stats, dataflow.lib.dedup, dataflow.lib.math_answers, "
        "dataflow.lib.time_limit;"
        "print(sorted(m for m in sys.modules if (m.startswith('dataflow.') and not m.startswith('dataflow.lib'))"
        " or m.split('.')[0] in ('sympy', 'latex2sympy2_extended')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=LIB.parents[1])
    assert result.stdout.strip() == "[]"
