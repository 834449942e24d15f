#!/usr/bin/env python3
"""Publish the course from its stored notebooks, offline (only `site` executes: the notebooks with
sliders, into a scratch copy, to draw the frames of their sliders; --no-frames skips it):

    python tools/publish.py site    [NOTEBOOK ...]   the book:         build/site/index.html
        --with-decks: the decks and the student edition inside the site too (what GitHub Pages gets)
        --no-frames: no slider frames (the notebooks with sliders are not executed)
    python tools/publish.py slides  [NOTEBOOK ...]   lecture decks:    build/slides/NN_name.slides.html
    python tools/publish.py student [NOTEBOOK ...]   student edition:  build/student/NN_name.ipynb
    python tools/publish.py setup-cell               pin the set-up cell to pyproject.toml's version

setup-cell is the maintainers' release step: it writes "v" + pyproject.toml's version as
COURSE_VERSION into tools/setup_cell.py and that cell, verbatim, as the first code cell of every
notebook and its twin (no execution: locally the cell prints nothing). Bump the version in
pyproject.toml, run it, commit, and push the tag (git tag v1.2.3 && git push origin v1.2.3): the
set-up cell clones exactly that tag in Colab.

A notebook is named as in tools/nb.py (path or two-digit number); none means every notebook. The
stored notebooks are the one source: the commands copy them into build/ and transform the copies,
never notebooks/ itself.

Site: Sphinx + myst-nb + sphinx-book-theme (configuration in tools/book/), with MathJax served from
the site itself. Solution cells (tag "solution") sit behind a closed "Show solution" toggle, the set-up
cell behind a closed "Show set-up cell" one; a slider's figure becomes a frame player (below); each
page has Colab and download buttons; the landing page is README's introduction, notebook table and
course map. A figure wider than the text column grows out of it (tools/book/_static/course.css) and
links to its full-size image.

Everywhere: the "Open in Colab" badge is tools/book/_static/colab-badge.svg, not Colab's server (no
page, deck or notebook fetches anything from another host), and a code cell's metadata "alt" (a
string, or a list of strings in output order for a cell with several figures) becomes its figures'
alt text in the book and the decks.

Slides: next to each deck, build/slides/NN_name.ipynb is the notebook with the slide types the deck
used, to present live with the JupyterLab RISE extension (sliders work there). The decks come from
nbconvert's reveal.js exporter with an offline template (tools/book/reveal_offline/): reveal.js
and MathJax are copied next to the decks into build/slides/_vendor/, so a deck opens from disk
without a network (keep that folder next to the decks when you copy them). Which cell goes on which
slide comes from each cell's `slideshow` metadata (Jupyter's "Slide Type": slide, subslide, fragment,
skip, notes, "-"). An instructor sets it per cell in JupyterLab (property inspector) or RISE; a cell
that has none gets one derived from the notebook's structure:
  * the set-up cell, solution cells and the "Solution" heading above one are skipped;
  * a markdown cell that starts with a heading starts a new slide (left/right arrows);
  * any other cell joins the current slide as a fragment (revealed on the next key press) while it
    fits; one that would not fit (rough height in text lines: prose, code, output lines, a figure
    counts FIGURE_LINES) starts a sub-slide (up/down arrows), so nothing overflows the screen;
  * a code cell longer than LONG_CODE_LINES always gets a sub-slide of its own.
For the deck (not the RISE notebook), a markdown cell taller than PROSE_PART_LINES is split at its
paragraphs and list items, and a code cell whose code and figures do not fit one slide shows its code,
then its outputs on the next. Figures are sized for a projector by CSS, and the deck's script scales
the figures of a slide still taller than the screen to the space left; tall code and output boxes
scroll. tests/test_decks.py measures every slide in Chromium.

Student edition: the solution cells and their "Solution" headings are removed; everything else,
the exercise skeletons and the stored outputs of the other cells included, is kept, so the checkers
imported by the notebooks' own cells work as in the full notebook.
"""

import argparse
import base64
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from nbconvert import SlidesExporter

sys.path.insert(0, str(Path(__file__).resolve().parent))
import nbfiles  # noqa: E402
from nb import all_notebooks, resolve  # noqa: E402
from nbfiles import ROOT  # noqa: E402

