"""Benchmarks: each module prints its figures as ratios against a raw peer measured in the same run."""
