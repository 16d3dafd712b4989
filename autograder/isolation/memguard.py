"""Imported inside the student's kernel under the rlimit fallback: a refused allocation stops it.

Without a cgroup, RLIMIT_DATA (see :mod:`autograder.isolation.enforcement`) makes an allocation past the
bound fail with MemoryError instead of an out-of-memory kill. A MemoryError that reaches the
top of a cell then ends the kernel with :data:`MEMORY_EXIT`, so the engine reports it like
any other memory kill ("killed for using more than N MiB") and restarts the kernel, as a
cgroup's OOM kill would. A MemoryError the code catches itself (or one raised inside a hidden
check's probe, which records it as that case's failure) does not stop the kernel.

The kernelspec runs ``import autograder.isolation.memguard as g; g.install()`` (IPKernelApp.exec_lines); the
student's code can undo it, which only turns its own memory kill into a MemoryError traceback.
"""
import os
import sys

MEMORY_EXIT = 86


def _stop(shell, etype, value, tb, tb_offset=None):
    try:
        sys.stderr.write(f"MemoryError: {value}\nThe kernel is stopped: an allocation went past the memory limit.\n")
        sys.stderr.flush()
    finally:
        os._exit(MEMORY_EXIT)


def install() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    shell.set_custom_exc((MemoryError,), _stop)
    return True
