"""Time each chapter's execution the way ``make book`` executes it, and sum parts I and II.

The chapters are added to a fresh jupyter-cache project in a temporary folder (the book's
own cache, ``_build/.jupyter_cache``, is left alone) with the ``myst_nb_md`` reader and
executed with ``-e local-parallel -t 300`` as the Makefile does: a pool of one process per
core, so two chapters at a time on the course's two cores (``--serial`` runs them one by
one instead). Each chapter's time is the ``execution_seconds`` jupyter-cache records, the
figure ``make book`` reports. The table gives each chapter's seconds and its fraction of
the timeout, then the sum over the preface and the chapters of parts I and II (``_toc.yml``).
Targets (issue 16): parts I and II under 150 s, every chapter under a third of the timeout.

    python benchmarks/bench_book.py [book/07_bptt.md ...] [--serial] [--timeout 300]

With no chapter given, every ``book/*.md`` is executed. One thread per process for numpy
and PyTorch, as in the Makefile.
"""

import os

# One BLAS thread per kernel, as the Makefile exports; the kernels inherit this environment.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import yaml  # noqa: E402
from jupyter_cache import get_cache  # noqa: E402
from jupyter_cache.executors import load_executor  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
READ_DATA = {"name": "myst_nb_md", "type": "plugin"}
PARTS_I_II = ("Part I:", "Part II:")
TARGET_PARTS_I_II = 150.0


def parts_i_ii_chapters(toc_path):
    """Chapter files (``book/....md``, relative to the root) of parts I and II of the toc.

    The root page, the preface, is counted with them: it opens part I.
    """
    toc = yaml.safe_load(Path(toc_path).read_text())
    files = [toc["root"] + ".md"]
    for part in toc["parts"]:
        if part["caption"].startswith(PARTS_I_II):
            files += [chapter["file"] + ".md" for chapter in part["chapters"]]
    return files


def execute(chapters, serial, timeout):
    """Execute ``chapters`` in a fresh cache; return ({path: seconds}, failed paths, wall s)."""
    with tempfile.TemporaryDirectory(prefix="bench_book_") as folder:
        cache = get_cache(folder)
        for chapter in chapters:
            cache.add_nb_to_project(str(ROOT / chapter), read_data=READ_DATA)
        executor = load_executor("local-serial" if serial else "local-parallel", cache)
        start = time.perf_counter()
        result = executor.run_and_cache(timeout=timeout)
        wall = time.perf_counter() - start
        seconds = {}
        for record in cache.list_cache_records():
            seconds[str(Path(record.uri).relative_to(ROOT))] = record.data["execution_seconds"]
        failed = [str(Path(uri).relative_to(ROOT)) for uri in result.excepted + result.errored]
    return seconds, failed, wall


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", help="chapter files (default: book/*.md)")
    parser.add_argument("--serial", action="store_true", help="one chapter at a time")
    parser.add_argument("--timeout", type=int, default=300, help="seconds per notebook")
    args = parser.parse_args(argv)

    chapters = args.chapters or sorted(
        str(p.relative_to(ROOT)) for p in (ROOT / "book").glob("*.md"))
    chapters = [str(Path(c).resolve().relative_to(ROOT)) for c in chapters]
    mode = "serially" if args.serial else f"{os.cpu_count()} at a time"
    print(f"executing {len(chapters)} chapters {mode}, timeout {args.timeout} s",
          flush=True)
    seconds, failed, wall = execute(chapters, args.serial, args.timeout)

    in_parts = set(parts_i_ii_chapters(ROOT / "_toc.yml"))
    print(f"\n{'chapter':<34} {'seconds':>8} {'of timeout':>11}  part I-II")
    for chapter in chapters:
        if chapter in seconds:
            s = seconds[chapter]
            cells = f"{s:8.1f} {s / args.timeout:11.0%}"
        else:
            cells = f"{'failed':>8} {'':>11}"
        print(f"{chapter:<34} {cells}  {'yes' if chapter in in_parts else ''}")
    measured = [c for c in chapters if c in in_parts and c in seconds]
    total = sum(seconds[c] for c in measured)
    print(f"\nparts I-II: {total:.1f} s over {len(measured)} of {len(in_parts)} chapters"
          f" (target < {TARGET_PARTS_I_II:.0f} s)")
    if seconds:
        slowest = max(seconds, key=seconds.get)
        print(f"slowest: {slowest}, {seconds[slowest]:.1f} s,"
              f" {seconds[slowest] / args.timeout:.0%} of the timeout (target < 33%)")
    print(f"wall time: {wall:.1f} s; load average now: "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    if failed:
        print("failed: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
