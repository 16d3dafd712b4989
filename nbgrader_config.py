"""nbgrader configuration for the course: sources in solutions/, student versions in exercises/.

With this file at the repository root, nbgrader's own commands work unchanged, e.g.
``nbgrader generate_assignment a1_rnn_cell --force`` writes ``exercises/a1_rnn_cell/``.
"""

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.root = "."
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# Markdown files in an assignment's source folder would be copied into the release with
# their solutions in them; sources are kept as .ipynb only and anything else is ignored.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.md", "*.bak",
]
c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\nraise NotImplementedError()",
}
