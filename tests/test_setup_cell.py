"""The notebooks' set-up cell: its Colab branch (helpers not importable) fetches the course and makes
`utils` importable. Simulated without network: a stand-in `git` on PATH "clones" this checkout."""

import os
import stat
import subprocess
import sys
import textwrap

from utils import COURSE_REPO, REPO_ROOT

SETUP_CELL = (REPO_ROOT / "tools" / "setup_cell.py").read_text()

FAKE_GIT = textwrap.dedent(f"""\
    #!{sys.executable}
    import shutil, sys
    args = sys.argv[1:]
    assert args[0] == "clone" and args[-2] == "https://github.com/{COURSE_REPO}.git", args
    shutil.copytree({str(REPO_ROOT / "utils")!r}, args[-1] + "/utils")
    open(args[-1] + "/git-args.txt", "w").write(" ".join(args))
    """)


def run_setup_cell(tmp_path, probe):
    """Run the set-up cell in a bare interpreter (-S: no site-packages, so `utils` is not importable)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    git = bin_dir / "git"
    git.write_text(FAKE_GIT)
    git.chmod(git.stat().st_mode | stat.S_IEXEC)
    work = tmp_path / "content"
    work.mkdir()
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    return subprocess.run([sys.executable, "-S", "-c", SETUP_CELL + "\n" + probe], cwd=work, env=env,
                          capture_output=True, text=True, timeout=60), work


def test_colab_branch_fetches_the_helpers(tmp_path):
    probe = "import importlib.util, os; print(os.path.realpath(importlib.util.find_spec('utils').origin))"
    result, work = run_setup_cell(tmp_path, probe)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str((work / "course" / "utils" / "__init__.py").resolve())
    assert "--depth=1" in (work / "course" / "git-args.txt").read_text()


def test_bare_interpreter_really_lacks_utils(tmp_path):
    """Guards the simulation above: without the set-up cell, -S hides the installed package."""
    result = subprocess.run([sys.executable, "-S", "-c", "import importlib.util; print(importlib.util.find_spec('utils'))"],
                            cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""})
    assert result.stdout.strip() == "None", result.stdout + result.stderr


def test_local_branch_does_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(SETUP_CELL, namespace)  # utils is installed here: no clone, nothing written
    assert not (tmp_path / "course").exists()
