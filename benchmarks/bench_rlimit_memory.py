"""Measure what ``import torch`` and the course's notebooks need under RLIMIT_AS and RLIMIT_DATA.

Why: without a writable cgroup the grader bounds a kernel's memory with RLIMIT_DATA plus a
watchdog (autograder.isolation.watchdog); the rlimit must let honest work run. For each workload this
prints the peak resident memory (VmHWM), the peak data segment (VmData at the end, RLIMIT_DATA
counts private writable mappings) and the peak address space (VmPeak), then the smallest
RLIMIT_AS and RLIMIT_DATA under which it still succeeds (bisection to 8 MiB).

    .venv/bin/python benchmarks/bench_rlimit_memory.py [--quick]

A workload runs in a fresh ``python -c`` that sets the limit first, imports ipykernel and zmq
(what the kernel process holds besides the notebook) and then runs the code cells of a
solution notebook in one namespace. Then the same code runs in a real Jupyter kernel (its
threads each reserve a malloc arena and a stack, which RLIMIT_AS counts) and the kernel's
VmPeak, VmData and VmHWM are printed: what the RLIMIT_DATA bound must leave room for.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
MiB = 2**20
PRELUDE = "import ipykernel.kernelapp, zmq\n"
REPORT = ("\nst = dict(l.split(':', 1) for l in open('/proc/self/status') if ':' in l)\n"
          "print('@@' + ' '.join(k + '=' + st[k].split()[0] for k in ('VmPeak', 'VmData', 'VmHWM', 'RssAnon')))\n")


def workloads() -> dict:
    out = {"import torch": PRELUDE + "import torch\nx = torch.randn(64, 64) @ torch.randn(64, 64)\n"}
    for nb_path in sorted((REPO / "solutions").glob("*/*.ipynb")):
        nb = nbformat.read(nb_path, as_version=4)
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        out[nb_path.stem] = PRELUDE + code
    return out


def run(code: str, kind: str | None = None, limit: int | None = None, timeout=600):
    setter = "" if kind is None else (f"import resource; resource.setrlimit(resource.RLIMIT_{kind}, ({limit}, {limit}))\n")
    proc = subprocess.run([sys.executable, "-c", setter + code + REPORT], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO, env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin",
                                                          "MPLBACKEND": "Agg", "HOME": "/tmp"})
    stats = {}
    for line in proc.stdout.splitlines():
        if line.startswith("@@"):
            stats = {k: int(v) * 1024 for k, v in (p.split("=") for p in line[2:].split())}
    return proc.returncode == 0 and bool(stats), stats, proc.stderr[-300:]


def smallest(code: str, kind: str, lo: int, hi: int) -> int:
    """Smallest limit (to 8 MiB) under which the workload succeeds; assumes it succeeds at hi."""
    while hi - lo > 8 * MiB:
        mid = (lo + hi) // 2
        if run(code, kind, mid)[0]:
            hi = mid
        else:
            lo = mid
    return hi


def kernel_stats(code: str) -> dict:
    """VmPeak, VmData, VmHWM (MiB) of a real ipykernel after running ``code`` in it."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", cwd=str(REPO))
    try:
        reply = kc.execute_interactive(code.replace(PRELUDE, ""), timeout=600, output_hook=lambda msg: None)
        if reply["content"]["status"] != "ok":
            return {"error": reply["content"].get("ename")}
        with open(f"/proc/{km.provisioner.pid}/status") as f:
            st = dict(line.split(":", 1) for line in f if ":" in line)
        stats = {k: round(int(st[k].split()[0]) / 1024) for k in ("VmPeak", "VmData", "VmHWM")}
        return {**stats, "Threads": int(st["Threads"])}
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def main(quick: bool):
    results = {}
    for name, code in workloads().items():
        if quick and name != "import torch":
            continue
        ok, stats, err = run(code)
        if not ok:
            print(f"{name}: fails without limits: {err}")
            continue
        row = {k: round(v / MiB) for k, v in stats.items()}
        for kind, key in (("DATA", "VmData"), ("AS", "VmPeak")):
            row[f"min RLIMIT_{kind}"] = round(smallest(code, kind, 16 * MiB, stats[key] + 64 * MiB) / MiB)
        results[name] = row
        print(f"{name}: " + ", ".join(f"{k} {v} MiB" for k, v in row.items()), flush=True)
        row["in a kernel"] = kernel_stats(code)
        print(f"{name} in a running kernel: {row['in a kernel']} (MiB; Threads is a count)", flush=True)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main("--quick" in sys.argv)
