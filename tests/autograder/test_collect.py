"""collect: LMS downloads and nbgrader trees into submitted/, nothing lost, nothing escaping."""
import json
import os
import zipfile
from pathlib import Path

import nbformat

from autograder.intake.collect import Collector
from autograder.course import Course


def _nb(tag: str) -> bytes:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"x = {tag!r}", id="cell-0")])
    return nbformat.writes(nb).encode()


def _files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_lms_folder_places_matching_files_and_reports_the_rest(course_root, tmp_path):
    downloads = tmp_path / "dl"
    downloads.mkdir()
    (downloads / "alice_fixture.ipynb").write_bytes(_nb("alice"))
    (downloads / "bob_smith_fixture.ipynb").write_bytes(_nb("bob"))  # underscore in the id
    (downloads / "carol_fixture_fixture.ipynb").write_bytes(_nb("carol"))  # with the notebook name
    (downloads / "dave_a9.ipynb").write_bytes(_nb("dave"))  # unknown assignment
    (downloads / "notes.txt").write_text("hello")
    (downloads / "eve_fixture.ipynb").write_bytes(b"{not json")  # placed, flagged as malformed later
    os.symlink("/etc/passwd", downloads / "mallory_fixture.ipynb")
    course = Course.from_root(course_root)

    collector = Collector(course)
    collector.from_lms_folder(downloads)
    report = collector.report

    placed = {(p.student, p.assignment) for p in report.placed}
    assert placed == {("alice", "fixture"), ("bob_smith", "fixture"), ("carol", "fixture"), ("eve", "fixture")}
    assert (course.submitted / "bob_smith" / "fixture" / "fixture.ipynb").read_bytes() == _nb("bob")
    assert any("malformed" in p.note for p in report.placed if p.student == "eve")
    unmatched = {Path(u.source).name: u for u in report.unmatched}
    assert set(unmatched) == {"dave_a9.ipynb", "notes.txt", "mallory_fixture.ipynb"}
    assert "known assignment" in unmatched["dave_a9.ipynb"].reason
    assert "symbolic link" in unmatched["mallory_fixture.ipynb"].reason
    # Unmatched content is kept, never lost.
    kept = course.root / unmatched["dave_a9.ipynb"].kept_at
    assert kept.read_bytes() == _nb("dave")
    text = "\n".join(report.lines())
    assert "dave_a9.ipynb" in text and "could not place 3" in text


def test_path_like_and_unicode_ids_stay_inside_the_course(course_root, tmp_path):
    archive = tmp_path / "batch.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("José_fixture.ipynb", _nb("jose"))
        zf.writestr("张伟_fixture.ipynb", _nb("zhang"))
        zf.writestr("..%2F..%2Fx_fixture.ipynb", _nb("enc"))
        zf.writestr("../../x_fixture.ipynb", _nb("traversal"))  # refused by the zip reader
        zf.writestr("..\\..\\y_fixture.ipynb", _nb("backslash"))
    course = Course.from_root(course_root)
    def outside():
        return {f for f in _files_under(tmp_path) if not f.startswith("course/")}

    before = outside()

    collector = Collector(course)
    collector.from_zip(archive)
    report = collector.report

    # Nothing was written outside the course directory.
    assert outside() == before == {"batch.zip"}
    students = {p.student for p in report.placed}
    assert len(students) == 3 and all(s.isascii() and "/" not in s for s in students)
    assert set(report.renamed) == {"José", "张伟", "..%2F..%2Fx"}
    for p in report.placed:
        dest = (course.root / p.dest).resolve()
        assert dest.is_relative_to(course.submitted.resolve())
    unmatched = {u.source.split("!")[1]: u for u in report.unmatched}
    assert "traversal" in unmatched["../../x_fixture.ipynb"].reason
    assert "backslash" in unmatched["..\\..\\y_fixture.ipynb"].reason
    # Refused, reported, and kept inside the course: never lost.
    kept = course.root / unmatched["../../x_fixture.ipynb"].kept_at
    assert kept.read_bytes() == _nb("traversal") and kept.resolve().is_relative_to(course.state.resolve())


