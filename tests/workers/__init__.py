"""Tests of the activity executors: worker processes and the thread pool."""
