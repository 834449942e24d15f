"""The lecture decks of every notebook, measured in headless Chromium at the decks' own size
(1280x720): no slide is taller than the screen once the deck's script has scaled its figures to the
space left. Needs Debian's chromium (`apt-get install chromium`) and playwright from pip (no
browser download); without them the test is skipped and says which is missing."""

import re
import shutil
import sys

import pytest

from utils import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "tools"))
import publish  # noqa: E402

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements.txt)")
CHROMIUM = next(filter(None, map(shutil.which, ["chromium", "chromium-browser", "google-chrome"])), None)
if CHROMIUM is None:
    pytest.skip("no chromium on PATH (Debian: apt-get install chromium)", allow_module_level=True)

SLIDE_HEIGHT = 720

# Every leaf slide's height at the deck's configured size: all slides shown at once (Reveal hides
# all but the current one), in the order (horizontal index, vertical index).
SLIDE_HEIGHTS = """() => {
  const style = document.createElement("style");
  style.textContent = ".reveal .slides section { display: block !important; }";
  document.head.appendChild(style);
  const heights = [];
  Reveal.getHorizontalSlides().forEach((slide, h) => {
    const stack = slide.classList.contains("stack");
    const leaves = stack ? [...slide.querySelectorAll(":scope > section")] : [slide];
    leaves.forEach((leaf, v) => heights.push([h, v, leaf.scrollHeight]));
  });
  style.remove();
  return heights;
}"""


@pytest.fixture(scope="module")
def decks(tmp_path_factory):
    return publish.build_slides(publish.chosen([]), tmp_path_factory.mktemp("decks") / "slides")


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


def slide_heights(browser, deck) -> list[list[int]]:
    page = browser.new_page(viewport={"width": 1280, "height": SLIDE_HEIGHT})
    page.goto(deck.as_uri())
    page.wait_for_function("document.body.dataset.fitted === 'yes'", timeout=60_000)
    heights = page.evaluate(SLIDE_HEIGHTS)
    page.close()
    return heights


def test_no_slide_overflows_the_screen(decks, browser):
    overflowing = [
        f"{deck.name} slide {h}/{v}: {height} px"
        for deck in decks
        for h, v, height in slide_heights(browser, deck)
        if height > SLIDE_HEIGHT
    ]
    assert not overflowing, f"{len(overflowing)} slides taller than {SLIDE_HEIGHT} px:\n" + "\n".join(
        overflowing
    )


def test_decks_have_a_viewport_tag(decks):
    for deck in decks:
        assert re.search(r'<meta [^>]*name="viewport"', deck.read_text(encoding="utf-8")), (
            f"{deck.name}: no viewport tag"
        )
