"""Benchmarks that print figures (not tests): run them all with `python -m bench.run`."""
