"""A sandboxed Jupyter kernel for one submission: kernelspec, bubblewrap command, limits.

:func:`prepare` lays out a private job directory and a kernelspec whose argv runs
:mod:`autograder.isolation.launch` (join the job's cgroup, set rlimits, exec bubblewrap). Inside the
sandbox the kernel sees:

- read-only: /usr (and the /bin, /lib... links), the few files of /etc a kernel reads
  (:data:`ETC_ENTRIES`: no shadow, no keys), Python's prefix and the course's
  virtualenv, the ``rnnlab`` and ``autograder`` packages with an empty read-only
  ``autograder/checks`` mounted over the instructor's checks;
- writable tmpfs (``Limits.scratch_bytes`` each): its home, holding the work directory with
  only a copy of the submission and the case inputs (read-only), /tmp and /dev/shm;
- the job's run directory (connection file and the kernel's ipc sockets), nothing else of
  the host: no solutions/, gradebook, other submissions, host /tmp, network (own loopback),
  host PIDs, IPC or hostname. It runs as uid 1000 in its own user namespace, without
  capabilities, with a cleared environment (one OpenMP thread).

Memory and process limits come from :func:`autograder.isolation.enforcement.plan_job`: a cgroup, a
systemd user scope, or RLIMIT_DATA plus a watchdog with RLIMIT_NPROC set inside the
sandbox's user namespace (by a small exec wrapper before the kernel), where it counts only
the job's processes. Without a sandbox (``sandbox=False``) the same launcher still applies
them, and the executor still enforces the cell and notebook time limits.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from autograder.isolation import cgroup as cgroups
from autograder.isolation import enforcement
from autograder.limits import SandboxPolicy

HOME = "/home/student"
WORK = f"{HOME}/work"
CASES_NAME = "rnngrade-cases.json"
SANDBOX_UID = 1000
# Run as root, the grader starts the sandbox as this host user ("nobody"): inside, uid 1000
# would otherwise map to root outside and could read every root-only file of a mounted path.
DROP_UID = DROP_GID = 65534
# The parts of /etc a kernel reads; the rest (shadow, SSH host keys, TLS private keys, the
# package manager's and services' configuration) stays outside the sandbox.
ETC_ENTRIES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime", "timezone",
               "passwd", "group", "nsswitch.conf", "host.conf", "hosts", "fonts", "mime.types",
               "os-release", "debian_version", "locale.alias", "python3.11", "matplotlibrc")
_available_cache = None


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    return Path(list(spec.submodule_search_locations)[0]).resolve()


def _venv_python() -> str:
    return os.path.join(sys.prefix, "bin", "python")


def drop_ids() -> tuple | None:
    """(uid, gid) the sandbox runs as on the host: the unprivileged user when the grader is
    root, None (the grader's own user) otherwise."""
    return (DROP_UID, DROP_GID) if os.geteuid() == 0 else None


def unreadable_for_others(paths) -> list:
    """Those of ``paths`` that a user who is neither owner nor in the group cannot reach
    (a directory on the way without o+x, the file itself without o+r, or o+x for a directory)."""
    bad = []
    for path in paths:
        real = Path(os.path.realpath(path))
        for part in [*reversed(real.parents), real]:
            try:
                mode = part.stat().st_mode
            except OSError:
                bad.append(str(path))
                break
            need = 0o005 if part == real else 0o001
            if mode & need != need:
                bad.append(f"{path} ({part} is mode {mode & 0o777:o})")
                break
    return bad


def package_path() -> str:
    """PYTHONPATH that makes a kernel import the very ``autograder`` and ``rnnlab`` this
    process imported, wherever they are (an editable install's finder may point at another
    clone, and a course folder's own copies must not shadow them)."""
    parents = []
    for package in ("autograder", "rnnlab"):
        parent = str(_package_dir(package).parent)
        if parent not in parents:
            parents.append(parent)
    return os.pathsep.join(parents)


@dataclass
class KernelJob:
    """The host-side files of one sandboxed kernel; :meth:`cleanup` removes them and its cgroup."""

    root: Path
    run_dir: Path
    kernel_dirs: list
    kernel_name: str
    sandboxed: bool
    cgroup: object = None
    enforced: list = field(default_factory=list)
    owner: tuple | None = None   # (uid, gid) the sandbox runs as, when not the grader's
    warm: bool = False           # forked by the warm parent (autograder.isolation.zygote)
    parent_start: float = 0.0    # s spent starting the warm parent for this job (its first)

    @property
    def cwd(self) -> str:
        """Where jupyter_client starts the launcher (the kernel's cwd without a sandbox)."""
        return str(self.root / "work") if not self.sandboxed else str(self.root)

    def tree_root(self, launcher_pid: int) -> int:
        """The process whose tree holds the kernel: the launcher (it became bwrap), or for a
        warm kernel the job process the warm parent forked (its pid, written by the launcher)."""
        if not self.warm:
            return launcher_pid
        return int((self.root / "job.pid").read_text())

    @property
    def connection_file(self) -> str:
        return str(self.run_dir / "connection.json")

    @property
    def ipc_prefix(self) -> str:
        return str(self.run_dir / "k")

    def fresh_run_dir(self):
        """Give the next kernel an empty run directory.

        The previous kernel could write in the old one (a symlink planted at connection.json
        would make jupyter_client, running as the grader, write through it), so it is moved
        aside, never reused; renaming a directory follows no link inside it.
        """
        self.starts = getattr(self, "starts", 0) + 1
        if self.run_dir.exists() and self.starts > 1:
            os.rename(self.run_dir, self.root / f"run-old-{self.starts}")
            self.run_dir.mkdir(mode=0o700)
            if self.owner is not None:  # the kernel writes its sockets there
                os.chown(self.run_dir, *self.owner)

    def cleanup(self):
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
        shutil.rmtree(self.root, ignore_errors=True)


def prepare(notebook_name: str, notebook_bytes: bytes, cases: dict, limits, sandbox=True,
            base_dir: str | None = None, files: dict | None = None) -> KernelJob:
    """Write the job directory and the kernelspec for one notebook (nothing is started yet).

    sandbox : a :class:`~autograder.limits.SandboxPolicy` (or a bool for its ``enabled``).
    notebook_name : file name of the notebook copy placed in the work directory.
    cases : the JSON-ready case inputs (autograder.runtime reads them via RNNGRADE_CASES).
    base_dir : where job directories go; short, since ipc socket paths must stay < 108 bytes.
    files : relative path -> bytes, the files nbgrader would copy beside the notebook in
        ``autograded/`` (the submission's, then the source assignment's); copied writable into
        the work directory, which holds at most ``limits.scratch_bytes``.
    """
    if not notebook_name or "/" in notebook_name or notebook_name.startswith("."):
        raise ValueError(f"notebook_name must be a plain file name, got {notebook_name!r}")
    policy = SandboxPolicy.of(sandbox)
    sandbox, zygote, cold_because = policy.enabled, None, ""
    files = check_files(files or {}, notebook_name, limits)
    # A systemd scope is entered by exec'ing systemd-run, which a fork of the warm parent cannot.
    if sandbox and policy.warm and enforcement.choose(sandbox).mechanism != "systemd scope":
        from autograder.isolation import zygote_host

        try:
            zygote, parent_start = zygote_host.get(limits)
            base_dir = str(zygote.jobs_dir)
        except RuntimeError as exc:  # a kernel of its own, as isolated: slower, never a failure
            cold_because = f"cold kernel: {exc}"
    job = _job_dir(notebook_bytes, cases, files, sandbox, base_dir)
    root = job.root
    try:
        planned = enforcement.plan_job(limits, root, sandbox)
        job.cgroup, rlimits = planned.cgroup, planned.rlimits
        job.enforced += planned.enforced + ([cold_because] if cold_because else [])
        if sandbox:
            # Descriptors @fd0 (the notebook), @fd1 (the cases), @fd2... (the files beside it).
            fds = [str(root / "nb.ipynb"), str(root / CASES_NAME)] + [str(root / f"file-{i}") for i in range(len(files))]
            argv, env = [], {}
            job.enforced.append("bubblewrap: no network, private pid/ipc/uts/user namespaces, read-only system")
            if zygote is not None:
                warm = _zygote_job(job, zygote, notebook_name, list(files), limits, planned)
                job.warm, job.parent_start = True, parent_start
                job.enforced.append("warm kernel: forked from a parent that imported numpy, torch and rnnlab, in its "
                                    "own user, mount, pid, ipc, uts and network namespaces, with a fresh home, /tmp "
                                    "and /proc")
            else:
                argv = _bwrap_command(job, notebook_name, limits, planned.inner_nproc, memguard=planned.memguard,
                                      files=list(files))
            if job.owner is not None:
                job.enforced.append(f"sandbox user: host uid {job.owner[0]} (the grader runs as root)")
        else:
            argv, fds, env = _plain_command(job, notebook_name, memguard=planned.memguard, files=list(files))
        spec = {"procs_files": job.cgroup.procs_files if job.cgroup else [], "rlimits": rlimits,
                "files": fds, "argv": argv, **planned.launch}
        if zygote is not None:
            spec["zygote"] = warm
        if job.owner is not None:
            spec["drop_to"] = list(job.owner)
        (root / "launch.json").write_text(json.dumps(spec), encoding="utf-8")
        _write_kernelspec(job, env)
    except BaseException:
        job.cleanup()
        raise
    return job


def _zygote_job(job: KernelJob, zygote, notebook_name: str, files: list, limits, planned) -> dict:
    """What :mod:`autograder.isolation.launch` sends the warm parent for this job."""
    nproc = planned.inner_nproc
    return {"socket": zygote.socket, "pidfile": str(job.root / "job.pid"), "job": {
        "notebook_name": notebook_name, "cases_name": CASES_NAME, "files": files,
        "run_dir": str(job.run_dir), "jobs_dir": str(zygote.jobs_dir), "home": HOME, "work": WORK,
        "scratch_bytes": int(limits.scratch_bytes), "env": _sandbox_env(limits), "nproc": nproc,
        "kernel_args": _kernel_args(memguard=planned.memguard)[2:]}}


def _job_dir(notebook_bytes: bytes, cases: dict, files: dict, sandbox: bool, base_dir) -> KernelJob:
    """A private job directory holding the notebook, the case inputs and the extra files;
    the run directory is handed to the sandbox's host user when the grader is root."""
    base = base_dir or os.environ.get("RNNGRADE_TMP") or tempfile.gettempdir()
    root = Path(tempfile.mkdtemp(prefix="rng-", dir=base))
    os.chmod(root, 0o700)
    run_dir = root / "run"
    run_dir.mkdir(mode=0o700)
    (root / "nb.ipynb").write_bytes(notebook_bytes)
    (root / CASES_NAME).write_text(json.dumps(cases), encoding="utf-8")
    for i, (rel, data) in enumerate(files.items()):
        (root / f"file-{i}").write_bytes(data)
    job = KernelJob(root, run_dir, [str(root / "kernels")], "rnngrade", sandbox)
    if sandbox and drop_ids() is not None:
        job.owner = drop_ids()
        closed = [str(d) for d in root.parents if not d.stat().st_mode & 0o001]
        if closed:
            shutil.rmtree(root, ignore_errors=True)
            raise RuntimeError(f"the sandbox's user {job.owner[0]} cannot reach the job folder under {closed[0]} "
                               "(no search permission for others): set RNNGRADE_TMP to a folder like /tmp")
        os.chmod(root, 0o711)  # traversable, not listable: bwrap binds the run dir below it
        os.chown(run_dir, *job.owner)
    return job


def _write_kernelspec(job: KernelJob, env: dict) -> None:
    """The kernelspec whose argv runs :mod:`autograder.isolation.launch` on ``launch.json``."""
    kernel_dir = job.root / "kernels" / job.kernel_name
    kernel_dir.mkdir(parents=True)
    kernelspec = {
        "argv": [sys.executable, "-I", "-S", str(Path(__file__).with_name("launch.py")),
                 str(job.root / "launch.json"), "{connection_file}"],
        "display_name": "rnngrade sandbox", "language": "python",
        # SIGINT from jupyter_client would hit the launcher's process group, never the kernel
        # behind bwrap; an interrupt_request message reaches it.
        "interrupt_mode": "message", "env": env,
    }
    (kernel_dir / "kernel.json").write_text(json.dumps(kernelspec), encoding="utf-8")


def check_files(files: dict, notebook_name: str, limits) -> dict:
    """The extra files as {normalised relative path: bytes}; ValueError for a path that could
    leave the work directory or hide the notebook, or when they would not fit in the sandbox."""
    out, total = {}, 0
    for rel, data in files.items():
        parts = Path(rel).parts
        if (not rel or Path(rel).is_absolute() or any(p in ("..", ".", "") for p in parts)
                or rel == notebook_name or rel == CASES_NAME):
            raise ValueError(f"extra file path must be relative, inside the work directory and not the notebook, got {rel!r}")
        total += len(data)
        out["/".join(parts)] = bytes(data)
    # Half the scratch space at most: the student's code needs room to write too.
    if total > limits.scratch_bytes // 2:
        raise ValueError(f"the files beside the notebook take {total} bytes, more than half the sandbox's "
                         f"{limits.scratch_bytes} B scratch space (raise --scratch-mb, or shrink the files)")
    return out


# Set by nbgrader's autograde while it executes a notebook; instructors guard cells with it.
NBGRADER_ENV = {"NBGRADER_EXECUTION": "autograde"}


def _kernel_args(connection_file="{connection_file}", memguard=False):
    """ipykernel's argv; ``memguard``: stop the kernel on a MemoryError (rlimit fallback, autograder.isolation.memguard)."""
    guard = ["--IPKernelApp.exec_lines=import autograder.isolation.memguard as g; g.install()"] if memguard else []
    return ["-m", "ipykernel_launcher", "-f", connection_file, "--HistoryManager.enabled=False", *guard]


def _sandbox_env(limits) -> dict:
    return {
        "HOME": HOME, "USER": "student", "LANG": "C.UTF-8", "TMPDIR": "/tmp",
        "PATH": f"{sys.prefix}/bin:/usr/local/bin:/usr/bin:/bin",
        "MPLCONFIGDIR": f"{HOME}/.config/matplotlib", "IPYTHONDIR": f"{HOME}/.ipython",
        "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1", "RNNGRADE_CASES": f"{WORK}/{CASES_NAME}",
        "PYTHONPATH": package_path(), **NBGRADER_ENV,
    }


def _plain_command(job: KernelJob, notebook_name: str, memguard: bool = False, files: list = ()):
    """No sandbox: the kernel runs on the host in a private work directory."""
    work, home = job.root / "work", job.root / "home"
    work.mkdir()
    home.mkdir()
    for i, rel in enumerate(files):
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(job.root / f"file-{i}", work / rel)
    shutil.copyfile(job.root / "nb.ipynb", work / notebook_name)
    shutil.copyfile(job.root / CASES_NAME, work / CASES_NAME)
    env = {"HOME": str(home), "MPLCONFIGDIR": str(home / ".matplotlib"), "IPYTHONDIR": str(home / ".ipython"),
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "RNNGRADE_CASES": str(work / CASES_NAME), "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONPATH": package_path(), **NBGRADER_ENV}
    return [_venv_python(), *_kernel_args(memguard=memguard)], [], env


class _Mounts:
    """Builds bwrap mount arguments, creating each missing parent directory once (0711)."""

    def __init__(self):
        self.args, self.dirs = [], {"/"}

    def parents(self, path: str):
        parts = Path(path).parts
        for i in range(2, len(parts)):
            d = str(Path(*parts[:i]))
            if d not in self.dirs:
                self.dirs.add(d)
                self.args += ["--perms", "0711", "--dir", d]

    def add(self, *args, dest: str):
        self.parents(dest)
        self.args += list(args)
        self.dirs.add(dest)


def _bwrap_command(job: KernelJob, notebook_name: str, limits, inner_nproc: str | None = None,
                   memguard: bool = False, files: list = ()) -> list:
    """The bwrap argv; ``inner_nproc``: RLIMIT_NPROC to set inside the sandbox before the kernel;
    ``memguard``: stop the kernel on a MemoryError (the rlimit fallback); ``files``: relative
    paths of the files beside the notebook, handed over as descriptors @fd2, @fd3..."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise RuntimeError("bubblewrap (bwrap) is not installed: apt-get install bubblewrap, or grade with sandbox=False")
    scratch = str(int(limits.scratch_bytes))
    m = _system_mounts(scratch)
    _work_mounts(m, job, notebook_name, files, scratch)
    inner = [*enforcement.inner_command(_venv_python()), inner_nproc] if inner_nproc else []
    env = []
    for key, value in _sandbox_env(limits).items():
        env += ["--setenv", key, value]
    return [bwrap, "--unshare-all", "--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
            "--hostname", "sandbox", "--die-with-parent", "--new-session", "--clearenv", *env,
            # The skeleton bwrap builds (/, /work, /home...) is a tmpfs: make it read-only too.
            *m.args, "--remount-ro", "/", "--chdir", WORK, "--", *inner, _venv_python(), *_kernel_args(memguard=memguard)]


def _system_mounts(scratch: str, proc=("--proc", "/proc")) -> _Mounts:
    """Read-only system, Python and the course packages (checks hidden), scratch tmpfs;
    ``proc``: how /proc is made (the warm parent binds the host's, see zygote_host)."""
    m = _Mounts()
    m.add("--ro-bind", "/usr", "/usr", dest="/usr")
    for name in ("bin", "lib", "lib32", "lib64", "libx32", "sbin"):
        path = f"/{name}"
        if os.path.islink(path):
            m.add("--symlink", os.readlink(path), path, dest=path)
        elif os.path.isdir(path):
            m.add("--ro-bind", path, path, dest=path)
    # Only what a kernel needs from /etc: the dynamic linker's cache, users and groups (no
    # shadow), time zone, fonts for matplotlib, MIME types, and the alternatives' links.
    for name in ETC_ENTRIES:
        path = f"/etc/{name}"
        if os.path.islink(path):
            m.add("--symlink", os.readlink(path), path, dest=path)
        elif os.path.exists(path):
            m.add("--ro-bind", path, path, dest=path)
    m.add(*proc, dest="/proc")
    m.add("--dev", "/dev", dest="/dev")
    m.add("--perms", "1777", "--size", scratch, "--tmpfs", "/dev/shm", dest="/dev/shm")
    m.add("--perms", "1777", "--size", scratch, "--tmpfs", "/tmp", dest="/tmp")
    prefixes = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix)}
    for prefix in sorted(prefixes):
        if not prefix.startswith("/usr/"):
            m.add("--ro-bind", prefix, prefix, dest=prefix)
    for package in ("rnnlab", "autograder"):
        pkg = str(_package_dir(package))
        if not any(pkg.startswith(p + "/") for p in prefixes):
            m.add("--ro-bind", pkg, pkg, dest=pkg)
    checks = str(_package_dir("autograder") / "checks")
    m.args += ["--perms", "0555", "--size", "4096", "--tmpfs", checks, "--remount-ro", checks]
    return m


