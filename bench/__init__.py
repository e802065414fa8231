"""Benchmarks: index throughput, query latency, quality at scale, against a plain baseline.

Run ``python -m bench.run`` (``--quick`` for sizes 1 and 1,000). Numbers are printed and saved
under ``bench/results/``; nothing here asserts anything about time.
"""
