"""The book's sliders work without a kernel: publish executes a notebook with sliders, draws frames
along each slider's range, and the page's range inputs swap them. Checked in headless Chromium (Debian's
/usr/bin/chromium driven by playwright from pip) on one notebook, 02, to stay fast."""

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import publish  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
MAX_SLIDER_BYTES = 3_000_000  # a reader on a slow line still gets every frame of a slider


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("book") / "site"
    publish.build_site(publish.chosen(["02"]), out)
    return out


def test_each_slider_gets_light_frames(site):
    weights = publish.frame_weights(site)
    assert set(weights) == {f"{publish.chosen(['02'])[0].stem}/0"}, weights
    assert all(0 < size < MAX_SLIDER_BYTES for size in weights.values()), weights


def test_the_page_has_a_player_and_no_remote_script(site):
    page = (site / "notebooks" / f"{publish.chosen(['02'])[0].stem}.html").read_text()
    assert page.count('class="slider-player"') == 1 and page.count('type="range"') == 2
    assert not re.search(r"<script[^>]+src=\"https?://", page), "a remote script"


def test_moving_a_range_input_changes_the_figure(site):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    page_file = site / "notebooks" / f"{publish.chosen(['02'])[0].stem}.html"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM))
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(page_file.as_uri())
        img = page.locator(".slider-player img")
        before = img.get_attribute("src")
        assert page.evaluate("(el) => el.naturalWidth", img.element_handle()) > 0, (
            "the default frame did not load"
        )
        slider = page.locator(".slider-player input[type=range]").first
        readout = page.locator(".slider-player output").first
        shown = readout.text_content()
        slider.focus()
        page.keyboard.press("ArrowRight")
        after = img.get_attribute("src")
        assert after != before, "the figure did not change when the slider moved"
        assert readout.text_content() != shown, "the slider's readout did not follow"
        page.wait_for_function("() => document.querySelector('.slider-player img').complete")
        assert page.evaluate("(el) => el.naturalWidth", img.element_handle()) > 0, f"{after} did not load"
        browser.close()
