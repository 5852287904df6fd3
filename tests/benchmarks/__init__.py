"""Tests of the benchmark harness and its scenarios (never of speed)."""
