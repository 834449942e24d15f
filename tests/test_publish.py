"""tools/publish.py on the stored notebooks: the book site (pages with figures and math, solutions
folded, the slider's stored figure, Colab and download links), the lecture decks (several slides,
offline assets, no set-up or solution cells) and the student edition (no solutions, skeletons and
checkers kept). The site is built for two notebooks to keep the suite fast."""

import ast
import html
import re
import sys

import nbformat
import pytest

from utils import COURSE_REPO, REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "tools"))
import publish  # noqa: E402

SITE_NOTEBOOKS = ["01", "02"]  # 02 has a slider and two solutions
DECK_NOTEBOOKS = ["02", "05"]


def image_outputs(nb) -> int:
    return sum("image/png" in out.get("data", {}) for c in nb.cells for out in c.get("outputs", []))


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def last_code_line(cell, nb) -> str:
    """The solution cell's last line that says something (not a lone bracket) and that no other cell of
    the notebook contains, so finding it on a page means the solution is shown."""
    others = "\n".join(c.source for c in nb.cells if c is not cell)
    lines = [line.strip() for line in cell.source.splitlines() if re.search(r"[A-Za-z_]\w{2}", line)]
    return [line for line in lines if line not in others][-1]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("book") / "site"
    publish.build_site(publish.chosen(SITE_NOTEBOOKS), out, with_decks=True, with_frames=False)
    return out


@pytest.fixture(scope="module")
def decks(tmp_path_factory):
    out = tmp_path_factory.mktemp("decks") / "slides"
    return out, publish.build_slides(publish.chosen(DECK_NOTEBOOKS), out)


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    out = tmp_path_factory.mktemp("student") / "student"
    return publish.build_student(publish.chosen([]), out)


# ---- site --------------------------------------------------------------------------------------


def test_landing_page_has_the_course_map(site):
    index = (site / "index.html").read_text()
    assert "Course map" in index
    for path in publish.chosen(SITE_NOTEBOOKS):
        assert f'href="notebooks/{path.stem}.html"' in index, f"the landing page does not link {path.stem}"


def test_landing_page_links_the_decks_and_student_notebooks_in_the_site(site):
    links = re.findall(r'href="((?:slides|student)/[^"]+)"', (site / "index.html").read_text())
    assert len(links) == 2 * len(SITE_NOTEBOOKS) and all((site / link).is_file() for link in links), links


@pytest.mark.parametrize("number", SITE_NOTEBOOKS)
def test_page_has_figures_math_and_links(site, number):
    path = publish.chosen([number])[0]
    page = (site / "notebooks" / f"{path.stem}.html").read_text()
    images = re.findall(r'<img[^>]+src="\.\./(_images/[^"]+\.png)"', page)  # the figures (not the badge)
    assert len(images) == image_outputs(publish.read(path)) > 0
    assert all((site / img).is_file() for img in images)
    assert 'class="math notranslate nohighlight"' in page, "no math on the page"
    assert (site / "_static" / "mathjax" / "tex-chtml.js").is_file(), "MathJax is not served by the site"
    colab = f"https://colab.research.google.com/github/{COURSE_REPO}/blob/main/notebooks/{path.name}"
    assert colab in page, "no Colab launch button"
    assert f"_sources/notebooks/{path.name}" in page, "no download button"
    assert (site / "_sources" / "notebooks" / path.name).read_bytes() == path.read_bytes()


def test_solutions_are_folded_and_closed(site):
    path = publish.chosen(["02"])[0]
    page = (site / "notebooks" / f"{path.stem}.html").read_text()
    folded = re.findall(r"<details([^>]*)>(.*?)</details>", page, flags=re.S)
    assert folded and not any(" open" in attrs for attrs, _ in folded), "a toggle is open"
    inside = [text_of(body) for _, body in folded]
    outside = text_of(re.sub(r"<details.*?</details>", "", page, flags=re.S))
    nb = publish.read(path)
    solutions = [c for c in nb.cells if publish.is_solution(c)]
    assert len(solutions) == 2 and page.count("Show solution") == 2
    for cell in solutions:
        line = last_code_line(cell, nb)
        assert any(line in body for body in inside), f"solution line {line!r} is not behind a toggle"
        assert line not in outside, f"solution line {line!r} shows outside its toggle"


def test_the_slider_shows_its_stored_figure(site):
    page = (site / "notebooks" / f"{publish.chosen(['02'])[0].stem}.html").read_text()
    assert "widget-view" not in page and "interactive(children" not in page
    assert "white-space: pre-wrap" in (site / "_static" / "course.css").read_text(), "long lines do not wrap"


def test_decks_have_several_slides_and_work_offline(decks):
    out, written = decks
    assert [p.name for p in written] == [f"{p.stem}.slides.html" for p in publish.chosen(DECK_NOTEBOOKS)]
    for deck in written:
        page = deck.read_text()
        assert page.count("<section") >= 10, f"{deck.name}: only {page.count('<section')} slides"
        assets = re.findall(r'(?:src|href)="([^"#]+\.(?:js|css))"', page)
        assert assets and not [a for a in assets if "://" in a], f"{deck.name} loads assets from the web"
        assert all((out / a).is_file() for a in assets), f"{deck.name}: missing {assets}"


