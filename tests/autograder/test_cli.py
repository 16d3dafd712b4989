"""The rnngrade command line: limit flags from Limits, sizes, clear refusals."""
import dataclasses
import json

import pytest

from autograder import cli
from autograder.limits import Limits


def test_every_limit_is_a_flag_with_its_default_in_the_help(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["grade", "-h"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for f in dataclasses.fields(Limits):
        assert "--" + f.name.replace("_", "-") in text
    assert "(default 60)" in text  # cell_timeout
    assert "(default 2048 MiB)" in text  # memory_bytes
    for flag in ("--force", "--student", "--workers", "--scheduler", "--no-sandbox", "--course"):
        assert flag in text


def test_limit_flags_parse_sizes_and_override_only_what_is_given():
    args = cli.build_parser().parse_args(
        ["grade", "a1", "--memory-bytes", "512M", "--cell-timeout", "5", "--scratch-bytes", "1.5G"])
    limits = cli.limits_from_args(args)
    assert limits.memory_bytes == 512 * 2**20 and limits.cell_timeout == 5.0
    assert limits.scratch_bytes == int(1.5 * 2**30)
    assert limits.notebook_timeout == Limits().notebook_timeout


def test_bad_size_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["grade", "a1", "--memory-bytes", "lots"])
    assert exc.value.code == 2
    assert "expected a size like 512M" in capsys.readouterr().err


def test_missing_bubblewrap_says_how_to_proceed(course_root, monkeypatch, capsys):
    from autograder.isolation import sandbox

    monkeypatch.setattr(sandbox, "available", lambda: (False, "bwrap: setting up uid map: Permission denied"))
    code = cli.main(["grade", "fixture", "--course", str(course_root)])
    err = capsys.readouterr().err
    assert code == cli.EXIT_NO_SANDBOX
    assert "Permission denied" in err and "--no-sandbox" in err


def test_unknown_assignment_names_the_known_ones(course_root, capsys):
    code = cli.main(["report", "nope", "--course", str(course_root)])
    assert code == cli.EXIT_USAGE
    assert "known assignments: ['fixture']" in capsys.readouterr().err


def test_grade_prints_the_limits_before_grading_and_refuses_without_a_memory_bound(course_root, monkeypatch, capsys):
    from autograder.isolation import enforcement, sandbox
    from autograder.classrun import grade

    monkeypatch.setattr(sandbox, "available", lambda: (True, "fake"))
    graded = []
    monkeypatch.setattr(grade, "grade_assignment", lambda *a, **k: graded.append(capsys.readouterr().out) or
                        type("S", (), {"lines": lambda self: ["done"], "retry": [],
                                       "figures": lambda self: {"graded": 0}})())
    none = enforcement.Enforcement("none", "", "RLIMIT_NPROC", why="no cgroup; /proc is not readable")
    monkeypatch.setattr(enforcement, "choose", lambda sandbox=True: none)
    code = cli.main(["grade", "fixture", "--course", str(course_root)])
    out, err = capsys.readouterr()
    assert code == cli.EXIT_NO_MEMORY_LIMIT and not graded
    assert "memory NOT LIMITED" in out and "--no-memory-limit" in err and "/proc is not readable" in err
    assert cli.main(["grade", "fixture", "--course", str(course_root), "--no-memory-limit"]) == 0
    assert graded and "memory NOT LIMITED" in graded[0]  # printed before the first job
    dog = enforcement.Enforcement("rlimits + watchdog", "RLIMIT_DATA and a watchdog", "RLIMIT_NPROC")
    monkeypatch.setattr(enforcement, "choose", lambda sandbox=True: dog)
    assert cli.main(["grade", "fixture", "--course", str(course_root), "--memory-bytes", "1G"]) == 0
    assert graded[-1].splitlines()[-1].startswith("limits per job: memory 1024 MiB by rlimits + watchdog")


def test_grade_writes_the_run_summary_and_its_figures_beside_it(course_root, monkeypatch):
    from autograder.classrun import grade

    summary = grade.RunSummary("fixture", seconds=1.5, steps={"scan": 0.25, "merge": 0.5},
                               peak_rss_mib=120.0, cpu_seconds=2.0)
    monkeypatch.setattr(grade, "grade_assignment", lambda *a, **k: summary)
    assert cli.main(["grade", "fixture", "--course", str(course_root), "--no-sandbox",
                     "--no-memory-limit"]) == 0
    state = course_root / ".rnngrade" / "fixture"
    assert "peak memory 120 MiB" in (state / "last-run.txt").read_text()
    figures = json.loads((state / "last-run.json").read_text())
    assert figures["steps"] == {"scan": 0.25, "merge": 0.5} and figures["peak_rss_mib"] == 120.0
