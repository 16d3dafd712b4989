"""``rnngrade grade``: grade every new or changed submission of an assignment.

The run, step by step (each step is safe to interrupt with SIGKILL):

1. find ``submitted/<student>/<assignment>/`` folders and the checksum of each;
2. plan: a submission whose journal record has the same checksum and is merged is done
   (unless the grader failed on it, status ``error``: that is graded again);
   one whose record is graded but not merged (the previous run died in between) is only
   merged; everything else, or everything with ``--force``, or the ``--student`` named, is
   graded;
3. grade in parallel: each job carries the submission's bytes to a persistent worker (or a
   Dask worker), which grades it on a throwaway copy and returns JSON;
4. as each result arrives, the main process journals it atomically; in batches (every 64
   results or 2 s), it places the autograded notebooks, merges the scores into the gradebook
   in one session, then marks the records merged;
5. print a summary listing every submission that was not cleanly graded, and why; a job
   lost to the infrastructure (a worker or scheduler lost, a worker unfit to grade) is not
   recorded at all, so a plain rerun grades it. The summary also gives the main process's
   time in each class-level step and its peak memory (:meth:`RunSummary.figures`), which
   ``benchmarks/bench_scale.py`` reads to show that none of them grows with the class.

A submission is therefore graded once: a record is written right after grading, and
rerunning either finds it merged (skip) or unmerged (merge only). The only repeated work
after a SIGKILL is the jobs that were in flight.
"""
from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import time
import uuid
from dataclasses import dataclass, field

from autograder.reporting import gradebook
from autograder.course import Course, Rejected, Submission, find_submissions
from autograder.grades import GradeResult
from autograder.journal import Journal, JournalRecord
from autograder.limits import Limits, SandboxPolicy
from autograder.classrun.worker import build_payload, lost_result, retry_result



class CourseBusy(ValueError):
    """Another ``rnngrade grade`` holds the course's lock."""


