"""Print the mutation-score table of the assignments at the end of the run."""

import os

# Solution cells may plot; no display here.
os.environ.setdefault("MPLBACKEND", "Agg")

import harness  # noqa: E402  (after the backend is chosen)


def pytest_terminal_summary(terminalreporter):
    lines = harness.mutation_table()
    if lines:
        terminalreporter.section("mutation scores of the hidden checks")
        for line in lines:
            terminalreporter.write_line(line)
        terminalreporter.write_line("")
        for line in harness.per_check_table():
            terminalreporter.write_line(line)
        path = harness.write_summary()
        if path is not None:
            terminalreporter.write_line(f"(also written to {path})")