BUILD = ROOT / "build"
BOOK_DIR = ROOT / "tools" / "book"

REVEAL_THEME = "white"
LINES_PER_SLIDE = 18
FIGURE_LINES = 14
LONG_CODE_LINES = 14
OUTPUT_LINES_SHOWN = 10  # longer outputs scroll inside their box (see the deck's CSS)
LINE_CHARS = 90
PROSE_PART_LINES = 13  # a longer markdown cell is split at its paragraphs for the deck
CODE_ABOVE_FIGURE_LINES = 6  # code above a figure scrolls from 230 px on (the deck's CSS)
FIGURE_SCALE_MIN = 0.7  # the deck's script shrinks figures to fit; code and figure split below this


# ---- shared transforms -------------------------------------------------------------------------


def is_solution(cell) -> bool:
    return "solution" in cell.metadata.get("tags", [])


def solution_headings(nb) -> set[int]:
    """Indices of heading-only markdown cells ("#### Solution") right above a solution cell."""
    return {
        i
        for i, cell in enumerate(nb.cells[:-1])
        if cell.cell_type == "markdown"
        and re.fullmatch(r"#+ [^\n]*", cell.source.strip())
        and is_solution(nb.cells[i + 1])
    }


def setup_cell_index(nb) -> int | None:
    return next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), None)


def read(path: Path):
    return nbformat.read(path, as_version=4)


def chosen(names: list[str]) -> list[Path]:
    return [resolve(n) for n in names] if names else all_notebooks()


def fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


# ---- the Colab badge, offline -----------------------------------------------------------------

BADGE_URL = "https://colab.research.google.com/assets/colab-badge.svg"
BADGE = BOOK_DIR / "_static" / "colab-badge.svg"  # drawn for the course, not downloaded


def badge_from(nb, src: str):
    """The notebook with its "Open in Colab" badge image taken from `src` instead of Colab's server
    (the link stays): a page, deck or notebook read offline shows the badge, and asks no other host."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = cell.source.replace(BADGE_URL, src)
    return nb


def badge_data_uri() -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(BADGE.read_bytes()).decode()


def badge_attached(nb):
    """badge_from for a notebook file: the badge as an attachment of the cell that shows it."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and BADGE_URL in cell.source:
            cell.source = cell.source.replace(BADGE_URL, f"attachment:{BADGE.name}")
            cell.attachments = {BADGE.name: {"image/svg+xml": base64.b64encode(BADGE.read_bytes()).decode()}}
    return nb


# ---- alt text ----------------------------------------------------------------------------------


def figure_alts(nb, name: str):
    """Each code cell's "alt" metadata (a string, or a list of strings for a cell with several
    figures, in output order) copied into its image outputs' metadata["image/png"]["alt"], where the
    deck's template and write_page_figures find it."""
    for i, cell in enumerate(nb.cells):
        alt = cell.metadata.get("alt") if cell.cell_type == "code" else None
        if alt is None:
            continue
        texts = [alt] if isinstance(alt, str) else list(alt)
        images = [out for out in cell.outputs if "image/png" in out.get("data", {})]
        if len(texts) != len(images) or not all(isinstance(text, str) for text in texts):
            raise SystemExit(
                f'{name}, cell {i}: metadata "alt" holds {len(texts)} texts for {len(images)} figures; give '
                "one string per figure, in output order (a single string for one figure)."
            )
        for out, text in zip(images, texts, strict=True):
            out.setdefault("metadata", {}).setdefault("image/png", {})["alt"] = text
    return nb


def alts_by_image(nbs) -> dict[str, str]:
    """{SHA-256 of a figure's PNG: its alt text}: myst-nb names each image of the book by that hash."""
    return {
        hashlib.sha256(base64.b64decode(out.data["image/png"])).hexdigest(): out.metadata["image/png"]["alt"]
        for nb in nbs
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if "alt" in out.get("metadata", {}).get("image/png", {})
    }


