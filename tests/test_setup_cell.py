"""The notebooks' set-up cell (tools/setup_cell.py): in a kernel without the course's `utils` it
fetches the course's pinned version, survives a second run (a Colab runtime restart), ignores a
student's own utils.py, and when the fetch fails stops "Run all" with one paragraph.

Simulated without network: a stand-in `git` on PATH "clones" a stand-in course package (the
COURSE_REPO marker the cell looks for) and logs its arguments; with FAKE_GIT_OFFLINE set it fails
as git does without a network."""

import os
import re
import shutil
import stat
import subprocess
import sys
import textwrap

import pytest

from utils import COURSE_REPO, REPO_ROOT

SETUP_CELL = (REPO_ROOT / "tools" / "setup_cell.py").read_text()
COURSE_VERSION = re.search(r'^COURSE_VERSION = "([^"]+)"', SETUP_CELL, re.M)[1]

FAKE_GIT = textwrap.dedent(f"""\
    #!{sys.executable}
    import os, shutil, sys
    args = sys.argv[1:]
    open(os.environ["FAKE_GIT_LOG"], "a").write(" ".join(args) + "\\n")
    if os.environ.get("FAKE_GIT_OFFLINE"):
        sys.exit("fatal: unable to access 'https://github.com/{COURSE_REPO}.git/': "
                 "Could not resolve host: github.com")
    if args[0] == "clone":
        assert args[-2] == "https://github.com/{COURSE_REPO}.git", args
        os.makedirs(args[-1] + "/.git")
        os.makedirs(args[-1] + "/utils")  # a stand-in for the course's package: its marker only
        open(args[-1] + "/utils/__init__.py", "w").write("COURSE_REPO = {COURSE_REPO!r}")
    """)

STRAY_UTILS = "print('a student utils.py was imported')\n"


