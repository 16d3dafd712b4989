"""Grade fixture notebooks in this process and print one JSON line per result (run as any user).

    python tests/autograder/grade_as.py WORKDIR LIMITS_JSON NOTEBOOK...

The notebooks are graded against the fixture assignment, or against GRADE_AS_ASSIGNMENT with
its source in GRADE_AS_SOURCE (e.g. a course solution graded as its own submission).

Used by test_unprivileged.py, which runs it as a throwaway unprivileged user: WORKDIR must be
writable by that user; the notebooks and the repository must be readable by it.
"""
import json
import os
import shutil
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SOURCE = FIXTURES / "course" / "solutions" / "fixture"


def main(workdir: str, limits_json: str, notebooks: list) -> None:
    from autograder.isolation.enforcement import choose
    from autograder.grading.engine import GradeJob, Limits, grade_submission

    limits = Limits.from_dict(json.loads(limits_json))
    os.environ["RNNGRADE_TMP"] = str(Path(workdir) / "jobs")
    Path(os.environ["RNNGRADE_TMP"]).mkdir(parents=True, exist_ok=True)
    print(json.dumps({"uid": os.geteuid(), "line": choose().line(limits)}), flush=True)
    for nb in notebooks:
        folder = Path(workdir) / "submitted" / Path(nb).stem / "fixture"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(nb, folder / "fixture.ipynb")
        assignment = os.environ.get("GRADE_AS_ASSIGNMENT", "fixture")
        source = Path(os.environ.get("GRADE_AS_SOURCE", SOURCE))
        if assignment != "fixture":
            os.replace(folder / "fixture.ipynb", folder / Path(nb).name)
        job = GradeJob(assignment, Path(nb).stem, folder / (Path(nb).name if assignment != "fixture" else "fixture.ipynb"), source,
                       output_dir=Path(workdir) / "autograded" / Path(nb).stem)
        result = grade_submission(job, limits)
        print(json.dumps({"case": Path(nb).stem, "result": result.to_dict(),
                          "leftover_jobs": _leftovers()}), flush=True)


def _leftovers() -> list:
    """The job base's entries but the running warm parent's folder (it outlives each job)."""
    from autograder.isolation import zygote_host

    keep = zygote_host.current_root()
    return [p for p in os.listdir(os.environ["RNNGRADE_TMP"]) if keep is None or p != keep.name]


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