def write_page_figures(site: Path, alts: dict[str, str]) -> None:
    """Each figure's <img> in the book gets its alt text (myst-nb reads only width and height from an
    output's metadata; docutils writes the file name as alt) and a link to the image file, a click
    to see it full size."""

    def figure(match):
        alt = html.escape(alts[match["hash"]]) if match["hash"] in alts else match["alt"]
        img = f'<img alt="{alt}" src="{match["src"]}"{match["end"]}'
        return f'<a class="figure-zoom" href="{match["src"]}">{img}</a>'

    pattern = (
        r'<img alt="(?P<alt>[^"]*)" src="(?P<src>[^"]*_images/(?P<hash>[0-9a-f]{64})\.png)"(?P<end>[^>]*>)'
    )
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        page.write_text(re.sub(pattern, figure, text), encoding="utf-8")


# ---- student edition ---------------------------------------------------------------------------


def student_edition(nb):
    """The notebook without its solution cells and their headings."""
    drop = solution_headings(nb) | {i for i, c in enumerate(nb.cells) if is_solution(c)}
    nb.cells = [c for i, c in enumerate(nb.cells) if i not in drop]
    return nb


def build_student(paths: list[Path], out: Path = BUILD / "student") -> list[Path]:
    fresh_dir(out)
    written = []
    for path in paths:
        nbformat.write(badge_attached(student_edition(read(path))), out / path.name)
        written.append(out / path.name)
    return written


# ---- slides ------------------------------------------------------------------------------------


