"""Reproducible performance measurements of the badges service (see benchmarks/README.md)."""
