"""Benchmarks: jaxnn against the bare JAX loop (``fit``, ``restarts``), against
peer libraries (``peer_comparison``, its peers in :mod:`experiments.bench.peers`),
and one process against two (``distributed``). Run ``python -m experiments bench --help``.
"""
