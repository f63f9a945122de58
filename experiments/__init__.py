"""The course reproduced with jaxnn's public API: one module per lesson, plus benchmarks.

Run ``python -m experiments --help``.
"""
