"""Grading one submission: the engine's steps (validate, restore, shortcuts, run, score),
the kernel's lifecycle and the executor, under autograder.limits."""
