"""Run a notebook's cells in a (sandboxed) kernel under time and output limits.

nbclient stops at the first dead kernel and, with ``interrupt_on_timeout``, waits forever on
a kernel that ignores the interrupt; this executor instead talks to the kernel with
jupyter_client directly and, for every cell, returns what happened:

- ``ok`` / ``error``: the cell finished (an ``error`` output is the student's exception);
- ``timeout``: the cell ran past its limit and was interrupted; the kernel answered, so the
  next cells still run;
- ``hung``: the kernel ignored the interrupt for ``Limits.interrupt_grace`` s and was killed;
- ``dead``: the kernel died (``os._exit``, a segfault, the memory limit);
- ``skipped``: never run (the kernel was gone, or the notebook's time budget ran out).

A test cell with a hidden block (``### BEGIN HIDDEN TESTS``) runs as two executions in the
same kernel: its visible part, then its hidden part, which runs whatever the visible part
did (a failing visible assert no longer silences the hidden checks). Only results shown by
the hidden part count; one shown while the visible part ran came from the student's code.

Outputs beyond the byte and line limits are dropped with a note. Outputs carrying hidden
check results (``RESULT_MIME``) are collected per cell apart from the displayed outputs,
so ``clear_output`` cannot remove them, and are left out of the saved notebook.
"""

from __future__ import annotations

import json
import queue
import time
from dataclasses import dataclass, field

import nbformat

from autograder.runtime import RESULT_MIME

DISPLAY_TYPES = ("stream", "display_data", "execute_result", "error")
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"


def split_hidden(source: str) -> tuple[str, str]:
    """(visible part, hidden part) of a test cell's source; the hidden part is "" if none."""
    at = source.find(HIDDEN_BEGIN)
    if at < 0:
        return source, ""
    return source[:at].rstrip() + "\n", source[at:]


@dataclass
class HiddenRun:
    """What happened to the hidden part of a test cell (run after its visible part)."""

    status: str = "skipped"   # ok, error, timeout, hung, dead, skipped
    error: tuple = ()
    note: str = ""


@dataclass
class CellRun:
    """What happened to one code cell.

    status, error : of the cell, or of its visible part when it has a hidden block.
    results : hidden-check results shown by the hidden part (by the whole cell if it has none).
    visible_results : results shown while the visible part ran (forged by student code).
    hidden : the hidden part's run, None when the cell has no hidden block.
    """

    index: int
    status: str = "skipped"
    seconds: float = 0.0
    results: list = field(default_factory=list)
    error: tuple = ()         # (ename, evalue) of the student's exception, if any
    note: str = ""
    visible_results: list = field(default_factory=list)
    hidden: HiddenRun | None = None


