"""Unit tests of autograder.classrun.worker: the job as plain data, what comes back."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from autograder.classrun import worker
from autograder.grades import GradeResult
from autograder.limits import Limits, SandboxPolicy


def _submission(tmp_path) -> SimpleNamespace:
    folder = tmp_path / "submitted" / "ann" / "a1"
    folder.mkdir(parents=True)
    (folder / "a1.ipynb").write_bytes(b"{notebook}")
    (folder / "data").mkdir()
    (folder / "data" / "x.ipynb").write_bytes(b"nested")
    return SimpleNamespace(path=folder, student="ann", assignment="a1",
                           files=["a1.ipynb", "data/x.ipynb"])


def test_payload_carries_top_level_notebooks_limits_and_the_policy(tmp_path):
    limits = Limits(cell_timeout=7)
    payload = worker.build_payload(None, _submission(tmp_path), limits,
                                   SandboxPolicy(enabled=False),
                                   sources={"a1.ipynb": b"src"}, files={"d.csv": b"1"})
    assert payload["notebooks"] == {"a1.ipynb": b"{notebook}"}
    assert Limits.from_dict(payload["limits"]) == limits
    assert SandboxPolicy.of(payload["sandbox"]) == SandboxPolicy(enabled=False)
    assert payload["sources"] == {"a1.ipynb": b"src"}
    assert payload["files"] == {"d.csv": b"1"}
    other = worker.build_payload(None, _submission(tmp_path / "b"), limits, True,
                                 sources={})
    assert other["sandbox"] == SandboxPolicy().to_dict()


def test_a_lost_job_is_an_empty_result_of_the_engines_own_shape():
    lost = worker.lost_result("a1", "ann", "error", "the worker died")
    result = GradeResult.from_dict(lost["result"])
    assert (result.status, result.grades) == ("error", {})
    assert result.reasons == ["the worker died"]
    assert set(lost["result"]) == set(GradeResult("a1", "ann").to_dict())
    assert worker.retry_result("scheduler lost") == {"retry": "scheduler lost"}


def test_an_engine_failure_is_an_error_result_and_the_copy_is_deleted(tmp_path,
                                                                       monkeypatch):
    from autograder.grading import engine

    seen = []

    def boom(job, limits, sandbox):
        seen.append((Path(job.submission[0]).read_bytes(), sandbox))
        raise RuntimeError("engine bug")

    monkeypatch.setattr(engine, "grade_submission", boom)
    made = []
    mkdtemp = worker.tempfile.mkdtemp
    monkeypatch.setattr(worker.tempfile, "mkdtemp",
                        lambda **kw: made.append(mkdtemp(**kw)) or made[-1])
    payload = worker.build_payload(None, _submission(tmp_path), Limits(), False,
                                   sources={"a1.ipynb": b"s"})
    out = worker.grade_payload(payload)
    assert seen == [(b"{notebook}", SandboxPolicy(enabled=False))]
    assert out["result"]["status"] == "error"
    assert "engine bug" in out["result"]["reasons"][0]
    assert out["autograded_notebooks"] == {}
    assert "worker_total" in out["result"]["timings"]
    assert len(made) == 1 and not Path(made[0]).exists(), "the copy is deleted"


def test_a_worker_with_other_code_is_unfit(monkeypatch):
    from autograder.classrun import preflight

    here = {"autograder": "x", "rnnlab": "y", "checks": "z"}
    monkeypatch.setattr(worker, "_loaded_checks", None)  # restored after: no reload
    monkeypatch.setattr(preflight, "code_fingerprints", lambda: dict(here))
    with pytest.raises(worker.WorkerUnfit, match="other autograder code"):
        worker.check_fit({"code": dict(here, autograder="other"), "sandbox": False})
    worker.check_fit({"code": dict(here), "sandbox": False})
