"""rnngrade: the course's autograder.

Grading one submission (the engine) is :func:`autograder.grading.engine.grade_submission`; the
class-wide command line is :mod:`autograder.cli`. Student notebooks only ever import the
public modules :mod:`autograder.runtime` (hidden checks) and :mod:`autograder.hints`
(visible tests); :mod:`autograder.checks` holds the instructor's cases and verdicts and is
hidden from the sandbox. The contract is in ``docs/architecture.md`` ("Grading contract").
"""
