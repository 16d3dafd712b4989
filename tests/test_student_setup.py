"""What the student's guide tells a student to run works, as written.

The commands are read from ``book/students_guide.md`` itself, so the guide and these tests
cannot drift apart:

- the setup commands (``make lab``, and the one pip command for an environment of one's own)
  are the same in the README, the preface and the guide, and use the repository of
  ``_config.yml``;
- ``make lab`` needs no apt packages and serves ``exercises/`` in JupyterLab;
- the pip command, run on a copy of the repository's tracked files without network (no
  dependencies, no build isolation), installs everything the released notebooks import,
  and its ``student`` extra names a range that holds every pin of requirements.txt;
- the guide's validation commands, run as written, fail on a released notebook (the answer
  cells raise NotImplementedError) and pass on one filled in with the solutions, both with
  the course's ``.venv`` and with only the pip-installed package.

Decision kept here: the installed package also ships the instructor's checks
(``autograder/checks``). A student's ``nbgrader validate`` never runs them (the release has
no hidden test), and leaving them out would hide nothing, since the pip command reads the
whole repository, solutions included; but it would break ``rnngrade`` for an instructor who
installs the course the same way. Hidden cases stay hidden at grading, where the sandbox
mounts an empty folder over the checks and the verdicts are computed outside the kernel.
"""

import email
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "book" / "students_guide.md"
DOCS = {"README": ROOT / "README.md", "preface": ROOT / "book" / "00_preface.md", "guide": GUIDE}
VENV_BIN = Path(sys.executable).parent
ASSIGNMENT = "a1_rnn_cell"  # the assignment the guide's validation example names
SUCCESS = "Success! Your notebook passes all the tests."


def bash_blocks(path):
    """The ```bash blocks of a Markdown file, each as its list of non-blank lines."""
    blocks = re.findall(r"^```bash\n(.*?)^```", path.read_text(encoding="utf-8"), re.M | re.S)
    return [[line for line in block.splitlines() if line.strip()] for block in blocks]


def guide_block(first_word_of_a_line):
    """The guide's one bash block with a line starting with ``first_word_of_a_line``."""
    found = [b for b in bash_blocks(GUIDE) if any(line.startswith(first_word_of_a_line) for line in b)]
    assert len(found) == 1, f"the student's guide should have one bash block with {first_word_of_a_line!r}, has {len(found)}"
    return found[0]


def setup_lines():
    return guide_block("make lab") + guide_block("pip install")


def repository_url():
    return yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"].rstrip("/")


def tracked_files():
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if (ROOT / line).is_file()]


def filled_in(name):
    """The released notebook with every answer cell taken from the solution."""
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source
               for c in nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4).cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.read(ROOT / "exercises" / name / f"{name}.ipynb", as_version=4)
    filled = 0
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source, filled = answers[meta["grade_id"]], filled + 1
    assert filled, f"{name}: no answer cell to fill in"
    return nb


def run_bash(lines, cwd, env=None, timeout=600):
    """Run the guide's lines in one bash, stopping at the first that fails, as a student would."""
    script = "set -e\n" + "\n".join(lines) + "\n"
    return subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


# --- the same commands everywhere ------------------------------------------------------------

@pytest.mark.parametrize("doc", sorted(DOCS))
def test_setup_commands_are_the_same_in_readme_preface_and_guide(doc):
    lines = setup_lines()
    assert any(line.startswith("pip install") for line in lines)
    text = DOCS[doc].read_text(encoding="utf-8")
    in_blocks = {line for block in bash_blocks(DOCS[doc]) for line in block}
    missing = [line for line in lines if line not in in_blocks]
    assert not missing, f"{doc} does not give the student's guide's setup commands {missing}"
    assert "nbgrader validate" in text and "source .venv/bin/activate" in text, \
        f"{doc} should say how to validate, and that .venv must be activated for it"


