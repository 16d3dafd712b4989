"""A pool of persistent worker processes with a per-job deadline.

Why not ``concurrent.futures.ProcessPoolExecutor``: one worker that dies (the OOM killer,
a native crash) breaks the whole executor, and a job stuck past its deadline cannot be
stopped without stopping them all. Here each worker is a process in its own session,
forked from a ``forkserver`` that imported the heavy modules (nbgrader, nbformat, the
engine: seconds of start-up) once for the whole run, instead of once per submission as a
process per ``nbgrader`` command would; the parent sends it one job at a time over a pipe. A worker that dies is replaced and its job reported as a
:class:`WorkerLost`; a job past its deadline has its worker's whole process group killed
(which takes the student's kernel with it) and is reported the same way. Jobs are handed
out in order; results come back as they finish.
"""
from __future__ import annotations

import importlib
import multiprocessing as mp
import os
import signal
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import wait


@dataclass
class WorkerLost:
    """A job whose worker died or overran its deadline; ``reason`` says which."""

    reason: str


def _resolve(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this worker when its parent dies (a SIGKILLed grader leaves no
    worker behind to finish a job nobody will journal). A no-op elsewhere."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def _worker_main(conn, func_path: str, warm_imports: tuple[str, ...], log_path: str | None,
                 warm_up: tuple | None = None) -> None:
    # Own session and process group: the parent can kill this worker and every process it
    # started (kernels, bwrap) with one killpg, without touching its siblings.
    os.setsid()
    _die_with_parent()
    if log_path:
        # Kernels inherit these descriptors and print banners; keep them off the terminal
        # (and the progress bar) but on record.
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
    for name in warm_imports:
        try:
            importlib.import_module(name)
        except Exception:
            pass  # the job itself will raise a clearer error if the module matters
    if warm_up is not None:  # (dotted function, argument): e.g. start the warm kernel parent
        try:
            _resolve(warm_up[0])(warm_up[1])
        except Exception:
            traceback.print_exc()  # the first job meets the same problem and reports it
    func = _resolve(func_path)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        job_id, payload = message
        try:
            conn.send((job_id, True, func(payload)))
        except BaseException:
            conn.send((job_id, False, traceback.format_exc()))


class _Worker:
    def __init__(self, ctx, func_path, warm_imports, log_path, warm_up=None):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, func_path, warm_imports, log_path, warm_up),
                                   daemon=True)
        self.process.start()
        child.close()
        self.job = None  # (job_id, payload, deadline)
        self.ready = False

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.join(5)
        self.conn.close()


def _same_code_in_workers() -> None:
    """Make the forkserver import the ``autograder`` and ``rnnlab`` this process imported.

    The forkserver runs ``python -c``, so its ``sys.path`` starts with the current folder and
    Python 3.11 ignores the parent's ``sys.path`` there: graded from inside another clone of
    the course, the workers would import that clone's packages (its checks included).
    """
    from autograder.isolation.sandbox import package_path

    os.environ["PYTHONSAFEPATH"] = "1"  # no current folder first on sys.path
    wanted = package_path().split(os.pathsep)
    rest = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p not in wanted]
    os.environ["PYTHONPATH"] = os.pathsep.join(wanted + rest)