def _work_mounts(m: _Mounts, job: KernelJob, notebook_name: str, files, scratch: str) -> None:
    """The job's run dir, the home tmpfs and the work dir: the notebook, the cases, the files."""
    m.add("--bind", str(job.run_dir), str(job.run_dir), dest=str(job.run_dir))
    m.add("--perms", "0755", "--size", scratch, "--tmpfs", HOME, dest=HOME)
    m.args += ["--perms", "0755", "--dir", WORK,
               "--perms", "0644", "--file", "@fd0", f"{WORK}/{notebook_name}",
               # Handed over as a descriptor: the sandbox's host user may not reach the job dir.
               "--perms", "0444", "--ro-bind-data", "@fd1", f"{WORK}/{CASES_NAME}"]
    made = {WORK}
    for i, rel in enumerate(files):
        dest = f"{WORK}/{rel}"
        parts = rel.split("/")[:-1]
        for j in range(1, len(parts) + 1):
            d = f"{WORK}/{'/'.join(parts[:j])}"
            if d not in made:
                made.add(d)
                m.args += ["--perms", "0755", "--dir", d]
        # A copy (like nbgrader's in autograded/), writable so the notebook may update it.
        m.args += ["--perms", "0644", "--file", f"@fd{i + 2}", dest]


def stray_processes(root_pid: int, sandboxed: bool) -> list:
    """Processes of the job other than the kernel (and bwrap's own two), for killing after a cell.

    root_pid : the launcher's pid (it became bwrap, or the kernel itself without a sandbox).
    """
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    keep = {root_pid}
    if sandboxed:  # bwrap -> its pid-namespace init (ns pid 1) -> the kernel (ns pid 2)
        for pid in children.get(root_pid, []):
            keep.add(pid)
            keep.update(p for p in children.get(pid, []) if _ns_pid(p) == 2)
    strays, todo = [], list(children.get(root_pid, []))
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        if pid not in keep:
            strays.append(pid)
    return strays


