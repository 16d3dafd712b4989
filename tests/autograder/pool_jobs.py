"""Jobs for test_pool.py, importable by spawned workers (this folder is on sys.path under pytest)."""
import os
import time


def job(payload):
    kind, arg = payload
    if kind == "pid":
        return os.getpid()
    if kind == "sleep":
        time.sleep(arg)
        return "slept"
    if kind == "die":
        os._exit(arg)
    if kind == "raise":
        raise ValueError(arg)
    if kind == "orphan":
        # A grandchild that would outlive the job if the pool did not kill the process group.
        import subprocess
        child = subprocess.Popen(["sleep", "600"])
        with open(arg, "w") as fh:
            fh.write(str(child.pid))
        time.sleep(600)
    raise AssertionError(kind)
