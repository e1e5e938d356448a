"""Benchmarks for healthcode: ``make bench`` (``python -m bench``) prints a Markdown report.

Every figure is a ratio against a baseline measured in the same run on the same core, so the
report stays meaningful on a shared, noisy machine; docs/PERFORMANCE.md holds a pasted run.
"""
