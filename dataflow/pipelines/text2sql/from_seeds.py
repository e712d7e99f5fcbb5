"""Text-to-SQL data grown from seed question / SQL pairs: the seeds checked by execution, varied into new
queries, every query given a question (the seeds keep theirs) that the model checks against it, then
prompts, chains of thought voted by execution and difficulty labels, as in the from-databases pipeline.

Steps (``from_seeds.yaml`` lists the same ones; a test keeps them in sync)::

     1 SQLExecutabilityFilter        drop the seeds whose SQL fails, with the database's error
     2 SQLVariationGenerator         num_variations new queries per seed (filter, aggregate, join, order,
                                     ...), each executing and really new; the seed row stays
                                                                                   -> SQL, variation_type
     3 SQLExecutionFilter            keep SQL that returns rows
     4 SQLTemplateDeduplicateFilter  one query per template and database          -> sql_template
     5 Text2SQLQuestionGenerator     questions for the variations (seeds keep theirs) -> question, evidence
     6 Text2SQLCorrespondenceFilter  the model checks that each SQL answers its question (seeds too)
     7 Text2SQLPromptGenerator       schema + question as a text-to-SQL prompt      -> prompt
     8 Text2SQLCoTGenerator          chains of thought ending in SQL                -> cot_responses
     9 Text2SQLCoTVotingGenerator    vote by execution; the winner must return the SQL's result
                                                                          -> cot_reasoning, voted_SQL, cot_votes
    10 SQLComponentClassifier        Spider hardness                                -> sql_component_difficulty
    11 SQLExecutionClassifier        how often the model gets it right             -> sql_execution_difficulty

Input rows: ``question``, ``SQL`` and ``db_id`` (``evidence`` optional). Run it::

    from dataflow.pipelines.text2sql.from_seeds import Text2SQLFromSeedsPipeline
    Text2SQLFromSeedsPipeline("seeds.jsonl", "text2sql.jsonl", db_root="spider/database").run()

or ``dataflow run dataflow/pipelines/text2sql/from_seeds.yaml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dataflow.core.pipeline import Pipeline
from dataflow.core.registry import OPERATORS
from dataflow.pipelines.text2sql.from_databases import Step, database_params, from_databases_steps

SPEC_PATH = Path(__file__).with_name("from_seeds.yaml")


def from_seeds_steps(db: dict[str, Any], *, num_variations: int = 3, num_questions: int = 3, num_cots: int = 3,
                     num_attempts: int = 5, cot_max_tokens: int = 1024, dialect: str = "sqlite") -> list[Step]:
    """The steps of :class:`Text2SQLFromSeedsPipeline` (see the module docstring)."""
    shared = from_databases_steps(db, num_questions=num_questions, num_cots=num_cots, num_attempts=num_attempts,
                                  cot_max_tokens=cot_max_tokens, dialect=dialect)
    by_name = {name: (name, params, bindings) for name, params, bindings in shared}
    return [
        ("SQLExecutabilityFilter", {**db}, {"input_sql_key": "SQL", "input_db_id_key": "db_id"}),
        ("SQLVariationGenerator", {**db, "num_variations": num_variations},
         {"input_sql_key": "SQL", "input_db_id_key": "db_id", "output_question_key": "question",
          "output_evidence_key": "evidence"}),
        by_name["SQLExecutionFilter"], by_name["SQLTemplateDeduplicateFilter"],
        by_name["Text2SQLQuestionGenerator"], by_name["Text2SQLCorrespondenceFilter"],
        by_name["Text2SQLPromptGenerator"], by_name["Text2SQLCoTGenerator"], by_name["Text2SQLCoTVotingGenerator"],
        by_name["SQLComponentClassifier"], by_name["SQLExecutionClassifier"],
    ]


class Text2SQLFromSeedsPipeline(Pipeline):
    """Seed question / SQL pairs to more verified samples (see the module docstring).

    ``db_root`` or ``db_url`` as in :class:`~dataflow.pipelines.text2sql.from_databases.Text2SQLFromDatabasesPipeline`;
    ``num_variations`` new queries per seed, ``num_questions`` candidate questions per variation,
    ``num_cots`` chains of thought per sample, ``num_attempts`` SQL attempts for the execution difficulty
    (``cot_max_tokens`` bounds the answers of both). Other keyword arguments go to
    :class:`~dataflow.core.pipeline.Pipeline`.
    """

    def __init__(self, input: str | Path | None = None, output: str | Path | None = None, *,
                 db_root: str | None = None, db_url: str | None = None, timeout_s: float = 10.0,
                 num_variations: int = 3, num_questions: int = 3, num_cots: int = 3, num_attempts: int = 5,
                 cot_max_tokens: int = 1024, **kwargs: Any) -> None:
        super().__init__(input, output, **kwargs)
        db = database_params(db_root, db_url, timeout_s)
        self.steps = [(OPERATORS.get(name)(**params), bindings) for name, params, bindings in from_seeds_steps(
            db, num_variations=num_variations, num_questions=num_questions, num_cots=num_cots,
            num_attempts=num_attempts, cot_max_tokens=cot_max_tokens, dialect="postgres" if db_url else "sqlite")]

    def forward(self) -> None:
        for op, bindings in self.steps:
            op.run(self.storage, **bindings)
