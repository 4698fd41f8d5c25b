"""Benchmarks for jpf_widget: ratios and counts measured side by side in one run.

``python -m benchmarks`` runs them all and prints a table; ``python -m benchmarks ingest live``
runs some. They are not part of the test suite.
"""
