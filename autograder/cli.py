"""``rnngrade``: grade a class of nbgrader submissions safely and in parallel.

Subcommands (each a thin layer over one module):

    rnngrade release   [A ...] [--all] [--check]   solutions/ -> exercises/   (autograder.release)
    rnngrade collect   --lms DIR|ZIP / --nbgrader DIR    -> submitted/     (autograder.intake.collect)
    rnngrade grade     A [--force] [--student ID] [--workers N | --scheduler ADDR]  (autograder.classrun.grade)
    rnngrade feedback  A [--student ID]            -> feedback/<s>/<a>/    (autograder.reporting.feedback)
    rnngrade export    [--assignment A] [--out DIR] -> grades.csv, tests.csv (autograder.reporting.export)
    rnngrade report    A [--out FILE]              -> one HTML page         (autograder.reporting.report)

Every subcommand takes ``--course DIR`` (default ``.``), the nbgrader course root holding
``nbgrader_config.py``. Limits of one grading job are flags of ``grade`` generated from
:class:`autograder.limits.Limits`, with its defaults.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
from pathlib import Path

from autograder.course import Course
from autograder.limits import Limits

EXIT_USAGE, EXIT_NO_SANDBOX, EXIT_NO_MEMORY_LIMIT, EXIT_INCOMPLETE = 2, 3, 4, 5
_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}


def _limit_help() -> dict[str, str]:
    """name -> its sentence, parsed from the Limits docstring (one source of truth)."""
    helps, current = {}, None
    for line in (Limits.__doc__ or "").splitlines():
        m = re.match(r"\s{4}([a-z_]+(?:, [a-z_]+)*) : (.*)", line)
        if m:
            current = [n.strip() for n in m.group(1).split(",")]
            for name in current:
                helps[name] = m.group(2).strip()
        elif current and line.startswith("        "):
            for name in current:
                helps[name] += " " + line.strip()
        else:
            current = None
    return helps


def _size(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)(?:i?[bB])?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"expected a size like 512M or 2G, got {text!r}")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def add_limit_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("limits of one grading job (defaults from autograder.limits.Limits)")
    helps = _limit_help()
    for f in dataclasses.fields(Limits):
        flag = "--" + f.name.replace("_", "-")
        is_size = "bytes" in f.name
        kind = _size if is_size else type(f.default)
        shown = f"{f.default / 2**20:g} MiB" if is_size else f"{f.default:g}"
        group.add_argument(flag, dest=f"limit_{f.name}", type=kind, default=None,
                           metavar="SIZE" if is_size else "N",
                           help=f"{helps.get(f.name, '').replace('``', '')} (default {shown})".replace("%", "%%"))


def limits_from_args(args) -> Limits:
    changes = {f.name: getattr(args, f"limit_{f.name}") for f in dataclasses.fields(Limits)
               if getattr(args, f"limit_{f.name}", None) is not None}
    return Limits().replace(**changes)


def _course(args) -> Course:
    return Course.from_root(args.course)


# Subcommands ---------------------------------------------------------------------------
def cmd_release(args) -> int:
    from autograder import release

    return release.run(args, _course(args))


def cmd_collect(args) -> int:
    from autograder.intake.collect import Collector

    if not args.lms and not args.nbgrader:
        print("collect: give at least one --lms DIR|ZIP or --nbgrader DIR", file=sys.stderr)
        return EXIT_USAGE
    collector = Collector(_course(args), args.assignment or None, dry_run=args.dry_run)
    for source in args.lms:
        path = Path(source)
        if path.is_dir():
            collector.from_lms_folder(path)
        elif path.suffix.lower() == ".zip":
            collector.from_zip(path)
        else:
            print(f"collect: {source} is neither a folder nor a .zip", file=sys.stderr)
            return EXIT_USAGE
    for source in args.nbgrader:
        collector.from_nbgrader_tree(Path(source))
    collector.save_renames()
    if not args.dry_run:
        from autograder.journal import atomic_write_text

        atomic_write_text(collector.course.state / "collect-report.json", collector.report.to_json())
    print("\n".join(collector.report.lines()))
    return 0


def cmd_grade(args) -> int:
    import json

    from autograder.isolation import sandbox
    from autograder.classrun.grade import grade_assignment
    from autograder.journal import atomic_write_text
    from autograder.limits import SandboxPolicy

    course = _course(args)
    use_sandbox = not args.no_sandbox
    if use_sandbox and not args.scheduler:
        ok, why = sandbox.available()
        if not ok:
            print(f"rnngrade: the sandbox cannot start on this machine: {why}\n"
                  "Install bubblewrap (apt-get install bubblewrap) and allow unprivileged user "
                  "namespaces, or rerun with --no-sandbox: student code then runs as you, with "
                  "read access to the course (hidden checks still decide outside its process).",
                  file=sys.stderr)
            return EXIT_NO_SANDBOX
    limits = limits_from_args(args)
    if args.scheduler:
        print("limits per job: chosen by each Dask worker's machine (see each result's enforced, or rnngrade report)")
    elif not _announce_limits(limits, use_sandbox, args.no_memory_limit):
        return EXIT_NO_MEMORY_LIMIT
    policy = SandboxPolicy(enabled=use_sandbox, warm=use_sandbox and args.warm_kernels)
    summary = grade_assignment(course, args.assignment, limits, sandbox=policy, workers=args.workers,
                               force=args.force, students=args.student or None, scheduler=args.scheduler,
                               progress=not args.no_progress, deadline_s=args.job_deadline)
    text = "\n".join(summary.lines())
    print(text)
    atomic_write_text(course.state / args.assignment / "last-run.txt", text + "\n")
    atomic_write_text(course.state / args.assignment / "last-run.json",
                      json.dumps(summary.figures(), indent=1) + "\n")
    return EXIT_INCOMPLETE if summary.retry else 0


def _announce_limits(limits, use_sandbox: bool, allow_unbounded: bool) -> bool:
    """Print which limits hold here and how; False (refuse) when no memory bound holds and
    the instructor did not pass --no-memory-limit."""
    from autograder.isolation.enforcement import choose

    enf = choose(use_sandbox)
    print(enf.line(limits), flush=True)
    if enf.memory_bound:
        return True
    if allow_unbounded:
        print("rnngrade: grading WITHOUT a memory limit (--no-memory-limit): a submission can use all "
              f"the memory of this machine ({enf.why})", file=sys.stderr)
        return True
    print(f"rnngrade: no memory limit can be enforced here ({enf.why}). Run as root or on a machine with "
          "cgroups or systemd user scopes, or pass --no-memory-limit to grade anyway.", file=sys.stderr)
    return False


def cmd_feedback(args) -> int:
    from autograder.reporting.feedback import write_feedback

    course = _course(args)
    paths = write_feedback(course, args.assignment, args.student or None)
    print(f"wrote {len(paths)} feedback page(s) under {course.feedback}")
    return 0


def cmd_export(args) -> int:
    from autograder.reporting.export import export

    course = _course(args)
    out = Path(args.out) if args.out else Path.cwd()
    grades, tests, n = export(course, args.assignment or None, out)
    print(f"wrote {grades} ({n} rows) and {tests}")
    return 0


def cmd_report(args) -> int:
    from autograder.reporting.report import write_report

    course = _course(args)
    out = Path(args.out) if args.out else course.state / args.assignment / "report.html"
    write_report(course, args.assignment, out)
    print(f"wrote {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnngrade", description=__doc__.split("\n\n")[0].replace("``", ""),
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Run `rnngrade SUBCOMMAND -h` for each subcommand's options.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--course", default=".", metavar="DIR",
                        help="nbgrader course root, holding nbgrader_config.py (default: .)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")

    from autograder import release
    p = sub.add_parser("release", parents=[common], help="generate exercises/ from solutions/ (or --check it)")
    release.add_arguments(p)
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("collect", parents=[common], help="bring LMS downloads or nbgrader trees into submitted/")
    p.add_argument("--lms", action="append", default=[], metavar="DIR|ZIP",
                   help="folder or zip of files named <student>_<assignment>.ipynb (repeatable)")
    p.add_argument("--nbgrader", action="append", default=[], metavar="DIR",
                   help="folder laid out <student>/<assignment>/<notebook>.ipynb (repeatable)")
    p.add_argument("--assignment", action="append", default=[], metavar="A",
                   help="only these assignments (default: every folder of the source directory)")
    p.add_argument("--dry-run", action="store_true", help="report what would happen, write nothing")
    p.set_defaults(func=cmd_collect)

    _add_grade_parser(sub, common)

    p = sub.add_parser("feedback", parents=[common], help="write per-student HTML feedback (no hidden tests)")
    p.add_argument("assignment")
    p.add_argument("--student", action="append", default=[], metavar="ID", help="only this student (repeatable)")
    p.set_defaults(func=cmd_feedback)

    p = sub.add_parser("export", parents=[common], help="write grades.csv and tests.csv")
    p.add_argument("--assignment", action="append", default=[], metavar="A",
                   help="only these assignments (default: all)")
    p.add_argument("--out", default=None, metavar="DIR", help="output folder (default: the current folder)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("report", parents=[common], help="one HTML page on a grading run, for the instructor")
    p.add_argument("assignment")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="output file (default: <course>/.rnngrade/<assignment>/report.html)")
    p.set_defaults(func=cmd_report)
    return parser


def _add_grade_parser(sub, common) -> None:
    """``rnngrade grade``: its options are the fields of GradeOptions and of Limits."""
    p = sub.add_parser("grade", parents=[common], help="grade new and changed submissions of an assignment")
    p.add_argument("assignment")
    p.add_argument("--force", action="store_true", help="regrade every submission, changed or not")
    p.add_argument("--student", action="append", default=[], metavar="ID",
                   help="(re)grade only this student, even if unchanged (repeatable)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help=f"parallel grading processes (default: one per core, here {os.cpu_count()})")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="send the jobs to this dask.distributed scheduler (tcp://host:8786) instead")
    p.add_argument("--no-sandbox", action="store_true",
                   help="run kernels without bubblewrap (limits and outside-kernel checks still apply)")
    p.add_argument("--warm-kernels", action="store_true",
                   help="fork each kernel from a warm parent that imported numpy, torch and rnnlab "
                        "(faster; the same isolation, see the instructor's guide)")
    p.add_argument("--no-memory-limit", action="store_true",
                   help="grade even where no memory limit can be enforced (otherwise rnngrade refuses)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--job-deadline", type=float, default=None, metavar="S",
                   help="kill a worker whose job runs longer than this (default: startup + notebook "
                        "timeout + 120 s; a backstop, the engine enforces the limits itself)")
    add_limit_flags(p)
    p.set_defaults(func=cmd_grade)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ValueError as exc:
        print(f"rnngrade {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
