"""Smoke tests of the scaling benchmarks (not timed tests: they check the figures exist and
that a class that did not grade as built is reported, never printed as a throughput)."""
import importlib.util
import json
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_each_class_level_step_is_timed_on_a_fresh_course(tmp_path):
    bench_merge = _load("bench_merge")
    times = bench_merge.step_times(5, 2, tmp_path)
    assert set(times) == set(bench_merge.SCALE_STEPS)
    assert all(t > 0 for t in times.values())
    assert (tmp_path / "grades.csv").read_text().count("\n") == 1 + 5
    assert (tmp_path / "report.html").is_file()


def test_a_class_that_did_not_grade_as_built_is_named(released_course):
    from autograder.course import Course
    from autograder.grades import GradeResult
    from autograder.journal import Journal
    from autograder.synthetic import class_mix, write_class

    bench_scale = _load("bench_scale")
    course = Course.from_root(released_course)
    kinds = write_class(course, "fixture", class_mix(4))
    root = course.root
    journal = Journal(course, "fixture")
    student = next(s for s, k in kinds.items() if k == "loop")
    journal.write({"student": student, "assignment": "fixture", "merged": True,
                   "result": GradeResult("fixture", student, "graded").to_dict()})
    problems = bench_scale.check_class(root, "fixture", kinds, {"graded": 4, "retry": 0})
    assert f"{student}: status graded, expected timeout" in problems
    assert sum("no journal record" in p for p in problems) == 3


@pytest.mark.slow
@pytest.mark.needs_sandbox
def test_the_scaling_mode_runs_a_tiny_class_end_to_end(tmp_path, capsys):
    bench_scale = _load("bench_scale")
    out = tmp_path / "figures.json"
    code = bench_scale.main(["--scale", "4", "--dask", "0", "--cell-timeout", "2",
                             "--json", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "cost per submission, class of 4 over class of 4: 1.00" in printed
    figures = json.loads(out.read_text())
    row = figures["rows"][0]
    assert row["graded"] == 4 and row["problems"] == [] and row["peak_rss_mib"] > 0
    assert set(row["steps"]) == {"scan", "grading", "merge", "journal"}
