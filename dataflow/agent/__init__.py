"""DataFlow-Agent: from a plain-language request and the user's data to a compiled, dry-run pipeline spec.

The pieces, each deterministic and usable alone:

* :mod:`dataflow.agent.profile`: what the data looks like (columns, types, examples, sizes);
* :mod:`dataflow.agent.catalog`: the operator catalogue from the registry and a shortlist by retrieval;
* :mod:`dataflow.agent.spec_schema`: a JSON Schema of a spec over the shortlist, for constrained decoding;
* :mod:`dataflow.agent.dry_run`: compile a spec and run it on a sample of the rows under a time limit;
* :mod:`dataflow.agent.session`: the record of a session (prompts, answers, decisions), replayable;
* :mod:`dataflow.agent.synthesis`: operators the model writes when none fits, checked and sandbox-tested;
* :mod:`dataflow.agent.planner`: the loop tying them together (``build_pipeline``, ``refine_pipeline``).

Nothing heavy is imported here: ``import dataflow.agent`` stays cheap.
"""
