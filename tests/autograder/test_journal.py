"""Unit tests of autograder.journal: atomic records, parsed once into a typed record."""

import json
from types import SimpleNamespace

from autograder.grades import CaseMessage, CellGrade, GradeResult
from autograder.journal import Journal, JournalRecord, atomic_write_text


def _journal(tmp_path) -> Journal:
    return Journal(SimpleNamespace(state=tmp_path / ".rnngrade"), "a1")


def _record(student="ann") -> dict:
    result = GradeResult("a1", student, "tampered", reasons=["moved a cell"])
    grade = CellGrade("a1.ipynb", "q1", 1.5, 3.0, "partial",
                      [CaseMessage("q1: case 0", True, "ok", hidden=True),
                       CaseMessage("visible tests", False, "assert failed")])
    result.grades["q1"] = grade
    return {"student": student, "assignment": "a1", "checksum": "c0ffee",
            "graded_at": 12.5, "attempt_id": "x1", "merged": False,
            "result": result.to_dict()}


def test_a_written_record_reads_back_equal_and_leaves_no_temporary(tmp_path):
    journal = _journal(tmp_path)
    journal.folder.mkdir(parents=True)
    journal.write(_record())
    assert journal.read("ann") == json.loads(json.dumps(_record()))
    assert journal.read("bob") is None
    assert [p.name for p in journal.folder.iterdir()] == ["ann.json"]
    assert journal.path("ann").stat().st_mode & 0o777 == 0o600


def test_an_unreadable_record_is_missing_and_stale_temporaries_are_cleaned(tmp_path):
    journal = _journal(tmp_path)
    journal.folder.mkdir(parents=True)
    journal.path("ann").write_text("{half a rec")
    (journal.folder / ".ann.json.tmp").write_text("x")
    assert journal.read("ann") is None
    assert journal.clean_stale_temporaries() == 1
    assert journal.records() == {}


def test_the_typed_record_holds_the_result_and_round_trips(tmp_path):
    journal = _journal(tmp_path)
    journal.folder.mkdir(parents=True)
    journal.write(_record())
    rec = journal.parsed()["ann"]
    assert isinstance(rec, JournalRecord) and isinstance(rec.result, GradeResult)
    assert (rec.checksum, rec.graded_at, rec.merged) == ("c0ffee", 12.5, False)
    assert rec.result.status == "tampered"
    assert rec.result.points == 1.5 and rec.result.max_points == 3.0
    assert [m.hidden for m in rec.result.grades["q1"].messages] == [True, False]
    assert JournalRecord.from_dict(rec.to_dict()) == rec


def test_a_record_written_before_the_hidden_flag_is_judged_by_name_once_when_parsed():
    data = _record()
    for m in data["result"]["grades"]["q1"]["messages"]:
        del m["hidden"]
    rec = JournalRecord.from_dict(data)
    assert [m.hidden for m in rec.result.grades["q1"].messages] == [True, False]


def test_atomic_write_replaces_the_file_whole(tmp_path):
    path = tmp_path / "f.txt"
    atomic_write_text(path, "old")
    atomic_write_text(path, "new", mode=0o640)
    assert path.read_text() == "new" and path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]
