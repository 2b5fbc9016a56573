"""Benchmarks: the per-packet floor and the load-test runner (`make bench`)."""
