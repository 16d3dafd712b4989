"""Grading a class: the crash-safe run, its journal, the preflight checks, local worker
pools and Dask workers."""
