"""Sphinx configuration of the course book, built by `python tools/publish.py site`.

publish.py stages the stored notebooks (solutions tagged to fold, widgets replaced by their stored
figure) and a landing page into build/site-src/ and runs Sphinx with this folder as its
configuration directory; nothing is executed (nb_execution_mode = "off")."""

import re
from pathlib import Path

# utils.COURSE_REPO, read without importing utils (and torch): the book builds without them.
UTILS = Path(__file__).resolve().parents[2] / "utils" / "__init__.py"
COURSE_REPO = re.search(r'^COURSE_REPO = "([^"]+)"', UTILS.read_text(), flags=re.M)[1]

project = "Initialization and Optimization of Deep Neural Networks"
author = "The course authors"
copyright = "the course authors"

extensions = ["myst_nb", "sphinx_togglebutton"]
# MathJax is served from the site itself (publish.py copies it there), so pages work offline too.
mathjax_path = "mathjax/tex-chtml.js"
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

# The notebooks are shown as stored: their outputs are one clean top-to-bottom run.
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
suppress_warnings = ["mystnb.unknown_mime_type"]

html_theme = "sphinx_book_theme"
html_title = "Initializing and optimizing deep networks"
html_static_path = [str(Path(__file__).parent / "_static")]
html_css_files = ["course.css"]
html_copy_source = True
html_show_sourcelink = False
html_theme_options = {
    "repository_url": f"https://github.com/{COURSE_REPO}",
    "repository_branch": "main",
    "path_to_docs": "",
    "use_repository_button": True,
    "use_download_button": True,
    "launch_buttons": {"colab_url": "https://colab.research.google.com"},
    "show_toc_level": 2,
}
