"""Math reasoning pipelines (see :mod:`dataflow.pipelines.reasoning.math_pipeline`)."""
