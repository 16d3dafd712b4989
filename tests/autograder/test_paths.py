"""Tests of autograder.paths: student ids as safe, reversible folder names."""

import pytest

from autograder.paths import student_dirname, student_id, student_path


@pytest.mark.parametrize("student", ["alice", "Zoë 李", "../../x", "..", ".", "a/b\\c", "x%2Fy", "tab\there", ".hidden"])
def test_dirname_is_one_safe_component_and_reversible(tmp_path, student):
    name = student_dirname(student)
    assert "/" not in name and "\\" not in name and name not in (".", "..") and not name.startswith(".")
    assert student_id(name) == student
    assert student_path(tmp_path, student).parent == tmp_path.resolve()


def test_readable_names_stay_readable_and_ids_do_not_collide():
    assert student_dirname("Zoë_李") == "Zoë_李"
    assert student_dirname("../../x") == "%2E.%2F..%2Fx"
    assert student_dirname("a/b") != student_dirname("a%2Fb")


@pytest.mark.parametrize("bad", ["", None, "x" * 201])
def test_bad_ids_raise(bad):
    with pytest.raises(ValueError, match="student id"):
        student_dirname(bad)