@contextlib.contextmanager
def course_lock(course: Course):
    """One grading run per course at a time: the gradebook must have a single writer.

    An advisory ``flock`` on ``.rnngrade/lock``; the kernel releases it when the holder
    exits, SIGKILL included, so a killed run never leaves the course locked.
    """
    course.state.mkdir(parents=True, exist_ok=True)
    fd = os.open(course.state / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise CourseBusy(f"another rnngrade grade is running on {course.root} (pid {holder}); "
                             "wait for it to finish") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


@dataclass
class Plan:
    grade: list[Submission] = field(default_factory=list)
    merge_only: list[dict] = field(default_factory=list)
    done: list[Submission] = field(default_factory=list)


@dataclass
class RunSummary:
    """What one ``rnngrade grade`` did; :meth:`lines` is the printed summary."""

    assignment: str
    graded: list[dict] = field(default_factory=list)      # journal records graded in this run
    merged_only: list[str] = field(default_factory=list)
    skipped: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    seconds: float = 0.0
    workers: str = ""
    retry: list[tuple[str, str]] = field(default_factory=list)  # (student, why): infrastructure failed
    # Wall seconds of the main process's class-level steps (see _grade_locked), its peak
    # resident memory and CPU seconds at the end of the run; empty/0 until the run ends.
    steps: dict[str, float] = field(default_factory=dict)
    peak_rss_mib: float = 0.0
    cpu_seconds: float = 0.0

    def figures(self) -> dict:
        """The run's numbers as JSON-friendly data (``.rnngrade/<a>/last-run.json``)."""
        statuses = {}
        for record in self.graded:
            status = (record.get("result") or {}).get("status", "?")
            statuses[status] = statuses.get(status, 0) + 1
        return {"assignment": self.assignment, "graded": len(self.graded), "statuses": statuses,
                "merged_only": len(self.merged_only), "skipped": self.skipped,
                "rejected": len(self.rejected), "retry": len(self.retry), "seconds": self.seconds,
                "workers": self.workers, "steps": dict(self.steps),
                "peak_rss_mib": self.peak_rss_mib, "cpu_seconds": self.cpu_seconds}

    def lines(self) -> list[str]:
        n = len(self.graded)
        rate = f", {self.seconds / n:.2f} s per submission" if n else ""
        how = f" ({self.workers})" if self.workers else ""
        out = [f"{self.assignment}: graded {n} submission(s) in {self.seconds:.1f} s{rate}{how}; "
               f"{self.skipped} unchanged, {len(self.merged_only)} merged from an interrupted run"]
        results = [JournalRecord.from_dict(r).result for r in self.graded]
        by_status = {}
        for res in results:
            by_status.setdefault(res.status, []).append(res)
        out.append("status: " + ", ".join(f"{k} {len(v)}" for k, v in sorted(by_status.items())) if by_status else "status: -")
        problems = [res for res in results if res.status != "graded"]
        if problems:
            out.append(f"{len(problems)} submission(s) need attention:")
            for res in sorted(problems, key=lambda res: (res.status, res.student)):
                out.append(f"  {res.student}: {res.status} ({_points(res)}) - " + "; ".join(res.reasons or ["no reason given"]))
        flagged = [res for res in results if res.status == "graded" and res.flags]
        if flagged:
            out.append(f"{len(flagged)} graded submission(s) with flags:")
            for res in flagged:
                out.append(f"  {res.student}: " + "; ".join(res.flags))
        for rej in self.rejected:
            out.append(f"  not graded: {rej.path}: {rej.reason}")
        if self.retry:
            out.append(f"{len(self.retry)} submission(s) not graded: the grading infrastructure failed, not the "
                       f"students' code; nothing was recorded for them, and a plain rerun of "
                       f"`rnngrade grade {self.assignment}` grades them:")
            out += [f"  {student}: {why}" for student, why in sorted(self.retry)]
        if self.steps:
            out.append("main process: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.steps.items())
                       + f"; CPU {self.cpu_seconds:.1f} s, peak memory {self.peak_rss_mib:.0f} MiB")
        return out


def _points(result: GradeResult) -> str:
    return f"{result.points:g}/{result.max_points:g} points"


def plan(journal: Journal, submissions: list[Submission], force: bool, students: set[str] | None) -> Plan:
    p = Plan()
    for sub in submissions:
        record = journal.read(sub.student)
        wanted = force or (students is not None and sub.student in students)
        # A grader failure (status error) is not a grade: a plain rerun grades it again.
        failed = record is not None and JournalRecord.from_dict(record).result.status == "error"
        if not wanted and not failed and record is not None and record.get("checksum") == sub.checksum:
            if record.get("merged"):
                p.done.append(sub)
            else:
                p.merge_only.append(record)
        else:
            p.grade.append(sub)
    return p


def _original_ids(course: Course) -> dict[str, str]:
    """safe id -> original spelling, from the renames recorded by ``collect``."""
    import json

    path = course.state / "student_ids.json"
    try:
        return {v: k for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
    except (FileNotFoundError, ValueError):
        return {}


def commit(course: Course, journal: Journal, record: dict, originals: dict[str, str]) -> None:
    """Place the autograded notebook and merge the record, then mark it merged (idempotent)."""
    commit_many(course, journal, [record], originals)


def commit_many(course: Course, journal: Journal, records: list[dict], originals: dict[str, str],
                gb=None) -> None:
    """:func:`commit` for several journaled records, with one gradebook session for all
    (``gb``, an open nbgrader Gradebook, or one opened for this call)."""
    for record in records:
        notebooks = record.pop("autograded_notebooks", None) or {}
        if notebooks:
            gradebook.place_autograded(course, record["student"], record["assignment"], notebooks)
        else:
            gradebook.clear_autograded(course, record["student"], record["assignment"])
    gradebook.merge_many(course, [(r, originals.get(r["student"])) for r in records], gb=gb)
    for record in records:
        record["merged"] = True
        # Not fsync'ed: if a crash loses this flag, the next run merges the record again,
        # which is idempotent; the graded record itself was written durably before.
        journal.write(record, durable=False)


class _Batcher:
    """Collects journaled records and commits them together: when ``size`` are waiting, when
    the oldest has waited ``seconds``, or at :meth:`flush`. A crash in between costs a merge
    on the next run (the records are journaled as graded, not merged), never a regrade.

    A context manager: one gradebook stays open from the first commit to the exit, because
    results that arrive a second or more apart make batches of one or two, and opening
    nbgrader's Gradebook (a new engine, every statement compiled again) for each would cost
    more than merging them.
    """

    def __init__(self, course, journal, originals, size: int = 64, seconds: float = 2.0):
        self.course, self.journal, self.originals = course, journal, originals
        self.size, self.seconds = size, seconds
        self.waiting, self.since = [], 0.0
        self.busy = 0.0  # seconds spent committing, for the run's summary
        self._gradebook = contextlib.ExitStack()
        self._gb = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._gradebook.close()
        self._gb = None

    def add(self, record: dict) -> None:
        if not self.waiting:
            self.since = time.monotonic()
        self.waiting.append(record)
        if len(self.waiting) >= self.size or time.monotonic() - self.since >= self.seconds:
            self.flush()

    def flush(self) -> None:
        if self.waiting:
            start = time.monotonic()
            if self._gb is None:
                self._gb = self._gradebook.enter_context(gradebook.open_gradebook(self.course))
            commit_many(self.course, self.journal, self.waiting, self.originals, gb=self._gb)
            self.waiting = []
            self.busy += time.monotonic() - start


@dataclass(frozen=True)
class GradeOptions:
    """How one ``rnngrade grade`` runs; each field is one of its options.

    limits : what one submission may use (``Execute.timeout`` and friends from
        ``nbgrader_config.py`` are applied where no flag set them).
    sandbox : how each kernel is isolated (:class:`~autograder.limits.SandboxPolicy`).
    workers : local worker processes (default: the CPU count, at most one per job).
    force : grade again what is already graded and merged.
    students : only these students (ValueError naming any without a submission).
    scheduler : address of a Dask scheduler to grade on instead of local workers.
    progress : show a progress bar.
    deadline_s : s before a job's worker is given up (default: the limits' startup and
        notebook budgets plus 120 s).
    """

    limits: Limits = Limits()
    sandbox: SandboxPolicy = SandboxPolicy()
    workers: int | None = None
    force: bool = False
    students: tuple | None = None
    scheduler: str | None = None
    progress: bool = True
    deadline_s: float | None = None

    def job_deadline(self) -> float:
        if self.deadline_s is not None:
            return self.deadline_s
        return self.limits.startup_timeout + self.limits.notebook_timeout + 120


def grade_assignment(course: Course, assignment: str, limits: Limits, sandbox: SandboxPolicy | bool = True,
                     workers: int | None = None, force: bool = False, students: list[str] | None = None,
                     scheduler: str | None = None, progress: bool = True,
                     deadline_s: float | None = None) -> RunSummary:
    """Grade what is new or changed; return the run's summary (see the module docstring).

    The keyword arguments are the fields of :class:`GradeOptions`.
    """
    from autograder import nbconfig
    from autograder.classrun import preflight

    options = GradeOptions(limits, SandboxPolicy.of(sandbox), workers, force,
                           tuple(students) if students else None, scheduler, progress, deadline_s)
    course.notebooks(assignment)  # ValueError naming the known assignments if unknown
    note = nbconfig.kernel_note(course.source / assignment)  # ValueError for a non-Python kernel
    if note:
        print(f"{assignment}: {note}")
    # Refuse before anything is graded when the hidden checks would not run as expected
    # (PreflightError, a ValueError naming the cause and the fix). Dask workers check theirs.
    preflight.run(course, assignment, options.sandbox.enabled, kernel=not scheduler)
    with course_lock(course):
        return _grade_locked(course, assignment, options)


def _grade_locked(course: Course, assignment: str, options: GradeOptions) -> RunSummary:
    from autograder import nbconfig

    start = time.monotonic()
    journal = Journal(course, assignment)
    journal.clean_stale_temporaries()
    gradebook.remove_stale_builds(course)
    submissions, rejected = _gradable(course, assignment, options.students)
    settings = nbconfig.load(course.root)
    options = dataclasses.replace(options, limits=_course_limits(options.limits, settings, assignment))
    work = plan(journal, submissions, options.force, set(options.students) if options.students else None)
    summary = RunSummary(assignment, skipped=len(work.done), rejected=rejected)
    # scan: find the submissions, checksum them, read their journal records and plan.
    summary.steps["scan"] = time.monotonic() - start

    # The gradebook check imports nbgrader and may run generate_assignment: seconds that
    # overlap with the workers' own start-up when done in a thread. Nothing but this thread
    # touches the gradebook until it is joined, before the first merge.
    ensured = _Background(gradebook.ensure_assignment, course, assignment)
    graded_from = time.monotonic()
    with contextlib.ExitStack() as stack:
        results = iter(())
        if work.grade:
            results = _start(stack, course, assignment, options, work.grade, settings, ensured, summary)
        ensured.result()
        batch = stack.enter_context(_Batcher(course, journal, _original_ids(course)))
        for record in work.merge_only:
            batch.add(record)
            summary.merged_only.append(record["student"])
        batch.flush()
        if work.grade:
            _collect(results, work.grade, assignment, journal, batch, summary, options.progress)
    # grading: from the first job sent to the last result merged and the workers stopped;
    # merge and journal are the main process's own shares of it (they overlap the workers).
    summary.steps["grading"] = time.monotonic() - graded_from
    summary.steps["merge"] = batch.busy
    summary.steps["journal"] = summary.steps.pop("journal", 0.0)
    summary.seconds = time.monotonic() - start
    summary.peak_rss_mib, summary.cpu_seconds = _own_usage()
    return summary


def _own_usage() -> tuple[float, float]:
    """(peak resident memory in MiB, CPU seconds) of this process alone, not its workers."""
    import resource
    import sys

    usage = resource.getrusage(resource.RUSAGE_SELF)
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    rss = usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)
    return rss, usage.ru_utime + usage.ru_stime


def _gradable(course: Course, assignment: str, students) -> tuple[list, list]:
    """(submissions to consider, rejected ones): nbgrader refuses a submission whose
    timestamp.txt it cannot parse, and so do we, saying why."""
    submissions, rejected = find_submissions(course, assignment)
    for sub in list(submissions):
        why = gradebook.timestamp_problem(sub.path)
        if why:
            rejected.append(Rejected(sub.path, why))
            submissions.remove(sub)
    if students:
        wanted = set(students)
        missing = wanted - {s.student for s in submissions}
        if missing:
            raise ValueError(f"no submission of {assignment!r} for student(s) {sorted(missing)} "
                             f"under {course.submitted}")
        submissions = [s for s in submissions if s.student in wanted]
    return submissions, rejected


def _course_limits(limits: Limits, settings, assignment: str) -> Limits:
    """``limits`` with the course's nbgrader settings applied where no flag set them."""
    from autograder import nbconfig

    # A limit that differs from the default was given as a flag (or by the caller): it wins.
    given = frozenset(f for f in ("cell_timeout", "output_lines_per_cell") if getattr(limits, f) != getattr(Limits(), f))
    limits, notes = nbconfig.apply_limits(settings, limits, given)
    for note in notes:
        print(f"{assignment}: {note}")
    return limits


def _start(stack, course, assignment, options: GradeOptions, subs, settings, ensured, summary):
    """Send the jobs to local workers or a Dask scheduler; an iterator of (student, result)."""
    from autograder import nbconfig
    from autograder.classrun.pool import WorkerPool
    from autograder.classrun.preflight import code_fingerprints

    code = code_fingerprints()  # a worker with other code or checks refuses the job
    sources = _Once(lambda: (ensured.result(), gradebook.graded_sources(course, assignment))[1])
    source_dir = course.source / assignment
    # Built lazily: only the jobs in flight hold their notebooks' bytes in memory.
    jobs = ((sub.student, build_payload(course, sub, options.limits, options.sandbox, code, sources=sources(),
                                        files=nbconfig.autograded_files(source_dir, sub.path, assignment, settings)))
            for sub in subs)
    if options.scheduler:
        from autograder.classrun.distributed import run_on_dask

        summary.workers = f"Dask scheduler {options.scheduler}"
        return run_on_dask(options.scheduler, jobs, assignment, sandbox=options.sandbox.enabled,
                           deadline_s=options.job_deadline())
    n = max(1, min(options.workers or os.cpu_count() or 1, len(subs)))
    log = course.state / assignment / "workers.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    pool = stack.enter_context(WorkerPool(
        n, "autograder.classrun.worker.grade_payload", log_path=str(log),
        warm_imports=("autograder.grading.engine", "nbgrader.preprocessors", "numpy"),
        warm_up=(("autograder.isolation.zygote_host.prestart", options.limits.to_dict())
                 if options.sandbox.enabled and options.sandbox.warm else None)))
    summary.workers = f"{n} local worker(s), sandbox {'on' if options.sandbox.enabled else 'off'}"
    return _lost_as_results(pool.run(jobs, deadline_s=options.job_deadline()), assignment)


