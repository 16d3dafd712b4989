"""Benchmark: merging a class's results into the gradebook, and every class-level step's growth.

    python benchmarks/bench_merge.py                 # 5,000 synthetic results, batches of 64
    python benchmarks/bench_merge.py -n 1000 --sample 100
    python benchmarks/bench_merge.py --scale 100,300,1000      # each class-level step alone

Builds the released fixture course in a temporary folder, makes ``n`` synthetic journal
records (graded results with an autograded notebook each, as a worker returns them), and
times in one run

1. the per-record path of the last release (journal, place the notebook, open the
   gradebook, merge, commit, journal again) on the first ``--sample`` records, extrapolated;
2. :func:`autograder.classrun.grade.commit_many` on all ``n`` records in batches of ``--batch``
   through one open gradebook (what ``rnngrade grade`` does as results stream back);
3. batches of 2 (results a second or more apart, as from a small pool) on ``--sample``
   records, the gradebook opened for each batch as before, then one gradebook for all.

Prints records per second and the time for the whole class. Exits 1 when the batched merge
of the class takes longer than ``--target`` seconds (120 by default).

With ``--scale``, for each class size, in a fresh course each: collect the synthetic class
(:mod:`autograder.synthetic`) from an nbgrader tree, scan it (find, checksum, read the journal,
plan), merge a graded record per submission in batches, scan again, export and report, all
in this process, and print each step's milliseconds per submission. Exits 1 when a step's
cost per submission at the largest size exceeds ``--max-ratio`` times that at the smallest
and by more than ``--min-ms`` milliseconds: a step that grows with the class. Below that
floor a ratio is file-system noise, not an algorithm: reading n small files from one
folder costs about 3 times more per file at 1,000 files than at 100 on ext4 (the dentry and
page caches), and the scan of a class of 1,000 takes well under a second in all.
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


def _new_course(where: Path):
    from autograder.course import Course
    from autograder.release import release_all

    shutil.copytree(FIXTURE / "solutions", where / "solutions")
    shutil.copy(REPO / "nbgrader_config.py", where)
    course = Course.from_root(where)
    release_all(course)
    return course


def merge_figures(args) -> int:
    from tqdm import tqdm

    from autograder.classrun.grade import commit_many
    from autograder.journal import Journal
    from autograder.reporting.gradebook import merge, open_gradebook, place_autograded

    with tempfile.TemporaryDirectory(prefix="bench-merge-") as tmp:
        course = _new_course(Path(tmp) / "course")
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
        with tqdm(total=args.n, desc=f"batches of {args.batch}", unit="rec") as bar, \
                open_gradebook(course) as gb:
            for i in range(0, args.n, args.batch):
                batch = records[i:i + args.batch]
                for record in batch:
                    journal.write(record)
                commit_many(course, journal, batch, {}, gb=gb)
                bar.update(len(batch))
        batched = time.perf_counter() - t

        # Small batches, the gradebook opened per batch (before) and kept open (now),
        # alternated pair by pair so that a change of the machine's load hits both alike.
        small = {"per batch": 0.0, "one open": 0.0}
        pairs = _records(course, 4 * (args.sample // 4 or 1), start=2 * 10 ** 6)
        with open_gradebook(course) as gb:
            for i in range(0, len(pairs), 4):
                for how, batch in (("per batch", pairs[i:i + 2]), ("one open", pairs[i + 2:i + 4])):
                    t = time.perf_counter()
                    commit_many(course, journal, batch, {}, gb=gb if how == "one open" else None)
                    small[how] += time.perf_counter() - t
        per_small = {k: v / (len(pairs) / 2) for k, v in small.items()}

    print(f"one by one : {1 / single:7.1f} results/s ({single * 1000:.0f} ms each); "
          f"a class of {args.n} would take {single * args.n:.0f} s")
    print(f"batched    : {args.n / batched:7.1f} results/s; the class of {args.n} took {batched:.1f} s "
          f"(target {args.target:g} s); speed-up {single * args.n / batched:.1f}x")
    print(f"batches of 2: {per_small['per batch'] * 1000:.0f} ms per result with a gradebook "
          f"opened per batch, {per_small['one open'] * 1000:.0f} ms with one open for the run "
          f"({per_small['per batch'] / per_small['one open']:.1f}x)")
    return 0 if batched <= args.target else 1


SCALE_STEPS = ("collect", "scan", "merge", "rescan", "export", "report")


def step_times(n: int, batch: int, where: Path) -> dict:
    """Seconds of each class-level step on a fresh course with a class of ``n`` (see docstring)."""
    from autograder.classrun.grade import commit_many, plan
    from autograder.course import find_submissions
    from autograder.intake.collect import Collector
    from autograder.journal import Journal
    from autograder.reporting.export import export
    from autograder.reporting.gradebook import open_gradebook
    from autograder.reporting.report import write_report
    from autograder.synthetic import class_mix, write_class

    staging = _new_course(where / "staging")
    write_class(staging, "fixture", class_mix(n))
    course = _new_course(where / "course")
    journal = Journal(course, "fixture")
    t = {}
    start = time.perf_counter()
    collector = Collector(course, ["fixture"])
    collector.from_nbgrader_tree(staging.submitted)
    collector.save_renames()
    t["collect"] = time.perf_counter() - start

    def scan():
        began = time.perf_counter()
        subs = find_submissions(course, "fixture")[0]
        work = plan(journal, subs, False, None)
        return subs, work, time.perf_counter() - began

    subs, work, t["scan"] = scan()
    if len(work.grade) != n:
        raise RuntimeError(f"the scan planned {len(work.grade)} of {n} submissions for grading")
    records = _records(course, n)
    for record, sub in zip(records, subs):
        record["student"] = record["result"]["student"] = sub.student
        record["checksum"] = sub.checksum
    start = time.perf_counter()
    with open_gradebook(course) as gb:
        for i in range(0, n, batch):
            for record in records[i:i + batch]:
                journal.write(record)
            commit_many(course, journal, records[i:i + batch], {}, gb=gb)
    t["merge"] = time.perf_counter() - start
    _, work, t["rescan"] = scan()
    if len(work.done) != n:
        raise RuntimeError(f"the second scan found {len(work.done)} of {n} submissions merged")
    start = time.perf_counter()
    export(course, ["fixture"], where)
    t["export"] = time.perf_counter() - start
    start = time.perf_counter()
    write_report(course, "fixture", where / "report.html")
    t["report"] = time.perf_counter() - start
    return t


def scale_figures(args) -> int:
    sizes = sorted({int(x) for x in args.scale.split(",") if x.strip()})
    if not sizes or sizes[0] < 4:
        raise SystemExit(f"--scale needs sizes of at least 4 (one of each hostile kind), "
                         f"got {sizes}")
    rows = {}
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="bench-steps-") as tmp:
            rows[n] = step_times(n, args.batch, Path(tmp))
        print(f"class of {n}: " + ", ".join(f"{k} {v:.1f} s" for k, v in rows[n].items()),
              flush=True)
    print(f"each class-level step alone, in ms per submission (fixture assignment, batches of "
          f"{args.batch}, one process):")
    print(f"{'class':>6} " + " ".join(f"{s:>8}" for s in SCALE_STEPS))
    for n, t in rows.items():
        print(f"{n:>6} " + " ".join(f"{1000 * t[s] / n:>8.2f}" for s in SCALE_STEPS))
    small, large = sizes[0], sizes[-1]
    ratios = {s: (rows[large][s] / large) / (rows[small][s] / small) for s in SCALE_STEPS}
    print(f"{large} over {small}: " + " ".join(f"{s} {r:.2f}" for s, r in ratios.items())
          + f" (limit {args.max_ratio:g})")
    extra = {s: 1000 * (rows[large][s] / large - rows[small][s] / small) for s in SCALE_STEPS}
    grown = [s for s, r in ratios.items() if r > args.max_ratio and extra[s] > args.min_ms]
    below = [s for s, r in ratios.items() if r > args.max_ratio and s not in grown]
    if below:
        print(f"above the ratio but by less than {args.min_ms:g} ms per submission, not a growth "
              "that matters: " + ", ".join(f"{s} (+{extra[s]:.2f} ms)" for s in below))
    if grown:
        print(f"FAIL: grows with the class: {', '.join(grown)}")
    return 1 if grown else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=5000, help="results in the class (default 5000)")
    parser.add_argument("--sample", type=int, default=200, help="records merged one by one (default 200)")
    parser.add_argument("--batch", type=int, default=64, help="records per batch (default 64)")
    parser.add_argument("--target", type=float, default=120.0, help="seconds allowed for the class (default 120)")
    parser.add_argument("--scale", default=None,
                        help="class sizes, e.g. 100,300,1000: time each class-level step instead")
    parser.add_argument("--max-ratio", type=float, default=1.5,
                        help="with --scale: largest allowed growth of a step's cost per submission "
                             "from the smallest class to the largest (default 1.5)")
    parser.add_argument("--min-ms", type=float, default=1.0,
                        help="with --scale: growth below this many ms per submission is not "
                             "counted, whatever its ratio (default 1)")
    args = parser.parse_args(argv)
    return scale_figures(args) if args.scale else merge_figures(args)


if __name__ == "__main__":
    sys.exit(main())