def test_decks_come_with_notebooks_for_rise(decks):
    out, _ = decks
    for path in publish.chosen(DECK_NOTEBOOKS):
        live = publish.read(out / path.name)
        kinds = [c.metadata.get("slideshow", {}).get("slide_type") for c in live.cells]
        assert None not in kinds and kinds.count("slide") >= 3, kinds
        stored = publish.badge_attached(publish.read(path))  # the badge offline, the rest as stored
        assert [c.source for c in live.cells] == [c.source for c in stored.cells]


def test_decks_leave_out_set_up_and_solutions(decks):
    _, written = decks
    for deck, path in zip(written, publish.chosen(DECK_NOTEBOOKS), strict=True):
        text = text_of(deck.read_text())
        nb = publish.read(path)
        assert "COURSE_VERSION" not in text, f"{deck.name} shows the set-up cell"
        for cell in filter(publish.is_solution, nb.cells):
            assert last_code_line(cell, nb) not in text, f"{deck.name} shows a solution"


def cell(kind, source, **metadata):
    made = nbformat.v4.new_markdown_cell(source) if kind == "md" else nbformat.v4.new_code_cell(source)
    made.metadata.update(metadata)
    return made


def test_slide_types_follow_headings_and_size():
    long_code = "\n".join(f"x{i} = {i}" for i in range(publish.LONG_CODE_LINES + 1))
    nb = nbformat.v4.new_notebook(
        cells=[
            cell("md", "# Title"),
            cell("code", "setup()"),
            cell("md", "## Idea"),
            cell("code", "small()"),
            cell("code", long_code),
            cell("md", "Prose.", slideshow={"slide_type": "notes"}),
            cell("md", "#### Solution"),
            cell("code", "answer()", tags=["solution"]),
            *[cell("md", "line\n" * 6) for _ in range(4)],
        ]
    )
    kinds = [c.metadata.slideshow.slide_type for c in publish.derive_slides(nb).cells]
    assert kinds[:8] == ["slide", "skip", "slide", "fragment", "subslide", "notes", "skip", "skip"]
    assert kinds[8:].count("subslide") >= 1, "a slide that overflows did not start a sub-slide"


# ---- student edition ---------------------------------------------------------------------------


def test_student_edition_has_no_solutions_and_keeps_the_skeletons(student):
    assert len(student) == len(publish.chosen([]))
    for path in student:
        nb, full = publish.read(path), publish.read(REPO_ROOT / "notebooks" / path.name)
        assert not [c for c in nb.cells if publish.is_solution(c)], f"{path.name} keeps a solution"
        assert not [c for c in nb.cells if re.fullmatch(r"#+ Solution", c.source.strip())]
        kept = [c for c in full.cells if not publish.is_solution(c)]
        assert len(nb.cells) == len(kept) - sum(
            re.fullmatch(r"#+ Solution", c.source.strip()) is not None for c in kept
        )
        skeletons = [c.source for c in full.cells if "NotImplementedError" in c.source]
        assert all(s in [c.source for c in nb.cells] for s in skeletons), f"{path.name} lost a skeleton"
        assert image_outputs(nb) == image_outputs(full) - sum(
            "image/png" in o.get("data", {}) for c in full.cells if publish.is_solution(c) for o in c.outputs
        )


def python_of(source: str) -> str:
    """A cell's source with its IPython magics and shell lines as `pass`."""
    return "\n".join(re.sub(r"^(\s*)[%!].*", r"\1pass", line) for line in source.splitlines())


def imported_names(nb) -> set[str]:
    names = set()
    for c in nb.cells:
        if c.cell_type == "code":
            for node in ast.walk(ast.parse(python_of(c.source))):
                if isinstance(node, ast.ImportFrom | ast.Import):
                    names |= {alias.asname or alias.name for alias in node.names}
    return names


def test_student_edition_imports_every_checker_it_mentions(student):
    for path in student:
        nb = publish.read(path)
        mentioned = {
            m for c in nb.cells if c.cell_type == "code" for m in re.findall(r"\bcheck_\w+", c.source)
        }
        assert mentioned <= imported_names(nb), f"{path.name}: {mentioned - imported_names(nb)} not imported"


def test_a_checker_runs_in_the_student_edition(student, capsys, monkeypatch):
    """Notebook 02's student edition up to its imports, then the removed solution up to its checker
    call: the checker is there and passes."""
    path = next(p for p in student if p.name.startswith("02_"))
    monkeypatch.chdir(path.parent)
    code = [c.source for c in publish.read(path).cells if c.cell_type == "code"]
    namespace = {}
    for source in code[:2]:  # the set-up cell, then the imports
        exec(python_of(source), namespace)
    full = publish.read(REPO_ROOT / "notebooks" / path.name)
    solution = ast.parse(next(c.source for c in full.cells if publish.is_solution(c)))
    for node in solution.body:
        exec(compile(ast.Module([node], []), "<solution>", "exec"), namespace)
        if isinstance(node, ast.Expr) and "check_" in ast.unparse(node):
            break
    assert "passes every check" in capsys.readouterr().out
