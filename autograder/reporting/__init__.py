"""What a run produced: the gradebook merge, one row per student, CSV export, feedback
pages, the instructor's report."""
