"""Grading a class: the crash-safe run (its options, planning and batching), the preflight
checks, local worker pools and Dask workers; results are journaled in autograder.journal."""
