"""Alt text: each figure's description comes from its code cell's metadata "alt" (a string, or a
list of strings for a cell with several figures, in output order); tools/publish.py puts it on the
figure's <img> in the book and the decks, where a screen reader reads it."""

import base64
import io
import re
import sys

import matplotlib
import nbformat
import pytest

from utils import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "tools"))
import publish  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ALTS = ["A rising line: the loss grows with the step size.", "A falling line: the accuracy drops."]


def png(slope: float) -> str:
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1], [0, slope])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A notebook with a set-up cell (the decks leave it out), then a code cell of two figures and an
    "alt" list."""
    figures = [nbformat.v4.new_output("display_data", data={"image/png": png(s)}) for s in (1, -1)]
    cell = nbformat.v4.new_code_cell("plot()", outputs=figures, metadata={"alt": ALTS})
    setup = nbformat.v4.new_code_cell("setup()")
    path = tmp_path_factory.mktemp("alt") / "99_alt.ipynb"
    nbformat.write(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Alt"), setup, cell]), path
    )
    return path


def img_alts(page: str) -> list[str]:
    return re.findall(r'<img [^>]*alt="([^"]*)"', page)


def test_the_book_writes_each_figures_alt_text(tiny, tmp_path):
    publish.build_site([tiny], tmp_path / "site")
    page = (tmp_path / "site" / "notebooks" / "99_alt.html").read_text(encoding="utf-8")
    assert [a for a in img_alts(page) if a in ALTS] == ALTS, img_alts(page)


def test_the_deck_writes_each_figures_alt_text(tiny, tmp_path):
    (deck,) = publish.build_slides([tiny], tmp_path / "slides")
    assert img_alts(deck.read_text(encoding="utf-8")) == ALTS


def test_alt_texts_must_match_the_figures():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("plot()", metadata={"alt": ALTS})])
    nb.cells[0].outputs = [nbformat.v4.new_output("display_data", data={"image/png": png(1)})]
    with pytest.raises(SystemExit, match='cell 0: metadata "alt" holds 2 texts for 1 figures'):
        publish.figure_alts(nb, "99_alt.ipynb")


def missing_alts(path) -> list[str]:
    """ "notebook, cell i (first code line): why" for each code cell whose figures lack alt texts."""
    nb = publish.read(path)
    missing = []
    for i, cell in enumerate(nb.cells):
        figures = sum("image/png" in out.get("data", {}) for out in cell.get("outputs", []))
        alt = cell.metadata.get("alt")
        texts = [alt] if isinstance(alt, str) else alt or []
        if figures and (len(texts) != figures or not all(isinstance(t, str) and t.strip() for t in texts)):
            first = next((line for line in cell.source.splitlines() if line.strip()), "")
            missing.append(
                f"{path.name}, cell {i} ({first.strip()!r}): {len(texts)} alt texts for {figures} figures"
            )
    return missing


def test_every_stored_figure_has_alt_text():
    missing = [line for path in publish.chosen([]) for line in missing_alts(path)]
    assert not missing, f"{len(missing)} figures without alt text:\n" + "\n".join(missing)
