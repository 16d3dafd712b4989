"""Benchmark: merging a class's results into the gradebook, one by one against in batches.

    python benchmarks/bench_merge.py                 # 5,000 synthetic results, batches of 64
    python benchmarks/bench_merge.py -n 1000 --sample 100

Builds the released fixture course in a temporary folder, makes ``n`` synthetic journal
records (graded results with an autograded notebook each, as a worker returns them), and
times in one run

1. the per-record path of the last release (journal, place the notebook, open the
   gradebook, merge, commit, journal again) on the first ``--sample`` records, extrapolated;
2. :func:`autograder.classrun.grade.commit_many` on all ``n`` records in batches of ``--batch``
   (what ``rnngrade grade`` now does as results stream back).

Prints records per second for both and the time for the whole class. Exits 1 when the batched
merge of the class takes longer than ``--target`` seconds (120 by default).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "autograder" / "fixtures" / "course"


def _records(course, n: int, start: int = 0) -> list[dict]:
    """Synthetic records of the fixture assignment: two test cells, points varying by student."""
    from autograder.reporting.gradebook import assignment_cells

    cells = assignment_cells(course, "fixture")["fixture"]
    notebook = (course.release / "fixture" / "fixture.ipynb").read_text(encoding="utf-8")
    records = []
    for k in range(start, start + n):
        grades = {gid: {"notebook": "fixture.ipynb", "grade_id": gid, "points": float((k + i) % (int(mx) + 1)),
                        "max_points": mx, "status": "passed", "messages": []}
                  for i, (gid, mx) in enumerate(sorted(cells.items()))}
        points = sum(g["points"] for g in grades.values())
        result = {"assignment": "fixture", "student": f"s{k:05d}", "status": "graded", "reasons": [],
                  "grades": grades, "flags": [], "timings": {}, "autograded": {}, "checksums": {},
                  "enforced": [], "points": points, "max_points": sum(cells.values())}
        records.append({"student": f"s{k:05d}", "assignment": "fixture", "checksum": uuid.uuid4().hex,
                        "graded_at": time.time(), "attempt_id": uuid.uuid4().hex, "merged": False,
                        "result": result, "autograded_notebooks": {"fixture": notebook}})
    return records


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=5000, help="results in the class (default 5000)")
    parser.add_argument("--sample", type=int, default=200, help="records merged one by one (default 200)")
    parser.add_argument("--batch", type=int, default=64, help="records per batch (default 64)")
    parser.add_argument("--target", type=float, default=120.0, help="seconds allowed for the class (default 120)")
    args = parser.parse_args(argv)

    from tqdm import tqdm

    from autograder.course import Course
    from autograder.classrun.grade import commit_many
    from autograder.reporting.gradebook import merge, place_autograded
    from autograder.journal import Journal
    from autograder.release import release_all

    with tempfile.TemporaryDirectory(prefix="bench-merge-") as tmp:
        root = Path(tmp) / "course"
        shutil.copytree(FIXTURE / "solutions", root / "solutions")
        shutil.copy(REPO / "nbgrader_config.py", root)
        course = Course.from_root(root)
        release_all(course)
        journal = Journal(course, "fixture")

        one_by_one = _records(course, args.sample, start=10 ** 6)
        t = time.perf_counter()
        for record in tqdm(one_by_one, desc="one by one", unit="rec"):
            journal.write(record)
            place_autograded(course, record["student"], "fixture", record.pop("autograded_notebooks"))
            merge(course, record)
            record["merged"] = True
            journal.write(record)
        single = (time.perf_counter() - t) / args.sample

        records = _records(course, args.n)
        t = time.perf_counter()
        with tqdm(total=args.n, desc=f"batches of {args.batch}", unit="rec") as bar:
            for i in range(0, args.n, args.batch):
                batch = records[i:i + args.batch]
                for record in batch:
                    journal.write(record)
                commit_many(course, journal, batch, {})
                bar.update(len(batch))
        batched = time.perf_counter() - t

    print(f"one by one : {1 / single:7.1f} results/s ({single * 1000:.0f} ms each); "
          f"a class of {args.n} would take {single * args.n:.0f} s")
    print(f"batched    : {args.n / batched:7.1f} results/s; the class of {args.n} took {batched:.1f} s "
          f"(target {args.target:g} s); speed-up {single * args.n / batched:.1f}x")
    return 0 if batched <= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