def test_setup_commands_use_the_repository_of_config():
    urls = [u for line in setup_lines() for u in re.findall(r"https://\S+?(?=\.git\b|\"|$)", line)]
    assert urls, "the setup commands name no repository"
    assert set(urls) == {repository_url()}, f"{urls} is not repository.url of _config.yml"


# --- make lab --------------------------------------------------------------------------------

def test_make_lab_installs_no_apt_packages_and_opens_exercises():
    # A dry run: what make lab would do, from a state where nothing is installed yet.
    done = subprocess.run(["make", "-n", "-B", "lab", "VENV=/nonexistent/venv"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "pip install -r requirements.txt" in done.stdout
    assert "apt-get" not in done.stdout and "sudo" not in done.stdout
    assert re.search(r"^cd exercises && \S+/jupyter lab", done.stdout, re.M), done.stdout


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_make_lab_serves_the_assignments(tmp_path):
    if subprocess.run(["make", "-q", ".venv/.installed"], cwd=ROOT).returncode != 0:
        pytest.fail(".venv is not up to date with requirements.txt: run make install (no download in tests)")
    port, token = _free_port(), "student-setup-test"
    args = f"--no-browser --ServerApp.port={port} --ServerApp.port_retries=0 --IdentityProvider.token={token}"
    if os.geteuid() == 0:  # CI runs as root, where Jupyter refuses to start without it
        args += " --allow-root"
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"))
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(["make", "lab", f"LAB_ARGS={args}"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/api/contents/{ASSIGNMENT}?token={token}"
        deadline, listing, error = time.monotonic() + 120, None, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    listing = json.loads(response.read().decode())
                    break
            except OSError as exc:
                error = exc
                time.sleep(1)
        assert listing is not None, (f"JupyterLab did not serve exercises/{ASSIGNMENT}/ ({error}):\n"
                                     + (tmp_path / "lab.log").read_text()[-3000:])
        names = {item["name"] for item in listing["content"]}
        assert f"{ASSIGNMENT}.ipynb" in names, names
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=10) as response:
            assert response.status == 200
    finally:
        # The server runs in its own session, started here: stop that group only.
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


# --- the pip command -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pip_installed(tmp_path_factory):
    """The guide's pip command, run offline on a copy of the tracked files; returns the target."""
    tmp = tmp_path_factory.mktemp("pip-install")
    src, target = tmp / "rnn-course", tmp / "site-packages"
    for rel in tracked_files():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, src / rel)
    (line,) = [line for line in guide_block("pip install") if line.startswith("pip install")]
    args = shlex.split(line)[2:]
    url = f"git+{repository_url()}"
    assert any(url in arg for arg in args), f"{line!r} does not install from {url}"
    # Same requirement, read from the copy: git+ would clone the same tracked files.
    args = [arg.replace(url, src.as_uri()) for arg in args]
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
                           "--no-index", "--target", str(target), *args],
                          cwd=tmp, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"pip install failed:\n{done.stdout}\n{done.stderr}"
    return target


def _installed_env(target):
    # PYTHONPATH comes before the editable install of .venv (a finder appended to sys.meta_path).
    return dict(os.environ, PYTHONPATH=str(target), MPLBACKEND="Agg")


def released_imports():
    """Modules of rnnlab and autograder that the released notebooks import."""
    found = set()
    for path in sorted((ROOT / "exercises").glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                found |= set(re.findall(r"^\s*(?:from|import)\s+((?:rnnlab|autograder)[\w.]*)",
                                        cell.source, re.M))
    return found


@pytest.mark.slow
def test_pip_install_ships_what_released_notebooks_import(pip_installed, tmp_path):
    wanted = released_imports()
    assert {"rnnlab", "autograder.hints"} <= wanted, wanted
    # runtime: what the hidden test cells call at grading; checks: see the module docstring.
    wanted |= {"autograder.runtime", "autograder.checks.a1_rnn_cell"}
    code = ("import importlib, sys\n"
            f"for name in {sorted(wanted)!r}:\n"
            "    print(name, importlib.import_module(name).__file__)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_installed_env(pip_installed),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for line in done.stdout.splitlines():
        name, where = line.split(" ", 1)
        assert Path(where).is_relative_to(pip_installed), f"{name} came from {where}, not the installed package"


@pytest.mark.slow
def test_student_extra_covers_released_imports_and_holds_the_pins(pip_installed):
    from importlib.metadata import packages_distributions

    from packaging.requirements import Requirement

    (dist_info,) = pip_installed.glob("rnn_course-*.dist-info")
    metadata = email.message_from_string((dist_info / "METADATA").read_text())
    extra = {}
    for text in metadata.get_all("Requires-Dist") or []:
        req = Requirement(text)
        if req.marker and req.marker.evaluate({"extra": "student"}):
            extra[req.name.lower()] = req.specifier
    third_party = set()
    for path in sorted((ROOT / "exercises").glob("*/*.ipynb")) + sorted((ROOT / "rnnlab").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        # Import lines, also inside a notebook's JSON strings; words that name no installed
        # distribution (prose starting with "from") drop out below.
        third_party |= set(re.findall(r"^\s*\"?\s*(?:from|import)\s+(\w+)", text, re.M))
    providers = packages_distributions()
    needed = {"nbgrader"} | {providers[m][0].lower() for m in third_party if m in providers
                             and m not in sys.stdlib_module_names and m not in ("rnnlab", "autograder")}
    assert needed - set(extra) == set(), f"the student extra lacks {needed - set(extra)}"
    pins = dict(line.split("==", 1) for line in (ROOT / "requirements.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    pins = {Requirement(name).name.lower(): version for name, version in pins.items()}
    outside = {name: (pins[name], str(spec)) for name, spec in extra.items() if pins[name] not in spec}
    assert not outside, f"requirements.txt pins outside the student extra's ranges: {outside}"


# --- the validation command ------------------------------------------------------------------

def _validate_lines():
    lines = guide_block("nbgrader validate")
    assert lines[-1] == f"nbgrader validate {ASSIGNMENT}.ipynb", lines
    return lines


def _course_copy(tmp_path, nb):
    """A folder laid out like a clone after `make lab`: .venv and the assignment's notebook."""
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    folder = tmp_path / "exercises" / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")
    return tmp_path


def _output(done):
    return done.stdout + done.stderr


@pytest.mark.slow
def test_guide_validation_reports_the_released_notebook_not_implemented(tmp_path):
    released = nbformat.read(ROOT / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    # Started without .venv on PATH, as a new terminal is: the guide's lines must activate it.
    env = dict(os.environ, PATH=os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                                                if Path(p).resolve() != VENV_BIN.resolve()))
    done = run_bash(_validate_lines(), _course_copy(tmp_path, released), env=env)
    out = _output(done)
    assert done.returncode == 0, out  # nbgrader reports failed tests in its output, not its status
    assert "VALIDATION FAILED ON" in out and "NotImplementedError" in out, out[-3000:]
    assert SUCCESS not in out
    assert "ModuleNotFoundError" not in out, out[-3000:]


@pytest.mark.slow
def test_guide_validation_passes_the_filled_in_notebook(tmp_path):
    done = run_bash(_validate_lines(), _course_copy(tmp_path, filled_in(ASSIGNMENT)))
    out = _output(done)
    assert done.returncode == 0 and SUCCESS in out, out[-3000:]


@pytest.mark.slow
def test_validation_passes_with_only_the_pip_installed_package(pip_installed, tmp_path):
    # A student who received only the notebook: no clone, no .venv to activate, the course's
    # packages from the pip command; the guide's last line run in the notebook's folder.
    folder = tmp_path / ASSIGNMENT
    folder.mkdir()
    nbformat.write(filled_in(ASSIGNMENT), folder / f"{ASSIGNMENT}.ipynb")
    env = _installed_env(pip_installed)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env['PATH']}"  # nbgrader and Jupyter, already there
    done = run_bash(_validate_lines()[-1:], folder, env=env)
    out = _output(done)
    assert done.returncode == 0 and SUCCESS in out, out[-3000:]
