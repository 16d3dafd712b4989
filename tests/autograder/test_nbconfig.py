"""The nbgrader settings rnngrade honours: which files reach the kernel, Execute.timeout."""
from pathlib import Path

import pytest

from autograder import nbconfig
from autograder.checks.base import DEFAULT_FORBIDDEN, has_checks, load_forbidden


def _tree(root: Path, files: dict) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_files_are_the_submissions_then_the_sources_as_nbgrader_copies_them(tmp_path):
    source = _tree(tmp_path / "source", {"p1.ipynb": "{}", "data.csv": "master\n", "helper.py": "master\n",
                                         "sub/more.txt": "m\n", "feedback/x.txt": "no", "a.pyc": "no"})
    sub = _tree(tmp_path / "sub", {"p1.ipynb": "{}", "data.csv": "student\n", "helper.py": "student\n",
                                   "mine.txt": "s\n", "__pycache__/x.py": "no", "timestamp.txt": "t"})
    settings = nbconfig.NbgraderSettings(exclude_overwriting={"ps-1": ["helper.py"]})
    files = nbconfig.autograded_files(source, sub, "ps-1", settings)
    assert files == {"data.csv": b"master\n", "helper.py": b"student\n", "sub/more.txt": b"m\n",
                     "mine.txt": b"s\n", "timestamp.txt": b"t"}
    # Another assignment's exclusions do not apply.
    assert nbconfig.autograded_files(source, sub, "ps2", settings)["helper.py"] == b"master\n"


def test_include_and_max_file_size_filter_the_files(tmp_path):
    source = _tree(tmp_path / "source", {"big.bin": "x" * 3000, "keep.csv": "k", "skip.txt": "s"})
    settings = nbconfig.NbgraderSettings(include=("*.csv", "*.bin"), max_file_size=2)  # kB
    assert nbconfig.autograded_files(source, tmp_path / "none", "a", settings) == {"keep.csv": b"k"}


def test_links_in_a_submission_are_never_followed(tmp_path):
    sub = _tree(tmp_path / "sub", {"ok.txt": "ok"})
    (tmp_path / "secret").write_text("secret")
    (sub / "link.txt").symlink_to(tmp_path / "secret")
    files = nbconfig.autograded_files(tmp_path / "nosource", sub, "a", nbconfig.NbgraderSettings())
    assert files == {"ok.txt": b"ok"}


def test_settings_come_from_the_courses_nbgrader_config(tmp_path):
    assert nbconfig.load(tmp_path) == nbconfig.NbgraderSettings()
    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()\nc.Execute.timeout = 7\nc.CourseDirectory.ignore = ['*.bak']\n"
        "c.Autograde.exclude_overwriting = {'a': ['h.py']}\n")
    s = nbconfig.load(tmp_path)
    assert (s.cell_timeout, s.ignore, s.exclude_overwriting) == (7.0, ("*.bak",), {"a": ["h.py"]})


@pytest.mark.parametrize("name", ["ps-1", "no_such_assignment", "../etc", ""])
def test_an_assignment_without_checks_has_the_default_forbidden_list(name):
    assert not has_checks(name)
    assert load_forbidden(name) == DEFAULT_FORBIDDEN


def test_an_assignment_with_checks_is_recognised():
    assert has_checks("fixture")


def _notebook(folder: Path, name: str, kernelspec: dict) -> None:
    import nbformat

    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(metadata={"kernelspec": kernelspec}), str(folder / name))


def test_a_python_kernelspec_maps_onto_the_sandbox_kernel_and_another_language_is_refused(tmp_path):
    _notebook(tmp_path / "a", "p1.ipynb", {"name": "python3", "language": "python", "display_name": "Python 3"})
    assert nbconfig.kernel_note(tmp_path / "a") == ""
    _notebook(tmp_path / "a", "p2.ipynb", {"name": "conda-env-ml", "language": "python", "display_name": "ML"})
    assert "conda-env-ml" in nbconfig.kernel_note(tmp_path / "a")
    _notebook(tmp_path / "b", "p1.ipynb", {"name": "ir", "language": "R", "display_name": "R"})
    with pytest.raises(ValueError, match="Python notebooks only"):
        nbconfig.kernel_note(tmp_path / "b")


def test_grading_settings_map_onto_limits_and_the_rest_are_named(tmp_path):
    from autograder.limits import Limits

    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()\nc.Execute.timeout = 7\nc.LimitOutput.max_lines = 50\n"
        "c.Execute.allow_errors = True\nc.ExecutePreprocessor.timeout = 3\n")
    settings = nbconfig.load(tmp_path)
    assert settings.ignored == ("Execute.allow_errors", "ExecutePreprocessor.timeout")
    limits, notes = nbconfig.apply_limits(settings, Limits())
    assert (limits.cell_timeout, limits.output_lines_per_cell) == (7.0, 50)
    assert "Execute.allow_errors, ExecutePreprocessor.timeout" in notes[-1]
    limits, notes = nbconfig.apply_limits(settings, Limits(cell_timeout=20), frozenset({"cell_timeout"}))
    assert (limits.cell_timeout, limits.output_lines_per_cell) == (20.0, 50)
    assert "overridden by --cell-timeout" in notes[0]