def _ns_pid(pid: int):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("NSpid:"):
                    return int(line.split()[-1])
    except (OSError, ValueError):
        pass
    return None


def kill_strays(root_pid: int, sandboxed: bool) -> int:
    """SIGKILL the job's processes other than the kernel; return how many were killed
    (stopped first, round after round: :func:`autograder.isolation.watchdog.stop_then_kill`)."""
    from autograder.isolation.watchdog import stop_then_kill

    return stop_then_kill(lambda: stray_processes(root_pid, sandboxed))


def available() -> tuple:
    """(ok, reason): whether bubblewrap can start a sandboxed Python here (probed once)."""
    global _available_cache
    if _available_cache is None:
        _available_cache = _probe_bwrap()
    return _available_cache


def run_python(code: str, sandbox: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``python -c code`` the way a grading kernel runs: the same bubblewrap command (or,
    without a sandbox, the same environment), the same Python and import path.

    Raises RuntimeError when bubblewrap is missing, OSError / TimeoutExpired as subprocess does.
    """
    from autograder.limits import Limits

    root = Path(tempfile.mkdtemp(prefix="rng-probe-"))
    try:
        (root / "run").mkdir()
        (root / CASES_NAME).write_text("{}")
        (root / "nb.ipynb").write_text("{}")
        job = KernelJob(root, root / "run", [], "probe", sandbox)
        if not sandbox:
            argv, _, env = _plain_command(job, "probe.ipynb")
            argv = [argv[0], "-c", code]
            return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=job.cwd,
                                  env={**os.environ, **env})
        argv = _bwrap_command(job, "probe.ipynb", Limits())
        argv = argv[:argv.index("--") + 1] + [_venv_python(), "-c", code]
        fds = [os.open(root / "nb.ipynb", os.O_RDONLY), os.open(root / CASES_NAME, os.O_RDONLY)]
        argv = [str(fds[int(a[3:])]) if a in ("@fd0", "@fd1") else a for a in argv]
        drop = drop_ids()
        if drop is not None:
            os.chmod(root, 0o711)
            os.chown(root / "run", *drop)
        ids = {"user": drop[0], "group": drop[1], "extra_groups": []} if drop else {}
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, pass_fds=tuple(fds), **ids)
        finally:
            for fd in fds:
                os.close(fd)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _probe_bwrap() -> tuple:
    if shutil.which("bwrap") is None:
        return False, "bubblewrap (bwrap) is not installed: apt-get install bubblewrap, or use --no-sandbox"
    if drop_ids() is not None:
        needed = [_venv_python(), sys.prefix, *(str(_package_dir(p)) for p in ("rnnlab", "autograder"))]
        bad = unreadable_for_others(needed)
        if bad:
            return False, (f"run as root, rnngrade starts the sandbox as the unprivileged user {DROP_UID}, which "
                           f"cannot read {'; '.join(bad)}: build the virtual environment on a Python every "
                           "user can read (make install uses /usr/bin/python3.11) in a folder they can reach")
    try:
        proc = run_python("import os, socket; print(os.getuid(), os.listdir('/'))", timeout=30)
    except (OSError, subprocess.TimeoutExpired, RuntimeError) as exc:
        return False, f"bubblewrap could not start: {exc}"
    if proc.returncode != 0:
        return False, f"bubblewrap failed here (exit {proc.returncode}): {proc.stderr.strip()[:500]}"
    kind, why = cgroups.probe()
    return True, f"bubblewrap works (uid {proc.stdout.split()[0]} in a user namespace, no network); {why}"
