"""Unit tests of autograder.grading.executor with a scripted kernel (none started)."""

import queue

import nbformat

from autograder.grading.executor import Executor
from autograder.limits import Limits
from autograder.runtime import RESULT_MIME


class ScriptedKernel:
    """A kernel client and manager in one: ``script(code)`` gives the iopub messages
    (msg_type, content) an execution of ``code`` shows before going idle."""

    def __init__(self, script):
        self.script, self.iopub, self.executed, self.n = script, queue.Queue(), [], 0

    def execute(self, code, **kw):
        self.n += 1
        msg_id = f"m{self.n}"
        self.executed.append(code)
        shown = [("execute_input", {"execution_count": self.n}), *self.script(code),
                 ("status", {"execution_state": "idle"})]
        for kind, content in shown:
            self.iopub.put({"msg_type": kind, "content": content,
                            "header": {"msg_type": kind},
                            "parent_header": {"msg_id": msg_id}, "metadata": {}})
        return msg_id

    def get_iopub_msg(self, timeout):
        return self.iopub.get(timeout=timeout)

    def get_shell_msg(self, timeout):
        return {"parent_header": {"msg_id": f"m{self.n}"}, "content": {"status": "ok"}}

    def is_alive(self):
        return True


def _result(value):
    data = {RESULT_MIME: value, "text/plain": "result"}
    return ("display_data", {"data": data, "metadata": {}})


def _stream(text):
    return ("stream", {"name": "stdout", "text": text})


def _run(script, source, limits=Limits()):
    kernel = ScriptedKernel(script)
    cell = nbformat.v4.new_code_cell(source)
    after = []
    executor = Executor(kernel, kernel, limits, after_cell=lambda: after.append(1))
    run = executor.run_cell(cell, 3, timeout=5)
    return run, cell, kernel, after


def test_a_test_cell_runs_its_hidden_block_apart_and_only_its_results_count():
    def script(code):
        if "BEGIN HIDDEN" in code:
            return [_result({"check": "real"})]
        error = {"ename": "AssertionError", "evalue": "visible", "traceback": ["tb"]}
        return [_result({"check": "forged"}), ("error", error)]

    hidden = ("### BEGIN HIDDEN TESTS\nhidden_check('a1', 'f', globals())\n"
              "### END HIDDEN TESTS")
    source = "assert f(1) == 2\n" + hidden
    run, cell, kernel, after = _run(script, source)
    assert kernel.executed == ["assert f(1) == 2\n", hidden]
    assert (run.status, run.error) == ("error", ("AssertionError", "visible"))
    assert run.hidden.status == "ok"
    assert run.results == [{"check": "real"}]
    assert run.visible_results == [{"check": "forged"}]
    assert len(after) == 2, "stray processes are killed after each execution"
    assert all(RESULT_MIME not in o.get("data", {}) for o in cell.outputs), \
        "raw results stay out of the notebook"


def test_output_beyond_the_line_limit_is_dropped_with_one_note():
    limits = Limits(output_lines_per_cell=3)
    lines = [_stream(f"line {i}\n") for i in range(10)]
    run, cell, _, _ = _run(lambda code: lines, "loop()", limits)
    assert run.status == "ok" and cell.execution_count == 1
    kept = [o for o in cell.outputs if o.get("name") == "stdout"]
    assert "".join(o.text for o in kept) == "".join(f"line {i}\n" for i in range(3))
    notes = [o for o in cell.outputs if o.get("name") == "stderr"]
    assert len(notes) == 1 and "3 lines per cell" in notes[0].text


def test_a_clean_cell_is_ok_and_its_streams_are_merged():
    streams = [_stream("a\n"), _stream("b\n")]
    run, cell, _, _ = _run(lambda code: streams, "print('a'); print('b')")
    assert (run.status, run.error, run.hidden, run.index) == ("ok", (), None, 3)
    assert [o.text for o in cell.outputs] == ["a\nb\n"]