class WorkerPool:
    """``n_workers`` processes running ``func_path(payload) -> result`` (a dotted name).

    log_path : file that receives the workers' (and their kernels') stdout and stderr.
    warm_up : ``(dotted function, argument)`` each worker calls once before its first job.

    Use as a context manager; :meth:`run` yields ``(job_id, result)`` where result is the
    function's return value, a :class:`WorkerLost`, or an ``Exception`` carrying the worker's
    traceback when the function raised.
    """

    def __init__(self, n_workers: int, func_path: str, warm_imports: tuple[str, ...] = (),
                 log_path: str | None = None, warm_up: tuple | None = None):
        if n_workers < 1:
            raise ValueError(f"n_workers must be >= 1, got {n_workers}")
        self.n_workers = n_workers
        self.func_path = func_path
        self.warm_imports = warm_imports
        self.log_path = log_path
        self.warm_up = warm_up
        # forkserver: one clean process imports the heavy modules once (nbformat alone takes
        # about a second, for its JSON-schema formats) and every worker, replacements
        # included, is forked from it ready to work. Forking this process instead would copy
        # its gradebook connection and progress-bar thread; spawning re-imports per worker.
        self._ctx = mp.get_context("forkserver")
        _same_code_in_workers()
        self._ctx.set_forkserver_preload(["autograder.classrun.pool", *warm_imports])
        self._workers: list[_Worker] = []

    def __enter__(self):
        self._workers = [_Worker(self._ctx, self.func_path, self.warm_imports, self.log_path, self.warm_up) for _ in range(self.n_workers)]
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        for w in self._workers:
            try:
                if w.job is None and w.process.is_alive():
                    w.conn.send(None)
            except (OSError, BrokenPipeError):
                pass
        deadline = time.monotonic() + 5
        for w in self._workers:
            w.process.join(max(0.0, deadline - time.monotonic()))
            if w.process.is_alive() or w.job is not None:
                w.kill()
            # Anything the worker started and left behind (a detached kernel) goes too.
            try:
                os.killpg(w.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self._workers = []

    def _replace(self, w: _Worker) -> None:
        w.kill()
        self._workers[self._workers.index(w)] = _Worker(self._ctx, self.func_path, self.warm_imports, self.log_path, self.warm_up)

    def run(self, jobs, deadline_s: float | None = None):
        """Start handing out ``(job_id, payload)`` pairs now; return an iterator of ``(job_id, result)``.

        The first jobs are sent at once, before the caller starts iterating (a worker still
        importing reads its job when it is ready), so the caller can do its own setup while
        the workers already grade.
        """
        # Jobs are pulled from the iterable one at a time, so a class of thousands is never
        # held in memory at once; a job that could not be sent goes back to the front.
        state = {"source": iter(jobs), "retry": [], "busy": 0, "deadline_s": deadline_s}
        for w in list(self._workers):
            state["busy"] += self._dispatch(w, state)
        return self._results(state)

    def _has_pending(self, state) -> bool:
        if state["retry"]:
            return True
        try:
            state["retry"].append(next(state["source"]))
        except StopIteration:
            return False
        return True

    def _dispatch(self, w: _Worker, state) -> int:
        # Also called before each result is yielded: the caller's bookkeeping (journal,
        # gradebook) then overlaps with the worker's next job instead of idling it.
        if w.job is not None or not self._has_pending(state):
            return 0
        job_id, payload = state["retry"].pop(0)
        deadline = time.monotonic() + state["deadline_s"] if state["deadline_s"] else None
        try:
            w.conn.send((job_id, payload))
        except (OSError, BrokenPipeError):
            state["retry"].insert(0, (job_id, payload))
            self._replace(w)
            return 0
        w.job = (job_id, payload, deadline)
        return 1

    def _results(self, state):
        deadline_s = state["deadline_s"]
        while state["busy"] or self._has_pending(state):
            for w in list(self._workers):
                state["busy"] += self._dispatch(w, state)
            now = time.monotonic()
            timeouts = [w.job[2] - now for w in self._workers if w.job and w.job[2] is not None]
            waitables = [w.conn for w in self._workers] + [w.process.sentinel for w in self._workers]
            ready = wait(waitables, timeout=max(0.05, min(timeouts)) if timeouts else 1.0)
            for w in list(self._workers):
                dead = w.process.sentinel in ready
                if w.conn in ready:
                    try:
                        message = w.conn.recv()
                    except (EOFError, OSError):
                        message, dead = None, True
                    if message is not None and message[0] == "ready":
                        w.ready = True
                        continue
                    if message is not None and w.job and message[0] == w.job[0]:
                        job_id, ok, value = message
                        w.job = None
                        state["busy"] -= 1
                        state["busy"] += self._dispatch(w, state)
                        yield job_id, (value if ok else RuntimeError(value))
                        continue
                if dead:
                    # The sentinel fires when the child's descriptors close, a moment before
                    # it can be reaped: join so that its exit code is known.
                    w.process.join(5)
                    lost, code, started = w.job, w.process.exitcode, w.ready
                    self._replace(w)
                    if not started:
                        # Dying before it could even import its modules is the installation's
                        # fault, not the submission's: stop rather than fail every job.
                        raise RuntimeError(f"grading worker could not start (exit code {code}); "
                                           "see the workers' log")
                    if lost:
                        state["busy"] -= 1
                        yield lost[0], WorkerLost(f"grading worker died (exit code {code}) while grading")
                elif w.job and w.job[2] is not None and time.monotonic() > w.job[2]:
                    lost = w.job
                    self._replace(w)
                    state["busy"] -= 1
                    yield lost[0], WorkerLost(f"grading took longer than the {deadline_s:.0f} s "
                                              "limit for a whole submission; worker killed")