class Executor:
    """Executes cells one at a time on a started kernel client ``kc`` of kernel manager ``km``.

    after_cell : called after each finished cell (the sandbox kills stray processes there).
    """

    def __init__(self, km, kc, limits, after_cell=None):
        self.km, self.kc, self.limits = km, kc, limits
        self.after_cell = after_cell
        self.notebook_bytes = 0
        self.notebook_note_added = False

    def run_cell(self, cell, index: int, timeout: float, notebook_deadline: float | None = None) -> CellRun:
        """Execute ``cell`` (modified in place: outputs, execution_count) within ``timeout`` s.

        notebook_deadline : ``time.monotonic()`` at which the notebook's budget ends. A cell
            with a hidden block runs it after its visible part unless the kernel is gone, with
            its own budget: the cell limit, cut to what is left of the notebook's.
        """
        run = CellRun(index)
        start = time.monotonic()
        cell.outputs = []
        state = _OutputState()
        visible, hidden = split_hidden(cell.source)
        if not hidden:
            run.status, run.error, run.note = self._run_source(cell.source, cell, run, state, timeout)
        else:
            sink = run.visible_results
            if visible.strip():
                run.status, run.error, run.note = self._run_source(visible, cell, run, state, timeout, sink)
            else:
                run.status = "ok"
            run.hidden = HiddenRun()
            budget = timeout if notebook_deadline is None else \
                min(self.limits.cell_timeout, notebook_deadline - time.monotonic())
            if run.status in ("ok", "error", "timeout") and budget <= 0:
                run.hidden.note = "not run: the notebook's time budget ran out during the visible tests"
            elif run.status in ("ok", "error", "timeout"):
                h = run.hidden
                h.status, h.error, h.note = self._run_source(hidden, cell, run, state, budget, run.results)
                if h.status in ("dead", "hung"):  # the kernel is gone: the cell as a whole stopped
                    run.status, run.note = h.status, h.note
            else:
                run.hidden.note = "not run: the kernel stopped during the visible tests"
        run.seconds = time.monotonic() - start
        return run

    def _run_source(self, source, cell, run, state, timeout, sink=None):
        """Execute one piece of a cell; return (status, error, note). Results go to ``sink``."""
        part = CellRun(run.index)
        msg_id = self.kc.execute(source, store_history=True, allow_stdin=False, stop_on_error=False)
        deadline = time.monotonic() + timeout
        finished = self._drain(msg_id, cell, part, state, deadline)
        if finished is None:  # the kernel died
            part.status = "dead"
        elif finished:
            reply = self._reply(msg_id) or {}
            if reply.get("status") == "error" and not part.error:  # the traceback display was silenced
                part.error = (str(reply.get("ename", "Error"))[:200], str(reply.get("evalue", ""))[:2000])
            part.status = "error" if part.error else "ok"
        else:
            recovered = self._interrupt(msg_id, cell, part, state)
            if recovered:
                self._reply(msg_id)
                part.status = "timeout"
                part.note = f"the cell ran longer than its {timeout:.3g} s limit and was interrupted"
            else:
                part.status = "hung" if recovered is not None else "dead"
                part.note = (f"the cell ran longer than its {timeout:.3g} s limit and the kernel did not "
                             f"answer the interrupt within {self.limits.interrupt_grace:g} s: it was stopped")
            cell.outputs.append(nbformat.v4.new_output(
                "error", ename="TimeoutError", evalue=part.note, traceback=[f"TimeoutError: {part.note}"]))
        (run.results if sink is None else sink).extend(part.results)
        if part.note and not run.note and part.status == "ok":
            run.note = part.note  # results over the byte limit were dropped
        if part.status in ("ok", "error", "timeout") and self.after_cell is not None:
            self.after_cell()
        return part.status, part.error, part.note

    def _interrupt(self, msg_id, cell, run, state):
        """Interrupt the running cell; True if the kernel went idle within the grace period.

        Processes the cell forked are killed first and again while waiting: a fork bomb
        would otherwise starve the kernel of the CPU it needs to handle the interrupt.
        """
        grace = time.monotonic() + self.limits.interrupt_grace
        if self.after_cell is not None:
            self.after_cell()
        self.km.interrupt_kernel()
        while True:
            step = min(grace, time.monotonic() + 0.25)
            recovered = self._drain(msg_id, cell, run, state, step)
            if recovered is not False or time.monotonic() >= grace:
                return recovered
            if self.after_cell is not None:
                self.after_cell()

    def _drain(self, msg_id, cell, run, state, deadline):
        """Process the cell's iopub messages until idle (True), the deadline (False) or death (None)."""
        last_alive_check = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= deadline:
                return False
            try:
                msg = self.kc.get_iopub_msg(timeout=min(0.2, deadline - now))
            except queue.Empty:
                if not self.km.is_alive():
                    return None
                last_alive_check = time.monotonic()
                continue
            if time.monotonic() - last_alive_check > 1.0:
                last_alive_check = time.monotonic()
                if not self.km.is_alive():
                    return None
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue  # output of an earlier cell's thread, or of a startup snippet
            kind, content = msg["msg_type"], msg["content"]
            if kind == "status" and content.get("execution_state") == "idle":
                return True
            if kind == "execute_input":
                cell.execution_count = content.get("execution_count")
            elif kind == "clear_output":
                state.clear(cell, wait=content.get("wait", False))
            elif kind in DISPLAY_TYPES:
                self._output(cell, run, state, msg)

    def _reply(self, msg_id, timeout=2.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = self.kc.get_shell_msg(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                return None
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return msg["content"]
        return None

    def _output(self, cell, run, state, msg):
        kind, content = msg["msg_type"], msg["content"]
        if kind == "error":
            run.error = (str(content.get("ename", ""))[:200], str(content.get("evalue", ""))[:2000])
        data = content.get("data") if kind in ("display_data", "execute_result") else None
        if isinstance(data, dict) and RESULT_MIME in data:
            size = len(json.dumps(data[RESULT_MIME]))
            state.result_bytes += size
            if state.result_bytes <= self.limits.result_bytes_per_cell:
                run.results.append(data[RESULT_MIME])
            else:
                run.note = f"hidden-check results over {self.limits.result_bytes_per_cell} bytes were dropped"
            msg = dict(msg, content=dict(content, data={"text/plain": str(data.get("text/plain", ""))[:200]}))
        out = nbformat.v4.output_from_msg(msg)
        size, lines = _size(out)
        if state.wait_clear:
            state.clear(cell, wait=False)
        limit = self.limits
        if (state.bytes + size > limit.output_bytes_per_cell or state.lines + lines > limit.output_lines_per_cell
                or self.notebook_bytes + size > limit.output_bytes_per_notebook):
            if kind == "error":  # keep the student's error, trimmed, so the feedback shows it
                out.traceback = [t[:2000] for t in out.get("traceback", [])[-5:]]
                cell.outputs.append(out)
            elif not state.truncated:
                state.truncated = True
                cell.outputs.append(nbformat.v4.new_output("stream", name="stderr", text=(
                    f"[rnngrade] further output of this cell was dropped: limits are "
                    f"{limit.output_bytes_per_cell} bytes and {limit.output_lines_per_cell} lines per cell, "
                    f"{limit.output_bytes_per_notebook} bytes per notebook\n")))
            return
        state.bytes += size
        state.lines += lines
        self.notebook_bytes += size
        if out.output_type == "stream" and cell.outputs and cell.outputs[-1].get("output_type") == "stream" \
                and cell.outputs[-1].get("name") == out.name:
            cell.outputs[-1].text += out.text
        else:
            cell.outputs.append(out)


class _OutputState:
    def __init__(self):
        self.bytes = self.lines = self.result_bytes = 0
        self.truncated = self.wait_clear = False

    def clear(self, cell, wait):
        if wait:
            self.wait_clear = True
        else:
            cell.outputs = []
            self.wait_clear = False


def _size(out) -> tuple:
    if out.output_type == "stream":
        return len(out.text), out.text.count("\n")
    if out.output_type == "error":
        tb = "".join(out.get("traceback", []))
        return len(tb) + len(out.get("evalue", "")), tb.count("\n")
    data = out.get("data", {})
    return sum(len(v) if isinstance(v, str) else len(json.dumps(v)) for v in data.values()), 0
