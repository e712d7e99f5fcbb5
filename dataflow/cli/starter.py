"""``dataflow init``: a starter project with example data and the same pipeline in both front-ends."""

from __future__ import annotations

import json
from pathlib import Path

EXAMPLE_ROWS = [
    {"id": 1, "text": "Tea is made by pouring hot water over cured leaves of the tea plant. Green, black and "
                      "oolong teas all come from the same species; they differ in how the leaves are processed."},
    {"id": 2, "text": "Click here to win!!!"},
    {"id": 3, "text": "A lighthouse marks dangerous coasts and harbour entrances with a light that ships can see "
                      "from far away. Each one flashes in its own pattern so sailors can tell them apart at night."},
    {"id": 4, "text": "A lighthouse marks dangerous coasts and harbour entrances with a light that ships can see "
                      "from far away. Each one flashes in its own pattern so sailors can tell them apart at night."},
    {"id": 5, "text": "Write to jane.doe@example.com for the full report on river water quality, which covers "
                      "twelve sampling sites measured every month over the last three years."},
]

SPEC = """\
# A DataFlow pipeline. Run it with:  dataflow run pipeline.yaml
# Check it without running:         dataflow compile pipeline.yaml
# Why was a row dropped?             dataflow inspect pipeline.yaml --row 2
input: data.jsonl
output: output/clean.jsonl
steps:
  - op: {clean}
    run: {{input_key: text}}
  - op: {length}
    params: {{min_words: 8}}
    run: {{input_key: text}}
  - op: {dedup}
    run: {{input_key: text}}
  # An LLM step runs on the embedded offline model unless a `serving:` section says otherwise:
  # - op: PromptedGenerator
  #   params: {{prompt_template: core_text/summarize, max_tokens: 48}}
  #   run: {{output_key: summary}}
"""

PYTHON = '''\
"""The same pipeline as pipeline.yaml, PyTorch style. Run: python pipeline.py"""

from dataflow.core.pipeline import Pipeline
from dataflow.core.registry import OPERATORS


class StarterPipeline(Pipeline):
    def __init__(self):
        super().__init__("data.jsonl", "output/clean_py.jsonl", cache_dir=".dataflow/starter_py")
        self.clean = OPERATORS.get("{clean}")()
        self.length = OPERATORS.get("{length}")(min_words=8)
        self.dedup = OPERATORS.get("{dedup}")()

    def forward(self):
        self.clean.run(self.storage, input_key="text")
        self.length.run(self.storage, input_key="text")
        self.dedup.run(self.storage, input_key="text")


if __name__ == "__main__":
    StarterPipeline().run(print_summary=True)
'''


def _pick(preferred: str, fallback: str) -> str:
    from dataflow.core.registry import OPERATORS

    return preferred if preferred in OPERATORS else fallback


def write_starter(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    names = {
        "clean": _pick("PIIAnonymizeRefiner", "RemoveExtraSpacesRefiner"),
        "length": "WordNumberFilter",
        "dedup": _pick("MinHashDeduplicateFilter", "ExactDeduplicateFilter"),
    }
    files = {
        "data.jsonl": "".join(json.dumps(r) + "\n" for r in EXAMPLE_ROWS),
        "pipeline.yaml": SPEC.format(**names),
        "pipeline.py": PYTHON.format(**names),
    }
    created = []
    for name, text in files.items():
        path = directory / name
        if path.exists():
            print(f"kept existing {path}")
            continue
        path.write_text(text, encoding="utf-8")
        created.append(path)
    return created
