"""The workflows users see on GitHub: valid YAML, the tests run README's own set-up and test commands
on every push and pull request, and the book is published only after those tests passed."""

import re

import yaml

from utils import REPO_ROOT

WORKFLOWS = REPO_ROOT / ".github" / "workflows"


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def commands(workflow: dict) -> str:
    return "\n".join(step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"])


def test_tests_workflow_runs_readmes_commands_on_push_and_pull_request():
    workflow = load("tests.yml")
    assert {"push", "pull_request"} <= set(workflow[True])  # YAML reads the key `on` as True
    readme = (REPO_ROOT / "README.md").read_text()
    quick_start = readme[readme.index("## Quick start") :].split("```bash")[1].split("```")[0]
    wanted = [line for line in quick_start.splitlines() if line and not line.startswith("#")]
    assert len(wanted) == 2, wanted  # set-up and test
    run = commands(workflow)
    for line in wanted:
        assert line in run, f"tests.yml does not run README's {line!r}"
    assert "dataset-fashion-mnist" in run


def test_pages_publishes_only_after_the_tests_passed():
    workflow = load("pages.yml")
    trigger = workflow[True]
    assert "push" not in trigger and trigger["workflow_run"]["workflows"] == [load("tests.yml")["name"]]
    condition = workflow["jobs"]["build"]["if"]
    assert re.search(r"workflow_run\.conclusion == 'success'", condition), condition
