"""Benchmarks of gogoroutines against what users would pick instead.

Run ``python -m benchmarks`` from the repository root (``--quick`` for a smoke
run). Contenders run interleaved (A B A B ...) and medians are reported.
"""