def png_lines(data: str) -> int:
    """Height of a stored PNG in text lines at the deck's scale (IHDR holds width and height)."""
    height = int.from_bytes(base64.b64decode(data[:44])[20:24], "big")
    return min(FIGURE_LINES, max(4, height // 40))


def source_lines(source: str) -> int:
    """Height of a cell's source on a slide, in text lines (long lines wrap)."""
    return sum(1 + len(line) // LINE_CHARS for line in source.splitlines())


def cell_lines(cell) -> int:
    """Rough height of a cell on a slide, in text lines."""
    lines = source_lines(cell.source)
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        if "image/png" in data:
            lines += png_lines(data["image/png"])
        elif out.output_type == "stream" or "text/plain" in data or "text/html" in data:
            text = out.get("text") or data.get("text/plain") or data.get("text/html", "")
            lines += min(OUTPUT_LINES_SHOWN, len(text.splitlines()))
    return lines


def derive_slides(nb):
    """Give every cell without `slideshow` metadata a slide type by the rule in this module's
    docstring; cells that have one keep it."""
    skip = solution_headings(nb) | {i for i, c in enumerate(nb.cells) if is_solution(c)}
    skip.add(setup_cell_index(nb))
    used = LINES_PER_SLIDE  # the first shown cell starts a slide
    for i, cell in enumerate(nb.cells):
        height = cell_lines(cell)
        given = cell.metadata.get("slideshow", {}).get("slide_type")
        if given:
            kind = given
        elif i in skip:
            kind = "skip"
        elif cell.cell_type == "markdown" and cell.source.lstrip().startswith("#"):
            kind = "slide"
        elif used + height > LINES_PER_SLIDE or (
            cell.cell_type == "code" and len(cell.source.splitlines()) > LONG_CODE_LINES
        ):
            kind = "subslide"
        else:
            kind = "fragment"
        if kind in ("slide", "subslide"):
            used = height
        elif kind in ("fragment", "-"):
            used += height
        cell.metadata["slideshow"] = {"slide_type": kind}
    return nb


LIST_ITEM = re.compile(r"([-*]|\d+\.) ")


def markdown_blocks(source: str) -> list[str]:
    """A markdown text's blocks (paragraphs, tables, list items), split at blank lines and list items
    outside $$ math and ``` code, which stay whole."""
    blocks, current, fenced = [], [], False
    for line in source.splitlines():
        mark = line.strip()
        if current and not fenced and (not mark or LIST_ITEM.match(line)):
            blocks.append("\n".join(current))
            current = []
        if mark.startswith("```") or (mark.startswith("$$") and (mark == "$$" or not mark.endswith("$$"))):
            fenced = not fenced
        if mark or fenced:
            current.append(line)
    return blocks + (["\n".join(current)] if current else [])


def join_blocks(blocks: list[str]) -> str:
    """Blocks as markdown again: list items on consecutive lines (a tight list), others apart."""
    text = blocks[0]
    for before, block in zip(blocks, blocks[1:], strict=False):
        text += ("\n" if LIST_ITEM.match(before) and LIST_ITEM.match(block) else "\n\n") + block
    return text


def split_prose(cell) -> list:
    """A markdown cell taller than PROSE_PART_LINES as several cells of whole blocks (a heading stays
    with the block after it), so each fits a slide; a shorter cell as itself."""
    if cell_lines(cell) <= PROSE_PART_LINES:
        return [cell]
    parts = [[]]
    for block in markdown_blocks(cell.source):
        heading_last = parts[-1] and re.fullmatch(r"#+ [^\n]*", parts[-1][-1])
        lines = source_lines(join_blocks([*parts[-1], block]))
        if parts[-1] and lines > PROSE_PART_LINES and not heading_last:
            parts.append([])
        parts[-1].append(block)
    return [as_part(cell, k, source=join_blocks(part)) for k, part in enumerate(parts)]


def split_figure(cell) -> list:
    """A code cell whose code and figures would not fit one slide (the figures scaled to
    FIGURE_SCALE_MIN at least) as two cells: its code, then its outputs without the code."""
    figures = sum(png_lines(o["data"]["image/png"]) for o in cell.outputs if "image/png" in o.get("data", {}))
    if not figures:
        return [cell]
    code = source_lines(cell.source)
    other = cell_lines(cell) - figures - code
    code = min(code, CODE_ABOVE_FIGURE_LINES)
    if code + other + FIGURE_SCALE_MIN * figures <= LINES_PER_SLIDE:
        return [cell]
    hidden = {**cell.metadata, "transient": {"remove_source": True}}  # nbconvert's templates honour it
    return [as_part(cell, 0, outputs=[]), as_part(cell, 1, metadata=hidden)]


def as_part(cell, k: int, **changes):
    """Part k of a cell split for the deck: a copy with `changes` and an id of its own."""
    return nbformat.from_dict({**cell, **changes, "id": f"{cell.get('id', 'cell')}-{k}"})


def deck_cells(nb):
    """The deck's copy of a notebook: long prose split at its blocks, code and a figure that do not
    fit together on two slides. Each cell records the index of the cell it came from in
    metadata["deck_origin"] (the RISE notebook takes each cell's slide type from its first part)."""
    splitters = {"markdown": split_prose, "code": split_figure}
    cells = []
    for i, cell in enumerate(nb.cells):
        cell.metadata["deck_origin"] = i
        cells += splitters.get(cell.cell_type, lambda c: [c])(cell)
    nb.cells = cells
    return nb


def package_dir(name: str) -> Path:
    import importlib.util

    return Path(importlib.util.find_spec(name).origin).parent


def copy_mathjax(dest: Path) -> None:
    """MathJax 3 (shipped by the sphinx-mathjax-offline package): tex-chtml.js and what it loads."""
    mathjax = package_dir("sphinx-mathjax-offline") / "static" / "mathjax"
    for part in ["tex-chtml.js", "input", "output/chtml", "ui", "a11y"]:
        (dest / part).parent.mkdir(parents=True, exist_ok=True)
        (shutil.copy2 if part.endswith(".js") else shutil.copytree)(mathjax / part, dest / part)


def copy_revealjs(dest: Path) -> None:
    """reveal.js (shipped by the sphinx-revealjs package): its dist/ with the decks' theme only (other
    themes load Google's fonts) and the speaker-notes plugin."""
    revealjs = package_dir("sphinx_revealjs") / "_static" / "revealjs"
    other_themes = shutil.ignore_patterns(*(f.name for f in (revealjs / "dist" / "theme").glob("*.css")))
    shutil.copytree(revealjs / "dist", dest / "dist", ignore=other_themes)
    shutil.copy2(revealjs / "dist" / "theme" / f"{REVEAL_THEME}.css", dest / "dist" / "theme")
    shutil.copytree(revealjs / "plugin" / "notes", dest / "plugin" / "notes")


def live_notebook(path: Path, deck):
    """The notebook itself, widgets and all, with the slide types its deck used (a cell split for
    the deck takes its first part's type) and the badge attached: the same slides presented live
    with RISE."""
    live = badge_attached(read(path))
    for cell in reversed(deck.cells):
        live.cells[cell.metadata.pop("deck_origin")].metadata["slideshow"] = cell.metadata["slideshow"]
    return live


def build_slides(paths: list[Path], out: Path = BUILD / "slides") -> list[Path]:
    fresh_dir(out)
    copy_revealjs(out / "_vendor" / "reveal.js")
    copy_mathjax(out / "_vendor" / "mathjax")
    exporter = SlidesExporter(
        template_name="reveal_offline",
        extra_template_basedirs=[str(BOOK_DIR)],
        reveal_url_prefix="_vendor/reveal.js",
        reveal_theme=REVEAL_THEME,
        reveal_transition="none",
        reveal_number="c/t",
        reveal_width="1280",
        reveal_height="720",
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    written = []
    for path in paths:
        nb = figure_alts(read(path), path.name)
        nb = derive_slides(deck_cells(badge_from(nb, badge_data_uri())))
        deck, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": path.stem}})
        target = out / f"{path.stem}.slides.html"
        target.write_text(deck, encoding="utf-8")
        written.append(target)
        # The same slides for presenting live with RISE (sliders work there): the notebook itself,
        # widgets and all, with the slide types the deck used.
        nbformat.write(live_notebook(path, nb), out / path.name)
    return written


# ---- slider frames: sliders that work in the book, without a kernel ----------------------------
# A notebook whose cells call utils.sliders.live_figure is executed (a scratch copy, nothing stored) with
# COURSE_FRAMES_DIR set: each live_figure then draws frames along each slider's range. Its stored
# figure on the page becomes a frame player: the default frame and one <input type="range"> per slider
# that swaps the image (a few lines of inline JavaScript, nothing remote).

FRAMES_URL = "../_static/frames"  # from a page in notebooks/ to the site's out/_static/frames/
PLAYER_JS = """(function (player) {
  var img = player.querySelector("img"), inputs = player.querySelectorAll("input[type=range]");
  function readout(input) {
    input.nextElementSibling.textContent = JSON.parse(input.dataset.values)[input.value];
  }
  inputs.forEach(function (input) {
    input.addEventListener("input", function () {
      inputs.forEach(function (other) {
        if (other !== input) { other.value = other.dataset.default; readout(other); }
      });
      readout(input);
      img.src = JSON.parse(input.dataset.frames)[input.value];
    });
  });
})(document.currentScript.parentElement);"""


def has_sliders(path: Path) -> bool:
    return any("live_figure(" in c.source for c in read(path).cells if c.cell_type == "code")


def render_frames(path: Path, folder: Path, timeout: int = 900) -> Path:
    """Execute a copy of the notebook with COURSE_FRAMES_DIR=folder/<stem>: the frames of its sliders."""
    from nb import KERNEL_ENV, notebook_client

    target = fresh_dir(folder / path.stem)
    env = {**os.environ, **KERNEL_ENV, "COURSE_FRAMES_DIR": str(target)}
    print(f"frames: executing {path.name}", flush=True)
    notebook_client(read(path), path.parent, timeout).execute(env=env)
    return target


def player_html(stem: str, number: int, index: dict) -> str:
    """The frame player of one live_figure: its default frame and one range input per slider."""
    url = f"{FRAMES_URL}/{stem}/{number}"
    first = index["sliders"][0]
    rows = []
    width = max(len(s["description"]) for s in index["sliders"]) + 1  # one track start for all: aligned
    row_style = (
        f"display: grid; grid-template-columns: {width}ch minmax(0, 1fr) 6ch; gap: 6px; align-items: center"
    )
    for s in index["sliders"]:
        frames = json.dumps([f"{url}/{f}" for f in s["frames"]])
        rows.append(
            f'<label style="{row_style}"><span>{html.escape(s["description"])}</span>'
            f'<input type="range" min="0" max="{len(s["frames"]) - 1}" step="1" '
            f'value="{s["default"]}" data-default="{s["default"]}" '
            f"data-frames='{html.escape(frames)}' data-values='{html.escape(json.dumps(s['values']))}'>"
            f"<output>{html.escape(s['values'][s['default']])}</output></label>"
        )
    columns = 1 if len(rows) <= 2 else 2 if len(rows) <= 4 else 3
    return "\n".join(
        [
            '<div class="slider-player">',
            f'<img src="{url}/{first["frames"][first["default"]]}" '
            'alt="The figure at the sliders\' default settings; move a slider to redraw it.">',
            f'<div class="slider-player-controls" style="display: grid; gap: 2px 24px; '
            f'grid-template-columns: repeat({columns}, minmax(0, 1fr))">',
            *rows,
            "</div>",
            "<p><small>Precomputed frames: each slider moves alone (the others return to their "
            "default). Run the notebook for every combination.</small></p>",
            f"<script>{PLAYER_JS}</script>",
            "</div>",
        ]
    )


def with_frame_players(nb, stem: str, frames: Path):
    """Each live_figure output (metadata live_figure = n) replaced by the player of frames/n."""
    for cell in nb.cells:
        for i, out in enumerate(cell.get("outputs", [])):
            number = out.get("metadata", {}).get("live_figure")
            if number is None:
                continue
            index_file = frames / str(number) / "index.json"
            if not index_file.is_file():
                raise SystemExit(f"{stem}: no frames for live_figure {number} in {frames}")
            index = json.loads(index_file.read_text(encoding="utf-8"))
            cell.outputs[i] = nbformat.v4.new_output(
                "display_data", data={"text/html": player_html(stem, number, index), "text/plain": "slider"}
            )
    return nb


def slider_frames(paths: list[Path], folder: Path) -> dict[str, Path]:
    """stem -> folder of its frames, for each notebook with sliders."""
    return {path.stem: render_frames(path, folder) for path in paths if has_sliders(path)}


def install_frames(folder: Path, out: Path) -> None:
    """The frames' PNGs into the built site (out/_static/frames/<stem>/<n>/), where the players find them."""
    if folder.is_dir():
        shutil.copytree(folder, out / "_static" / "frames", ignore=shutil.ignore_patterns("*.json"))


def frame_weights(site: Path) -> dict[str, int]:
    """Bytes of frames per slider (live_figure) in a built site: what a reader downloads by moving it."""
    root = site / "_static" / "frames"
    return {
        f"{d.parent.name}/{d.name}": sum(f.stat().st_size for f in d.glob("*.png"))
        for d in sorted(root.glob("*/*"))
        if d.is_dir()
    }


# ---- site --------------------------------------------------------------------------------------


def site_notebook(nb):
    """The page's copy: solutions folded behind a closed toggle, the set-up cell's source folded."""
    for i, cell in enumerate(nb.cells):
        tags = cell.metadata.setdefault("tags", [])
        if is_solution(cell):
            tags.append("hide-cell")
            cell.metadata["mystnb"] = {
                "code_prompt_show": "Show solution",
                "code_prompt_hide": "Hide solution",
            }
        elif i == setup_cell_index(nb):
            tags.append("hide-input")
            cell.metadata["mystnb"] = {"code_prompt_show": "Show set-up cell (for Colab)"}
    return nb


def readme_section(readme: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", readme, flags=re.M | re.S)
    if not match:
        raise SystemExit(f"README.md has no section '## {title}': the landing page is made from it")
    return match.group(1).strip()


def drop_column(markdown: str, header: str) -> str:
    """A markdown text with the column titled `header` removed from its table (if it has one)."""
    rows = markdown.splitlines()
    table = [i for i, row in enumerate(rows) if row.startswith("|")]
    if not table:
        return markdown
    cells = [c.strip() for c in rows[table[0]].split("|")]
    if header not in cells:
        return markdown
    col = cells.index(header)
    for i in table:
        parts = rows[i].split("|")
        rows[i] = "|".join(parts[:col] + parts[col + 1 :])
    return "\n".join(rows)


def extras_section(stems: list[str]) -> str:
    """Landing-page links to the decks and student notebooks built into the site (--with-decks)."""
    rows = [
        f'| {s[:2]} | <a href="slides/{s}.slides.html">slides</a> | <a href="student/{s}.ipynb">ipynb</a> |'
        for s in stems
    ]
    return "\n".join(
        [
            "## Lecture slides and student edition",
            "",
            "Slides open in the browser (arrow keys; `S` for speaker view). The student edition is "
            "each notebook without its solutions.",
            "",
            "| # | slides | notebook without solutions |",
            "|---|---|---|",
            *rows,
        ]
    )


def landing_page(readme: str, stems: list[str], with_decks: bool = False) -> str:
    """index.md: README's title and introduction, its notebook table (links to the pages, the Colab
    column dropped: every page has its own Colab button), its course map and, with_decks, links to
    the decks and the student edition."""
    title, _, rest = readme.partition("\n")
    intro = rest.split("\n## ", 1)[0].strip()
    table = drop_column(readme_section(readme, "The notebooks"), "Colab")
    course_map = readme_section(readme, "Course map: which notebook answers which question")
    by_number = {s[:2]: s for s in stems}
    course_map = re.sub(
        r"\| (\d\d) \|$",
        lambda m: f"| [{m[1]}](notebooks/{by_number[m[1]]}.ipynb) |" if m[1] in by_number else m[0],
        course_map,
        flags=re.M,
    )
    sections = [extras_section(stems)] if with_decks else []
    page = "\n\n".join(
        [
            title,
            intro,
            "## The notebooks",
            table,
            "## Course map: which notebook answers which question",
            course_map,
            *sections,
        ]
    )
    # A link to a notebook this build leaves out becomes plain text.
    page = re.sub(r"\[([^]]+)\]\(notebooks/([^)]+)\.ipynb\)", lambda m: m[0] if m[2] in stems else m[1], page)
    pages = [f"notebooks/{s}" for s in stems]
    toctree = "\n".join(["```{toctree}", ":hidden:", ":maxdepth: 1", "", *pages, "```"])
    return page + "\n\n" + toctree + "\n"


def build_site(
    paths: list[Path], out: Path = BUILD / "site", with_decks: bool = False, with_frames: bool = True
) -> Path:
    """The book in `out`; with_decks, the decks and the student edition go into it too (out/slides,
    out/student) and the landing page links them: the site GitHub Pages serves. with_frames, the
    notebooks with sliders are executed to draw their frames (see above): their sliders work in the book."""
    staging = fresh_dir(out.with_name(out.name + "-src"))
    (staging / "notebooks").mkdir()
    frames = slider_frames(paths, staging / "frames") if with_frames else {}
    pages = [figure_alts(badge_from(site_notebook(read(p)), f"../{BADGE.name}"), p.name) for p in paths]
    for path, page in zip(paths, pages, strict=True):
        if path.stem in frames:
            page = with_frame_players(page, path.stem, frames[path.stem])
        nbformat.write(page, staging / "notebooks" / path.name)
    shutil.copy2(BADGE, staging / BADGE.name)  # Sphinx copies it into _images/
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    index = landing_page(readme, [p.stem for p in paths], with_decks)
    (staging / "index.md").write_text(index, encoding="utf-8")
    shutil.rmtree(out, ignore_errors=True)
    cmd = [
        sys.executable,
        "-m",
        "sphinx",
        "-b",
        "html",
        "-q",
        "-c",
        str(BOOK_DIR),
        "-d",
        str(staging / ".doctrees"),
        str(staging),
        str(out),
    ]
    subprocess.run(cmd, check=True)
    copy_mathjax(out / "_static" / "mathjax")  # conf.py's mathjax_path points there
    install_frames(staging / "frames", out)
    write_page_figures(out, alts_by_image(pages))
    # The download button hands out the notebook as stored in the course, not the staged copy.
    for path in paths:
        shutil.copy2(path, out / "_sources" / "notebooks" / path.name)
    if with_decks:
        build_slides(paths, out / "slides")
        build_student(paths, out / "student")
    return out / "index.html"


# ---- set-up cell -------------------------------------------------------------------------------


# How the set-up cell (tools/setup_cell.py) starts: setup-cell replaces only a cell that starts so.
SETUP_MARKER = "# Set-up: make the course's helper package `utils` importable."


def pinned_version() -> str:
    """ "v" + pyproject.toml's static version, or a clear error saying what is missing."""
    pyproject = ROOT / "pyproject.toml"
    match = re.search(r'^version = "([^"]+)"', pyproject.read_text(encoding="utf-8"), flags=re.M)
    if match is None:
        raise SystemExit(
            f'{pyproject} has no static version (a line version = "1.2.3" under [project]): setup-cell '
            "pins the set-up cell to it. Add one; a dynamic version cannot be read without building."
        )
    return "v" + match[1]


def setup_cells(paths: list[Path], marker: str) -> dict[Path, object]:
    """Each notebook, read, after checking that its first code cell is the set-up cell (it starts with
    tools/setup_cell.py's first line) and that its twin holds no edits the store would discard."""
    found = {}
    for path in paths:
        nb = read(path)
        index = setup_cell_index(nb)
        if index is None or not nb.cells[index].source.startswith(marker):
            raise SystemExit(
                f"{path}: its first code cell is not the set-up cell (it does not start with {marker!r}); "
                "nothing was written. Put tools/setup_cell.py's text first by hand, then run setup-cell."
            )
        try:
            nbfiles.refuse_to_overwrite(path, "twin", "publish.py setup-cell", forceable=False)
        except nbfiles.Refused as refusal:
            raise SystemExit(str(refusal)) from None
        found[path] = nb
    return found


def stamp_setup_cell(paths: list[Path]) -> str:
    """Pin tools/setup_cell.py to pyproject.toml's version and store it as every notebook's set-up
    cell; returns the version. Writes nothing unless every notebook's set-up cell is recognised.

    The cell is not executed: where the course is installed it prints nothing whatever its version,
    so its (empty) outputs stay true and its source hash is renewed when it was current."""
    version = pinned_version()
    setup = ROOT / "tools" / "setup_cell.py"
    current = setup.read_text(encoding="utf-8")
    text, count = re.subn(r'^COURSE_VERSION = "[^"]*"', f'COURSE_VERSION = "{version}"', current, flags=re.M)
    if count != 1:
        raise SystemExit(f'{setup} has no line COURSE_VERSION = "..." to pin')
    if not current.startswith(SETUP_MARKER):
        raise SystemExit(f"{setup} does not start with {SETUP_MARKER!r}, the line that marks the set-up cell")
    notebooks = setup_cells(paths, SETUP_MARKER)
    setup.write_text(text, encoding="utf-8")
    for path, nb in notebooks.items():
        cell = nb.cells[setup_cell_index(nb)]
        was_current = cell.metadata.get(nbfiles.SOURCE_HASH) == nbfiles.digest(cell.source)
        cell.source = text.strip()
        if was_current and not cell.outputs:
            cell.metadata[nbfiles.SOURCE_HASH] = nbfiles.digest(cell.source)
        nbfiles.store(path, nb)
    return version


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["site", "slides", "student", "setup-cell"])
    parser.add_argument("notebooks", nargs="*", help="paths or two-digit numbers; default: all")
    parser.add_argument(
        "--no-frames",
        action="store_true",
        help="site: show each slider's stored figure only (no execution, no frame players)",
    )
    parser.add_argument(
        "--with-decks",
        action="store_true",
        help="site: put the decks and the student edition into the site and link them",
    )
    args = parser.parse_args(argv)
    paths = chosen(args.notebooks)
    if args.what == "site":
        index = build_site(paths, with_decks=args.with_decks, with_frames=not args.no_frames)
        for slider, size in frame_weights(index.parent).items():
            print(f"slider {slider}: {size / 1e6:.2f} MB of frames")
        print(f"book: {index.relative_to(ROOT)}")
    elif args.what == "setup-cell":
        version = stamp_setup_cell(paths)
        print(f"set-up cell pinned to {version} in tools/setup_cell.py and {len(paths)} notebooks")
    elif args.what == "slides":
        print(f"decks: {len(build_slides(paths))} in {(BUILD / 'slides').relative_to(ROOT)}/")
    else:
        written = build_student(paths)
        print(f"student edition: {len(written)} notebooks in {(BUILD / 'student').relative_to(ROOT)}/")


if __name__ == "__main__":
    main()
