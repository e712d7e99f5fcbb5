"""Text-to-SQL data from databases alone: SQL written by the model and kept only when execution verifies it,
then a question for it, a check that they agree, a prompt, chains of thought voted by execution, and
two difficulty labels.

Steps (``from_databases.yaml`` lists the same ones; a test keeps them in sync)::

     1 SQLGenerator                  num_sql queries per database row, of cycled complexity; each must
                                     parse and execute                             -> SQL, sql_complexity
     2 SQLExecutionFilter            keep SQL that returns rows (an empty result teaches nothing)
     3 SQLTemplateDeduplicateFilter  one query per template (literals masked) and database -> sql_template
     4 Text2SQLQuestionGenerator     candidate questions, the most central kept     -> question, evidence
     5 Text2SQLCorrespondenceFilter  the model checks that the SQL answers the question
     6 Text2SQLPromptGenerator       schema + question as a text-to-SQL prompt      -> prompt
     7 Text2SQLCoTGenerator          chains of thought ending in SQL                -> cot_responses
     8 Text2SQLCoTVotingGenerator    execute them, vote on results; the winner must return the SQL's
                                     result                                          -> cot_reasoning, voted_SQL, cot_votes
     9 SQLComponentClassifier        Spider hardness of the SQL                     -> sql_component_difficulty
    10 SQLExecutionClassifier        how often the model gets it right             -> sql_execution_difficulty

Input rows name a database in ``db_id`` (one row per database; a row may repeat to ask for more).
Every kept row holds SQL that executes, a question, and a chain of thought whose SQL returns the same
result; each dropped row keeps its reason in the run's cache (``dataflow inspect <cache_dir>
--dropped``) and ``run.json`` gives the yield of every step. Run it::

    from dataflow.pipelines.text2sql.from_databases import Text2SQLFromDatabasesPipeline
    Text2SQLFromDatabasesPipeline("databases.jsonl", "text2sql.jsonl", db_root="spider/database").run()

or ``dataflow run dataflow/pipelines/text2sql/from_databases.yaml`` (its ``db_root``, like its input,
is relative to the spec's folder).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dataflow.core.pipeline import Pipeline
from dataflow.core.registry import OPERATORS

SPEC_PATH = Path(__file__).with_name("from_databases.yaml")
Step = tuple[str, dict[str, Any], dict[str, Any]]


def database_params(db_root: str | None = None, db_url: str | None = None, timeout_s: float = 10.0) -> dict[str, Any]:
    """The params every database step gets."""
    if (db_root is None) == (db_url is None):
        raise ValueError("give exactly one of db_root (SQLite) or db_url (PostgreSQL)")
    params: dict[str, Any] = {"db_root": db_root} if db_root is not None else {"db_url": db_url}
    return params if timeout_s == 10.0 else {**params, "timeout_s": timeout_s}


def from_databases_steps(db: dict[str, Any], *, num_sql: int = 4, num_questions: int = 3, num_cots: int = 3,
                         num_attempts: int = 5, cot_max_tokens: int = 1024, dialect: str = "sqlite") -> list[Step]:
    """The steps of :class:`Text2SQLFromDatabasesPipeline` (see the module docstring)."""
    return [
        ("SQLGenerator", {**db, "num_sql": num_sql}, {"input_db_id_key": "db_id"}),
        ("SQLExecutionFilter", {**db}, {"input_sql_key": "SQL", "input_db_id_key": "db_id"}),
        ("SQLTemplateDeduplicateFilter", {"dialect": dialect}, {"input_sql_key": "SQL", "input_db_id_key": "db_id"}),
        ("Text2SQLQuestionGenerator", {**db, "num_candidates": num_questions},
         {"input_sql_key": "SQL", "input_db_id_key": "db_id", "output_question_key": "question",
          "output_evidence_key": "evidence"}),
        ("Text2SQLCorrespondenceFilter", {**db},
         {"input_question_key": "question", "input_sql_key": "SQL", "input_evidence_key": "evidence",
          "input_db_id_key": "db_id"}),
        ("Text2SQLPromptGenerator", {**db},
         {"input_question_key": "question", "input_evidence_key": "evidence", "input_db_id_key": "db_id"}),
        ("Text2SQLCoTGenerator", {**db, "num_candidates": num_cots, "max_tokens": cot_max_tokens},
         {"input_prompt_key": "prompt", "input_sql_key": "SQL", "input_db_id_key": "db_id"}),
        ("Text2SQLCoTVotingGenerator", {**db},
         {"input_cot_key": "cot_responses", "input_sql_key": "SQL", "input_db_id_key": "db_id"}),
        ("SQLComponentClassifier", {"dialect": dialect}, {"input_sql_key": "SQL"}),
        ("SQLExecutionClassifier", {**db, "num_generations": num_attempts, "max_tokens": cot_max_tokens},
         {"input_prompt_key": "prompt", "input_sql_key": "SQL", "input_db_id_key": "db_id"}),
    ]


class Text2SQLFromDatabasesPipeline(Pipeline):
    """Databases to verified question / SQL / chain-of-thought samples (see the module docstring).

    ``db_root`` (SQLite: Spider's layout, a folder of ``<db_id>.sqlite`` or ``.sql`` files, or one file)
    or ``db_url`` (PostgreSQL) says where the databases are; ``num_sql`` queries are asked per input
    row, ``num_questions`` candidate questions per query, ``num_cots`` chains of thought per sample and
    ``num_attempts`` SQL attempts for the execution difficulty (``cot_max_tokens`` bounds the answers of
    both). Other keyword arguments go to
    :class:`~dataflow.core.pipeline.Pipeline` (``serving``, ``cache_dir``, ``chunk_size``, ...).
    """

    def __init__(self, input: str | Path | None = None, output: str | Path | None = None, *,
                 db_root: str | None = None, db_url: str | None = None, timeout_s: float = 10.0,
                 num_sql: int = 4, num_questions: int = 3, num_cots: int = 3, num_attempts: int = 5,
                 cot_max_tokens: int = 1024, **kwargs: Any) -> None:
        super().__init__(input, output, **kwargs)
        db = database_params(db_root, db_url, timeout_s)
        dialect = "postgres" if db_url else "sqlite"
        self.steps = [(OPERATORS.get(name)(**params), bindings) for name, params, bindings in from_databases_steps(
            db, num_sql=num_sql, num_questions=num_questions, num_cots=num_cots, num_attempts=num_attempts,
            cot_max_tokens=cot_max_tokens, dialect=dialect)]

    def forward(self) -> None:
        for op, bindings in self.steps:
            op.run(self.storage, **bindings)
