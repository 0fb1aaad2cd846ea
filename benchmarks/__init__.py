"""Benchmark suite behind ``make bench`` (not part of the installed package).

Run ``python benchmarks/run.py --help``; see docs/benchmarks.md.
"""
