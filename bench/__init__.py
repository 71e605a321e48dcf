"""Benchmarks that hold the performance figures (`make bench`); see bench/run.py."""