@pytest.fixture
def colab(tmp_path):
    """A Colab-like working folder, a fake git on PATH, and a runner for a bare interpreter (-S: no
    site-packages, so the installed course package is not importable, as in Colab)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    git = bin_dir / "git"
    git.write_text(FAKE_GIT)
    git.chmod(git.stat().st_mode | stat.S_IEXEC)
    work = tmp_path / "content"
    work.mkdir()
    log = tmp_path / "git.log"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "FAKE_GIT_LOG": str(log)}
    env.pop("PYTHONPATH", None)

    def run(probe="", offline=False, bare=True):
        run_env = {**env, "FAKE_GIT_OFFLINE": "1"} if offline else env
        flags = ["-S"] if bare else []
        return subprocess.run(
            [sys.executable, *flags, "-c", SETUP_CELL + "\n" + probe],
            cwd=work,
            env=run_env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    run.work, run.env, run.git_calls = work, env, lambda: log.read_text().splitlines() if log.exists() else []
    return run


PROBE = "import utils, os; print(os.path.realpath(utils.__file__))"


def test_colab_branch_fetches_the_pinned_version(colab):
    result = colab(PROBE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str((colab.work / "course" / "utils" / "__init__.py").resolve())
    [clone] = colab.git_calls()
    assert clone.startswith("clone") and "--depth=1" in clone and f"--branch {COURSE_VERSION}" in clone


def test_second_run_after_a_restart_reuses_the_clone(colab):
    assert colab().returncode == 0
    result = colab(PROBE)  # a new process: what a runtime restart leaves is the folder, not the kernel
    assert result.returncode == 0, result.stderr
    assert str(colab.work / "course") in result.stdout
    first, *again = colab.git_calls()
    assert first.startswith("clone") and not any(c.startswith("clone") for c in again), again
    assert f"-C course checkout --quiet --force {COURSE_VERSION}" in again, again


def test_restart_offline_uses_the_clone_it_has(colab):
    assert colab().returncode == 0
    result = colab(PROBE, offline=True)
    assert result.returncode == 0, result.stderr
    assert str(colab.work / "course") in result.stdout


def test_offline_first_run_says_what_to_do(colab):
    result = colab(PROBE, offline=True)
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("CourseSetupError: Set-up failed"), result.stderr
    assert "Could not resolve host" in message and "pip install -r requirements.txt" in message
    assert not (colab.work / "course").exists()


def test_a_students_utils_py_does_not_stop_the_fetch(colab):
    (colab.work / "utils.py").write_text(STRAY_UTILS)
    result = colab("import utils; print(utils.COURSE_REPO)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == COURSE_REPO


def test_a_stray_utils_already_imported_is_replaced(colab):
    (colab.work / "utils.py").write_text(STRAY_UTILS)
    result = subprocess.run(
        [sys.executable, "-S", "-c", "import utils\n" + SETUP_CELL + "\n" + PROBE],
        cwd=colab.work,
        env=colab.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert str(colab.work / "course" / "utils") in result.stdout


def test_run_all_stops_at_a_failed_set_up_with_one_paragraph(colab):
    """In a real kernel: the failing cell shows only the paragraph (no traceback), and the cells
    queued after it ("Run all") are aborted instead of failing one after another."""
    from jupyter_client.manager import start_new_kernel

    (colab.work / "utils.py").write_text(STRAY_UTILS)  # hides the installed course package
    env = {**colab.env, "FAKE_GIT_OFFLINE": "1"}
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(colab.work), env=env)
    try:
        first = kc.execute(SETUP_CELL)
        second = kc.execute("import utils; utils.COURSE_REPO")
        replies = {}
        while len(replies) < 2:
            msg = kc.get_shell_msg(timeout=120)
            if msg["parent_header"].get("msg_id") in (first, second):
                replies[msg["parent_header"]["msg_id"]] = msg["content"]
        errors = []
        while True:
            try:
                msg = kc.get_iopub_msg(timeout=5)
            except Exception:
                break
            if msg["msg_type"] == "error":
                errors.append(msg["content"]["traceback"])
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert replies[first]["status"] == "error" and replies[second]["status"] == "aborted", replies
    [traceback] = errors
    assert len(traceback) == 1 and traceback[0].startswith("Set-up failed"), traceback


def test_local_kernel_does_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(SETUP_CELL, {})  # utils is installed here: no clone, nothing written
    assert not (tmp_path / "course").exists()


def test_bare_interpreter_really_lacks_utils(tmp_path):
    """Guards the simulation above: without the set-up cell, -S hides the installed package."""
    probe = "import importlib.util; print(importlib.util.find_spec('utils'))"
    result = subprocess.run(
        [sys.executable, "-S", "-c", probe],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert result.stdout.strip() == "None", result.stdout + result.stderr


def test_pinned_version_is_the_course_version():
    version = re.search(r'^version = "([^"]+)"', (REPO_ROOT / "pyproject.toml").read_text(), re.M)[1]
    assert COURSE_VERSION == f"v{version}", (
        f"tools/setup_cell.py pins {COURSE_VERSION}, pyproject.toml says {version}: run "
        "`python tools/publish.py setup-cell` to write the version into the set-up cell of every notebook"
    )


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_with_real_git_it_clones_the_tag_and_moves_to_a_new_one(tmp_path):
    """The real git commands, against a local stand-in for GitHub (git's url.insteadOf): the clone
    holds the pinned tag, not the newest commit, and a later version moves the existing clone."""

    def git(*args, cwd):
        subprocess.run(
            ["git", "-c", "user.email=ci@example.org", "-c", "user.name=ci", *args],
            cwd=cwd,
            check=True,
            capture_output=True,
        )

    src = tmp_path / "src"
    (src / "utils").mkdir(parents=True)
    git("init", "-q", cwd=src)
    for release, marker in [(COURSE_VERSION, ""), ("v999.0.0", "NEWER = True\n")]:
        (src / "utils" / "__init__.py").write_text(f"COURSE_REPO = {COURSE_REPO!r}\n{marker}")
        git("add", ".", cwd=src)
        git("commit", "-qm", release, cwd=src)
        git("tag", release, cwd=src)
    git("commit", "-q", "--allow-empty", "-m", "main moves on", cwd=src)
    hub = tmp_path / "hub"
    git("clone", "-q", "--bare", str(src), str(hub / f"{COURSE_REPO}.git"), cwd=tmp_path)
    work = tmp_path / "content"
    work.mkdir()
    env = {
        **os.environ,
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": f"url.file://{hub}/.insteadOf",
        "GIT_CONFIG_VALUE_0": "https://github.com/",
        "GIT_CONFIG_KEY_1": "protocol.file.allow",
        "GIT_CONFIG_VALUE_1": "always",
    }
    env.pop("PYTHONPATH", None)
    probe = "\nimport utils; print(hasattr(utils, 'NEWER'))"
    for cell, newer in [(SETUP_CELL, "False"), (SETUP_CELL.replace(COURSE_VERSION, "v999.0.0"), "True")]:
        result = subprocess.run(
            [sys.executable, "-S", "-c", cell + probe],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == newer, "the clone is not at the pinned version"