def _collect(results, subs, assignment, journal, batch, summary, progress) -> None:
    """Journal each result as it arrives (graded: a crash after this costs a merge, not a
    regrade), then hand it to the batch that merges it."""
    checksums = {sub.student: sub.checksum for sub in subs}
    bar = _progress(len(subs), assignment, progress)
    try:
        for student, result in results:
            bar.update(1)
            if "retry" in result:  # the infrastructure failed: not the student's result
                summary.retry.append((student, result["retry"]))
                continue
            record = {"student": student, "assignment": assignment, "checksum": checksums[student],
                      "graded_at": time.time(), "attempt_id": uuid.uuid4().hex, "merged": False}
            record.update(result)
            began = time.monotonic()
            journal.write(record)
            summary.steps["journal"] = summary.steps.get("journal", 0.0) + time.monotonic() - began
            batch.add(record)
            summary.graded.append(record)
            bar.set_postfix_str(f"{student}: {record['result']['status']}")
    finally:
        batch.flush()
    bar.close()


class _Once:
    """``func()`` computed on the first call and remembered (the graded sources need the
    gradebook, which a background thread may still be preparing)."""

    def __init__(self, func):
        self.func, self.done, self.value = func, False, None

    def __call__(self):
        if not self.done:
            self.value, self.done = self.func(), True
        return self.value