def test_nbgrader_tree_is_copied_and_recollecting_reports_unchanged_or_replaced(course_root, tmp_path):
    tree = tmp_path / "inbox"
    (tree / "alice" / "fixture").mkdir(parents=True)
    (tree / "alice" / "fixture" / "fixture.ipynb").write_bytes(_nb("v1"))
    (tree / "alice" / "fixture" / "timestamp.txt").write_text("2030-01-01 10:00:00.000000 UTC")
    (tree / "alice" / "other").mkdir()
    course = Course.from_root(course_root)

    first = Collector(course)
    first.from_nbgrader_tree(tree)
    assert [p.action for p in first.report.placed] == ["new"]
    assert (course.submitted / "alice" / "fixture" / "timestamp.txt").read_text().startswith("2030")
    assert "unknown assignment 'other'" in first.report.unmatched[0].reason

    again = Collector(course)
    again.from_nbgrader_tree(tree)
    assert [p.action for p in again.report.placed] == ["unchanged"]

    (tree / "alice" / "fixture" / "fixture.ipynb").write_bytes(_nb("v2"))
    third = Collector(course)
    third.from_nbgrader_tree(tree)
    assert [p.action for p in third.report.placed] == ["replaced"]
    assert (course.submitted / "alice" / "fixture" / "fixture.ipynb").read_bytes() == _nb("v2")
    backups = list((course.state / "replaced" / "alice" / "fixture").iterdir())
    assert [b.read_bytes() for b in backups] == [_nb("v1")]


def test_two_files_for_one_student_keep_the_first_and_report_the_second(course_root, tmp_path):
    downloads = tmp_path / "dl"
    downloads.mkdir()
    (downloads / "alice_fixture.ipynb").write_bytes(_nb("loose"))
    with zipfile.ZipFile(downloads / "z.zip", "w") as zf:
        zf.writestr("alice_fixture.ipynb", _nb("zipped"))
    course = Course.from_root(course_root)
    collector = Collector(course)
    collector.from_lms_folder(downloads)
    assert len(collector.report.placed) == 1
    assert "second file" in collector.report.unmatched[0].reason
    assert json.loads(collector.report.to_json())["unmatched"][0]["kept_at"]


def _downloads(tmp_path) -> Path:
    """An LMS download with one file of each fate: placed, renamed, refused."""
    downloads = tmp_path / "dl"
    downloads.mkdir()
    (downloads / "alice_fixture.ipynb").write_bytes(_nb("alice"))
    (downloads / "José_fixture.ipynb").write_bytes(_nb("jose"))
    (downloads / "dave_a9.ipynb").write_bytes(_nb("dave"))
    return downloads


def test_report_lists_every_file_its_fate_and_why(course_root, tmp_path):
    course = Course.from_root(course_root)
    collector = Collector(course)
    collector.from_lms_folder(_downloads(tmp_path))
    lines = collector.report.lines()
    jose = next(p for p in collector.report.placed if p.source.endswith("José_fixture.ipynb"))

    assert lines[0] == "collected: 2 new; 1 student id(s) renamed; 1 file(s) not placed"
    placed = [line for line in lines if line.lstrip().startswith("new ")]
    assert len(placed) == 2
    assert any(f"alice_fixture.ipynb -> submitted{os.sep}alice{os.sep}fixture{os.sep}fixture.ipynb" in line
               for line in placed)
    assert any(f"José_fixture.ipynb -> {jose.dest}" in line for line in placed)
    assert f"  'José' -> {jose.student!r}" in lines
    dave = next(line for line in lines if "dave_a9.ipynb" in line)
    assert "known assignment" in dave and "copy kept at .rnngrade" in dave
    assert not any("DRY RUN" in line for line in lines)

    # Collecting a changed file again says where the replaced copy went.
    (tmp_path / "dl" / "alice_fixture.ipynb").write_bytes(_nb("alice v2"))
    again = Collector(course)
    again.from_lms_folder(tmp_path / "dl")
    replaced = next(line for line in again.report.lines() if line.lstrip().startswith("replaced"))
    backup = next((course.state / "replaced" / "alice" / "fixture").iterdir())
    assert str(backup.relative_to(course.root)) in replaced


def test_dry_run_changes_nothing_and_says_so(course_root, tmp_path, capsys):
    from autograder import cli

    downloads = _downloads(tmp_path)
    before = _files_under(course_root)

    code = cli.main(["collect", "--lms", str(downloads), "--course", str(course_root), "--dry-run"])

    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert _files_under(course_root) == before  # nothing placed, kept, renamed or reported
    assert out[0] == "DRY RUN: nothing was changed. This is what rnngrade collect would do:"
    assert out[-1].startswith("DRY RUN: nothing was written")
    assert out[1].startswith("would collect: 2 new")
    assert any("alice_fixture.ipynb -> submitted" in line for line in out)
    assert any("dave_a9.ipynb" in line and "known assignment" in line for line in out)

    # The same command for real places the files and no longer says it changed nothing.
    assert cli.main(["collect", "--lms", str(downloads), "--course", str(course_root)]) == 0
    out = capsys.readouterr().out
    assert "DRY RUN" not in out and out.startswith("collected: 2 new")
    assert (course_root / "submitted" / "alice" / "fixture" / "fixture.ipynb").read_bytes() == _nb("alice")
