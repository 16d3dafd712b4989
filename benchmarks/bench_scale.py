"""Benchmark: a class-level grading cycle at growing class sizes, and the same on Dask.

    python benchmarks/bench_scale.py                   # 100, 300, 1,000 of the fixture; Dask at 300
    python benchmarks/bench_scale.py --scale 4,8 --dask 4 --cell-timeout 2    # a smoke run
    python benchmarks/bench_scale.py --source-root . --assignment a1_rnn_cell --scale 40 --dask 0

For each class size ``n`` it builds, in a fresh temporary folder that nothing else reads, a
released course and a synthetic class of ``n`` submissions (:func:`autograder.synthetic.class_mix`:
half correct, partial, wrong, empty, one each of crash, endless loop, tampered test cell and
malformed file), laid out as an nbgrader ``submitted/`` tree outside the course, then times
the instructor's commands one after the other, each a process of its own:

1. ``rnngrade collect --nbgrader`` the tree into the course;
2. ``rnngrade grade`` with the sandbox on and one worker per core, whose run summary
   (``.rnngrade/<a>/last-run.json``) gives the main process's share of it: the scan (find,
   checksum, journal reads, plan), the gradebook merge and the journal writes, its CPU time
   and its peak resident memory;
3. ``rnngrade export`` and ``rnngrade report``.

It prints a table per size: wall time, throughput (submissions per second, and per minute
per core), the cost per submission (wall time x cores / n, in core-seconds: flat when no step
grows with the class) and each step's milliseconds per submission. Then, with ``--dask N``,
the class of ``N`` graded again, from the same collected course, through
``rnngrade grade --scheduler`` against a ``dask.distributed.LocalCluster`` of 2 single-threaded
workers started here, beside the local pool's figures for the same size.

Exits 1 when the cost per submission of the largest class exceeds ``--max-ratio`` (1.25) times
that of the smallest, or when a class did not grade as built (a count or a status off).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURE_ROOT = REPO / "tests" / "autograder" / "fixtures" / "course"
STEPS = ("collect", "start", "scan", "grading", "merge", "journal", "export", "report")


def _env() -> dict:
    bin_dir = str(Path(sys.executable).parent)
    return dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""),
                OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")


def _rnngrade(*args: str) -> tuple[float, str]:
    """Run ``rnngrade ARGS`` in a process of its own; (wall s, stdout); RuntimeError if it fails."""
    cmd = [sys.executable, "-m", "autograder.cli", *args]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"`rnngrade {' '.join(args)}` exited {proc.returncode}:\n"
                           f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return elapsed, proc.stdout


def _new_course(source_root: Path, assignment: str, root: Path):
    from autograder.course import Course
    from autograder.release import release_all

    (root / "solutions").mkdir(parents=True)
    shutil.copytree(source_root / "solutions" / assignment, root / "solutions" / assignment)
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    course = Course.from_root(root)
    release_all(course, [assignment])
    return course


def prepare(source_root: Path, assignment: str, n: int, where: Path) -> tuple[Path, Path, dict]:
    """(released course with no submissions, nbgrader tree of a class of ``n``, student -> kind)."""
    from autograder.synthetic import class_mix, write_class

    staging = _new_course(source_root, assignment, where / "staging")
    kinds = write_class(staging, assignment, class_mix(n))
    course = _new_course(source_root, assignment, where / "course")
    return course.root, staging.submitted, kinds


def median_job(root: Path, assignment: str) -> float:
    """Median seconds of one graded job on its worker (the journal's timings): what a job
    costs, apart from how the pool or the cluster hands jobs out and the machine's load."""
    import statistics

    from autograder.course import Course
    from autograder.journal import Journal

    times = [r.result.timings.get("worker_total", r.result.timings.get("total", 0.0))
             for r in Journal(Course.from_root(root), assignment).parsed().values()
             if r.result.status == "graded"]
    return statistics.median(times) if times else float("nan")


def check_class(root: Path, assignment: str, kinds: dict, figures: dict) -> list[str]:
    """What is wrong with a graded class ([] when it graded as built)."""
    from autograder.course import Course
    from autograder.journal import Journal

    problems = []
    if figures["graded"] != len(kinds) or figures["retry"]:
        problems.append(f"graded {figures['graded']} of {len(kinds)}, {figures['retry']} to retry")
    records = Journal(Course.from_root(root), assignment).parsed()
    expected = {"correct": "graded", "malformed": "malformed", "loop": "timeout",
                "crash": "crashed", "tamper": "tampered"}
    full = {}
    for student, kind in kinds.items():
        rec = records.get(student)
        if rec is None:
            problems.append(f"{student}: no journal record")
            continue
        res = rec.result
        if kind in expected and res.status != expected[kind]:
            problems.append(f"{student}: status {res.status}, expected {expected[kind]}")
        if kind == "correct":
            full[student] = res.points == res.max_points > 0
    if full and not all(full.values()):
        problems.append(f"{sum(not v for v in full.values())} correct submission(s) without "
                        "full points")
    return problems


def grade_class(root: Path, assignment: str, cell_timeout: float, extra=()) -> dict:
    """Run ``rnngrade grade`` on ``root``; its wall time and its run summary's figures."""
    load = os.getloadavg()[0]
    wall, out = _rnngrade("grade", assignment, "--course", str(root), "--no-progress",
                          "--cell-timeout", str(cell_timeout), *extra)
    figures = json.loads((root / ".rnngrade" / assignment / "last-run.json").read_text())
    figures["wall"], figures["stdout"] = wall, out
    # The machine's 1-minute load average before and after: on a shared machine a change
    # of load between two runs moves their ratio more than anything being compared.
    figures["load"] = (load, os.getloadavg()[0])
    figures["median_job"] = median_job(root, assignment)
    return figures


def run_size(args, n: int, where: Path, keep_for_dask: bool) -> dict:
    """One class of ``n``: collect, grade, export, report; the figures of each."""
    print(f"class of {n}: building it ...", flush=True)
    root, tree, kinds = prepare(args.source_root, args.assignment, n, where)
    row = {"n": n, "kinds": kinds}
    row["collect"], _ = _rnngrade("collect", "--course", str(root), "--nbgrader", str(tree),
                                  "--assignment", args.assignment)
    if keep_for_dask:
        # The collected course before grading: the Dask run starts from exactly this.
        shutil.copytree(root, where / "for-dask", symlinks=True)
    print(f"class of {n}: grading ...", flush=True)
    figures = grade_class(root, args.assignment, args.cell_timeout)
    row.update(figures)
    row["problems"] = check_class(root, args.assignment, kinds, figures)
    row["export"], _ = _rnngrade("export", "--course", str(root), "--assignment", args.assignment,
                                 "--out", str(where))
    row["report"], _ = _rnngrade("report", args.assignment, "--course", str(root),
                                 "--out", str(where / "report.html"))
    for step in ("scan", "grading", "merge", "journal"):
        row[step] = figures["steps"].get(step, 0.0)
    # start: rnngrade grade's own start-up, a constant: the interpreter and its imports, the
    # preflight (a sandboxed kernel runs the checks once), the course lock.
    row["start"] = figures["wall"] - figures["seconds"]
    row["total"] = row["collect"] + row["wall"] + row["export"] + row["report"]
    return row


def run_dask(args, where: Path, kinds: dict) -> dict:
    """Grade the collected course in ``where/for-dask`` on a LocalCluster of 2 x 1 thread."""
    from dask.distributed import LocalCluster

    root = where / "for-dask"
    os.environ.update({k: v for k, v in _env().items() if k.endswith("_NUM_THREADS")})
    print(f"class of {len(kinds)} on Dask: starting a LocalCluster of 2 workers ...", flush=True)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        figures = grade_class(root, args.assignment, args.cell_timeout,
                              ("--scheduler", cluster.scheduler_address))
    figures["problems"] = check_class(root, args.assignment, kinds, figures)
    figures["n"] = len(kinds)
    return figures


def _cost(row: dict, key: str, cores: int) -> float:
    return row[key] * cores / row["n"]


def table_head() -> list[str]:
    return [f"{'class':>6} {'wall s':>7} {'sub/s':>6} {'sub/min':>8} {'cost':>6} {'cost':>6}  "
            + " ".join(f"{s:>8}" for s in STEPS) + f" {'peak':>6} {'CPU':>6}",
            f"{'':>6} {'grade':>7} {'':>6} {'per core':>8} {'grade':>6} {'all':>6}  "
            + " ".join(f"{'ms/sub':>8}" for _ in STEPS) + f" {'MiB':>6} {'ms/sub':>6}"]


def table_row(r: dict, cores: int) -> str:
    n = r["n"]
    return (f"{n:>6} {r['wall']:>7.1f} {n / r['wall']:>6.2f} {60 * n / r['wall'] / cores:>8.1f} "
            f"{_cost(r, 'wall', cores):>6.2f} {_cost(r, 'total', cores):>6.2f}  "
            + " ".join(f"{1000 * r[s] / n:>8.1f}" for s in STEPS)
            + f" {r['peak_rss_mib']:>6.0f} {1000 * r['cpu_seconds'] / n:>6.1f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source-root", type=Path, default=FIXTURE_ROOT,
                        help="course root whose solutions/<assignment> is graded "
                             "(default: the test fixture course)")
    parser.add_argument("--assignment", default="fixture")
    parser.add_argument("--scale", default="100,300,1000",
                        help="class sizes, comma-separated (default 100,300,1000)")
    parser.add_argument("--dask", type=int, default=300,
                        help="class size graded again on a 2-worker Dask LocalCluster; one of "
                             "--scale, 0 for none (default 300)")
    parser.add_argument("--cell-timeout", type=float, default=10.0,
                        help="per-cell time limit, in s (default 10; the loop submission uses it)")
    parser.add_argument("--max-ratio", type=float, default=1.25,
                        help="largest allowed cost per submission of the largest class over the "
                             "smallest's (default 1.25)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    args.source_root = args.source_root.resolve()
    try:
        sizes = sorted({int(x) for x in args.scale.split(",") if x.strip()})
    except ValueError:
        parser.error(f"--scale takes class sizes like 100,300,1000, got {args.scale!r}")
    if not sizes or sizes[0] < 4:
        parser.error(f"--scale needs sizes of at least 4 (one of each hostile kind), got {sizes}")
    if args.dask and args.dask not in sizes:
        parser.error(f"--dask {args.dask} must be one of the --scale sizes {sizes} (or 0)")

    cores = os.cpu_count() or 1
    what = ("the small fixture assignment (tests/autograder/fixtures/course), so that the "
            "largest class grades in minutes" if args.source_root == FIXTURE_ROOT.resolve()
            else f"{args.assignment} of {args.source_root}")
    print(f"grading {what}; {cores} cores, one local worker per core, sandbox on, cell limit "
          f"{args.cell_timeout:g} s", flush=True)
    rows, dask_row = [], None
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        for n in sizes:
            where = Path(tmp) / f"class-{n}"
            row = run_size(args, n, where, keep_for_dask=n == args.dask)
            rows.append(row)
            if n == args.dask:
                dask_row = run_dask(args, where, row["kinds"])
            shutil.rmtree(where)  # nothing of one class is left for the next to read
            print(f"class of {n}: {row['wall']:.1f} s grading, {row['total']:.1f} s in all "
                  f"(load average now {os.getloadavg()[0]:.1f})", *table_head(),
                  table_row(row, cores), sep="\n", flush=True)

    print()
    print(f"class-level cycle per class size ({what}); cost = wall x {cores} cores / n, in "
          "core-seconds per submission ('grade': rnngrade grade; 'all': collect + grade + "
          "export + report); steps in ms per submission (start: rnngrade grade's start-up and "
          "preflight; scan, merge and journal are the main process's own shares of grading); "
          "peak: resident memory of rnngrade grade's main process; CPU: its CPU time")
    print(*table_head(), *(table_row(r, cores) for r in rows), sep="\n")
    small, large = rows[0], rows[-1]
    ratio = _cost(large, "total", cores) / _cost(small, "total", cores)
    print(f"cost per submission, class of {large['n']} over class of {small['n']}: {ratio:.2f} "
          f"(grading alone {_cost(large, 'wall', cores) / _cost(small, 'wall', cores):.2f}; "
          f"limit {args.max_ratio:g})")
    if dask_row is not None:
        local = next(r for r in rows if r["n"] == dask_row["n"])
        n = dask_row["n"]
        for name, r, per in ((f"local pool ({cores} workers)", local, cores),
                             ("Dask LocalCluster (2 workers x 1 thread)", dask_row, 2)):
            print(f"{name}, class of {n}: {r['wall']:.1f} s, {n / r['wall']:.2f} sub/s, "
                  f"{60 * n / r['wall'] / per:.1f} sub/min per worker, median job "
                  f"{r['median_job']:.2f} s, main process {r['peak_rss_mib']:.0f} MiB; load "
                  f"average {r['load'][0]:.1f} before, {r['load'][1]:.1f} after")
        print(f"Dask/local throughput on the class of {n}: {local['wall'] / dask_row['wall']:.2f}")

    failures = [f"class of {r['n']}: {p}" for r in rows + ([dask_row] if dask_row else [])
                for p in r["problems"]]
    if args.json:
        keep = [{k: v for k, v in r.items() if k not in ("kinds", "stdout")}
                for r in rows + ([dask_row | {"dask": True}] if dask_row else [])]
        args.json.write_text(json.dumps({"cores": cores, "ratio": ratio, "rows": keep},
                                        indent=1) + "\n")
    for f in failures:
        print(f"NOT GRADED AS BUILT: {f}")
    if ratio > args.max_ratio:
        print(f"FAIL: the cost per submission grew {ratio:.2f}x from {small['n']} to {large['n']} "
              f"submissions (limit {args.max_ratio:g}): a step grows with the class")
    return 1 if failures or ratio > args.max_ratio else 0


if __name__ == "__main__":
    sys.exit(main())