class _Background:
    """Run ``func(*args)`` in a thread; :meth:`result` waits and re-raises its exception."""

    def __init__(self, func, *args):
        import threading

        self._value, self._error = None, None
        self._thread = threading.Thread(target=self._run, args=(func, args), daemon=True)
        self._thread.start()

    def _run(self, func, args):
        try:
            self._value = func(*args)
        except BaseException as exc:  # re-raised in the caller's thread
            self._error = exc

    def result(self):
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def _lost_as_results(results, assignment: str):
    """Turn the pool's WorkerLost into retries and worker exceptions into 'error' results.

    A lost worker (killed, or past the job deadline, a backstop beyond the engine's own
    limits) is a failure of the infrastructure: the submission is graded again next run.
    """
    from autograder.classrun.pool import WorkerLost

    for student, value in results:
        if isinstance(value, WorkerLost):
            yield student, retry_result(f"the grading worker was lost: {value.reason}")
        elif isinstance(value, Exception) and "WorkerUnfit" in str(value):
            yield student, retry_result(str(value).strip().splitlines()[-1])
        elif isinstance(value, Exception):  # the worker's own code failed: never the student's doing
            yield student, lost_result(assignment, student, "error",
                                       "the grader failed on this submission: " + str(value).strip().splitlines()[-1])
        else:
            yield student, value


def _progress(total: int, assignment: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=f"grading {assignment}", unit="sub", disable=not enabled, dynamic_ncols=True)
