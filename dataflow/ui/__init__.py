"""``dataflow ui``: a local web app over the library (operators, pipeline builder, runs, reports, row
lookup, the agent). See :mod:`dataflow.ui.server`; the page is plain HTML/JS/CSS in ``static/``."""
