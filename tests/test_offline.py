"""The published book, decks and student edition ask no other host for anything: every image, script,
style sheet and font they load is a file of the site (or inline data), so they work offline and
leak no reader's visit. Links a reader clicks (Colab, GitHub, papers) are fine. And the book's
figures are readable at lecture size in Chromium at 1280 px wide. The site is built with its decks
and student edition for one notebook (04, whose whole-chapter figure is the widest), to keep the
suite fast.

The download button's notebook (_sources/) is left out: it is the repository's notebook byte for
byte (tests/test_publish.py), whose badge Colab and GitHub show from Colab's server."""

import json
import re
import shutil
import sys

import pytest

from utils import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "tools"))
import publish  # noqa: E402

NOTEBOOK = "04"
OUTSIDE = re.compile(r"^(https?:)?//", re.I)
# What a browser fetches by itself: src of any element, href of <link> (style sheets, icons,
# preloads), url(...) in CSS and inline styles, @import.
FETCHED_HTML = [
    r"<(?:img|script|iframe|source|video|audio|embed|input)\b[^>]*?\ssrc=[\"']?([^\"'\s>]+)",
    r"<link\b[^>]*?\shref=[\"']?([^\"'\s>]+)",
    r"url\(\s*[\"']?([^\"')]+)",
    r"@import\s+[\"']([^\"']+)",
]
# In a notebook's markdown: images ![..](url) and <img src=...>.
FETCHED_MARKDOWN = [r"!\[[^\]]*\]\(\s*<?([^)\s>]+)", r"<img\b[^>]*?\ssrc=[\"']?([^\"'\s>]+)"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("offline") / "site"
    publish.build_site(publish.chosen([NOTEBOOK]), out, with_decks=True)
    return out


def outside(text: str, patterns: list[str]) -> list[str]:
    return sorted({url for p in patterns for url in re.findall(p, text, flags=re.I) if OUTSIDE.match(url)})


def published(site, *suffixes):
    return [f for f in site.rglob("*") if f.suffix in suffixes and "_sources" not in f.parts]


def test_no_page_or_deck_fetches_from_another_host(site):
    files = published(site, ".html", ".css")
    assert any(f.name.endswith(".slides.html") for f in files) and len(files) > 5
    found = {str(f.relative_to(site)): outside(f.read_text(encoding="utf-8"), FETCHED_HTML) for f in files}
    assert not {f: urls for f, urls in found.items() if urls}, found


def test_no_published_notebook_shows_an_image_from_another_host(site):
    notebooks = published(site, ".ipynb")
    assert {f.parent.name for f in notebooks} >= {"slides", "student"}, notebooks
    for path in notebooks:
        nb = json.loads(path.read_text(encoding="utf-8"))
        markdown = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
        assert not outside(markdown, FETCHED_MARKDOWN), (
            f"{path.relative_to(site)}: {outside(markdown, FETCHED_MARKDOWN)}"
        )


def test_the_colab_badge_is_a_file_of_the_site_and_still_links_to_colab(site):
    page = (site / "notebooks" / f"{publish.chosen([NOTEBOOK])[0].stem}.html").read_text(encoding="utf-8")
    badge = re.search(r'<img[^>]*src="(\.\./_images/colab-badge[^"]*\.svg)"', page)
    assert badge and (site / "notebooks" / badge[1]).resolve().is_file(), (
        "the page's badge is not a local file"
    )
    assert 'href="https://colab.research.google.com/github/' in page, "the badge no longer links to Colab"


def tick_label_px() -> float:
    """Tick labels' height in a stored figure, in its pixels: the course style's size in points at
    the inline backend's resolution (figure.dpi)."""
    import matplotlib

    from utils.plotting import set_course_style

    set_course_style()
    return matplotlib.rcParams["xtick.labelsize"] * matplotlib.rcParams["figure.dpi"] / 72


def test_book_figures_show_tick_labels_of_11_px_at_1280_px_wide(site):
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (requirements.txt)"
    )
    chromium = next(filter(None, map(shutil.which, ["chromium", "chromium-browser", "google-chrome"])), None)
    if chromium is None:
        pytest.skip("no chromium on PATH (Debian: apt-get install chromium)")
    page_file = site / "notebooks" / f"{publish.chosen([NOTEBOOK])[0].stem}.html"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(page_file.as_uri())
        shown = page.evaluate(
            """() => [...document.querySelectorAll("div.cell_output img")].map(img =>
                [img.src.split("/").pop(), img.naturalWidth, img.getBoundingClientRect().width])"""
        )
        browser.close()
    label = tick_label_px()
    small = [
        f"{name}: {label * width / natural:.1f} px"
        for name, natural, width in shown
        if label * width / natural < 11
    ]
    assert shown and not small, f"tick labels under 11 px on screen: {small}"


def test_each_book_figure_links_to_its_full_size_image(site):
    page = (site / "notebooks" / f"{publish.chosen([NOTEBOOK])[0].stem}.html").read_text(encoding="utf-8")
    figures = re.findall(r'<img [^>]*src="([^"]*_images/[0-9a-f]{64}\.png)"', page)
    linked = re.findall(r'<a class="figure-zoom" href="([^"]+)"><img [^>]*src="\1"', page)
    assert figures and linked == figures, f"{len(figures)} figures, {len(linked)} linked to their image"
