# Set-up: make the course's helper package `utils` importable.
# Locally, `pip install -r requirements.txt` installed it; in Colab (or any bare kernel) fetch it.
import importlib.util
import subprocess
import sys

COURSE_REPO = "courseware-dl/init-optim-course"
if importlib.util.find_spec("utils") is None:
    subprocess.run(["git", "clone", "--quiet", "--depth=1", f"https://github.com/{COURSE_REPO}.git", "course"], check=True)
    sys.path.insert(0, "course")
