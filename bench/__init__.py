"""Benchmarks: index throughput, query latency, quality at scale, against a plain baseline.

Run ``make bench`` or ``python -m bench.run`` (``--quick`` for sizes 1 and 1,000; ``--help``
for the rest). Numbers are printed and saved under ``bench/results/``; nothing here asserts
anything about time. ``bench.run`` orchestrates and ``bench.report`` renders; each step runs in
its own process (``bench.workers`` → ``bench.tasks``). Needs the ``bench`` extra.
"""
