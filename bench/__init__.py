"""Benchmarks: ``make bench`` (``python -m bench``). Each compares the project with a naive
baseline measured in the same run, on this machine, and prints one table."""
